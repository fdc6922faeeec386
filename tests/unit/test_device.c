// SPDX-License-Identifier: MIT
/*
 * Two devices in one process, wired together through their output queues
 * (no sockets, no TUN): the data plane's own promises.
 *  - Nothing but a handshake initiation leaves before a session exists;
 *    at most MAX_STAGED_PACKETS wait, the rest are dropped and counted.
 *  - The staged packets go out, in order, once the handshake completes.
 *  - An inner source outside the sender's allowed-ips is dropped.
 *  - Under load, initiations get cookie replies until they carry mac2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "device.h"

#define NOW (1000 * NSEC_PER_SEC)

struct world {
	struct wg_device a, b;
	struct wg_peer *a_b, *b_a; /* a's view of b, b's view of a */
};

static const uint8_t ip_a[4] = { 192, 0, 2, 1 }, ip_b[4] = { 192, 0, 2, 2 };

static void addr(union wg_sockaddr *s, uint8_t last, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	s->sin.sin_family = AF_INET;
	s->sin.sin_port = htons(port);
	s->sin.sin_addr.s_addr = htonl(0xc6336400u | last); /* 198.51.100.x */
}

static void world_init(struct world *w)
{
	uint8_t ka[32], kb[32];
	union wg_sockaddr ea, eb;

	memset(w, 0, sizeof(*w));
	assert_int_equal(device_init(&w->a, 1420, 1024), 0);
	assert_int_equal(device_init(&w->b, 1420, 1024), 0);
	randombytes_buf(ka, 32);
	randombytes_buf(kb, 32);
	assert_int_equal(device_set_private_key(&w->a, ka), 0);
	assert_int_equal(device_set_private_key(&w->b, kb), 0);
	assert_int_equal(device_add_peer(&w->a, w->b.identity->static_public, &w->a_b), 0);
	assert_int_equal(device_add_peer(&w->b, w->a.identity->static_public, &w->b_a), 0);
	assert_int_equal(peer_add_allowedip(w->a_b, AF_INET, ip_b, 32), 0);
	assert_int_equal(peer_add_allowedip(w->b_a, AF_INET, ip_a, 32), 0);
	addr(&ea, 1, 51820);
	addr(&eb, 2, 51821);
	peer_set_endpoint(w->a_b, &eb);
	peer_set_endpoint(w->b_a, &ea);
}

static void world_uninit(struct world *w)
{
	unsigned int i;

	for (i = 0; i < w->a.tx_udp.n; i++)
		pool_put(&w->a.pool, w->a.tx_udp.items[i].id);
	for (i = 0; i < w->b.tx_udp.n; i++)
		pool_put(&w->b.pool, w->b.tx_udp.items[i].id);
	device_uninit(&w->a);
	device_uninit(&w->b);
}

/* An ICMP-sized IPv4 packet from src to dst with a sequence number in its payload, read "from TUN". */
static void tun_in(struct wg_device *dev, const uint8_t src[4], const uint8_t dst[4], uint16_t seq, uint64_t now)
{
	struct wg_pkt p;
	uint8_t *ip;

	p.id = pool_get(&dev->pool);
	assert_int_not_equal(p.id, POOL_NONE);
	ip = pool_buf(&dev->pool, p.id) + WG_TUN_HEADROOM;
	memset(ip, 0, 84);
	ip[0] = 0x45;
	ip[3] = 84;
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	ip[28] = (uint8_t)(seq >> 8);
	ip[29] = (uint8_t)seq;
	p.data = ip;
	p.len = 84;
	device_receive_tun(dev, &p, 1, now);
}

static unsigned int count_type(const struct wg_txq *q, uint8_t type)
{
	unsigned int i, n = 0;

	for (i = 0; i < q->n; i++)
		n += q->items[i].data[0] == type;
	return n;
}

/* Deliver everything `from` queued for UDP to `to`, as if from `src`; returns how many. */
static unsigned int deliver(struct wg_device *from, struct wg_device *to, uint8_t src_last, uint16_t src_port,
			    uint64_t now)
{
	unsigned int i, n = from->tx_udp.n;

	for (i = 0; i < n; i++) {
		struct wg_pkt p, *q = &from->tx_udp.items[i];

		p.id = pool_get(&to->pool);
		assert_int_not_equal(p.id, POOL_NONE);
		p.data = pool_buf(&to->pool, p.id);
		memcpy(p.data, q->data, q->len);
		p.len = q->len;
		addr(&p.addr, src_last, src_port);
		pool_put(&from->pool, q->id);
		device_receive_udp(to, &p, 1, now);
	}
	from->tx_udp.n = 0;
	return n;
}

