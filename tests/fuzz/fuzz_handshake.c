// SPDX-License-Identifier: MIT
/*
 * Every parser a UDP datagram from the network reaches: the message type
 * check, mac1/mac2, Noise message 1 and 2, cookie replies, and transport
 * data. The first input byte picks a mode; mode 1 recomputes the MACs over
 * the fuzzed bytes so the fuzzer gets past mac1 into Noise itself.
 */
#include "fuzz_harness.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

struct fuzz_world fuzz_world;
const uint8_t fuzz_src[6] = { 192, 0, 2, 1, 0xca, 0x6c };

/*
 * Deterministic "randomness" for the harness only, reset before every input:
 * ephemerals and indices repeat, so a saved response or cookie reply still
 * answers the initiation the harness makes when it runs again.
 */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void rng_buf(void *const buf, const size_t size)
{
	uint8_t *b = buf;
	size_t i;

	for (i = 0; i < size; i++)
		b[i] = (uint8_t)rng_next();
}

static uint32_t rng_random(void)
{
	return (uint32_t)rng_next();
}

static const char *rng_name(void)
{
	return "wgud-fuzz-deterministic";
}

static struct randombytes_implementation rng_impl = {
	.implementation_name = rng_name,
	.random = rng_random,
	.buf = rng_buf,
};

struct noise_handshake *fuzz_lookup_b(void *ctx, const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	(void)ctx;
	return sodium_memcmp(pub, fuzz_world.b_sees_a.remote_static, NOISE_PUBLIC_KEY_LEN) == 0 ? &fuzz_world.b_sees_a
											       : NULL;
}

void fuzz_world_reset(void)
{
	static int ready;
	struct fuzz_world *w = &fuzz_world;
	uint8_t sk[32], key[32];

	if (!ready) {
		if (randombytes_set_implementation(&rng_impl) || sodium_init() < 0)
			abort();
		ready = 1;
	}
	rng_state = 0x9e3779b97f4a7c15ULL;
	memset(sk, 0x11, sizeof(sk));
	if (noise_identity_set(&w->ia, sk))
		abort();
	memset(sk, 0x22, sizeof(sk));
	if (noise_identity_set(&w->ib, sk))
		abort();
	cookie_maker_init(&w->ma, w->ib.static_public);
	cookie_maker_init(&w->mb, w->ia.static_public);
	cookie_checker_init(&w->ca, w->ia.static_public);
	cookie_checker_init(&w->cb, w->ib.static_public);
	noise_handshake_init(&w->a_sees_b, &w->ia, w->ib.static_public, NULL);
	noise_handshake_init(&w->b_sees_a, &w->ib, w->ia.static_public, NULL);
	memset(key, FUZZ_DATA_KEY_BYTE, sizeof(key));
	keypair_init(&w->kp, key, key, FUZZ_DATA_INDEX, 0x05060708, false, 0);
}

int fuzz_send_initiation(struct message_handshake_initiation *msg)
{
	int ret = noise_create_initiation(msg, &fuzz_world.a_sees_b, &fuzz_world.ia, FUZZ_INITIATOR_INDEX,
					  1700000000ULL * NSEC_PER_SEC);

	return ret ? ret : cookie_add_mac_to_packet(&fuzz_world.ma, (uint8_t *)msg, sizeof(*msg), FUZZ_NOW);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_world *w = &fuzz_world;
	uint8_t msg[2048], out[2048];
	struct noise_handshake *found;
	struct message_handshake_initiation own;
	enum cookie_mac_state mac;
	uint64_t now = FUZZ_NOW;
	int mode;

	if (size < 1 || size - 1 > sizeof(msg))
		return 0;
	fuzz_world_reset();
	mode = data[0] & 1;
	size--;
	memcpy(msg, data + 1, size);

	switch (message_classify(msg, size)) {
	case MESSAGE_HANDSHAKE_INITIATION:
		if (mode)
			(void)cookie_add_mac_to_packet(&w->ma, msg, size, now);
		mac = cookie_validate_packet(&w->cb, msg, size, fuzz_src, sizeof(fuzz_src), true, now);
		if (mac == COOKIE_MAC_INVALID)
			break;
		if (mac == COOKIE_MAC_VALID_NO_COOKIE) {
			struct message_handshake_cookie reply;

			(void)cookie_message_create(&reply, &w->cb, msg, size, fuzz_src, sizeof(fuzz_src), now);
		}
		if (!noise_consume_initiation((const struct message_handshake_initiation *)msg, &w->ib, fuzz_lookup_b,
					      NULL, now, &found)) {
			struct message_handshake_response resp;

			if (!noise_create_response(&resp, found, &w->ib, 9)) {
				struct noise_session_keys keys;

				(void)noise_derive_session(&keys, found);
				noise_session_keys_wipe(&keys);
			}
		}
		break;
	case MESSAGE_HANDSHAKE_RESPONSE:
		/* a has an initiation outstanding, as a real initiator would. */
		if (fuzz_send_initiation(&own))
			abort();
		if (mode)
			(void)cookie_add_mac_to_packet(&w->mb, msg, size, now);
		if (cookie_validate_packet(&w->ca, msg, size, fuzz_src, sizeof(fuzz_src), false, now) ==
		    COOKIE_MAC_INVALID)
			break;
		if (!noise_consume_response((const struct message_handshake_response *)msg, &w->a_sees_b, &w->ia)) {
			struct noise_session_keys keys;

			(void)noise_derive_session(&keys, &w->a_sees_b);
			noise_session_keys_wipe(&keys);
		}
		break;
	case MESSAGE_HANDSHAKE_COOKIE:
		/* A reply is only taken for the last message a sent: send one first. */
		if (fuzz_send_initiation(&own))
			abort();
		(void)cookie_message_consume(&w->ma, (const struct message_handshake_cookie *)msg, now);
		break;
	case MESSAGE_DATA:
		(void)transport_open(&w->kp, out, sizeof(out), msg, size, now);
		break;
	case MESSAGE_INVALID:
		break;
	}
	return 0;
}
