// SPDX-License-Identifier: MIT
#include "tai64n.h"

#include <string.h>

/* TAI64 labels second s of Unix time as 2^62 + 10 + s; the references use the same 10 s offset. */
#define TAI64_BASE 0x400000000000000aULL
#define TAI64N_WHITENER_MASK ((1U << 24) - 1)

void tai64n_encode(uint8_t out[NOISE_TIMESTAMP_LEN], uint64_t unix_ns)
{
	uint64_t secs = TAI64_BASE + unix_ns / NSEC_PER_SEC;
	uint32_t nsec = (uint32_t)(unix_ns % NSEC_PER_SEC) & ~TAI64N_WHITENER_MASK;
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(secs >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

bool tai64n_after(const uint8_t a[NOISE_TIMESTAMP_LEN], const uint8_t b[NOISE_TIMESTAMP_LEN])
{
	/* Timestamps are decrypted values, not secrets worth a constant-time compare. */
	return memcmp(a, b, NOISE_TIMESTAMP_LEN) > 0;
}