static void drain_tun(struct wg_device *dev)
{
	unsigned int i;

	for (i = 0; i < dev->tx_tun.n; i++)
		pool_put(&dev->pool, dev->tx_tun.items[i].id);
	dev->tx_tun.n = 0;
}

static void nothing_but_an_initiation_before_a_session(void **state)
{
	struct world w;
	unsigned int i;

	(void)state;
	world_init(&w);
	for (i = 0; i < 200; i++)
		tun_in(&w.a, ip_a, ip_b, (uint16_t)i, NOW);
	/* The kill switch inside the data plane: one initiation, no data message. */
	assert_int_equal(w.a.tx_udp.n, 1);
	assert_int_equal(count_type(&w.a.tx_udp, MESSAGE_HANDSHAKE_INITIATION), 1);
	assert_int_equal(count_type(&w.a.tx_udp, MESSAGE_DATA), 0);
	assert_int_equal(w.a_b->staged_len, MAX_STAGED_PACKETS);
	assert_int_equal(w.a.drops[WG_DROP_STAGED_OVERFLOW], 200 - MAX_STAGED_PACKETS);

	/* Handshake: initiation to b, response to a; a sends what it staged, oldest dropped first. */
	assert_int_equal(deliver(&w.a, &w.b, 1, 51820, NOW), 1);
	assert_int_equal(count_type(&w.b.tx_udp, MESSAGE_HANDSHAKE_RESPONSE), 1);
	assert_int_equal(deliver(&w.b, &w.a, 2, 51821, NOW), 1);
	assert_int_equal(w.a_b->staged_len, 0);
	assert_int_equal(count_type(&w.a.tx_udp, MESSAGE_DATA), MAX_STAGED_PACKETS);
	deliver(&w.a, &w.b, 1, 51820, NOW);
	assert_int_equal(w.b.tx_tun.n, MAX_STAGED_PACKETS);
	for (i = 0; i < MAX_STAGED_PACKETS; i++) {
		const uint8_t *ip = w.b.tx_tun.items[i].data;
		uint16_t seq = (uint16_t)(ip[28] << 8 | ip[29]);

		assert_int_equal(w.b.tx_tun.items[i].len, 84);
		assert_int_equal(seq, 200 - MAX_STAGED_PACKETS + i);
	}
	drain_tun(&w.b);
	/* The responder now has a confirmed session and answers without a new handshake. */
	tun_in(&w.b, ip_b, ip_a, 7, NOW);
	assert_int_equal(w.b.tx_udp.n, 1);
	assert_int_equal(count_type(&w.b.tx_udp, MESSAGE_DATA), 1);
	deliver(&w.b, &w.a, 2, 51821, NOW);
	assert_int_equal(w.a.tx_tun.n, 1);
	drain_tun(&w.a);
	world_uninit(&w);
}

static void no_endpoint_no_packet(void **state)
{
	struct world w;

	(void)state;
	world_init(&w);
	w.a_b->has_endpoint = false;
	tun_in(&w.a, ip_a, ip_b, 1, NOW);
	assert_int_equal(w.a.tx_udp.n, 0);
	assert_true(w.a.drops[WG_DROP_NO_ENDPOINT] >= 1);
	/* A destination no peer owns is dropped, never sent anywhere. */
	tun_in(&w.a, ip_a, (const uint8_t[]){ 203, 0, 113, 9 }, 2, NOW);
	assert_int_equal(w.a.tx_udp.n, 0);
	assert_int_equal(w.a.drops[WG_DROP_NO_ROUTE], 1);
	world_uninit(&w);
}

static void source_outside_allowed_ips_dropped(void **state)
{
	struct world w;
	static const uint8_t spoofed[4] = { 192, 0, 2, 99 };

	(void)state;
	world_init(&w);
	tun_in(&w.a, ip_a, ip_b, 1, NOW);
	deliver(&w.a, &w.b, 1, 51820, NOW);
	deliver(&w.b, &w.a, 2, 51821, NOW); /* a sends the staged packet */
	deliver(&w.a, &w.b, 1, 51820, NOW);
	assert_int_equal(w.b.tx_tun.n, 1);
	drain_tun(&w.b);
	/* a's packet claims a source b does not route to a. */
	tun_in(&w.a, spoofed, ip_b, 2, NOW);
	assert_int_equal(count_type(&w.a.tx_udp, MESSAGE_DATA), 1);
	deliver(&w.a, &w.b, 1, 51820, NOW);
	assert_int_equal(w.b.tx_tun.n, 0);
	assert_int_equal(w.b.drops[WG_DROP_SOURCE_NOT_ALLOWED], 1);
	world_uninit(&w);
}

