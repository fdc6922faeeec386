// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpus of fuzz_handshake: one valid message of each type,
 * made in the harness's own deterministic world, each with mode bytes 0 and 1.
 *   make_corpus DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_harness.h"
#include "transport.h"

static int write_seed(const char *dir, const char *name, int mode, const void *msg, size_t len)
{
	char path[4096];
	uint8_t m = (uint8_t)mode;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%d", dir, name, mode);
	f = fopen(path, "wb");
	if (!f || fwrite(&m, 1, 1, f) != 1 || fwrite(msg, 1, len, f) != len) {
		perror(path);
		return -1;
	}
	return fclose(f);
}

int main(int argc, char **argv)
{
	struct fuzz_world *w = &fuzz_world;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct message_handshake_cookie reply;
	struct noise_handshake *found;
	struct keypair kp;
	uint8_t key[32], data[256], ping[84] = { 0x45, 0, 0, 84 };
	uint8_t keepalive[64], check[256];
	ssize_t n, nk;
	int mode, ret = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: make_corpus DIR\n");
		return 2;
	}
	fuzz_world_reset();
	if (fuzz_send_initiation(&init))
		return 1;
	/* b answers that initiation: under the same reset, a's state will match. */
	if (noise_consume_initiation(&init, &w->ib, fuzz_lookup_b, NULL, FUZZ_NOW, &found) ||
	    noise_create_response(&resp, found, &w->ib, 9) ||
	    cookie_add_mac_to_packet(&w->mb, (uint8_t *)&resp, sizeof(resp), FUZZ_NOW) ||
	    cookie_message_create(&reply, &w->cb, (const uint8_t *)&init, sizeof(init), fuzz_src, sizeof(fuzz_src),
				  FUZZ_NOW))
		return 1;
	memset(key, FUZZ_DATA_KEY_BYTE, sizeof(key));
	keypair_init(&kp, key, key, 1, FUZZ_DATA_INDEX, true, 0);
	memcpy(ping + 12, "\x0a\x00\x00\x02\x0a\x00\x00\x01", 8);
	n = transport_seal(&kp, data, sizeof(data), ping, sizeof(ping), 1420, 1);
	nk = transport_seal(&kp, keepalive, sizeof(keepalive), NULL, 0, 1420, 1);
	if (n < 0 || nk != 32)
		return 1;
	/* The seeds must reach their parsers' success paths, or they seed nothing deep. */
	fuzz_world_reset();
	if (fuzz_send_initiation(&init) || noise_consume_response(&resp, &w->a_sees_b, &w->ia) ||
	    cookie_message_consume(&w->ma, &reply, FUZZ_NOW) ||
	    transport_open(&w->kp, check, sizeof(check), data, (size_t)n, FUZZ_NOW) != 96) {
		fprintf(stderr, "make_corpus: seeds do not replay in the harness world\n");
		return 1;
	}
	for (mode = 0; mode < 2; mode++) {
		ret |= write_seed(argv[1], "initiation", mode, &init, sizeof(init));
		ret |= write_seed(argv[1], "response", mode, &resp, sizeof(resp));
		ret |= write_seed(argv[1], "cookie", mode, &reply, sizeof(reply));
		ret |= write_seed(argv[1], "data", mode, data, (size_t)n);
		ret |= write_seed(argv[1], "keepalive", mode, keepalive, (size_t)nk);
	}
	return ret ? 1 : 0;
}
