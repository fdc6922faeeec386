/* SPDX-License-Identifier: MIT */
/*
 * WireGuard's handshake DoS defence, whitepaper 5.4.4 (mac1, mac2) and 5.4.7
 * (cookie reply). The responder (cookie_checker, one per interface) always
 * checks mac1 and, under load, asks for mac2 keyed by a cookie bound to the
 * sender's address and port; the initiator side (cookie_maker, one per peer)
 * stamps both MACs on what it sends and takes in the cookie replies.
 *
 * Pure: the caller passes the monotonic clock in and serialises access to each
 * checker and maker (one lock each in the data plane). Addresses come as bytes:
 * the IP address (4 or 16 bytes) followed by the UDP port, network order.
 * sodium_init() must have run.
 */
#ifndef WGUD_COOKIE_H
#define WGUD_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"

/* Source address encodings accepted: IPv4 or IPv6 address, then a 2-byte port. */
#define COOKIE_SRC_V4_LEN 6
#define COOKIE_SRC_V6_LEN 18

/* Responder side. All byte arrays are secret. */
struct cookie_checker {
	uint8_t secret[NOISE_HASH_LEN];
	uint64_t secret_birth_ns;
	bool have_secret;
	/* false while the interface has no private key: every packet is then INVALID. */
	bool have_identity;
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN];
};

/*
 * local_public may be NULL (no identity). Call again whenever the private key
 * changes; the secret is drawn on first use, so cookies handed out under the
 * previous key stop working too.
 */
void cookie_checker_init(struct cookie_checker *c, const uint8_t *local_public);
void cookie_checker_uninit(struct cookie_checker *c);

enum cookie_mac_state {
	COOKIE_MAC_INVALID,
	COOKIE_MAC_VALID_NO_COOKIE,
	COOKIE_MAC_VALID_WITH_COOKIE,
};

/*
 * msg is a whole initiation (148 bytes) or response (92). With check_cookie
 * false only mac1 is checked (not under load) and the answer is at best
 * VALID_NO_COOKIE. The rate limiter is the caller's next step, not part of
 * this. May rotate the secret, hence not const.
 */
enum cookie_mac_state cookie_validate_packet(struct cookie_checker *c, const uint8_t *msg, size_t len,
					     const uint8_t *src, size_t src_len, bool check_cookie,
					     uint64_t now_ns) __attribute__((warn_unused_result));

/*
 * Build the cookie reply to msg, whose mac1 the caller has already verified.
 * The reply's receiver_index is msg's sender_index, copied as it is on the
 * wire. -EINVAL for a message that is not an initiation or response, or a
 * source of the wrong length.
 */
int cookie_message_create(struct message_handshake_cookie *out, struct cookie_checker *c, const uint8_t *msg,
			  size_t len, const uint8_t *src, size_t src_len, uint64_t now_ns);

/* Initiator side, one per peer. All byte arrays are secret. */
struct cookie_maker {
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie_decryption_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie[COOKIE_LEN];
	uint64_t cookie_birth_ns;
	bool have_cookie;
	/* What the last message sent carried; a reply is accepted only for it, once. */
	uint8_t last_mac1_sent[COOKIE_LEN];
	uint8_t last_sender_index[4];
	bool have_sent_mac1;
};

void cookie_maker_init(struct cookie_maker *m, const uint8_t remote_public[NOISE_PUBLIC_KEY_LEN]);
void cookie_maker_uninit(struct cookie_maker *m);

/*
 * Fill mac1 and mac2 of an outgoing initiation or response in place; mac2 is
 * zero unless a cookie younger than COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY
 * is held. -EINVAL (msg untouched) when msg is neither message.
 */
int cookie_add_mac_to_packet(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns);

/*
 * Take in a cookie reply addressed to this peer. 0, or -EINVAL with the maker
 * unchanged: nothing was sent, the reply answers another message than the last
 * one sent (index or mac1), or it does not decrypt.
 */
int cookie_message_consume(struct cookie_maker *m, const struct message_handshake_cookie *reply, uint64_t now_ns);

#endif
