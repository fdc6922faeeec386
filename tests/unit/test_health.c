// SPDX-License-Identifier: MIT
/*
 * health.c and metrics.c on a simulated clock: a device with peers whose
 * timers the test sets, judged at chosen moments; the metrics text checked
 * line by line; the HTTP request parser against a table and a naive
 * reading of the same rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "health.h"
#include "messages.h"
#include "metrics.h"
#include "peer.h"

#define T0 (1000ULL * NSEC_PER_SEC) /* the simulated clock's start */
#define S NSEC_PER_SEC

struct world {
	struct wg_device dev;
	struct wg_peer *with_ep, *without_ep;
};

static void world_init(struct world *w)
{
	uint8_t priv[32], pub1[32], pub2[32];
	union wg_sockaddr ep;

	memset(w, 0, sizeof(*w));
	assert_int_equal(device_init(&w->dev, 1420, 64), 0);
	randombytes_buf(priv, sizeof(priv));
	randombytes_buf(pub1, sizeof(pub1));
	randombytes_buf(pub2, sizeof(pub2));
	assert_int_equal(device_set_private_key(&w->dev, priv), 0);
	assert_int_equal(device_add_peer(&w->dev, pub1, &w->with_ep), 0);
	assert_int_equal(device_add_peer(&w->dev, pub2, &w->without_ep), 0);
	memset(&ep, 0, sizeof(ep));
	ep.sin.sin_family = AF_INET;
	ep.sin.sin_port = htons(51820);
	ep.sin.sin_addr.s_addr = htonl(0xc6336402); /* 198.51.100.2 */
	peer_set_endpoint(w->with_ep, &ep);
	sodium_memzero(priv, sizeof(priv));
}

static void handshake_at(struct wg_peer *p, uint64_t when)
{
	p->timers.have_last_handshake = true;
	p->timers.last_handshake_ns = when;
}

static const struct health_wall wall_off = { .mode = POLICY_KILL_SWITCH_OFF };
static const struct health_wall wall_on = { .mode = POLICY_KILL_SWITCH_ON, .table_installed = true, .table_present = 1 };

static void test_fresh_until_reject_after_time(void **state)
{
	struct world w;
	char summary[256];

	(void)state;
	world_init(&w);
	/* Never a handshake: unhealthy, and the reason says which peer and that none came. */
	assert_int_equal(health_judge(&w.dev, &wall_off, "wg0", T0, summary, sizeof(summary)), 1);
	assert_non_null(strstr(summary, "no handshake with the peer at 198.51.100.2:51820 yet"));

	handshake_at(w.with_ep, T0);
	/* Table-driven against the rule itself: fresh iff 0 <= now - handshake < REJECT_AFTER_TIME. */
	static const uint64_t ages[] = { 0, 1, 10 * S, 120 * S, REJECT_AFTER_TIME_NS - 1, REJECT_AFTER_TIME_NS,
					 REJECT_AFTER_TIME_NS + 1, 600 * S };
	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		bool fresh = ages[i] < REJECT_AFTER_TIME_NS;
		int verdict = health_judge(&w.dev, &wall_off, "wg0", T0 + ages[i], summary, sizeof(summary));

		assert_int_equal(health_peer_fresh(w.with_ep, T0 + ages[i]), fresh);
		assert_int_equal(verdict, fresh ? 0 : 1);
		if (fresh) {
			assert_string_equal(summary,
					    "healthy: 1 of 1 peers with an endpoint had a handshake within 180 s");
		} else {
			assert_non_null(strstr(summary, "no handshake with the peer at 198.51.100.2:51820 for over 180 s"));
		}
	}
	/* A clock that reads before the handshake (cannot happen, must not pass as fresh forever). */
	assert_false(health_peer_fresh(w.with_ep, T0 - 1));
	/* The peer without an endpoint never counts: it is the one to reach us. */
	assert_false(w.without_ep->timers.have_last_handshake);
	device_uninit(&w.dev);
}

static void test_only_peers_without_endpoint(void **state)
{
	struct world w;
	char summary[256];

	(void)state;
	world_init(&w);
	device_remove_peer(&w.dev, w.with_ep);
	assert_int_equal(health_judge(&w.dev, &wall_off, "wg0", T0, summary, sizeof(summary)), 0);
	assert_string_equal(summary, "healthy: no peer has an endpoint to reach (1 waiting to be reached)");
	device_uninit(&w.dev);
}

