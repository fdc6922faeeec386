/* SPDX-License-Identifier: MIT */
/*
 * Prometheus metrics: the text exposition format (version 0.0.4), printed
 * by `wgud ctl IFACE metrics` and served by `--metrics ADDR:PORT`.
 *
 * Names follow the common WireGuard exporters, so dashboards made for them
 * work: wireguard_sent_bytes_total, wireguard_received_bytes_total and
 * wireguard_latest_handshake_seconds, labelled interface and public_key
 * (a peer's public key: not a secret, and no other key is ever in them).
 * wgud's own are wgud_*: the tunnel per peer, health, drops by reason,
 * handshakes by result, the kill switch. Tunnel state and health come from
 * health.h, so they agree with `show` and `health`.
 *
 * The HTTP side is as small as it can be: one request per connection,
 * "GET /metrics" (a query string is ignored), HTTP/1.0 or 1.1, at most
 * METRICS_HTTP_MAX_REQUEST bytes of request line and headers; every reply
 * closes the connection. Anything else gets its status code (400, 404, 405,
 * 431, 505) and no body. The transport is sockserver's: bounded, never
 * waiting on a client, a client that idles is told 408 and closed.
 */
#ifndef WGUD_METRICS_H
#define WGUD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "device.h"
#include "health.h"
#include "model.h"
#include "sockserver.h"

#define METRICS_HTTP_MAX_REQUEST 2048
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* What the metrics are made of, at one moment. */
struct metrics_view {
	const char *ifname;
	const struct wg_device *dev;
	const struct health_wall *wall;
	int64_t tun_queue_full; /* the kernel's drops before wgud (show_kernel_drops); -1: not known */
	uint64_t now_ns;        /* device_now_ns() */
};

/* Appends the exposition text to out; its sticky error is the result. */
int metrics_format(struct ctl_buf *out, const struct metrics_view *v);

/*
 * Reads one HTTP request from the first len bytes a client sent: 0 when it
 * is not complete yet (no empty line ends it), else the status to answer
 * (200 for GET /metrics). Pure: for the server, the unit test and the fuzzer.
 */
int metrics_http_parse(const char *buf, size_t len);

/* The status line and headers of a reply with body_len bytes of body (only 200 has one). */
int metrics_http_head(char *out, size_t cap, int status, size_t body_len);

/* The HTTP server: fmt fills a reply body with metrics_format(). */
struct metrics_server {
	struct sockserver core;
	int (*fmt)(void *ctx, struct ctl_buf *out);
	void *ctx;
	unsigned long served, refused; /* 200s, and every other status */
};

void metrics_server_init(struct metrics_server *m);
/* Listens on TCP at addr (in the calling thread's namespace). -errno, with nothing left open. */
int metrics_server_open(struct metrics_server *m, const union model_sockaddr *addr);
int metrics_server_start(struct metrics_server *m, struct loop *loop, int (*fmt)(void *ctx, struct ctl_buf *out),
			 void *ctx);
void metrics_server_close(struct metrics_server *m);

#endif
