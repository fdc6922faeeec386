// SPDX-License-Identifier: MIT
#include "uapi_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "log.h"
#include "unixsock.h"

static void reply_errno(struct sockserver_client *c, int err)
{
	char buf[UAPI_ERRNO_REPLY_LEN];

	if (sockserver_queue(c, buf, uapi_format_errno(buf, err)))
		log_warn("uapi: no memory for a reply");
}

/*
 * Room for the dump of m: the longest line of each kind (wg's own reading
 * sets them: 64 hex digits a key, 20 digits a counter, a scoped IPv6
 * endpoint) times how often it appears. Formatting then runs once.
 */
static size_t get_reply_bound(const struct model_device *m)
{
	size_t n = 256, i;

	for (i = 0; i < m->n_peers; i++)
		n += 512 + m->peers[i].n_allowedips * 64;
	return n;
}

/* The whole dump in one buffer, which the client's queue then owns. */
static void handle_get(struct uapi_server *s, struct sockserver_client *c)
{
	struct model_device *m = NULL;
	size_t cap;
	char *out = NULL;
	ssize_t n = -ENOSPC;
	int ret, tries;

	ret = apply_snapshot(s->dev, &m);
	if (ret) {
		reply_errno(c, ret);
		return;
	}
	cap = get_reply_bound(m);
	/* Should the bound ever be short: twice as much. A format that ran out of room wiped out. */
	for (tries = 0; tries < 3; tries++) {
		out = malloc(cap);
		if (!out)
			break;
		n = uapi_format_get(out, cap, m);
		if (n >= 0)
			break;
		free(out);
		out = NULL;
		cap *= 2;
	}
	model_device_free(m);
	if (n >= 0 && !sockserver_queue_owned(c, out, (size_t)n, cap))
		return;
	if (n >= 0) {
		explicit_bzero(out, cap);
		free(out);
	} else if (tries == 3) {
		log_error("uapi get: the dump did not fit in %zu bytes", cap / 2);
	}
	reply_errno(c, -ENOMEM);
}

static void handle_set(struct uapi_server *s, struct sockserver_client *c, const char *body, size_t len)
{
	struct model_device *m = NULL;
	int ret = uapi_parse_set(body, len, &m);

	if (!ret) {
		ret = apply_model(s->dev, s->core.loop, m, APPLY_UAPI);
		if (ret)
			log_warn("uapi set: %s", strerror(-ret));
		if (s->after_set)
			s->after_set(s->after_set_ctx);
	}
	model_device_free(m);
	reply_errno(c, ret);
}

/* One request at a time: the server sends its reply before asking again (with n 0) for the next. */
static enum sockserver_next on_input(void *ctx, struct sockserver_client *c, const char *data, size_t n)
{
	struct uapi_server *s = ctx;
	struct uapi_conn *conn = c->state;
	const char *body = NULL;
	size_t body_len = 0;
	enum uapi_op op;

	if (!data)
		return SOCKSERVER_CLOSE;
	op = uapi_conn_feed(conn, data, n, &body, &body_len);
	if (op == UAPI_OP_NONE)
		return SOCKSERVER_MORE;
	if (op == UAPI_OP_ERROR) {
		reply_errno(c, conn->error ? conn->error : -EPROTO);
		return SOCKSERVER_CLOSE;
	}
	if (op == UAPI_OP_GET)
		handle_get(s, c);
	else
		handle_set(s, c, body, body_len);
	uapi_conn_consume(conn);
	return SOCKSERVER_REPLIED;
}

static int on_open(void *ctx, struct sockserver_client *c)
{
	(void)ctx;
	return uapi_conn_init(c->state);
}

static void on_close(void *ctx, struct sockserver_client *c)
{
	(void)ctx;
	uapi_conn_uninit(c->state);
}

static const struct sockserver_proto uapi_proto = {
	.name = "uapi",
	.state_size = sizeof(struct uapi_conn),
	.open = on_open,
	.close = on_close,
	.input = on_input,
};

void uapi_server_init(struct uapi_server *s)
{
	memset(s, 0, sizeof(*s));
	sockserver_init(&s->core, &uapi_proto, s);
}

int uapi_server_open(struct uapi_server *s, const char *dir, const char *ifname, struct wg_device *dev)
{
	char path[sizeof(s->core.path)];
	int ret;

	uapi_server_init(s);
	s->dev = dev;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.sock", dir, ifname) >= sizeof(path))
		return -ENAMETOOLONG;
	ret = unixsock_dir(dir);
	if (!ret)
		ret = sockserver_listen(&s->core, path, -1);
	return ret;
}

int uapi_server_start(struct uapi_server *s, struct loop *loop)
{
	return sockserver_start(&s->core, loop);
}

void uapi_server_close(struct uapi_server *s)
{
	sockserver_close(&s->core);
}