/* Authenticated packets move the endpoint; a replayed one from elsewhere does not. */
static void roaming_only_on_fresh_authenticated_packets(void **state)
{
	struct world w;
	uint8_t copy[256];
	uint32_t len;
	struct wg_pkt p;

	(void)state;
	world_init(&w);
	tun_in(&w.a, ip_a, ip_b, 1, NOW);
	deliver(&w.a, &w.b, 1, 51820, NOW);
	deliver(&w.b, &w.a, 2, 51821, NOW);
	assert_int_equal(w.a.tx_udp.n, 1);
	len = w.a.tx_udp.items[0].len;
	memcpy(copy, w.a.tx_udp.items[0].data, len);
	deliver(&w.a, &w.b, 7, 40000, NOW); /* a "moved" to .7:40000 */
	assert_int_equal(ntohs(w.b_a->endpoint.sin.sin_port), 40000);
	drain_tun(&w.b);
	/* The same datagram replayed from an attacker's address: refused, endpoint stays. */
	p.id = pool_get(&w.b.pool);
	p.data = pool_buf(&w.b.pool, p.id);
	memcpy(p.data, copy, len);
	p.len = len;
	addr(&p.addr, 66, 6666);
	device_receive_udp(&w.b, &p, 1, NOW);
	assert_int_equal(ntohs(w.b_a->endpoint.sin.sin_port), 40000);
	assert_int_equal(w.b.drops[WG_DROP_DECRYPT], 1);
	assert_int_equal(w.b.tx_tun.n, 0);
	world_uninit(&w);
}

static void under_load_cookie_then_mac2(void **state)
{
	struct world w;
	uint8_t init[sizeof(struct message_handshake_initiation)];
	unsigned int i, cookies = 0, responses = 0;

	(void)state;
	world_init(&w);
	tun_in(&w.a, ip_a, ip_b, 1, NOW);
	assert_int_equal(w.a.tx_udp.n, 1);
	memcpy(init, w.a.tx_udp.items[0].data, sizeof(init));
	pool_put(&w.a.pool, w.a.tx_udp.items[0].id);
	w.a.tx_udp.n = 0;

	/* A flood of copies (valid mac1, replayed Noise) pushes b under load. */
	for (i = 0; i <= UNDER_LOAD_THRESHOLD + 10; i++) {
		unsigned int before = w.b.tx_udp.n, j;
		struct wg_pkt p;

		p.id = pool_get(&w.b.pool);
		p.data = pool_buf(&w.b.pool, p.id);
		memcpy(p.data, init, sizeof(init));
		p.len = sizeof(init);
		addr(&p.addr, 1, 51820);
		device_receive_udp(&w.b, &p, 1, NOW);
		for (j = before; j < w.b.tx_udp.n; j++) {
			uint8_t type = w.b.tx_udp.items[j].data[0];

			responses += type == MESSAGE_HANDSHAKE_RESPONSE;
			cookies += type == MESSAGE_HANDSHAKE_COOKIE;
		}
		if (cookies == 1 && w.b.tx_udp.items[w.b.tx_udp.n - 1].data[0] == MESSAGE_HANDSHAKE_COOKIE) {
			/* Hand the first cookie reply to a; the rest stay queued at b. */
			struct wg_pkt cookie = w.b.tx_udp.items[--w.b.tx_udp.n];
			struct wg_txq saved = w.b.tx_udp;

			w.b.tx_udp.items[0] = cookie;
			w.b.tx_udp.n = 1;
			deliver(&w.b, &w.a, 2, 51821, NOW);
			w.b.tx_udp = saved;
			cookies++; /* counted; don't hand over another */
		}
	}
	assert_int_equal(responses, 1); /* the first copy; the rest were replays or needed a cookie */
	assert_true(cookies >= 10);
	assert_true(w.b.drops[WG_DROP_UNDER_LOAD] >= 10);
	assert_true(w.a_b->maker.have_cookie);
	for (i = 0; i < w.b.tx_udp.n; i++)
		pool_put(&w.b.pool, w.b.tx_udp.items[i].id);
	w.b.tx_udp.n = 0;

	/* a retries after REKEY_TIMEOUT with mac2; b, still under load, answers it. */
	device_tick(&w.a, NOW + REKEY_TIMEOUT_NS + NSEC_PER_SEC / 2);
	assert_int_equal(count_type(&w.a.tx_udp, MESSAGE_HANDSHAKE_INITIATION), 1);
	assert_false(sodium_is_zero(w.a.tx_udp.items[0].data + offsetof(struct message_handshake_initiation, macs.mac2),
				    COOKIE_LEN));
	deliver(&w.a, &w.b, 1, 51820, NOW + NSEC_PER_SEC / 2);
	assert_int_equal(count_type(&w.b.tx_udp, MESSAGE_HANDSHAKE_RESPONSE), 1);
	world_uninit(&w);
}

