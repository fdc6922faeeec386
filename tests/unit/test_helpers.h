/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the unit tests. */
#ifndef WGUD_TEST_HELPERS_H
#define WGUD_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decode lowercase hex into out; returns the number of bytes, or -1 on bad input. */
static inline int test_unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = strlen(hex), i;

	if (n % 2 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned int v;
		char b[3] = { hex[2 * i], hex[2 * i + 1], 0 };
		char *end;

		v = (unsigned int)strtoul(b, &end, 16);
		if (*end)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)(n / 2);
}

#endif
