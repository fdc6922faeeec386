// SPDX-License-Identifier: MIT
/* mac1/mac2 and cookie replies, whitepaper 5.4.4 and 5.4.7. */
#include "cookie.h"

#include "blake2s.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == COOKIE_NONCE_LEN, "cookie nonce is XChaCha's");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == NOISE_AUTHTAG_LEN, "cookie tag is Poly1305's");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == NOISE_SYMMETRIC_KEY_LEN, "cookie key size");

enum { LABEL_LEN = 8 };
static const uint8_t label_mac1[LABEL_LEN] = { 'm', 'a', 'c', '1', '-', '-', '-', '-' };
static const uint8_t label_cookie[LABEL_LEN] = { 'c', 'o', 'o', 'k', 'i', 'e', '-', '-' };

/* Offset of the sender_index field, the same in the initiation and the response. */
#define SENDER_INDEX_OFFSET offsetof(struct message_handshake_initiation, sender_index)
_Static_assert(offsetof(struct message_handshake_response, sender_index) == SENDER_INDEX_OFFSET,
	       "sender_index sits at one offset in both handshake messages");

/* HASH(label || public key), whitepaper 5.4.4. */
static void derive_key(uint8_t key[NOISE_SYMMETRIC_KEY_LEN], const uint8_t label[LABEL_LEN],
		       const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	struct blake2s_state st;

	blake2s_init(&st, NOISE_SYMMETRIC_KEY_LEN, NULL, 0);
	blake2s_update(&st, label, LABEL_LEN);
	blake2s_update(&st, pub, NOISE_PUBLIC_KEY_LEN);
	blake2s_final(&st, key);
}

/*
 * Where struct message_macs starts in msg, or 0 when msg is not a handshake
 * message that carries MACs. The type byte is checked along with the length
 * so that a message can never be MACed under another type's layout.
 */
static size_t macs_offset(const uint8_t *msg, size_t len)
{
	switch (message_classify(msg, len)) {
	case MESSAGE_HANDSHAKE_INITIATION:
		return MESSAGE_MAC1_OFFSET(struct message_handshake_initiation);
	case MESSAGE_HANDSHAKE_RESPONSE:
		return MESSAGE_MAC1_OFFSET(struct message_handshake_response);
	default:
		return 0;
	}
}

static bool src_len_ok(size_t src_len)
{
	return src_len == COOKIE_SRC_V4_LEN || src_len == COOKIE_SRC_V6_LEN;
}

/* The clock is passed in from several threads; a slightly older "now" must not count as expired. */
static bool expired(uint64_t birth_ns, uint64_t max_age_ns, uint64_t now_ns)
{
	return now_ns >= birth_ns && now_ns - birth_ns >= max_age_ns;
}

/* mac1 covers everything before it; mac2 everything before it, mac1 included. */
static void compute_mac1(uint8_t mac[COOKIE_LEN], const uint8_t *msg, size_t off,
			 const uint8_t key[NOISE_SYMMETRIC_KEY_LEN])
{
	blake2s(mac, COOKIE_LEN, msg, off, key, NOISE_SYMMETRIC_KEY_LEN);
}

static void compute_mac2(uint8_t mac[COOKIE_LEN], const uint8_t *msg, size_t off, const uint8_t cookie[COOKIE_LEN])
{
	blake2s(mac, COOKIE_LEN, msg, off + offsetof(struct message_macs, mac2), cookie, COOKIE_LEN);
}

/* tau = MAC(R_changing, source address || port), whitepaper 5.4.7. */
static void make_cookie(uint8_t cookie[COOKIE_LEN], struct cookie_checker *c, const uint8_t *src, size_t src_len,
			uint64_t now_ns)
{
	if (!c->have_secret || expired(c->secret_birth_ns, COOKIE_SECRET_MAX_AGE_NS, now_ns)) {
		randombytes_buf(c->secret, sizeof(c->secret));
		c->secret_birth_ns = now_ns;
		c->have_secret = true;
	}
	blake2s(cookie, COOKIE_LEN, src, src_len, c->secret, sizeof(c->secret));
}

void cookie_checker_init(struct cookie_checker *c, const uint8_t *local_public)
{
	sodium_memzero(c, sizeof(*c));
	if (!local_public)
		return;
	derive_key(c->message_mac1_key, label_mac1, local_public);
	derive_key(c->cookie_encryption_key, label_cookie, local_public);
	c->have_identity = true;
}

void cookie_checker_uninit(struct cookie_checker *c)
{
	sodium_memzero(c, sizeof(*c));
}

