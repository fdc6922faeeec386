// SPDX-License-Identifier: MIT
/*
 * The Noise_IKpsk2 handshake of WireGuard. Steps are commented with their
 * Noise tokens; names follow the whitepaper: C is the chaining key, H the hash,
 * k a temporary AEAD key.
 */
#include "noise.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "blake2s.h"
#include "tai64n.h"

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

void noise_initial_state(uint8_t chaining_key[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN])
{
	struct blake2s_state st;

	blake2s(chaining_key, NOISE_HASH_LEN, (const uint8_t *)construction, sizeof(construction) - 1, NULL, 0);
	blake2s_init(&st, NOISE_HASH_LEN, NULL, 0);
	blake2s_update(&st, chaining_key, NOISE_HASH_LEN);
	blake2s_update(&st, (const uint8_t *)identifier, sizeof(identifier) - 1);
	blake2s_final(&st, hash);
}

/* H = HASH(H || data) */
static void mix_hash(uint8_t hash[NOISE_HASH_LEN], const uint8_t *data, size_t len)
{
	struct blake2s_state st;

	blake2s_init(&st, NOISE_HASH_LEN, NULL, 0);
	blake2s_update(&st, hash, NOISE_HASH_LEN);
	blake2s_update(&st, data, len);
	blake2s_final(&st, hash);
}

/* C = KDF1(C, data) */
static void mix_key(uint8_t chaining_key[NOISE_HASH_LEN], const uint8_t *data, size_t len)
{
	kdf(chaining_key, NULL, NULL, data, len, chaining_key);
}

/* (C, k) = KDF2(C, DH(priv, pub)); false when the DH result is the zero point. */
static bool __attribute__((warn_unused_result))
mix_dh(uint8_t chaining_key[NOISE_HASH_LEN], uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
       const uint8_t priv[NOISE_PRIVATE_KEY_LEN], const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t shared[NOISE_PUBLIC_KEY_LEN];

	/* libsodium refuses (returns -1) an all-zero result: a low-order point. */
	if (crypto_scalarmult(shared, priv, pub) != 0) {
		sodium_memzero(shared, sizeof(shared));
		return false;
	}
	kdf(chaining_key, key, NULL, shared, sizeof(shared), chaining_key);
	sodium_memzero(shared, sizeof(shared));
	return true;
}

static bool __attribute__((warn_unused_result))
mix_precomputed_dh(uint8_t chaining_key[NOISE_HASH_LEN], uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
		   const uint8_t precomputed[NOISE_PUBLIC_KEY_LEN])
{
	if (sodium_is_zero(precomputed, NOISE_PUBLIC_KEY_LEN))
		return false;
	kdf(chaining_key, key, NULL, precomputed, NOISE_PUBLIC_KEY_LEN, chaining_key);
	return true;
}

/* (C, tau, k) = KDF3(C, Q); H = HASH(H || tau) */
static void mix_psk(uint8_t chaining_key[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN],
		    uint8_t key[NOISE_SYMMETRIC_KEY_LEN], const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t tau[NOISE_HASH_LEN];

	kdf(chaining_key, tau, key, psk, NOISE_SYMMETRIC_KEY_LEN, chaining_key);
	mix_hash(hash, tau, sizeof(tau));
	sodium_memzero(tau, sizeof(tau));
}

/* Every handshake AEAD uses the counter 0: each key is used exactly once. */
static const uint8_t zero_nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

/* dst = AEAD(k, 0, src, H); H = HASH(H || dst) */
static void message_encrypt(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			    uint8_t hash[NOISE_HASH_LEN])
{
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, len, hash, NOISE_HASH_LEN, NULL, zero_nonce, key);
	mix_hash(hash, dst, NOISE_ENCRYPTED_LEN(len));
}

static bool __attribute__((warn_unused_result))
message_decrypt(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
		uint8_t hash[NOISE_HASH_LEN])
{
	if (crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, src_len, hash, NOISE_HASH_LEN, zero_nonce,
						      key) != 0)
		return false;
	mix_hash(hash, src, src_len);
	return true;
}

