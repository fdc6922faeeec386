// SPDX-License-Identifier: MIT
/*
 * The UAPI text protocol: request framing, the set parser and the get
 * printer. Keys, error numbers and the order of the get reply are those of
 * wireguard-go, which wg(8) and every other UAPI client are tested against.
 */
#include "uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

#define OP_LINE_LEN 6 /* "get=1\n", "set=1\n" */
#define INITIAL_CAP 4096
/*
 * A ceiling on the whole buffer, for a caller that feeds without consuming:
 * one that follows the loop in uapi.h holds at most one partial request plus
 * the last read.
 */
#define MAX_BUFFER (2 * (size_t)UAPI_MAX_REQUEST)

int uapi_conn_init(struct uapi_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->buf = malloc(INITIAL_CAP);
	if (!c->buf)
		return -ENOMEM;
	c->cap = INITIAL_CAP;
	return 0;
}

void uapi_conn_uninit(struct uapi_conn *c)
{
	if (c->buf)
		sodium_memzero(c->buf, c->cap);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/* Not realloc(): the old block may hold a private key, so it is wiped before it is freed. */
static int reserve(struct uapi_conn *c, size_t n)
{
	size_t new_cap = c->cap ? c->cap : INITIAL_CAP;
	char *p;

	if (n <= c->cap - c->len)
		return 0;
	while (new_cap - c->len < n)
		new_cap *= 2;
	p = malloc(new_cap);
	if (!p)
		return -ENOMEM;
	if (c->buf) {
		memcpy(p, c->buf, c->len);
		sodium_memzero(c->buf, c->cap);
		free(c->buf);
	}
	c->buf = p;
	c->cap = new_cap;
	return 0;
}

/* Refuses a wrong first line at its first wrong byte, so a stray client is not kept waiting for a newline. */
static int read_op(struct uapi_conn *c)
{
	size_t n = c->len < OP_LINE_LEN ? c->len : OP_LINE_LEN;

	if (n && memcmp(c->buf, "get=1\n", n) && memcmp(c->buf, "set=1\n", n))
		return -EPROTO;
	if (n < OP_LINE_LEN)
		return 0;
	c->op = c->buf[0] == 'g' ? UAPI_OP_GET : UAPI_OP_SET;
	c->scan = c->line = OP_LINE_LEN;
	return 0;
}

/* wireguard-go answers EINVAL to anything but a blank line after "get=1". */
static int read_get(struct uapi_conn *c)
{
	if (c->len <= OP_LINE_LEN)
		return 0;
	if (c->buf[OP_LINE_LEN] != '\n')
		return -EINVAL;
	c->req_len = OP_LINE_LEN + 1;
	return 0;
}

/* Resumes where the last feed stopped, so that feeding a byte at a time stays linear. */
static int read_set(struct uapi_conn *c)
{
	for (; c->scan < c->len; c->scan++) {
		if (c->scan >= UAPI_MAX_REQUEST)
			return -EMSGSIZE;
		if (c->buf[c->scan] != '\n') {
			if (c->scan - c->line >= UAPI_MAX_LINE)
				return -EMSGSIZE;
			continue;
		}
		if (c->scan == c->line) {
			c->req_len = c->scan + 1;
			return 0;
		}
		c->line = c->scan + 1;
	}
	return 0;
}

static enum uapi_op fail(struct uapi_conn *c, int err)
{
	c->error = err;
	return UAPI_OP_ERROR;
}

enum uapi_op uapi_conn_feed(struct uapi_conn *c, const char *data, size_t n, const char **body, size_t *body_len)
{
	int ret = 0;

	*body = NULL;
	*body_len = 0;
	if (c->error)
		return UAPI_OP_ERROR;
	if (n > MAX_BUFFER - c->len)
		return fail(c, -EMSGSIZE);
	if (n) {
		ret = reserve(c, n);
		if (ret)
			return fail(c, ret);
		memcpy(c->buf + c->len, data, n);
		c->len += n;
	}
	if (!c->req_len) {
		if (c->op == UAPI_OP_NONE)
			ret = read_op(c);
		if (!ret && c->op == UAPI_OP_GET)
			ret = read_get(c);
		else if (!ret && c->op == UAPI_OP_SET)
			ret = read_set(c);
		if (ret)
			return fail(c, ret);
		if (!c->req_len)
			return UAPI_OP_NONE;
	}
	if (c->op == UAPI_OP_SET) {
		*body = c->buf + OP_LINE_LEN;
		*body_len = c->req_len - OP_LINE_LEN - 1;
	}
	return c->op;
}

void uapi_conn_consume(struct uapi_conn *c)
{
	size_t rest;

	if (c->error || !c->req_len)
		return;
	rest = c->len - c->req_len;
	memmove(c->buf, c->buf + c->req_len, rest);
	sodium_memzero(c->buf + rest, c->req_len);
	c->len = rest;
	c->scan = c->line = c->req_len = 0;
	c->op = UAPI_OP_NONE;
}

static bool is(const char *text, size_t len, const char *word)
{
	return strlen(word) == len && !memcmp(text, word, len);
}

/*
 * Digits only, leading zeros allowed: what wireguard-go's ParseUint(v, 10, n)
 * takes, so "fwmark=0x10" is refused here as there.
 */
static int number(uint32_t *out, const char *v, size_t vn, uint32_t max)
{
	uint64_t x = 0;
	size_t i;

	if (!vn)
		return -EINVAL;
	for (i = 0; i < vn; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		x = x * 10 + (uint64_t)(v[i] - '0');
		if (x > max)
			return -EINVAL;
	}
	*out = (uint32_t)x;
	return 0;
}

/* wireguard-go accepts only "true" for the flag keys; "false" is an error, not a no-op. */
static int set_flag(unsigned int *flags, unsigned int flag, const char *v, size_t vn)
{
	if (!is(v, vn, "true"))
		return -EINVAL;
	*flags |= flag;
	return 0;
}

static int device_line(struct model_device *dev, const char *k, size_t kn, const char *v, size_t vn)
{
	uint32_t x;

	if (is(k, kn, "private_key")) {
		if (key_from_hex(dev->private_key, v, vn))
			return -EINVAL;
		dev->flags |= MODEL_DEVICE_HAS_PRIVATE_KEY;
	} else if (is(k, kn, "listen_port")) {
		if (number(&x, v, vn, UINT16_MAX))
			return -EINVAL;
		dev->listen_port = (uint16_t)x;
		dev->flags |= MODEL_DEVICE_HAS_LISTEN_PORT;
	} else if (is(k, kn, "fwmark")) {
		if (number(&dev->fwmark, v, vn, UINT32_MAX))
			return -EINVAL;
		dev->flags |= MODEL_DEVICE_HAS_FWMARK;
	} else if (is(k, kn, "replace_peers")) {
		return set_flag(&dev->flags, MODEL_DEVICE_REPLACE_PEERS, v, vn);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int allowed_ip(struct model_device *dev, struct model_peer *peer, const char *v, size_t vn)
{
	struct cidr c;

	/* The prefix length is not optional here, as in wireguard-go (netip.ParsePrefix). */
	if (!memchr(v, '/', vn) || model_parse_cidr(&c, v, vn))
		return -EINVAL;
	return model_peer_add_allowedip(dev, peer, &c);
}

static int peer_line(struct model_device *dev, struct model_peer *peer, const char *k, size_t kn, const char *v,
		     size_t vn)
{
	uint32_t x;

	if (is(k, kn, "update_only"))
		return set_flag(&peer->flags, MODEL_PEER_UPDATE_ONLY, v, vn);
	if (is(k, kn, "remove"))
		return set_flag(&peer->flags, MODEL_PEER_REMOVE_ME, v, vn);
	if (is(k, kn, "replace_allowed_ips"))
		return set_flag(&peer->flags, MODEL_PEER_REPLACE_ALLOWEDIPS, v, vn);
	if (is(k, kn, "allowed_ip"))
		return allowed_ip(dev, peer, v, vn);
	if (is(k, kn, "protocol_version"))
		return is(v, vn, "1") ? 0 : -EINVAL;
	if (is(k, kn, "preshared_key")) {
		if (key_from_hex(peer->preshared_key, v, vn))
			return -EINVAL;
		peer->flags |= MODEL_PEER_HAS_PRESHARED_KEY;
	} else if (is(k, kn, "endpoint")) {
		if (model_parse_endpoint(&peer->endpoint, v, vn))
			return -EINVAL;
		peer->flags |= MODEL_PEER_HAS_ENDPOINT;
	} else if (is(k, kn, "persistent_keepalive_interval")) {
		if (number(&x, v, vn, UINT16_MAX))
			return -EINVAL;
		peer->persistent_keepalive = (uint16_t)x;
		peer->flags |= MODEL_PEER_HAS_PERSISTENT_KEEPALIVE;
	} else {
		return -EINVAL;
	}
	return 0;
}

/*
 * A public_key line starts a peer, and from then on device keys are unknown
 * keys (-EINVAL), as in wireguard-go. *peer is the peer being filled.
 */
static int parse_line(struct model_device *dev, struct model_peer **peer, const char *line, size_t n)
{
	const char *eq = memchr(line, '=', n);
	size_t kn, vn;
	int ret;

	/*
	 * wireguard-go answers EPROTO to a line it cannot split; a blank line
	 * is one too, as it ends a request and so cannot be inside a body.
	 */
	if (!eq)
		return -EPROTO;
	kn = (size_t)(eq - line);
	vn = n - kn - 1;
	if (is(line, kn, "public_key")) {
		ret = model_add_peer(dev, peer);
		if (ret)
			return ret;
		if (key_from_hex((*peer)->public_key, eq + 1, vn))
			return -EINVAL;
		(*peer)->flags |= MODEL_PEER_HAS_PUBLIC_KEY;
		return 0;
	}
	if (!*peer)
		return device_line(dev, line, kn, eq + 1, vn);
	return peer_line(dev, *peer, line, kn, eq + 1, vn);
}

int uapi_parse_set(const char *body, size_t len, struct model_device **out)
{
	struct model_device *dev;
	struct model_peer *peer = NULL;
	size_t pos = 0;
	int ret = 0;

	*out = NULL;
	/* Values are matched by length, but a NUL would cut them short for anyone who later prints one. */
	if (len && memchr(body, '\0', len))
		return -EINVAL;
	dev = model_device_new();
	if (!dev)
		return -ENOMEM;
	/* The last line may come without its '\n': callers other than uapi_conn pass plain text. */
	while (pos < len && !ret) {
		const char *line = body + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;

		pos += n + (nl ? 1 : 0);
		ret = parse_line(dev, &peer, line, n);
	}
	if (ret) {
		model_device_free(dev);
		return ret;
	}
	*out = dev;
	return 0;
}

struct writer {
	char *out;
	size_t cap, len;
	bool overflow;
};

static void put(struct writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct writer *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->out + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->cap - w->len) {
		w->overflow = true;
		return;
	}
	w->len += (size_t)n;
}

static void put_key(struct writer *w, const char *name, const uint8_t key[MODEL_KEY_LEN])
{
	char hex[KEY_HEX_LEN + 1];

	key_to_hex(hex, key);
	put(w, "%s=%s\n", name, hex);
	sodium_memzero(hex, sizeof(hex));
}

static void put_allowedip(struct writer *w, const struct cidr *c)
{
	char ip[INET6_ADDRSTRLEN];

	if ((c->family != AF_INET && c->family != AF_INET6) || !inet_ntop(c->family, c->addr, ip, sizeof(ip)))
		return;
	put(w, "allowed_ip=%s/%u\n", ip, c->cidr);
}

/* wg(8) reads these numbers as unsigned decimals: a negative one would fail its whole get. */
static uint64_t non_negative(int64_t v)
{
	return v < 0 ? 0 : (uint64_t)v;
}

static void put_peer(struct writer *w, const struct model_peer *p)
{
	sa_family_t family = p->endpoint.sa.sa_family;
	size_t i;

	put_key(w, "public_key", p->public_key);
	put_key(w, "preshared_key", p->preshared_key);
	put(w, "protocol_version=1\n");
	if (family == AF_INET || family == AF_INET6) {
		char ep[64];

		model_format_endpoint(ep, &p->endpoint);
		put(w, "endpoint=%s\n", ep);
	}
	put(w, "last_handshake_time_sec=%" PRIu64 "\n", non_negative(p->last_handshake_sec));
	put(w, "last_handshake_time_nsec=%" PRIu64 "\n", non_negative(p->last_handshake_nsec));
	put(w, "tx_bytes=%" PRIu64 "\n", p->tx_bytes);
	put(w, "rx_bytes=%" PRIu64 "\n", p->rx_bytes);
	put(w, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
	for (i = 0; i < p->n_allowedips; i++)
		put_allowedip(w, &p->allowedips[i]);
}

ssize_t uapi_format_get(char *out, size_t cap, const struct model_device *dev)
{
	struct writer w = { .out = out, .cap = cap };
	size_t i;

	if (!cap)
		return -ENOSPC;
	if (!sodium_is_zero(dev->private_key, MODEL_KEY_LEN))
		put_key(&w, "private_key", dev->private_key);
	if (dev->listen_port)
		put(&w, "listen_port=%u\n", dev->listen_port);
	if (dev->fwmark)
		put(&w, "fwmark=%" PRIu32 "\n", dev->fwmark);
	for (i = 0; i < dev->n_peers; i++)
		put_peer(&w, &dev->peers[i]);
	put(&w, "errno=0\n\n");
	if (w.overflow) {
		/* What was written may end in part of the private key; it is no use to the caller anyway. */
		sodium_memzero(out, cap);
		return -ENOSPC;
	}
	return (ssize_t)w.len;
}

size_t uapi_format_errno(char out[UAPI_ERRNO_REPLY_LEN], int err)
{
	int n = snprintf(out, UAPI_ERRNO_REPLY_LEN, "errno=%d\n\n", err);

	return n < 0 ? 0 : (size_t)n;
}
