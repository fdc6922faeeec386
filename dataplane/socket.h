/* SPDX-License-Identifier: MIT */
/* The device's UDP sockets: one IPv4 and one IPv6-only, on the same port. */
#ifndef WGUD_SOCKET_H
#define WGUD_SOCKET_H

#include <stdint.h>

#include "device.h"

/* (Re)bind both sockets to port (0: any free port, the same for both). Old sockets close only on success. */
int socket_bind(struct wg_device *dev, uint16_t port);
/* SO_MARK on both sockets (0 clears); needs CAP_NET_ADMIN. */
int socket_set_fwmark(struct wg_device *dev, uint32_t mark);
void socket_close(struct wg_device *dev);

#endif
