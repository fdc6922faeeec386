// SPDX-License-Identifier: MIT
/*
 * Seal and open are each split in two: a phase that touches the keypair's
 * counters in packet order, and one that only does crypto on a packet. The
 * batch forms run all of one phase, then all of the other, which is the shape
 * the packet paths use to spread the crypto over cores (workers.h).
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>
#ifdef WGUD_OPENSSL
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#endif

#include "transport.h"

_Static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == NOISE_SYMMETRIC_KEY_LEN, "key size");
_Static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == NOISE_AUTHTAG_LEN, "tag size");
_Static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12, "nonce size");

enum {
	HEADER_LEN = sizeof(struct message_data),
	OVERHEAD = HEADER_LEN + NOISE_AUTHTAG_LEN,
};

static size_t round_up16(size_t len)
{
	return len + (MESSAGE_PADDING_MULTIPLE - len % MESSAGE_PADDING_MULTIPLE) % MESSAGE_PADDING_MULTIPLE;
}

size_t transport_padded_len(size_t plain_len, size_t mtu)
{
	size_t last = plain_len, padded;

	if (!mtu)
		return round_up16(plain_len);
	/* Only the final mtu-sized unit of an oversized packet is padded. */
	if (last > mtu)
		last %= mtu;
	padded = round_up16(last);
	if (padded > mtu)
		padded = mtu;
	return plain_len + (padded - last);
}

size_t transport_sealed_len(size_t plain_len, size_t mtu)
{
	return OVERHEAD + transport_padded_len(plain_len, mtu);
}

/* Whitepaper 5.4.6: the 96-bit nonce is 32 zero bits then the le64 counter. */
static void make_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES], uint64_t counter)
{
	memset(nonce, 0, 4);
	message_le64_store(nonce + 4, counter);
}

/*
 * The AEAD itself. With WGUD_OPENSSL, OpenSSL's ChaCha20-Poly1305 (its
 * AVX-512 code seals or opens a 1420-byte packet about 1.5x faster than
 * libsodium 1.0.18's AVX2 code on this project's machine, and the AEAD is
 * half of wgud's CPU time at full rate); libsodium where OpenSSL is not
 * built in or a context cannot be had. The same bytes either way
 * (test_transport's vectors run against whichever is built). Each thread
 * keeps its own two contexts, made on first use and freed (cleansed) when
 * the thread ends; between packets they hold the last key used. No
 * allocation per packet.
 */
#ifdef WGUD_OPENSSL
struct aead_ctx {
	EVP_CIPHER_CTX *seal, *open;
};

static pthread_key_t aead_key;
static pthread_once_t aead_once = PTHREAD_ONCE_INIT;
static _Thread_local struct aead_ctx aead_tls;

static void aead_free(void *arg)
{
	struct aead_ctx *c = arg;

	EVP_CIPHER_CTX_free(c->seal);
	EVP_CIPHER_CTX_free(c->open);
	c->seal = c->open = NULL;
}

static void aead_key_init(void)
{
	/* Only the cipher: no configuration file to read, no exit handler. */
	(void)OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL);
	(void)pthread_key_create(&aead_key, aead_free);
}

/* This thread's contexts, or NULL (then libsodium does the work). */
static struct aead_ctx *aead_ctx(void)
{
	struct aead_ctx *c = &aead_tls;