/* After REJECT_AFTER_TIME the keypair may not send: packets stage again behind a new handshake. */
static void expired_session_sends_nothing(void **state)
{
	struct world w;
	uint64_t later = NOW + REJECT_AFTER_TIME_NS + NSEC_PER_SEC;

	(void)state;
	world_init(&w);
	tun_in(&w.a, ip_a, ip_b, 1, NOW);
	deliver(&w.a, &w.b, 1, 51820, NOW);
	deliver(&w.b, &w.a, 2, 51821, NOW);
	deliver(&w.a, &w.b, 1, 51820, NOW);
	drain_tun(&w.b);
	tun_in(&w.a, ip_a, ip_b, 2, later);
	assert_int_equal(count_type(&w.a.tx_udp, MESSAGE_DATA), 0);
	assert_int_equal(count_type(&w.a.tx_udp, MESSAGE_HANDSHAKE_INITIATION), 1);
	assert_int_equal(w.a_b->staged_len, 1);
	world_uninit(&w);
}

/*
 * The peer tables at a size that once hit the fixed limit: every peer is
 * found by its key, removals keep the rest findable, the index table grew
 * with them (a handshake and three keypairs each), and a session still
 * comes up with a peer among thousands.
 */
static void many_peers_found_by_key(void **state)
{
	enum { N = 5000 };
	static uint8_t keys[N][32];
	struct world w;
	struct wg_peer *p;
	size_t i;

	(void)state;
	world_init(&w);
	for (i = 0; i < N; i++) {
		randombytes_buf(keys[i], sizeof(keys[i]));
		assert_int_equal(device_add_peer(&w.b, keys[i], &p), 0);
		assert_int_equal(peer_add_allowedip(p, AF_INET, (const uint8_t[4]){ 10, (uint8_t)(i >> 8), (uint8_t)i, 0 },
						    24),
				 0);
	}
	assert_int_equal(w.b.n_peers, N + 1);
	assert_true(w.b.indices.max_entries >= 4 * w.b.n_peers);
	for (i = 0; i < N; i++) {
		p = device_find_peer(&w.b, keys[i]);
		assert_non_null(p);
		assert_memory_equal(p->hs.remote_static, keys[i], 32);
	}
	assert_ptr_equal(device_find_peer(&w.b, w.a.identity->static_public), w.b_a);
	for (i = 0; i < N; i += 2)
		device_remove_peer(&w.b, device_find_peer(&w.b, keys[i]));
	for (i = 0; i < N; i++)
		assert_true((device_find_peer(&w.b, keys[i]) != NULL) == (i % 2 == 1));
	assert_int_equal(allowedips_count(&w.b.allowedips), N / 2 + 1);
	for (i = 0; i < w.b.n_peers; i++)
		assert_int_equal(w.b.peers[i]->dev_slot, i);
	/* Our own key is never a peer; a removed key can come back. */
	assert_int_equal(device_add_peer(&w.b, w.b.identity->static_public, &p), -EINVAL);
	assert_int_equal(device_add_peer(&w.b, keys[0], &p), 0);
	assert_ptr_equal(device_find_peer(&w.b, keys[0]), p);
	tun_in(&w.a, ip_a, ip_b, 1, NOW);
	assert_int_equal(deliver(&w.a, &w.b, 1, 51820, NOW), 1);
	assert_int_equal(deliver(&w.b, &w.a, 2, 51821, NOW), 1);
	assert_non_null(keypairs_sending(&w.a_b->keypairs, NOW));
	assert_int_equal(deliver(&w.a, &w.b, 1, 51820, NOW), 1);
	assert_int_equal(w.b.tx_tun.n, 1);
	assert_non_null(keypairs_sending(&w.b_a->keypairs, NOW));
	drain_tun(&w.b);
	world_uninit(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nothing_but_an_initiation_before_a_session),
		cmocka_unit_test(no_endpoint_no_packet),
		cmocka_unit_test(source_outside_allowed_ips_dropped),
		cmocka_unit_test(roaming_only_on_fresh_authenticated_packets),
		cmocka_unit_test(under_load_cookie_then_mac2),
		cmocka_unit_test(expired_session_sends_nothing),
		cmocka_unit_test(many_peers_found_by_key),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
