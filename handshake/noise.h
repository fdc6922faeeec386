/* SPDX-License-Identifier: MIT */
/*
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s with WireGuard's prologue and message
 * layout (whitepaper 5.4.2 - 5.4.5). Pure functions over bytes: the caller
 * passes the clocks in, finds peers and indices, and serialises access to one
 * handshake (one lock per peer in the data plane).
 *
 * Each consume/create works on local copies and commits to the handshake only
 * when every step succeeded, so a refused message leaves the state as it was.
 */
#ifndef WGUD_NOISE_H
#define WGUD_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"

enum noise_handshake_state {
	NOISE_HANDSHAKE_ZEROED,
	NOISE_HANDSHAKE_CREATED_INITIATION,
	NOISE_HANDSHAKE_CONSUMED_INITIATION,
	NOISE_HANDSHAKE_CREATED_RESPONSE,
	NOISE_HANDSHAKE_CONSUMED_RESPONSE,
};

/* The interface's own key pair. has_identity is false until a private key is set. */
struct noise_static_identity {
	uint8_t static_private[NOISE_PRIVATE_KEY_LEN];
	uint8_t static_public[NOISE_PUBLIC_KEY_LEN];
	bool has_identity;
};

/* One per peer. Every byte array here but remote_static is secret. */
struct noise_handshake {
	enum noise_handshake_state state;
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	/* DH(local static, remote static), all zero when unusable (no identity, or a low-order point). */
	uint8_t precomputed_static_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t ephemeral_private[NOISE_PRIVATE_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	/* Newest initiation timestamp accepted from this peer; survives handshake resets (replay defence). */
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];
	uint64_t last_initiation_consumption_ns;
	bool consumed_any_initiation;
	uint32_t local_index;
	uint32_t remote_index;
};

/* What a completed handshake yields: the transport keys of one session. Secret. */
struct noise_session_keys {
	uint8_t send[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t recv[NOISE_SYMMETRIC_KEY_LEN];
	uint32_t local_index;
	uint32_t remote_index;
	bool initiator;
};

/* The chaining key and hash every handshake starts from; exposed for the known-answer tests. */
void noise_initial_state(uint8_t chaining_key[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN]);

/* Sets the private key (clamped as X25519 does) and derives the public key. -EINVAL for all-zero keys. */
int noise_identity_set(struct noise_static_identity *id, const uint8_t private_key[NOISE_PRIVATE_KEY_LEN]);
void noise_identity_clear(struct noise_static_identity *id);
/* X25519 public key of a private key; -EINVAL if the result is the zero point. */
int noise_public_from_private(uint8_t public_key[NOISE_PUBLIC_KEY_LEN], const uint8_t private_key[NOISE_PRIVATE_KEY_LEN]);

/* psk may be NULL (all zero, as the protocol specifies when none is configured). */
void noise_handshake_init(struct noise_handshake *hs, const struct noise_static_identity *id,
			  const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN], const uint8_t *psk);
void noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t *psk);
/* Recompute DH(s, S) after the interface's private key changed. */
void noise_handshake_precompute(struct noise_handshake *hs, const struct noise_static_identity *id);
/* Forget the session in progress (ephemeral, hash, chaining key); the timestamp replay guard stays. */
void noise_handshake_clear(struct noise_handshake *hs);
/* Wipe everything including keys; for peer removal. */
void noise_handshake_wipe(struct noise_handshake *hs);

/*
 * Initiator, message 1. local_index is the fresh random index the caller
 * reserved for this handshake; unix_ns is wall-clock time for the TAI64N
 * timestamp. mac1/mac2 are left zero for cookie_add_mac_to_packet().
 * -EINVAL when there is no identity or the static-static DH is unusable.
 */
int noise_create_initiation(struct message_handshake_initiation *msg, struct noise_handshake *hs,
			    const struct noise_static_identity *id, uint32_t local_index, uint64_t unix_ns);

/*
 * Responder, message 1. lookup maps the decrypted initiator static key to that
 * peer's handshake (NULL: unknown peer). On success returns 0 and *out the
 * peer's handshake, now CONSUMED_INITIATION. Refused (state unchanged):
 * -EBADMSG (decryption or DH failed), -ENOKEY (unknown peer), -EALREADY
 * (timestamp not newer: replay), -EBUSY (initiations from this peer come
 * faster than INITIATIONS_PER_SECOND).
 */
int noise_consume_initiation(const struct message_handshake_initiation *msg, const struct noise_static_identity *id,
			     struct noise_handshake *(*lookup)(void *ctx, const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN]),
			     void *lookup_ctx, uint64_t now_ns, struct noise_handshake **out);

/* Responder, message 2; the handshake must be CONSUMED_INITIATION. */
int noise_create_response(struct message_handshake_response *msg, struct noise_handshake *hs,
			  const struct noise_static_identity *id, uint32_t local_index);

/*
 * Initiator, message 2. The caller found hs by msg->receiver_index; it must be
 * CREATED_INITIATION with that local index. -EBADMSG on any failure, state unchanged.
 */
int noise_consume_response(const struct message_handshake_response *msg, struct noise_handshake *hs,
			   const struct noise_static_identity *id);

/*
 * Derive the session from a handshake in CONSUMED_RESPONSE (initiator) or
 * CREATED_RESPONSE (responder), then clear the handshake. -EINVAL otherwise.
 */
int noise_derive_session(struct noise_session_keys *keys, struct noise_handshake *hs);

void noise_session_keys_wipe(struct noise_session_keys *keys);

#endif
