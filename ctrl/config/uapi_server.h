/* SPDX-License-Identifier: MIT */
/*
 * The UAPI socket, /var/run/wireguard/IFACE.sock (mode 0600), served on the
 * event loop thread: `wg` connects, sends get or set, reads the reply.
 * Several requests may follow each other on one connection; each reply is
 * sent whole before the next request is looked at. The transport (queued
 * replies, deadlines, the client limit and eviction) is sockserver.h's, so
 * a client that never reads holds no more than its own slot and memory, and
 * only until SOCKSERVER_STALL_NS passes without progress.
 */
#ifndef WGUD_UAPI_SERVER_H
#define WGUD_UAPI_SERVER_H

#include "device.h"
#include "loop.h"
#include "sockserver.h"
#include "uapi.h"

#define UAPI_SOCKET_DIR "/var/run/wireguard"

struct uapi_server {
	struct sockserver core; /* each client's state is a struct uapi_conn */
	struct wg_device *dev;
	/* Called after a successful set (peers or fwmark may have changed). */
	void (*after_set)(void *ctx);
	void *after_set_ctx;
};

/* Closed and empty: what uapi_server_close() may be called on before or without uapi_server_open(). */
void uapi_server_init(struct uapi_server *s);

/* Creates the socket; refuses (-EADDRINUSE) when another live process serves IFACE already. */
int uapi_server_open(struct uapi_server *s, const char *dir, const char *ifname, struct wg_device *dev);
/* Hands the socket to the loop. */
int uapi_server_start(struct uapi_server *s, struct loop *loop);
/* Closes everything and removes the socket file. */
void uapi_server_close(struct uapi_server *s);

#endif