static void test_wall(void **state)
{
	struct health_wall never = { .mode = POLICY_KILL_SWITCH_ON, .table_installed = false, .table_present = 0 };
	struct health_wall gone = { .mode = POLICY_KILL_SWITCH_LOCKDOWN, .table_installed = true, .table_present = 0 };
	struct health_wall unknown = { .mode = POLICY_KILL_SWITCH_ON, .table_installed = true, .table_present = -13 };
	struct world w;
	char why[256], summary[256];

	(void)state;
	assert_true(health_wall_enforced(&wall_off, "wg0", why, sizeof(why)));
	assert_string_equal(why, "");
	assert_true(health_wall_enforced(&wall_on, "wg0", why, sizeof(why)));
	assert_false(health_wall_enforced(&never, "wg0", why, sizeof(why)));
	assert_non_null(strstr(why, "never put in"));
	assert_false(health_wall_enforced(&gone, "wg0", why, sizeof(why)));
	assert_non_null(strstr(why, "table inet wgud_wg0 is gone from the kernel"));
	/* Not knowing (nft unusable to ask) is not taken for a hole. */
	assert_true(health_wall_enforced(&unknown, "wg0", why, sizeof(why)));

	world_init(&w);
	handshake_at(w.with_ep, T0);
	assert_int_equal(health_judge(&w.dev, &wall_on, "wg0", T0 + S, summary, sizeof(summary)), 0);
	assert_non_null(strstr(summary, "; the kill switch is in force"));
	/* A live tunnel with the wall gone is unhealthy, and the wall is the reason given. */
	assert_int_equal(health_judge(&w.dev, &gone, "wg0", T0 + S, summary, sizeof(summary)), 1);
	assert_non_null(strstr(summary, "gone from the kernel"));
	device_uninit(&w.dev);
}

static void test_peer_states(void **state)
{
	struct world w;
	char why[160];

	(void)state;
	world_init(&w);
	assert_int_equal(health_peer_state(NULL, T0, why, sizeof(why)), HEALTH_DOWN);
	assert_int_equal(health_peer_state(w.with_ep, T0, why, sizeof(why)), HEALTH_DOWN);
	assert_string_equal(why, "no handshake yet: nothing has been sent to this peer");
	assert_int_equal(health_peer_state(w.without_ep, T0, why, sizeof(why)), HEALTH_DOWN);
	assert_string_equal(why, "no endpoint: waiting for the peer to reach us");
	handshake_at(w.with_ep, T0);
	assert_int_equal(health_peer_state(w.with_ep, T0 + 200 * S, why, sizeof(why)), HEALTH_DOWN);
	assert_string_equal(why, "the session expired (no handshake for over 180 s)");
	assert_string_equal(health_tunnel_name(HEALTH_UP), "up");
	assert_string_equal(health_tunnel_name(HEALTH_CONNECTING), "connecting");
	assert_string_equal(health_tunnel_name(HEALTH_DOWN), "down");
	device_uninit(&w.dev);
}

/* Every line of the text is a comment (# HELP / # TYPE) or `name{labels} integer`. */
static void check_exposition(const char *text)
{
	const char *line = text;

	while (*line) {
		const char *end = strchr(line, '\n');
		char name[128];
		unsigned long long v;
		int n = 0;

		assert_non_null(end);
		if (line[0] == '#') {
			assert_true(!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7));
		} else {
			assert_int_equal(sscanf(line, "%127[a-z_]{%*[^}]} %llu%n", name, &v, &n), 2);
			assert_ptr_equal(line + n, end);
		}
		line = end + 1;
	}
}

static void test_metrics_text(void **state)
{
	struct world w;
	struct ctl_buf out;
	struct metrics_view v;

	(void)state;
	world_init(&w);
	handshake_at(w.with_ep, T0);
	w.with_ep->tx_bytes = 1234;
	w.with_ep->rx_bytes = 5678;
	w.with_ep->last_handshake_sec = 1796154303;
	w.dev.drops[WG_DROP_NO_ROUTE] = 7;
	w.dev.refused[WG_REFUSED_MAC1] = 3;
	w.dev.handshakes_completed = 2;
	v = (struct metrics_view){ .ifname = "wg0", .dev = &w.dev, .wall = &wall_on, .tun_queue_full = 9,
				   .now_ns = T0 + S };
	ctl_buf_init(&out);
	assert_int_equal(metrics_format(&out, &v), 0);
	check_exposition(out.data);
	assert_non_null(strstr(out.data, "# TYPE wireguard_sent_bytes_total counter\n"));
	assert_non_null(strstr(out.data, "\",public_key=\""));
	assert_non_null(strstr(out.data, "} 1234\n"));
	assert_non_null(strstr(out.data, "} 5678\n"));
	assert_non_null(strstr(out.data, "} 1796154303\n"));
	assert_non_null(strstr(out.data, "wgud_drops_total{interface=\"wg0\",reason=\"no_route\"} 7\n"));
	assert_non_null(strstr(out.data, "wgud_drops_total{interface=\"wg0\",reason=\"tun_queue_full\"} 9\n"));
	assert_non_null(strstr(out.data, "wgud_handshakes_total{interface=\"wg0\",result=\"completed\"} 2\n"));
	assert_non_null(strstr(out.data, "wgud_handshakes_total{interface=\"wg0\",result=\"refused_mac1\"} 3\n"));
	assert_non_null(strstr(out.data, "wgud_kill_switch_enforced{interface=\"wg0\"} 1\n"));
	assert_non_null(strstr(out.data, "wgud_healthy{interface=\"wg0\"} 1\n"));
	assert_non_null(strstr(out.data, "wgud_peers{interface=\"wg0\"} 2\n"));
	ctl_buf_uninit(&out);

	/* Expired and the wall off: healthy 0, enforced 0; no tun_queue_full when it is not known. */
	v.now_ns = T0 + REJECT_AFTER_TIME_NS;
	v.wall = &wall_off;
	v.tun_queue_full = -1;
	ctl_buf_init(&out);
	assert_int_equal(metrics_format(&out, &v), 0);
	assert_non_null(strstr(out.data, "wgud_healthy{interface=\"wg0\"} 0\n"));
	assert_non_null(strstr(out.data, "wgud_kill_switch_enforced{interface=\"wg0\"} 0\n"));
	assert_null(strstr(out.data, "tun_queue_full"));
	ctl_buf_uninit(&out);

	/* Label values are escaped as the format says. */
	v.ifname = "a\"b\\c\nd";
	ctl_buf_init(&out);
	assert_int_equal(metrics_format(&out, &v), 0);
	assert_non_null(strstr(out.data, "wgud_peers{interface=\"a\\\"b\\\\c\\nd\"} 2\n"));
	ctl_buf_uninit(&out);
	device_uninit(&w.dev);
}

