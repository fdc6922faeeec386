// SPDX-License-Identifier: MIT
/*
 * Handshakes through the whole responder path of a device with many peers:
 * device_receive_udp on initiations from distinct peers, so each one pays
 * mac1, the peer lookup by static key in a table of n_peers, Noise, the new
 * receiver index and the keypair install, and leaves a response queued. One
 * thread: the figure is per core. The load check is held off so the Noise
 * work is what is timed, not the cookie replies a flood would get.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "cookie.h"
#include "device.h"
#include "noise.h"

#define INITIATORS 256

struct initiator {
	struct noise_static_identity id;
	struct noise_handshake hs;
	struct cookie_maker maker;
};

static uint64_t responses;

/* The responses are not sent anywhere: count them and give their buffers back. */
static void drain(struct wg_device *dev, void *ctx)
{
	unsigned int i;

	(void)ctx;
	for (i = 0; i < dev->tx_udp.n; i++) {
		responses += dev->tx_udp.items[i].len == sizeof(struct message_handshake_response);
		pool_put(&dev->pool, dev->tx_udp.items[i].id);
	}
	dev->tx_udp.n = 0;
}

static int add_peers(struct wg_device *dev, struct initiator *in, size_t n_peers)
{
	uint8_t key[NOISE_PUBLIC_KEY_LEN];
	struct wg_peer *peer;
	size_t i;
	int ret;

	for (i = 0; i < n_peers; i++) {
		if (i < INITIATORS)
			memcpy(key, in[i].id.static_public, sizeof(key));
		else
			randombytes_buf(key, sizeof(key));
		ret = device_add_peer(dev, key, &peer);
		if (ret)
			return ret;
	}
	return 0;
}

static int setup(struct wg_device *dev, struct initiator *in, size_t n_peers)
{
	uint8_t sk[NOISE_PRIVATE_KEY_LEN];
	size_t i;
	int ret;

	ret = device_init(dev, 1420, 4096);
	if (ret)
		return ret;
	dev->flush = drain;
	randombytes_buf(sk, sizeof(sk));
	ret = device_set_private_key(dev, sk);
	for (i = 0; !ret && i < INITIATORS; i++) {
		randombytes_buf(sk, sizeof(sk));
		ret = noise_identity_set(&in[i].id, sk);
		noise_handshake_init(&in[i].hs, &in[i].id, dev->identity->static_public, NULL);
		cookie_maker_init(&in[i].maker, dev->identity->static_public);
	}
	sodium_memzero(sk, sizeof(sk));
	return ret ? ret : add_peers(dev, in, n_peers);
}

/* One initiation from each initiator, timestamped `wall`, untimed. */
static int make_round(struct wg_device *dev, struct initiator *in, struct wg_pkt *pkts, uint64_t wall, uint64_t now)
{
	size_t i;

	for (i = 0; i < INITIATORS; i++) {
		uint32_t id = pool_get(&dev->pool);
		struct message_handshake_initiation *msg;

		if (id == POOL_NONE)
			return -ENOBUFS;
		msg = (struct message_handshake_initiation *)pool_buf(&dev->pool, id);
		if (noise_create_initiation(msg, &in[i].hs, &in[i].id, (uint32_t)i + 1, wall) ||
		    cookie_add_mac_to_packet(&in[i].maker, (uint8_t *)msg, sizeof(*msg), now))
			return -EINVAL;
		memset(&pkts[i], 0, sizeof(pkts[i]));
		pkts[i].id = id;
		pkts[i].data = (uint8_t *)msg;
		pkts[i].len = sizeof(*msg);
		pkts[i].addr.sin.sin_family = AF_INET;
		pkts[i].addr.sin.sin_port = htons((uint16_t)(20000 + i));
		pkts[i].addr.sin.sin_addr.s_addr = htonl(0x0a000001 + (uint32_t)i);
	}
	return 0;
}

int bench_device_handshakes(double seconds, size_t n_peers)
{
	struct initiator *in = sodium_malloc(INITIATORS * sizeof(*in));
	static struct wg_pkt pkts[INITIATORS];
	struct wg_device dev;
	uint64_t spent = 0, start, n = 0, fake_now = NSEC_PER_SEC, wall = 1700000000ULL * NSEC_PER_SEC;
	uint64_t refused;
	size_t i;
	int ret;

	if (!in)
		return -ENOMEM;
	responses = 0;
	ret = setup(&dev, in, n_peers);
	start = device_now_ns();
	while (!ret && device_now_ns() - start < (uint64_t)(seconds * NSEC_PER_SEC)) {
		/* A second per round on the device's clock: each peer's flood guard wants 20 ms. */
		fake_now += NSEC_PER_SEC;
		wall += NSEC_PER_SEC;
		ret = make_round(&dev, in, pkts, wall, fake_now);
		for (i = 0; !ret && i < INITIATORS; i++) {
			uint64_t t = device_now_ns();

			dev.handshakes_this_second = 0;
			dev.under_load_until_ns = 0;
			device_receive_udp(&dev, &pkts[i], 1, fake_now);
			spent += device_now_ns() - t;
			n++;
		}
		drain(&dev, NULL);
	}
	refused = dev.drops[WG_DROP_HANDSHAKE] + dev.drops[WG_DROP_MAC] + dev.drops[WG_DROP_UNDER_LOAD];
	if (!ret && (refused || responses != n))
		ret = -EPROTO;
	if (!ret)
		printf("  %-34s %10.0f /s   (%6.1f us each; %zu peers, %llu handshakes)\n",
		       "device responder, initiation in", n / (spent / 1e9), spent / 1e3 / (double)n, n_peers,
		       (unsigned long long)n);
	else
		fprintf(stderr, "wgud-bench: device handshakes failed (%d, %llu refused)\n", ret,
			(unsigned long long)refused);
	device_uninit(&dev);
	for (i = 0; i < INITIATORS; i++)
		cookie_maker_uninit(&in[i].maker);
	sodium_free(in);
	return ret;
}
