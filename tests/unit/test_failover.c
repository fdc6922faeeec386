// SPDX-License-Identifier: MIT
/*
 * --failover's clock (ctrl/daemon/failover.c), on a device with one peer
 * and no sockets: a peer moves to its next endpoint, round-robin, only
 * after a handshake has been in flight for --failover-after with none
 * completed; a peer that is not trying, or whose handshake completed
 * since, stays where it is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <sodium.h>
#include <string.h>

#include "conf.h"
#include "device.h"
#include "failover.h"
#include "keys.h"
#include "peer.h"
#include "timers.h"

#define SEC 1000000000ULL
#define T0 (1000 * SEC)

struct fixture {
	struct wg_device dev;
	struct wg_peer *peer;
	struct failover f;
};

static void port_is(const struct wg_peer *peer, uint16_t port)
{
	assert_int_equal(ntohs(peer->endpoint.sin.sin_port), port);
}

static void setup(struct fixture *x, const char *endpoints)
{
	char text[512], pub[KEY_BASE64_LEN + 1], priv[KEY_BASE64_LEN + 1];
	uint8_t k[32], pk[32];
	struct model_device *m = NULL;
	struct conf_error err;

	memset(x, 0, sizeof(*x));
	assert_int_equal(device_init(&x->dev, 1420, 64), 0);
	randombytes_buf(k, 32);
	randombytes_buf(pk, 32);
	assert_int_equal(device_set_private_key(&x->dev, k), 0);
	key_to_base64(priv, k);
	key_to_base64(pub, pk);
	snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\n[Peer]\nPublicKey = %s\nEndpoint = %s\n", priv, pub,
		 endpoints);
	assert_int_equal(conf_parse("wg0.conf", text, strlen(text), &m, &err), 0);
	assert_int_equal(device_add_peer(&x->dev, pk, &x->peer), 0);
	peer_set_endpoint(x->peer, (const union wg_sockaddr *)&m->peers[0].endpoint);
	assert_int_equal(failover_init(&x->f, &x->dev, NULL, m, 6), 0);
	model_device_free(m);
}

static void teardown(struct fixture *x)
{
	failover_uninit(&x->f);
	device_uninit(&x->dev);
}

static void trying(struct fixture *x, bool on)
{
	x->peer->timers.deadline[TIMERS_RETRANSMIT_HANDSHAKE] = on ? T0 + 5 * SEC : TIMERS_NEVER;
}

static void moves_after_the_wait_round_robin(void **state)
{
	struct fixture x;

	(void)state;
	setup(&x, "192.0.2.1:1, 192.0.2.2:2, 192.0.2.3:3");
	assert_int_equal(x.f.n_peers, 1);
	/* Not trying: the clock does not run. */
	failover_tick(&x.f, T0);
	failover_tick(&x.f, T0 + 60 * SEC);
	port_is(x.peer, 1);
	trying(&x, true);
	failover_tick(&x.f, T0 + 60 * SEC);
	failover_tick(&x.f, T0 + 65 * SEC);
	port_is(x.peer, 1);
	failover_tick(&x.f, T0 + 66 * SEC);
	port_is(x.peer, 2);
	/* The wait starts again at the move. */
	failover_tick(&x.f, T0 + 71 * SEC);
	port_is(x.peer, 2);
	failover_tick(&x.f, T0 + 72 * SEC);
	port_is(x.peer, 3);
	failover_tick(&x.f, T0 + 78 * SEC);
	port_is(x.peer, 1);
	teardown(&x);
}

static void a_completed_handshake_holds_it(void **state)
{
	struct fixture x;

	(void)state;
	setup(&x, "192.0.2.1:1, 192.0.2.2:2");
	trying(&x, true);
	failover_tick(&x.f, T0);
	/* A handshake completed meanwhile: the wait counts from it. */
	x.peer->timers.have_last_handshake = true;
	x.peer->timers.last_handshake_ns = T0 + 4 * SEC;
	failover_tick(&x.f, T0 + 9 * SEC);
	port_is(x.peer, 1);
	failover_tick(&x.f, T0 + 10 * SEC);
	port_is(x.peer, 2);
	/* Stopped trying: the clock starts over when it tries again. */
	trying(&x, false);
	failover_tick(&x.f, T0 + 11 * SEC);
	trying(&x, true);
	failover_tick(&x.f, T0 + 30 * SEC);
	failover_tick(&x.f, T0 + 35 * SEC);
	port_is(x.peer, 2);
	failover_tick(&x.f, T0 + 36 * SEC);
	port_is(x.peer, 1);
	teardown(&x);
}

static void one_endpoint_is_left_alone(void **state)
{
	struct fixture x;

	(void)state;
	setup(&x, "192.0.2.1:1");
	assert_int_equal(x.f.n_peers, 0);
	trying(&x, true);
	failover_tick(&x.f, T0 + 100 * SEC);
	port_is(x.peer, 1);
	teardown(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(moves_after_the_wait_round_robin),
		cmocka_unit_test(a_completed_handshake_holds_it),
		cmocka_unit_test(one_endpoint_is_left_alone),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
