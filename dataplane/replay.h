/* SPDX-License-Identifier: MIT */
/*
 * Anti-replay window for transport counters (whitepaper section 5.4.6): the
 * bitmap of RFC 6479 in the form the Linux driver uses, 8192 bits kept as a
 * ring of 64-bit words of which one is always the word being recycled, so
 * COUNTER_WINDOW_SIZE (8128) counters behind the highest one stay acceptable.
 *
 * Concurrency: none inside. One window belongs to one keypair's receive side;
 * the caller serializes replay_update against every other call on it.
 */
#ifndef WGUD_REPLAY_H
#define WGUD_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "messages.h"

#define REPLAY_WORDS (COUNTER_BITS_TOTAL / 64)

_Static_assert((REPLAY_WORDS & (REPLAY_WORDS - 1)) == 0, "the ring is indexed by masking");

struct replay_window {
	/*
	 * One past the highest counter accepted, 0 before the first one: bit
	 * (c + 1) of the ring stands for counter c, so the empty window needs no
	 * special case.
	 */
	uint64_t counter;
	uint64_t backtrack[REPLAY_WORDS];
};

void replay_init(struct replay_window *w);
/*
 * Read-only: could counter be accepted now? Used before decryption so obvious
 * replays cost no ChaCha20-Poly1305. Its answer only holds until the next
 * replay_update.
 */
bool replay_check(const struct replay_window *w, uint64_t counter) __attribute__((warn_unused_result));
/*
 * Accepts and records counter. Call only once the packet's tag verified, or a
 * forged counter would slide the window. false = seen before, fallen behind
 * the window, or >= REJECT_AFTER_MESSAGES.
 */
bool replay_update(struct replay_window *w, uint64_t counter) __attribute__((warn_unused_result));

#endif
