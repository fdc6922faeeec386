/* SPDX-License-Identifier: MIT */
/* The device's UDP sockets: one IPv4 and one IPv6-only, on the same port. */
#ifndef WGUD_SOCKET_H
#define WGUD_SOCKET_H

#include <stdbool.h>
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

/*
 * The sockets carry IP_RECVERR / IPV6_RECVERR: an ICMP error for a datagram
 * wgud sent (port or host unreachable, ...) waits in the socket's error
 * queue, and the socket reports POLLERR. The loops then call
 * socket_read_errors: at most SOCKET_ERRQUEUE_MAX entries, never waiting,
 * each told to the device (device_send_error) with the destination it was
 * about. Returns how many were read; with none, it clears the socket's
 * pending error, so that POLLERR goes away.
 */
#define SOCKET_ERRQUEUE_MAX 32
int socket_read_errors(struct wg_device *dev, int fd, uint64_t now_ns);
/*
 * One error-queue message: its destination (msg_name) into dst, the error
 * (errno, origin, ICMP type and code, offender) into e. 0, or -ENOMSG for
 * a message without an IP error (timestamps, zerocopy notices) or a
 * destination of neither family.
 */
int socket_parse_error(const struct msghdr *msg, union wg_sockaddr *dst, struct wg_send_error *e);
/*
 * With IP_RECVERR the kernel also keeps an ICMP error as the socket's
 * pending error, and the next send on the socket, to any peer, fails with
 * it. Whether a failed send's errno can be such a one (an ICMP error's, as
 * the kernel converts them): the send is worth one more try.
 */
bool socket_error_may_be_pending(int err);

#endif