	if (c->seal)
		return c;
	if (pthread_once(&aead_once, aead_key_init))
		return NULL;
	c->seal = EVP_CIPHER_CTX_new();
	c->open = EVP_CIPHER_CTX_new();
	if (!c->seal || !c->open || EVP_EncryptInit_ex(c->seal, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1 ||
	    EVP_DecryptInit_ex(c->open, EVP_chacha20_poly1305(), NULL, NULL, NULL) != 1) {
		aead_free(c);
		return NULL;
	}
	(void)pthread_setspecific(aead_key, c);
	return c;
}

static int evp_seal(struct aead_ctx *c, uint8_t *body, size_t len, const uint8_t nonce[12], const uint8_t *key)
{
	int n, fin;

	if (EVP_EncryptInit_ex(c->seal, NULL, NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(c->seal, body, &n, body, (int)len) != 1 || (size_t)n != len ||
	    EVP_EncryptFinal_ex(c->seal, body + n, &fin) != 1)
		return -1;
	return EVP_CIPHER_CTX_ctrl(c->seal, EVP_CTRL_AEAD_GET_TAG, NOISE_AUTHTAG_LEN, body + len) == 1 ? 0 : -1;
}

static int evp_open(struct aead_ctx *c, uint8_t *out, const uint8_t *in, size_t plain, const uint8_t nonce[12],
		    const uint8_t *key)
{
	int n, fin;

	if (EVP_DecryptInit_ex(c->open, NULL, NULL, key, nonce) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->open, EVP_CTRL_AEAD_SET_TAG, NOISE_AUTHTAG_LEN, (void *)(in + plain)) != 1 ||
	    EVP_DecryptUpdate(c->open, out, &n, in, (int)plain) != 1 || (size_t)n != plain)
		return -1;
	return EVP_DecryptFinal_ex(c->open, out + n, &fin) == 1 ? 0 : -1;
}
#endif

/* body (len bytes) encrypted in place, the tag written after it. 0, or -1. */
static int aead_seal(uint8_t *body, size_t len, const uint8_t nonce[12], const uint8_t key[NOISE_SYMMETRIC_KEY_LEN])
{
#ifdef WGUD_OPENSSL
	struct aead_ctx *c = len <= INT32_MAX ? aead_ctx() : NULL;

	if (c)
		return evp_seal(c, body, len, nonce, key);
#endif
	return crypto_aead_chacha20poly1305_ietf_encrypt(body, NULL, body, len, NULL, 0, NULL, nonce, key) ? -1 : 0;
}

/*
 * in (len bytes, the last NOISE_AUTHTAG_LEN of them the tag) opened into out
 * (which may be in). 0 when the tag verified; otherwise -1, and out may hold
 * unauthenticated bytes, which the caller wipes.
 */
static int aead_open(uint8_t *out, const uint8_t *in, size_t len, const uint8_t nonce[12],
		     const uint8_t key[NOISE_SYMMETRIC_KEY_LEN])
{
#ifdef WGUD_OPENSSL
	struct aead_ctx *c = len <= INT32_MAX ? aead_ctx() : NULL;

	if (c)
		return evp_open(c, out, in, len - NOISE_AUTHTAG_LEN, nonce, key);
#endif
	return crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, NULL, 0, nonce, key) ? -1 : 0;
}

/* Phase one of sealing, in packet order: checks, takes a nonce, writes the header. */
ssize_t transport_seal_prepare(struct keypair *kp, uint8_t *out, size_t out_cap, size_t plain_len,
			    size_t mtu, uint64_t now_ns)
{
	size_t sealed;

	if (!keypair_can_send(kp, now_ns))
		return -EKEYEXPIRED;
	if (plain_len > MESSAGE_MAX_INNER_LEN)
		return -EMSGSIZE;
	sealed = transport_sealed_len(plain_len, mtu);
	if (out_cap < sealed)
		return -EMSGSIZE;
	out[0] = MESSAGE_DATA;
	memset(out + 1, 0, 3);
	message_le32_store(out + 4, kp->remote_index);
	message_le64_store(out + 8, kp->send_counter++);
	return (ssize_t)sealed;
}

/* Phase two: pads and encrypts behind the header seal_prepare wrote. */
ssize_t transport_seal_encrypt(const struct keypair *kp, uint8_t *out, const uint8_t *plain,
			    size_t plain_len, size_t sealed)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	size_t padded = sealed - OVERHEAD;
	uint8_t *body = out + HEADER_LEN;

	/* The packet path reads from TUN straight into body; only other callers pay for a copy. */
	if (plain_len && plain != body)
		memmove(body, plain, plain_len);
	memset(body + plain_len, 0, padded - plain_len);
	make_nonce(nonce, message_le64_load(out + 8));
	if (aead_seal(body, padded, nonce, kp->send_key)) {
		/* Never let the plaintext copy leave as if it were sealed. */
		sodium_memzero(out, sealed);
		return -EIO;
	}
	return (ssize_t)sealed;
}

ssize_t transport_seal(struct keypair *kp, uint8_t *out, size_t out_cap, const uint8_t *plain,
		       size_t plain_len, size_t mtu, uint64_t now_ns)
{
	ssize_t r = transport_seal_prepare(kp, out, out_cap, plain_len, mtu, now_ns);

	if (r < 0)
		return r;
	return transport_seal_encrypt(kp, out, plain, plain_len, (size_t)r);
}

