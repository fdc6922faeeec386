/* SPDX-License-Identifier: MIT */
/* The device's UDP sockets: one IPv4 and one IPv6-only, on the same port. */
#ifndef WGUD_SOCKET_H
#define WGUD_SOCKET_H

#include <stdint.h>
#include <sys/socket.h>

#include "device.h"

/* (Re)bind both sockets to port (0: any free port, the same for both). Old sockets close only on success. */
int socket_bind(struct wg_device *dev, uint16_t port);
/* SO_MARK on both sockets (0 clears); needs CAP_NET_ADMIN. */
int socket_set_fwmark(struct wg_device *dev, uint32_t mark);
void socket_close(struct wg_device *dev);

/*
 * The sockets carry SO_RXQ_OVFL: a received datagram's control data says how
 * many the kernel has dropped on that socket so far. Given that control data
 * and the count seen last (*seen, per socket, 0 for a new one), counts the
 * new kernel drops as socket_overflow. With UDP GRO, the control data also
 * gives the size of the datagrams the buffer holds: returned, 0 for one
 * datagram.
 */
#define SOCKET_CMSG_SPACE 64
uint32_t socket_read_cmsg(struct wg_device *dev, const struct msghdr *msg, uint32_t *seen);

#endif
