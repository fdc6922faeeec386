// SPDX-License-Identifier: MIT
#include "uapi_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply.h"
#include "log.h"
#include "unixsock.h"

void uapi_server_init(struct uapi_server *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
	for (i = 0; i < UAPI_SERVER_MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
}

int uapi_server_open(struct uapi_server *s, const char *ifname, struct wg_device *dev)
{
	int ret;

	uapi_server_init(s);
	s->dev = dev;
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s/%s.sock", UAPI_SOCKET_DIR, ifname) >= sizeof(s->path))
		ret = -ENAMETOOLONG;
	else if (!(ret = unixsock_dir(UAPI_SOCKET_DIR)))
		ret = unixsock_listen(s->path, -1, 16, &s->listen_fd);
	/* Only a socket this process made is ever removed at close. */
	if (ret)
		s->path[0] = '\0';
	return ret;
}

static void client_close(struct uapi_server *s, struct uapi_client *c)
{
	loop_del_fd(s->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	uapi_conn_uninit(&c->conn);
}

#define UAPI_SEND_TIMEOUT_MS 2000

/*
 * Send all of a reply. The socket is non-blocking and a large `get` (many
 * peers) outgrows its buffer, so wait for room, but not for longer than
 * UAPI_SEND_TIMEOUT_MS: a client that stopped reading must not stall the
 * loop. On failure the client is marked for closing.
 */
static void reply(struct uapi_client *c, const char *text, size_t len)
{
	int waited = 0;

	while (len && !c->broken) {
		ssize_t n = send(c->fd, text, len, MSG_NOSIGNAL);

		if (n > 0) {
			text += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && waited < UAPI_SEND_TIMEOUT_MS) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

			if (poll(&pfd, 1, 100) >= 0) {
				waited += 100;
				continue;
			}
		}
		c->broken = true;
	}
}

static void reply_errno(struct uapi_client *c, int err)
{
	char buf[UAPI_ERRNO_REPLY_LEN];

	reply(c, buf, uapi_format_errno(buf, err));
}

static void handle_get(struct uapi_server *s, struct uapi_client *c)
{
	struct model_device *m = NULL;
	size_t cap = 4096;
	char *out = NULL;
	ssize_t n = -ENOSPC;
	int ret;

	ret = apply_snapshot(s->dev, &m);
	if (ret) {
		reply_errno(c, ret);
		return;
	}
	while (n == -ENOSPC && cap <= UAPI_MAX_REQUEST * 4) {
		char *grown = realloc(out, cap);

		if (!grown)
			break;
		out = grown;
		n = uapi_format_get(out, cap, m);
		if (n == -ENOSPC) {
			explicit_bzero(out, cap);
			cap *= 2;
		}
	}
	if (n >= 0)
		reply(c, out, (size_t)n);
	else
		reply_errno(c, -ENOMEM);
	if (out) {
		explicit_bzero(out, cap);
		free(out);
	}
	model_device_free(m);
}

static void handle_set(struct uapi_server *s, struct uapi_client *c, const char *body, size_t len)
{
	struct model_device *m = NULL;
	int ret = uapi_parse_set(body, len, &m);

	if (!ret) {
		ret = apply_model(s->dev, s->loop, m, APPLY_UAPI);
		if (ret)
			log_warn("uapi set: %s", strerror(-ret));
		if (s->after_set)
			s->after_set(s->after_set_ctx);
	}
	model_device_free(m);
	reply_errno(c, ret);
}

/* Feeds what arrived; false when the client was closed. */
static bool serve(struct uapi_server *s, struct uapi_client *c, const char *data, size_t n)
{
	for (;;) {
		const char *body = NULL;
		size_t body_len = 0;
		enum uapi_op op = uapi_conn_feed(&c->conn, data, n, &body, &body_len);

		n = 0; /* the bytes are in the connection's buffer now */
		if (op == UAPI_OP_NONE)
			return true;
		if (op == UAPI_OP_ERROR) {
			reply_errno(c, c->conn.error ? c->conn.error : -EPROTO);
			client_close(s, c);
			return false;
		}
		if (op == UAPI_OP_GET)
			handle_get(s, c);
		else
			handle_set(s, c, body, body_len);
		uapi_conn_consume(&c->conn);
		if (c->broken) {
			log_warn("uapi: a client stopped reading its reply; closing it");
			client_close(s, c);
			return false;
		}
	}
}

/* Reads until the socket is empty: io_uring's multishot poll reports arrivals, not a level. */
static void on_client(void *ctx, int fd)
{
	struct uapi_server *s = ctx;
	struct uapi_client *c = NULL;
	char buf[4096];
	int i;

	for (i = 0; i < UAPI_SERVER_MAX_CLIENTS && !c; i++)
		if (s->clients[i].fd == fd)
			c = &s->clients[i];
	if (!c)
		return;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			client_close(s, c);
			break;
		}
		if (!serve(s, c, buf, (size_t)n))
			break;
	}
	explicit_bzero(buf, sizeof(buf));
}

static void accept_one(struct uapi_server *s, int cfd)
{
	int i;

	for (i = 0; i < UAPI_SERVER_MAX_CLIENTS; i++) {
		struct uapi_client *c = &s->clients[i];

		if (c->fd >= 0)
			continue;
		if (uapi_conn_init(&c->conn) || loop_add_fd(s->loop, cfd, on_client, s)) {
			uapi_conn_uninit(&c->conn);
			break;
		}
		c->fd = cfd;
		c->broken = false;
		/* Data may have arrived before the poll was armed. */
		on_client(s, cfd);
		return;
	}
	log_warn("uapi: too many clients, refusing one");
	close(cfd);
}

static void on_listen(void *ctx, int fd)
{
	struct uapi_server *s = ctx;
	int cfd;

	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		accept_one(s, cfd);
}

int uapi_server_start(struct uapi_server *s, struct loop *loop)
{
	s->loop = loop;
	return loop_add_fd(loop, s->listen_fd, on_listen, s);
}

void uapi_server_close(struct uapi_server *s)
{
	int i;

	for (i = 0; i < UAPI_SERVER_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			client_close(s, &s->clients[i]);
	unixsock_close(s->loop, &s->listen_fd, s->path);
}
