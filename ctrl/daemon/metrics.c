// SPDX-License-Identifier: MIT
#include "metrics.h"

#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "keys.h"
#include "log.h"

/* ---- the exposition text ---- */

/* A label value as the format wants it: backslash, double quote and newline escaped. */
static void put_label(struct ctl_buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			ctl_buf_printf(out, "\\%c", *s);
		else if (*s == '\n')
			ctl_buf_printf(out, "\\n");
		else
			ctl_buf_append(out, s, 1);
	}
}

static void family(struct ctl_buf *out, const char *name, const char *type, const char *help)
{
	ctl_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* `name{interface="IF"` : the caller adds its own labels, then closes with sample(). */
static void open_sample(struct ctl_buf *out, const char *name, const char *ifname)
{
	ctl_buf_printf(out, "%s{interface=\"", name);
	put_label(out, ifname);
	ctl_buf_printf(out, "\"");
}

static void sample(struct ctl_buf *out, unsigned long long value)
{
	ctl_buf_printf(out, "} %llu\n", value);
}

static void peer_samples(struct ctl_buf *out, const struct metrics_view *v, const char *name, int what)
{
	char key[KEY_BASE64_LEN + 1], why[160];
	size_t i;

	for (i = 0; i < v->dev->n_peers; i++) {
		const struct wg_peer *p = v->dev->peers[i];
		unsigned long long value;

		switch (what) {
		case 0: value = p->tx_bytes; break;
		case 1: value = p->rx_bytes; break;
		case 2: value = p->last_handshake_sec > 0 ? (unsigned long long)p->last_handshake_sec : 0; break;
		default: value = health_peer_state(p, v->now_ns, why, sizeof(why)) == HEALTH_UP; break;
		}
		key_to_base64(key, p->hs.remote_static);
		open_sample(out, name, v->ifname);
		ctl_buf_printf(out, ",public_key=\"%s\"", key);
		sample(out, value);
	}
	sodium_memzero(key, sizeof(key));
}

int metrics_format(struct ctl_buf *out, const struct metrics_view *v)
{
	const struct wg_device *dev = v->dev;
	char summary[256], why[256];
	bool enforced = health_wall_enforced(v->wall, v->ifname, why, sizeof(why));
	int i;

	family(out, "wireguard_sent_bytes_total", "counter", "Bytes sent to the peer (WireGuard messages).");
	peer_samples(out, v, "wireguard_sent_bytes_total", 0);
	family(out, "wireguard_received_bytes_total", "counter", "Bytes received from the peer (WireGuard messages).");
	peer_samples(out, v, "wireguard_received_bytes_total", 1);
	family(out, "wireguard_latest_handshake_seconds", "gauge",
	       "Unix time of the latest completed handshake with the peer; 0: none yet.");
	peer_samples(out, v, "wireguard_latest_handshake_seconds", 2);
	family(out, "wgud_tunnel_up", "gauge",
	       "1 while a session to the peer may send (younger than REJECT_AFTER_TIME), as `show` says up.");
	peer_samples(out, v, "wgud_tunnel_up", 3);

	family(out, "wgud_peers", "gauge", "Peers configured.");
	open_sample(out, "wgud_peers", v->ifname);
	sample(out, dev->n_peers);
	family(out, "wgud_healthy", "gauge", "1 when `wgud ctl IFACE health` would exit 0.");
	open_sample(out, "wgud_healthy", v->ifname);
	sample(out, health_judge(dev, v->wall, v->ifname, v->now_ns, summary, sizeof(summary)) == 0);
	family(out, "wgud_kill_switch_enforced", "gauge",
	       "1 while the kill switch is on and its nftables table is in force; 0 when off or not in force.");
	open_sample(out, "wgud_kill_switch_enforced", v->ifname);
	sample(out, v->wall->mode != POLICY_KILL_SWITCH_OFF && enforced);

	family(out, "wgud_handshakes_total", "counter",
	       "Handshakes by result: completed, gave_up (no answer within REKEY_ATTEMPT_TIME), or refused_REASON.");
	open_sample(out, "wgud_handshakes_total", v->ifname);
	ctl_buf_printf(out, ",result=\"completed\"");
	sample(out, dev->handshakes_completed);
	open_sample(out, "wgud_handshakes_total", v->ifname);
	ctl_buf_printf(out, ",result=\"gave_up\"");
	sample(out, dev->handshakes_gave_up);
	for (i = 0; i < WG_REFUSED_COUNT; i++) {
		open_sample(out, "wgud_handshakes_total", v->ifname);
		ctl_buf_printf(out, ",result=\"refused_%s\"", device_refusal_name(i));
		sample(out, dev->refused[i]);
	}

	family(out, "wgud_drops_total", "counter",
	       "Packets dropped, by reason (`wgud ctl IFACE show` says what each means).");
	for (i = 0; i < WG_DROP_COUNT; i++) {
		open_sample(out, "wgud_drops_total", v->ifname);
		ctl_buf_printf(out, ",reason=\"%s\"", device_drop_name(i));
		sample(out, dev->drops[i]);
	}
	if (v->tun_queue_full >= 0) {
		open_sample(out, "wgud_drops_total", v->ifname);
		ctl_buf_printf(out, ",reason=\"tun_queue_full\"");
		sample(out, (unsigned long long)v->tun_queue_full);
	}
	return out->error;
}

/* ---- HTTP ---- */

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

int metrics_http_head(char *out, size_t cap, int status, size_t body_len)
{
	int n = snprintf(out, cap,
			 "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
			 status_text(status), status == 200 ? "Content-Type: " METRICS_CONTENT_TYPE "\r\n" : "",
			 status == 405 ? "Allow: GET\r\n" : "", status == 200 ? "Cache-Control: no-store\r\n" : "",
			 status == 200 ? body_len : 0);

	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* Where the head (request line and headers) ends: the offset past its empty line, or 0. */
static size_t head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* A byte no request line or header holds: NUL, controls but CR, LF and tab, DEL. */
static bool bad_byte(unsigned char c)
{
	return (c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f;
}

int metrics_http_parse(const char *buf, size_t len)
{
	const char *sp1, *sp2, *eol, *target;
	size_t end, i, target_len;

	if (len > METRICS_HTTP_MAX_REQUEST)
		len = METRICS_HTTP_MAX_REQUEST;
	end = head_end(buf, len);
	/* Refused as soon as a bad byte is in, whole or not: it can never become a request. */
	for (i = 0; i < (end ? end : len); i++)
		if (bad_byte((unsigned char)buf[i]))
			return 400;
	if (!end)
		return len >= METRICS_HTTP_MAX_REQUEST ? 431 : 0;
	eol = memchr(buf, '\n', end);
	if (eol > buf && eol[-1] == '\r')
		eol--;
	sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	if (!sp1 || sp1 == buf)
		return 400;
	target = sp1 + 1;
	sp2 = memchr(target, ' ', (size_t)(eol - target));
	if (!sp2 || sp2 == target || memchr(sp2 + 1, ' ', (size_t)(eol - sp2 - 1)))
		return 400;
	if ((size_t)(eol - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7))
		return (size_t)(eol - sp2 - 1) >= 5 && !memcmp(sp2 + 1, "HTTP/", 5) ? 505 : 400;
	if (sp2[8] != '0' && sp2[8] != '1')
		return 505;
	if ((size_t)(sp1 - buf) != 3 || memcmp(buf, "GET", 3))
		return 405;
	target_len = (size_t)(sp2 - target);
	for (i = 0; i < target_len && target[i] != '?'; i++)
		;
	return i == 8 && !memcmp(target, "/metrics", 8) ? 200 : 404;
}

/* ---- the server ---- */

struct http_state {
	char buf[METRICS_HTTP_MAX_REQUEST];
	size_t len;
};

static void answer(struct metrics_server *m, struct sockserver_client *c, int status)
{
	char head[256];
	struct ctl_buf body;
	int n, ret = 0;

	ctl_buf_init(&body);
	if (status == 200) {
		ret = m->fmt(m->ctx, &body);
		if (ret)
			status = 500;
	}
	n = metrics_http_head(head, sizeof(head), status, body.len);
	if (n < 0)
		ret = n;
	if (n >= 0)
		ret = sockserver_queue(c, head, (size_t)n);
	if (!ret && status == 200 && body.len) {
		ret = sockserver_queue_owned(c, body.data, body.len, body.cap);
		ctl_buf_init(&body);
	}
	ctl_buf_uninit(&body);
	if (status == 200)
		m->served++;
	else
		m->refused++;
	if (ret)
		log_warn("metrics: could not answer a client: %s", strerror(-ret));
	else if (status != 200)
		log_debug("metrics: answered %d %s", status, status_text(status));
}

static enum sockserver_next on_input(void *ctx, struct sockserver_client *c, const char *data, size_t n)
{
	struct metrics_server *m = ctx;
	struct http_state *st = c->state;
	size_t take;
	int status;

	if (!data)
		return SOCKSERVER_CLOSE; /* gone before its request was whole: nothing to say */
	if (!n)
		return SOCKSERVER_CLOSE; /* after the reply: one request per connection */
	take = n < sizeof(st->buf) - st->len ? n : sizeof(st->buf) - st->len;
	memcpy(st->buf + st->len, data, take);
	st->len += take;
	status = metrics_http_parse(st->buf, st->len);
	if (!status && take < n)
		status = 431;
	if (!status)
		return SOCKSERVER_MORE;
	answer(m, c, status);
	return SOCKSERVER_CLOSE;
}

static const struct sockserver_proto http_proto = {
	.name = "metrics",
	.state_size = sizeof(struct http_state),
	.input = on_input,
	.idle_farewell = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
};

void metrics_server_init(struct metrics_server *m)
{
	memset(m, 0, sizeof(*m));
	sockserver_init(&m->core, &http_proto, m);
}

int metrics_server_open(struct metrics_server *m, const union model_sockaddr *addr)
{
	socklen_t len = addr->sa.sa_family == AF_INET6 ? sizeof(addr->sin6) : sizeof(addr->sin);
	char label[80], where[64];
	int fd, one = 1, ret;

	fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A restart binds at once, whatever TIME_WAIT the last run's connections left. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, &addr->sa, len) < 0 || listen(fd, SOCKSERVER_MAX_CLIENTS) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	model_format_endpoint(where, addr);
	snprintf(label, sizeof(label), "http://%s/metrics", where);
	return sockserver_adopt(&m->core, fd, label);
}

int metrics_server_start(struct metrics_server *m, struct loop *loop, int (*fmt)(void *ctx, struct ctl_buf *out),
			 void *ctx)
{
	m->fmt = fmt;
	m->ctx = ctx;
	return sockserver_start(&m->core, loop);
}

void metrics_server_close(struct metrics_server *m)
{
	sockserver_close(&m->core);
}
