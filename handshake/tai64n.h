/* SPDX-License-Identifier: MIT */
/* TAI64N timestamps as WireGuard puts them in initiations (whitepaper 5.4.2). */
#ifndef WGUD_TAI64N_H
#define WGUD_TAI64N_H

#include <stdbool.h>
#include <stdint.h>

#include "messages.h"

/*
 * Encode wall-clock Unix time in nanoseconds as 12 bytes of TAI64N. The
 * nanoseconds are whitened (rounded down to a multiple of 2^24 ns, the power of
 * two below 1 s / INITIATIONS_PER_SECOND) so that the timestamp does not leak a
 * fine-grained clock to an observer who can decrypt it.
 */
void tai64n_encode(uint8_t out[NOISE_TIMESTAMP_LEN], uint64_t unix_ns);

/* True when a is strictly later than b; both are big-endian, so bytewise order is time order. */
bool tai64n_after(const uint8_t a[NOISE_TIMESTAMP_LEN], const uint8_t b[NOISE_TIMESTAMP_LEN])
	__attribute__((warn_unused_result));

#endif
