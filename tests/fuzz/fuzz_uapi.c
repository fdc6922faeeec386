// SPDX-License-Identifier: MIT
/*
 * What a client of the UAPI socket sends: the input is a byte stream for
 * uapi_conn, fed whole and again in small pieces (the two must agree), every
 * set body it frames goes to uapi_parse_set, and so does the input itself
 * (after a leading "set=1\n"). Whatever parses must print with
 * uapi_format_get and parse back to the same settings.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const read_only[] = { "last_handshake_time_sec=", "last_handshake_time_nsec=", "tx_bytes=",
					 "rx_bytes=", "errno=" };

static bool same_endpoint(const union model_sockaddr *a, const union model_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_port == b->sin.sin_port && a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->sin6.sin6_port == b->sin6.sin6_port &&
		       !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, sizeof(a->sin6.sin6_addr));
	return true;
}

static bool same_settings(const struct model_device *a, const struct model_device *b)
{
	size_t i, j;

	if (memcmp(a->private_key, b->private_key, MODEL_KEY_LEN) || a->listen_port != b->listen_port ||
	    a->fwmark != b->fwmark || a->n_peers != b->n_peers)
		return false;
	for (i = 0; i < a->n_peers; i++) {
		const struct model_peer *p = &a->peers[i], *q = &b->peers[i];

		if (memcmp(p->public_key, q->public_key, MODEL_KEY_LEN) ||
		    memcmp(p->preshared_key, q->preshared_key, MODEL_KEY_LEN) ||
		    p->persistent_keepalive != q->persistent_keepalive || !same_endpoint(&p->endpoint, &q->endpoint) ||
		    p->n_allowedips != q->n_allowedips)
			return false;
		for (j = 0; j < p->n_allowedips; j++)
			if (p->allowedips[j].family != q->allowedips[j].family ||
			    p->allowedips[j].cidr != q->allowedips[j].cidr ||
			    memcmp(p->allowedips[j].addr, q->allowedips[j].addr, 16))
				return false;
	}
	return true;
}

/* The get reply without its read-only lines, in place: a set body again. */
static size_t strip_read_only(char *text, size_t len)
{
	size_t in = 0, out = 0, i;

	while (in < len) {
		char *nl = memchr(text + in, '\n', len - in);
		size_t n = (size_t)(nl - (text + in)) + 1;
		bool skip = n == 1;

		for (i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++)
			skip |= n > strlen(read_only[i]) && !memcmp(text + in, read_only[i], strlen(read_only[i]));
		if (!skip) {
			memmove(text + out, text + in, n);
			out += n;
		}
		in += n;
	}
	return out;
}

static void check_round_trip(const struct model_device *dev)
{
	struct model_device *back = NULL;
	size_t cap = 64;
	char *text = NULL;
	ssize_t n;

	/* Grow as a server would, through every -ENOSPC on the way. */
	for (;;) {
		free(text);
		text = malloc(cap);
		if (!text)
			abort();
		n = uapi_format_get(text, cap, dev);
		if (n != -ENOSPC)
			break;
		cap *= 2;
	}
	if (n < 9 || (size_t)n >= cap || memcmp(text + n - 9, "errno=0\n\n", 9))
		abort();
	if (uapi_parse_set(text, strip_read_only(text, (size_t)n), &back) || !same_settings(dev, back))
		abort();
	model_device_free(back);
	free(text);
}

static void parse_body(const char *body, size_t len)
{
	struct model_device *dev = (struct model_device *)&dev;
	int ret = uapi_parse_set(body, len, &dev);

	if (ret) {
		if (dev || (ret != -EINVAL && ret != -EPROTO && ret != -ENOMEM && ret != -E2BIG))
			abort();
		return;
	}
	if (!dev)
		abort();
	check_round_trip(dev);
	model_device_free(dev);
}

/* FNV-1a over what the framing reported, so that two ways of feeding can be compared. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static void check_body(const char *body, size_t len)
{
	size_t i, line = 0;

	/* A framed body is whole lines, none of them blank or too long. */
	if (len && body[len - 1] != '\n')
		abort();
	for (i = 0; i < len; i++) {
		if (body[i] != '\n')
			continue;
		if (i == line || i - line > UAPI_MAX_LINE)
			abort();
		line = i + 1;
	}
}

/* Feeds the stream in pieces of chunk bytes; returns a digest of every request and the final state. */
static uint64_t run_conn(const char *data, size_t size, size_t chunk, bool parse)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	struct uapi_conn c;
	enum uapi_op op = UAPI_OP_NONE;
	size_t off = 0;

	if (uapi_conn_init(&c))
		abort();
	do {
		size_t n = size - off < chunk ? size - off : chunk;
		const char *body;
		size_t body_len;

		op = uapi_conn_feed(&c, data + off, n, &body, &body_len);
		off += n;
		while (op == UAPI_OP_GET || op == UAPI_OP_SET) {
			h = mix(h, &op, sizeof(op));
			if (op == UAPI_OP_SET) {
				check_body(body, body_len);
				h = mix(mix(h, &body_len, sizeof(body_len)), body, body_len);
				if (parse)
					parse_body(body, body_len);
			}
			uapi_conn_consume(&c);
			op = uapi_conn_feed(&c, NULL, 0, &body, &body_len);
		}
	} while (off < size && op != UAPI_OP_ERROR);
	h = mix(mix(h, &op, sizeof(op)), &c.error, sizeof(c.error));
	uapi_conn_uninit(&c);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	if (run_conn(text, size, size ? size : 1, true) != run_conn(text, size, 1 + size % 7, false))
		abort();
	if (size >= 6 && !memcmp(text, "set=1\n", 6))
		parse_body(text + 6, size - 6);
	else
		parse_body(text, size);
	return 0;
}