/* The checks that depend on the bytes alone, never on the counters or the clock. */
static bool well_formed(const struct keypair *kp, const uint8_t *msg, size_t len)
{
	return len >= MESSAGE_DATA_MIN_LEN && msg[0] == MESSAGE_DATA && !msg[1] && !msg[2] && !msg[3] &&
	       message_le32_load(msg + 4) == kp->local_index;
}

/*
 * Phase one of opening: every check, then decryption, but the replay window
 * is only read. Returns the plaintext length or the error a single call
 * would give against the window as it is now. OpenSSL has written out when
 * it finds the tag wrong (libsodium has not): phase two wipes out on every
 * error.
 */
ssize_t transport_open_decrypt(const struct keypair *kp, uint8_t *out, size_t out_cap,
			    const uint8_t *msg, size_t len, uint64_t now_ns)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	uint64_t counter;

	if (!well_formed(kp, msg, len))
		return -EBADMSG;
	if (!keypair_can_receive(kp, now_ns))
		return -EKEYEXPIRED;
	counter = message_le64_load(msg + 8);
	/* Skips the AEAD for replays; replay_update decides for real. */
	if (!replay_check(&kp->replay, counter))
		return -EALREADY;
	if (out_cap < len - OVERHEAD)
		return -EMSGSIZE;
	make_nonce(nonce, counter);
	if (aead_open(out, msg + HEADER_LEN, len - HEADER_LEN, nonce, kp->recv_key))
		return -EBADMSG;
	return (ssize_t)(len - OVERHEAD);
}

/* Whatever this message could have put in out. */
static void wipe_out(uint8_t *out, size_t out_cap, size_t len)
{
	size_t n = len > OVERHEAD ? len - OVERHEAD : 0;

	if (n > out_cap)
		n = out_cap;
	if (n)
		sodium_memzero(out, n);
}

/*
 * Phase two, in packet order: decides the state-dependent checks again
 * against the window as the packets before this one left it, then records
 * the counter. Both checks only ever turn from true to false as the window
 * moves, so deciding them again in packet order gives each packet of a batch
 * the answer a single call would have given it at its turn.
 */
ssize_t transport_open_commit(struct keypair *kp, uint8_t *out, size_t out_cap, const uint8_t *msg,
			   size_t len, ssize_t r, uint64_t now_ns)
{
	uint64_t counter;
	ssize_t err;

	if (!well_formed(kp, msg, len)) {
		err = -EBADMSG;
		goto refuse;
	}
	if (!keypair_can_receive(kp, now_ns)) {
		err = -EKEYEXPIRED;
		goto refuse;
	}
	counter = message_le64_load(msg + 8);
	if (r < 0) {
		err = replay_check(&kp->replay, counter) ? r : -EALREADY;
		goto refuse;
	}
	if (!replay_update(&kp->replay, counter)) {
		err = -EALREADY;
		goto refuse;
	}
	return r;
refuse:
	wipe_out(out, out_cap, len);
	return err;
}

ssize_t transport_open(struct keypair *kp, uint8_t *out, size_t out_cap, const uint8_t *msg,
		       size_t len, uint64_t now_ns)
{
	ssize_t r = transport_open_decrypt(kp, out, out_cap, msg, len, now_ns);

	return transport_open_commit(kp, out, out_cap, msg, len, r, now_ns);
}

void transport_seal_batch(struct keypair *kp, struct transport_pkt *pkts, size_t n, size_t mtu,
			  uint64_t now_ns)
{
	size_t i;

	for (i = 0; i < n; i++)
		pkts[i].result = transport_seal_prepare(kp, pkts[i].out, pkts[i].out_cap, pkts[i].in_len, mtu, now_ns);
	for (i = 0; i < n; i++) {
		if (pkts[i].result >= 0)
			pkts[i].result = transport_seal_encrypt(kp, pkts[i].out, pkts[i].in, pkts[i].in_len,
						      (size_t)pkts[i].result);
	}
}

void transport_open_batch(struct keypair *kp, struct transport_pkt *pkts, size_t n, uint64_t now_ns)
{
	size_t i;

	for (i = 0; i < n; i++)
		pkts[i].result = transport_open_decrypt(kp, pkts[i].out, pkts[i].out_cap, pkts[i].in, pkts[i].in_len,
					      now_ns);
	for (i = 0; i < n; i++)
		pkts[i].result = transport_open_commit(kp, pkts[i].out, pkts[i].out_cap, pkts[i].in, pkts[i].in_len,
					     pkts[i].result, now_ns);
}
