/* SPDX-License-Identifier: MIT */
/*
 * A transport session (whitepaper section 5.4.4 onwards): the two keys a
 * handshake derived, the send nonce, the receive replay window, and the
 * clock and limits that decide when the keys are too old to use or should be
 * replaced. Times are nanoseconds of one monotonic clock, supplied by the
 * caller.
 *
 * Concurrency: none inside. The send side (send_counter) and the receive side
 * (replay) may be driven by different threads only if the caller locks each
 * side; keypair_init and keypair_wipe need both.
 */
#ifndef WGUD_KEYPAIR_H
#define WGUD_KEYPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "messages.h"
#include "replay.h"

struct keypair {
	uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN];	/* secret: wiped by keypair_wipe */
	uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN];	/* secret: wiped by keypair_wipe */
	uint64_t send_counter;	/* next nonce; the send path assigns nonces in order */
	struct replay_window replay;
	uint64_t birth_ns;	/* when the keys were derived */
	uint32_t local_index, remote_index;
	bool initiator;		/* we sent the initiation that made it */
	bool live;		/* false once wiped or expired */
};

void keypair_init(struct keypair *kp, const uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN],
		  const uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN], uint32_t local_index,
		  uint32_t remote_index, bool initiator, uint64_t now_ns);
/* Zeroes all of it, keys included; live is false afterwards. */
void keypair_wipe(struct keypair *kp);

/* live, younger than REJECT_AFTER_TIME, and send_counter < REJECT_AFTER_MESSAGES. */
bool keypair_can_send(const struct keypair *kp, uint64_t now_ns);
/*
 * live, younger than REJECT_AFTER_TIME, and the replay window has not yet
 * accepted counter REJECT_AFTER_MESSAGES - 1 (after which the Linux driver's
 * decrypt_packet refuses the key: nothing newer could be accepted).
 */
bool keypair_can_receive(const struct keypair *kp, uint64_t now_ns);

/*
 * Whether to start a new handshake, as the Linux driver's keep_key_fresh in
 * send.c and receive.c decides. Call after sending / after receiving data on
 * the current keypair. Remembering that the receive-side handshake was
 * already sent (the driver's sent_lastminute_handshake) is the peer's job.
 */
bool keypair_should_rekey_on_send(const struct keypair *kp, uint64_t now_ns);
bool keypair_should_rekey_on_receive(const struct keypair *kp, uint64_t now_ns);

#endif