static void test_http_parse(void **state)
{
	static const struct {
		const char *req;
		int status;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200 },
		{ "GET /metrics HTTP/1.0\r\n\r\n", 200 },
		{ "GET /metrics HTTP/1.1\n\n", 200 },
		{ "GET /metrics?name[]=up HTTP/1.1\r\n\r\n", 200 },
		{ "GET /metrics/ HTTP/1.1\r\n\r\n", 404 },
		{ "GET / HTTP/1.1\r\n\r\n", 404 },
		{ "GET /metricsX HTTP/1.1\r\n\r\n", 404 },
		{ "POST /metrics HTTP/1.1\r\n\r\n", 405 },
		{ "HEAD /metrics HTTP/1.1\r\n\r\n", 405 },
		{ "get /metrics HTTP/1.1\r\n\r\n", 405 },
		{ "GET /metrics HTTP/2.0\r\n\r\n", 505 },
		{ "GET /metrics HTTP/1.2\r\n\r\n", 505 },
		{ "GET /metrics FTP/1.1\r\n\r\n", 400 },
		{ "GET /metrics\r\n\r\n", 400 },
		{ "GET  /metrics HTTP/1.1\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1 x\r\n\r\n", 400 },
		{ " GET /metrics HTTP/1.1\r\n\r\n", 400 },
		{ "\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\nX: \x01\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\nX: \x7f\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\n", 0 },
		{ "GET /met", 0 },
		{ "", 0 },
		{ "GET \x02", 400 },
	};
	char big[METRICS_HTTP_MAX_REQUEST + 10];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = metrics_http_parse(cases[i].req, strlen(cases[i].req));

		if (got != cases[i].status)
			fail_msg("case %zu (%s): %d, want %d", i, cases[i].req, got, cases[i].status);
	}
	/* A NUL inside is refused, never read as the end. */
	assert_int_equal(metrics_http_parse("GET /metrics\0 HTTP/1.1\r\n\r\n", 27), 400);
	/* Headers that never end: 431 once the bound is reached, not before. */
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	memset(big + 26, 'a', sizeof(big) - 26);
	assert_int_equal(metrics_http_parse(big, METRICS_HTTP_MAX_REQUEST - 1), 0);
	assert_int_equal(metrics_http_parse(big, METRICS_HTTP_MAX_REQUEST), 431);
	assert_int_equal(metrics_http_parse(big, sizeof(big)), 431);
}

static void test_http_head(void **state)
{
	char head[256];

	(void)state;
	assert_true(metrics_http_head(head, sizeof(head), 200, 42) > 0);
	assert_string_equal(head, "HTTP/1.1 200 OK\r\nContent-Type: " METRICS_CONTENT_TYPE
				  "\r\nCache-Control: no-store\r\nContent-Length: 42\r\nConnection: close\r\n\r\n");
	assert_true(metrics_http_head(head, sizeof(head), 405, 42) > 0);
	assert_string_equal(head, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\n"
				  "Connection: close\r\n\r\n");
	assert_int_equal(metrics_http_head(head, 10, 404, 0), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_until_reject_after_time),
		cmocka_unit_test(test_only_peers_without_endpoint),
		cmocka_unit_test(test_wall),
		cmocka_unit_test(test_peer_states),
		cmocka_unit_test(test_metrics_text),
		cmocka_unit_test(test_http_parse),
		cmocka_unit_test(test_http_head),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