/* e: C = KDF1(C, E_pub); H = HASH(H || E_pub) */
static void mix_ephemeral(uint8_t chaining_key[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN],
			  const uint8_t ephemeral[NOISE_PUBLIC_KEY_LEN])
{
	mix_key(chaining_key, ephemeral, NOISE_PUBLIC_KEY_LEN);
	mix_hash(hash, ephemeral, NOISE_PUBLIC_KEY_LEN);
}

static int generate_ephemeral(uint8_t priv[NOISE_PRIVATE_KEY_LEN], uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	randombytes_buf(priv, NOISE_PRIVATE_KEY_LEN);
	return noise_public_from_private(pub, priv);
}

int noise_public_from_private(uint8_t public_key[NOISE_PUBLIC_KEY_LEN], const uint8_t private_key[NOISE_PRIVATE_KEY_LEN])
{
	return crypto_scalarmult_base(public_key, private_key) == 0 ? 0 : -EINVAL;
}

int noise_identity_set(struct noise_static_identity *id, const uint8_t private_key[NOISE_PRIVATE_KEY_LEN])
{
	uint8_t clamped[NOISE_PRIVATE_KEY_LEN];
	int ret = -EINVAL;

	if (sodium_is_zero(private_key, NOISE_PRIVATE_KEY_LEN))
		goto out;
	/* Store the key as wg shows it back: clamped the way X25519 uses it. */
	memcpy(clamped, private_key, sizeof(clamped));
	clamped[0] &= 248;
	clamped[31] = (clamped[31] & 127) | 64;
	ret = noise_public_from_private(id->static_public, clamped);
	if (ret)
		goto out;
	memcpy(id->static_private, clamped, sizeof(clamped));
	id->has_identity = true;
out:
	sodium_memzero(clamped, sizeof(clamped));
	return ret;
}

