// SPDX-License-Identifier: MIT
#include "socket.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netns.h"

static int open_one(int family, uint16_t port, uint32_t mark, bool offload, uint16_t *bound, bool *gro)
{
	union wg_sockaddr a;
	socklen_t alen;
	int fd, one = 1, size = 4 << 20, ret;

	/* The encrypted side lives where wgud started, even when the device is elsewhere (netns.h). */
	ret = netns_home_begin();
	if (ret)
		return ret;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	ret = -errno;
	netns_home_end();
	if (fd < 0)
		return ret;
	memset(&a, 0, sizeof(a));
	if (family == AF_INET6) {
		/* Separate sockets per family: no v4-mapped addresses to untangle on receive. */
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
			goto err;
		a.sin6.sin6_family = AF_INET6;
		a.sin6.sin6_port = htons(port);
		alen = sizeof(a.sin6);
	} else {
		a.sin.sin_family = AF_INET;
		a.sin.sin_port = htons(port);
		alen = sizeof(a.sin);
	}
	/* Bigger buffers absorb bursts between loop iterations; FORCE works as root, the plain form otherwise. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	/* The kernel's count of datagrams it dropped on this socket rides along in a cmsg: counted as socket_overflow. */
	/* A sandbox may refuse it (Linux has it since 2.6.33): carry on, the kernel still counts them in RcvbufErrors. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		goto err;
	/* Many datagrams of one flow in one buffer, their size in a cmsg (Linux 5.0). */
	*gro = offload && !setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
	/*
	 * No SO_REUSEADDR nor SO_REUSEPORT: UDP has no TIME_WAIT to skip, and
	 * with either a second wgud could bind the same port beside us. A
	 * restart binds because a stopping wgud lets go of its sockets before
	 * it exits (the io_uring loop ends its requests first: loop_uring.c).
	 */
	if (bind(fd, &a.sa, alen) < 0)
		goto err;
	alen = sizeof(a);
	if (getsockname(fd, &a.sa, &alen) < 0)
		goto err;
	*bound = ntohs(family == AF_INET6 ? a.sin6.sin6_port : a.sin.sin_port);
	return fd;
err:
	ret = -errno;
	close(fd);
	return ret;
}

int socket_bind(struct wg_device *dev, uint16_t port)
{
	uint16_t bound4 = 0, bound6 = 0;
	bool gro4 = false, gro6 = false;
	int fd4, fd6, tries, seg = 0;
	socklen_t seglen = sizeof(seg);

	/* With port 0, the kernel's pick for IPv4 may be taken for IPv6: try a few times. */
	for (tries = 0; tries < 8; tries++) {
		fd4 = open_one(AF_INET, port, dev->fwmark, dev->offload, &bound4, &gro4);
		if (fd4 < 0)
			return fd4;
		fd6 = open_one(AF_INET6, bound4, dev->fwmark, dev->offload, &bound6, &gro6);
		if (fd6 >= 0 || fd6 == -EAFNOSUPPORT)
			break;
		close(fd4);
		if (port || fd6 != -EADDRINUSE)
			return fd6;
	}
	if (tries == 8)
		return -EADDRINUSE;
	socket_close(dev);
	dev->sock4 = fd4;
	dev->sock6 = fd6 >= 0 ? fd6 : -1; /* a host without IPv6 still works over IPv4 */
	dev->listen_port = bound4;
	dev->udp_gro = gro4 && (fd6 < 0 || gro6);
	/* UDP GSO (Linux 4.18): the option is there to read. An egress that refuses it answers EIO, and the loop stops using it. */
	dev->udp_gso = dev->offload && !getsockopt(fd4, SOL_UDP, UDP_SEGMENT, &seg, &seglen);
	return 0;
}

int socket_set_fwmark(struct wg_device *dev, uint32_t mark)
{
	int fds[2] = { dev->sock4, dev->sock6 }, i;

	for (i = 0; i < 2; i++)
		if (fds[i] >= 0 && setsockopt(fds[i], SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
			return -errno;
	dev->fwmark = mark;
	return 0;
}

void socket_close(struct wg_device *dev)
{
	if (dev->sock4 >= 0)
		close(dev->sock4);
	if (dev->sock6 >= 0)
		close(dev->sock6);
	dev->sock4 = dev->sock6 = -1;
}

uint32_t socket_read_cmsg(struct wg_device *dev, const struct msghdr *msg, uint32_t *seen)
{
	struct cmsghdr *c;
	uint32_t seg = 0;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		uint32_t total;

		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int size;

			memcpy(&size, CMSG_DATA(c), sizeof(size));
			seg = size > 0 ? (uint32_t)size : 0;
			continue;
		}
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL || c->cmsg_len < CMSG_LEN(sizeof(total)))
			continue;
		memcpy(&total, CMSG_DATA(c), sizeof(total));
		/* A 32-bit counter in the kernel: the difference survives its wrap. */
		dev->drops[WG_DROP_SOCKET_OVERFLOW] += (uint32_t)(total - *seen);
		*seen = total;
	}
	return seg;
}
