/* SPDX-License-Identifier: MIT */
/*
 * The UAPI socket, /var/run/wireguard/IFACE.sock (mode 0600), served on the
 * event loop thread: `wg` connects, sends get or set, reads the reply.
 */
#ifndef WGUD_UAPI_SERVER_H
#define WGUD_UAPI_SERVER_H

#include <stdbool.h>
#include <sys/un.h>

#include "device.h"
#include "loop.h"
#include "uapi.h"

#define UAPI_SERVER_MAX_CLIENTS 16
#define UAPI_SOCKET_DIR "/var/run/wireguard"

struct uapi_client {
	int fd;
	bool broken; /* a reply could not be sent: close after this request */
	struct uapi_conn conn;
};

struct uapi_server {
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct wg_device *dev;
	struct loop *loop;
	struct uapi_client clients[UAPI_SERVER_MAX_CLIENTS];
	/* Called after a successful set (peers or fwmark may have changed). */
	void (*after_set)(void *ctx);
	void *after_set_ctx;
};

/* Closed and empty: what uapi_server_close() may be called on before or without uapi_server_open(). */
void uapi_server_init(struct uapi_server *s);

/* Creates the socket; refuses (-EADDRINUSE) when another live process serves IFACE already. */
int uapi_server_open(struct uapi_server *s, const char *ifname, struct wg_device *dev);
/* Registers the listening socket with the loop. */
int uapi_server_start(struct uapi_server *s, struct loop *loop);
/* Closes everything and removes the socket file. */
void uapi_server_close(struct uapi_server *s);

#endif