void noise_identity_clear(struct noise_static_identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

void noise_handshake_precompute(struct noise_handshake *hs, const struct noise_static_identity *id)
{
	if (!id->has_identity ||
	    crypto_scalarmult(hs->precomputed_static_static, id->static_private, hs->remote_static) != 0)
		sodium_memzero(hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
}

void noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t *psk)
{
	if (psk)
		memcpy(hs->preshared_key, psk, NOISE_SYMMETRIC_KEY_LEN);
	else
		sodium_memzero(hs->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
}

void noise_handshake_init(struct noise_handshake *hs, const struct noise_static_identity *id,
			  const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN], const uint8_t *psk)
{
	sodium_memzero(hs, sizeof(*hs));
	memcpy(hs->remote_static, remote_static, NOISE_PUBLIC_KEY_LEN);
	noise_handshake_set_psk(hs, psk);
	noise_handshake_precompute(hs, id);
}

void noise_handshake_clear(struct noise_handshake *hs)
{
	sodium_memzero(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	sodium_memzero(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	sodium_memzero(hs->hash, sizeof(hs->hash));
	sodium_memzero(hs->chaining_key, sizeof(hs->chaining_key));
	hs->remote_index = 0;
	hs->local_index = 0;
	hs->state = NOISE_HANDSHAKE_ZEROED;
}

void noise_handshake_wipe(struct noise_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}

int noise_create_initiation(struct message_handshake_initiation *msg, struct noise_handshake *hs,
			    const struct noise_static_identity *id, uint32_t local_index, uint64_t unix_ns)
{
	uint8_t ck[NOISE_HASH_LEN], h[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t e_priv[NOISE_PRIVATE_KEY_LEN], timestamp[NOISE_TIMESTAMP_LEN];
	int ret = -EINVAL;

	if (!id->has_identity)
		goto out;
	memset(msg, 0, sizeof(*msg));
	msg->header.type = MESSAGE_HANDSHAKE_INITIATION;
	message_le32_store(&msg->sender_index, local_index);

	noise_initial_state(ck, h);
	mix_hash(h, hs->remote_static, NOISE_PUBLIC_KEY_LEN);

	/* e */
	if (generate_ephemeral(e_priv, msg->unencrypted_ephemeral))
		goto out;
	mix_ephemeral(ck, h, msg->unencrypted_ephemeral);

	/* es */
	if (!mix_dh(ck, key, e_priv, hs->remote_static))
		goto out;

	/* s */
	message_encrypt(msg->encrypted_static, id->static_public, NOISE_PUBLIC_KEY_LEN, key, h);

	/* ss */
	if (!mix_precomputed_dh(ck, key, hs->precomputed_static_static))
		goto out;

	/* {t} */
	tai64n_encode(timestamp, unix_ns);
	message_encrypt(msg->encrypted_timestamp, timestamp, NOISE_TIMESTAMP_LEN, key, h);

	memcpy(hs->ephemeral_private, e_priv, sizeof(e_priv));
	memcpy(hs->chaining_key, ck, sizeof(ck));
	memcpy(hs->hash, h, sizeof(h));
	hs->local_index = local_index;
	hs->remote_index = 0;
	hs->state = NOISE_HANDSHAKE_CREATED_INITIATION;
	ret = 0;
out:
	if (ret)
		sodium_memzero(msg, sizeof(*msg));
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(e_priv, sizeof(e_priv));
	return ret;
}

int noise_consume_initiation(const struct message_handshake_initiation *msg, const struct noise_static_identity *id,
			     struct noise_handshake *(*lookup)(void *ctx, const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN]),
			     void *lookup_ctx, uint64_t now_ns, struct noise_handshake **out)
{
	uint8_t ck[NOISE_HASH_LEN], h[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t s[NOISE_PUBLIC_KEY_LEN], t[NOISE_TIMESTAMP_LEN];
	struct noise_handshake *hs;
	bool replay, flood;
	int ret = -EBADMSG;

	*out = NULL;
	if (!id->has_identity)
		goto out;
	noise_initial_state(ck, h);
	mix_hash(h, id->static_public, NOISE_PUBLIC_KEY_LEN);

	/* e */
	mix_ephemeral(ck, h, msg->unencrypted_ephemeral);

	/* es */
	if (!mix_dh(ck, key, id->static_private, msg->unencrypted_ephemeral))
		goto out;

	/* s */
	if (!message_decrypt(s, msg->encrypted_static, sizeof(msg->encrypted_static), key, h))
		goto out;

	hs = lookup(lookup_ctx, s);
	if (!hs) {
		ret = -ENOKEY;
		goto out;
	}

	/* ss */
	if (!mix_precomputed_dh(ck, key, hs->precomputed_static_static))
		goto out;

	/* {t} */
	if (!message_decrypt(t, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp), key, h))
		goto out;

	replay = hs->consumed_any_initiation && !tai64n_after(t, hs->latest_timestamp);
	flood = hs->consumed_any_initiation &&
		now_ns - hs->last_initiation_consumption_ns < NSEC_PER_SEC / INITIATIONS_PER_SECOND;
	if (replay || flood) {
		ret = replay ? -EALREADY : -EBUSY;
		goto out;
	}

	memcpy(hs->remote_ephemeral, msg->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->latest_timestamp, t, sizeof(t));
	memcpy(hs->hash, h, sizeof(h));
	memcpy(hs->chaining_key, ck, sizeof(ck));
	sodium_memzero(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	hs->remote_index = message_le32_load(&msg->sender_index);
	hs->local_index = 0;
	hs->last_initiation_consumption_ns = now_ns;
	hs->consumed_any_initiation = true;
	hs->state = NOISE_HANDSHAKE_CONSUMED_INITIATION;
	*out = hs;
	ret = 0;
out:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(s, sizeof(s));
	sodium_memzero(t, sizeof(t));
	return ret;
}

int noise_create_response(struct message_handshake_response *msg, struct noise_handshake *hs,
			  const struct noise_static_identity *id, uint32_t local_index)
{
	uint8_t ck[NOISE_HASH_LEN], h[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t e_priv[NOISE_PRIVATE_KEY_LEN];
	int ret = -EINVAL;

	if (!id->has_identity || hs->state != NOISE_HANDSHAKE_CONSUMED_INITIATION)
		goto out;
	memset(msg, 0, sizeof(*msg));
	msg->header.type = MESSAGE_HANDSHAKE_RESPONSE;
	message_le32_store(&msg->sender_index, local_index);
	message_le32_store(&msg->receiver_index, hs->remote_index);
	memcpy(ck, hs->chaining_key, sizeof(ck));
	memcpy(h, hs->hash, sizeof(h));

	/* e */
	if (generate_ephemeral(e_priv, msg->unencrypted_ephemeral))
		goto out;
	mix_ephemeral(ck, h, msg->unencrypted_ephemeral);

	/* ee */
	if (!mix_dh(ck, NULL, e_priv, hs->remote_ephemeral))
		goto out;

	/* se */
	if (!mix_dh(ck, NULL, e_priv, hs->remote_static))
		goto out;

	/* psk */
	mix_psk(ck, h, key, hs->preshared_key);

	/* {} */
	message_encrypt(msg->encrypted_nothing, (const uint8_t *)"", 0, key, h);

	memcpy(hs->ephemeral_private, e_priv, sizeof(e_priv));
	memcpy(hs->chaining_key, ck, sizeof(ck));
	memcpy(hs->hash, h, sizeof(h));
	hs->local_index = local_index;
	hs->state = NOISE_HANDSHAKE_CREATED_RESPONSE;
	ret = 0;
out:
	if (ret)
		sodium_memzero(msg, sizeof(*msg));
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(e_priv, sizeof(e_priv));
	return ret;
}

int noise_consume_response(const struct message_handshake_response *msg, struct noise_handshake *hs,
			   const struct noise_static_identity *id)
{
	uint8_t ck[NOISE_HASH_LEN], h[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t nothing[1];
	int ret = -EBADMSG;

	if (!id->has_identity || hs->state != NOISE_HANDSHAKE_CREATED_INITIATION ||
	    message_le32_load(&msg->receiver_index) != hs->local_index)
		goto out;
	memcpy(ck, hs->chaining_key, sizeof(ck));
	memcpy(h, hs->hash, sizeof(h));

	/* e */
	mix_ephemeral(ck, h, msg->unencrypted_ephemeral);

	/* ee */
	if (!mix_dh(ck, NULL, hs->ephemeral_private, msg->unencrypted_ephemeral))
		goto out;

	/* se */
	if (!mix_dh(ck, NULL, id->static_private, msg->unencrypted_ephemeral))
		goto out;

	/* psk */
	mix_psk(ck, h, key, hs->preshared_key);

	/* {} */
	if (!message_decrypt(nothing, msg->encrypted_nothing, sizeof(msg->encrypted_nothing), key, h))
		goto out;

	memcpy(hs->remote_ephemeral, msg->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->chaining_key, ck, sizeof(ck));
	memcpy(hs->hash, h, sizeof(h));
	hs->remote_index = message_le32_load(&msg->sender_index);
	hs->state = NOISE_HANDSHAKE_CONSUMED_RESPONSE;
	ret = 0;
out:
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(key, sizeof(key));
	return ret;
}

int noise_derive_session(struct noise_session_keys *keys, struct noise_handshake *hs)
{
	uint8_t first[NOISE_SYMMETRIC_KEY_LEN], second[NOISE_SYMMETRIC_KEY_LEN];
	bool initiator;

	if (hs->state == NOISE_HANDSHAKE_CONSUMED_RESPONSE)
		initiator = true;
	else if (hs->state == NOISE_HANDSHAKE_CREATED_RESPONSE)
		initiator = false;
	else
		return -EINVAL;

	/* (T_send_i, T_recv_i) = KDF2(C, empty); the responder uses them the other way round. */
	kdf(first, second, NULL, NULL, 0, hs->chaining_key);
	memcpy(keys->send, initiator ? first : second, NOISE_SYMMETRIC_KEY_LEN);
	memcpy(keys->recv, initiator ? second : first, NOISE_SYMMETRIC_KEY_LEN);
	keys->local_index = hs->local_index;
	keys->remote_index = hs->remote_index;
	keys->initiator = initiator;
	sodium_memzero(first, sizeof(first));
	sodium_memzero(second, sizeof(second));
	noise_handshake_clear(hs);
	return 0;
}

void noise_session_keys_wipe(struct noise_session_keys *keys)
{
	sodium_memzero(keys, sizeof(*keys));
}
