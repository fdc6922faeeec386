// SPDX-License-Identifier: MIT
#include "socket.h"

#include <errno.h>
#include <linux/errqueue.h>
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
	/* ICMP errors for what we send, in the error queue (socket_read_errors); without it they are unseen, as before. */
	if (family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	else
		(void)setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
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

/* The sock_extended_err, its offender after it, and room for one more (a timestamp). */
#define ERR_CMSG_SPACE (CMSG_SPACE(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in6)) + 64)

int socket_parse_error(const struct msghdr *msg, union wg_sockaddr *dst, struct wg_send_error *e)
{
	struct cmsghdr *c;

	memset(dst, 0, sizeof(*dst));
	memcpy(dst, msg->msg_name, msg->msg_namelen < sizeof(*dst) ? msg->msg_namelen : sizeof(*dst));
	if (dst->sa.sa_family != AF_INET && dst->sa.sa_family != AF_INET6)
		return -ENOMSG;
	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		struct sock_extended_err ee;
		size_t off_len;

		if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
		      (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) ||
		    c->cmsg_len < CMSG_LEN(sizeof(ee)))
			continue;
		memcpy(&ee, CMSG_DATA(c), sizeof(ee));
		if (!ee.ee_errno || (ee.ee_origin != SO_EE_ORIGIN_LOCAL && ee.ee_origin != SO_EE_ORIGIN_ICMP &&
				     ee.ee_origin != SO_EE_ORIGIN_ICMP6))
			continue;
		memset(e, 0, sizeof(*e));
		e->err = (int)ee.ee_errno;
		e->origin = ee.ee_origin == SO_EE_ORIGIN_ICMP	 ? WG_SEND_ERROR_ICMP
			    : ee.ee_origin == SO_EE_ORIGIN_ICMP6 ? WG_SEND_ERROR_ICMP6
								 : WG_SEND_ERROR_LOCAL;
		e->icmp_type = ee.ee_type;
		e->icmp_code = ee.ee_code;
		/* The offender (SO_EE_OFFENDER) follows; the kernel leaves it AF_UNSPEC when it knows none. */
		off_len = c->cmsg_len - CMSG_LEN(sizeof(ee));
		if (off_len > sizeof(e->offender))
			off_len = sizeof(e->offender);
		memcpy(&e->offender, CMSG_DATA(c) + sizeof(ee), off_len);
		if ((e->offender.sa.sa_family == AF_INET && off_len < sizeof(e->offender.sin)) ||
		    (e->offender.sa.sa_family == AF_INET6 && off_len < sizeof(e->offender.sin6)) ||
		    (e->offender.sa.sa_family != AF_INET && e->offender.sa.sa_family != AF_INET6))
			memset(&e->offender, 0, sizeof(e->offender));
		return 0;
	}
	return -ENOMSG;
}

int socket_read_errors(struct wg_device *dev, int fd, uint64_t now_ns)
{
	int n, err;
	socklen_t len = sizeof(err);

	for (n = 0; n < SOCKET_ERRQUEUE_MAX; n++) {
		_Alignas(struct cmsghdr) uint8_t control[ERR_CMSG_SPACE];
		union wg_sockaddr name, dst;
		struct wg_send_error e;
		/* No payload wanted (it is our own datagram, encrypted): MSG_TRUNC and nothing copied. */
		struct msghdr m = { .msg_name = &name, .msg_namelen = sizeof(name), .msg_control = control,
				    .msg_controllen = sizeof(control) };

		if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		if (!socket_parse_error(&m, &dst, &e))
			device_send_error(dev, &dst, &e, now_ns);
	}
	/* POLLERR with an empty queue: an error the queue had no room for. Read, it is gone; whose it was is not known. */
	if (!n)
		(void)getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return n;
}

bool socket_error_may_be_pending(int err)
{
	switch (err) {
	case ECONNREFUSED: /* port unreachable */
	case EHOSTUNREACH: /* host unreachable or prohibited, time exceeded, ICMPv6 address unreachable */
	case ENETUNREACH:  /* network unreachable or unknown, ICMPv6 no route */
	case EHOSTDOWN:    /* host unknown */
	case ENONET:       /* host isolated */
	case ENOPROTOOPT:  /* protocol unreachable */
	case EMSGSIZE:     /* fragmentation needed, ICMPv6 packet too big */
	case EOPNOTSUPP:   /* source route failed */
	case EACCES:       /* ICMPv6 administratively prohibited, source policy, reject route */
	case EPROTO:       /* parameter problem */
		return true;
	default:
		return false;
	}
}
