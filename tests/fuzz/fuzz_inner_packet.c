// SPDX-License-Identifier: MIT
/*
 * Inner packets as they come out of a decrypted data message or off the TUN
 * device: the IPv4/IPv6 header parse behind cryptokey routing.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "allowedips.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct allowedips table;
static int peer_a, peer_b;

static void setup(void)
{
	static int ready;
	uint8_t a4[4] = { 10, 0, 0, 0 }, b4[4] = { 10, 1, 2, 3 }, z6[16] = { 0 }, b6[16] = { 0xfd, 0 };

	if (ready)
		return;
	allowedips_init(&table);
	if (allowedips_insert(&table, AF_INET, a4, 8, &peer_a) || allowedips_insert(&table, AF_INET, b4, 32, &peer_b) ||
	    allowedips_insert(&table, AF_INET6, z6, 0, &peer_a) || allowedips_insert(&table, AF_INET6, b6, 8, &peer_b))
		abort();
	ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *d, *s;

	setup();
	d = allowedips_lookup_dst(&table, data, size);
	s = allowedips_lookup_src(&table, data, size);
	/* Whatever a lookup returns must be one of the peers put in. */
	if ((d && d != &peer_a && d != &peer_b) || (s && s != &peer_a && s != &peer_b))
		abort();
	/* Well-formed headers must map exactly as the table says. */
	if (size >= 20 && (data[0] >> 4) == 4 && (data[0] & 15) >= 5 && (size_t)(data[0] & 15) * 4 <= size) {
		static const uint8_t host_b[4] = { 10, 1, 2, 3 };
		void *want = data[16] != 10 ? NULL : !memcmp(data + 16, host_b, 4) ? (void *)&peer_b : (void *)&peer_a;

		if (d != want)
			abort();
	}
	if (size >= 40 && (data[0] >> 4) == 6 && d != (data[24] == 0xfd ? (void *)&peer_b : (void *)&peer_a))
		abort();
	return 0;
}