enum cookie_mac_state cookie_validate_packet(struct cookie_checker *c, const uint8_t *msg, size_t len,
					     const uint8_t *src, size_t src_len, bool check_cookie, uint64_t now_ns)
{
	enum cookie_mac_state ret = COOKIE_MAC_INVALID;
	const struct message_macs *macs;
	uint8_t computed[COOKIE_LEN];
	uint8_t cookie[COOKIE_LEN];
	size_t off;

	off = macs_offset(msg, len);
	if (!off || !c->have_identity || !src_len_ok(src_len))
		return COOKIE_MAC_INVALID;
	macs = (const struct message_macs *)(msg + off);

	compute_mac1(computed, msg, off, c->message_mac1_key);
	if (sodium_memcmp(computed, macs->mac1, COOKIE_LEN))
		goto out;
	ret = COOKIE_MAC_VALID_NO_COOKIE;
	if (!check_cookie)
		goto out;

	make_cookie(cookie, c, src, src_len, now_ns);
	compute_mac2(computed, msg, off, cookie);
	if (!sodium_memcmp(computed, macs->mac2, COOKIE_LEN))
		ret = COOKIE_MAC_VALID_WITH_COOKIE;
out:
	sodium_memzero(cookie, sizeof(cookie));
	sodium_memzero(computed, sizeof(computed));
	return ret;
}

int cookie_message_create(struct message_handshake_cookie *out, struct cookie_checker *c, const uint8_t *msg,
			  size_t len, const uint8_t *src, size_t src_len, uint64_t now_ns)
{
	uint8_t cookie[COOKIE_LEN];
	size_t off;

	off = macs_offset(msg, len);
	if (!off || !src_len_ok(src_len))
		return -EINVAL;

	memset(&out->header, 0, sizeof(out->header));
	out->header.type = MESSAGE_HANDSHAKE_COOKIE;
	memcpy(&out->receiver_index, msg + SENDER_INDEX_OFFSET, sizeof(out->receiver_index));
	randombytes_buf(out->nonce, sizeof(out->nonce));

	make_cookie(cookie, c, src, src_len, now_ns);
	/* The answered mac1 as associated data ties the reply to one message (5.4.7). */
	crypto_aead_xchacha20poly1305_ietf_encrypt(out->encrypted_cookie, NULL, cookie, sizeof(cookie),
						   msg + off + offsetof(struct message_macs, mac1), COOKIE_LEN,
						   NULL, out->nonce, c->cookie_encryption_key);
	sodium_memzero(cookie, sizeof(cookie));
	return 0;
}

void cookie_maker_init(struct cookie_maker *m, const uint8_t remote_public[NOISE_PUBLIC_KEY_LEN])
{
	sodium_memzero(m, sizeof(*m));
	derive_key(m->message_mac1_key, label_mac1, remote_public);
	derive_key(m->cookie_decryption_key, label_cookie, remote_public);
}

void cookie_maker_uninit(struct cookie_maker *m)
{
	sodium_memzero(m, sizeof(*m));
}

int cookie_add_mac_to_packet(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns)
{
	struct message_macs *macs;
	size_t off;

	off = macs_offset(msg, len);
	if (!off)
		return -EINVAL;
	macs = (struct message_macs *)(msg + off);

	compute_mac1(macs->mac1, msg, off, m->message_mac1_key);
	memcpy(m->last_mac1_sent, macs->mac1, COOKIE_LEN);
	memcpy(m->last_sender_index, msg + SENDER_INDEX_OFFSET, sizeof(m->last_sender_index));
	m->have_sent_mac1 = true;

	/* The latency margin keeps us from sending a cookie the responder is about to rotate away. */
	if (m->have_cookie &&
	    !expired(m->cookie_birth_ns, COOKIE_SECRET_MAX_AGE_NS - COOKIE_SECRET_LATENCY_NS, now_ns))
		compute_mac2(macs->mac2, msg, off, m->cookie);
	else
		memset(macs->mac2, 0, COOKIE_LEN);
	return 0;
}

int cookie_message_consume(struct cookie_maker *m, const struct message_handshake_cookie *reply, uint64_t now_ns)
{
	uint8_t cookie[COOKIE_LEN];
	int ret = -EINVAL;

	if (!m->have_sent_mac1 ||
	    message_classify((const uint8_t *)reply, sizeof(*reply)) != MESSAGE_HANDSHAKE_COOKIE ||
	    memcmp(&reply->receiver_index, m->last_sender_index, sizeof(m->last_sender_index)))
		return -EINVAL;

	if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL, reply->encrypted_cookie,
						       sizeof(reply->encrypted_cookie), m->last_mac1_sent,
						       COOKIE_LEN, reply->nonce, m->cookie_decryption_key))
		goto out;

	memcpy(m->cookie, cookie, COOKIE_LEN);
	m->cookie_birth_ns = now_ns;
	m->have_cookie = true;
	/* One reply per message sent: a replayed reply must not refresh the cookie's age. */
	m->have_sent_mac1 = false;
	ret = 0;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}
