// SPDX-License-Identifier: MIT
/*
 * The fallback loop: epoll, recvmmsg and sendmmsg, plain read/write on TUN.
 * Used where io_uring is disabled (sysctl, seccomp) or too old.
 */
#include <errno.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "device_internal.h"
#include "loop.h"
#include "socket.h"

/*
 * Where input goes when the pool is empty: epoll is level-triggered, so
 * leaving it unread would spin. Dropping it is what a full queue means.
 */
static uint8_t discard[65536];

/* Datagrams per pass through the device: a UDP GRO buffer holds up to OFFLOAD_MAX_SEGS. */
#define RX_BATCH 256

struct epoll_backend {
	int epfd;
	int sock4, sock6; /* as registered */
	uint32_t kernel_drops[2]; /* SO_RXQ_OVFL count last seen, per socket (v4, v6) */
	int tun_error; /* a TUN read failed for good (the device is gone): the loop stops with it */
};

static int add(struct epoll_backend *b, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int epoll_sockets_changed(struct loop *l)
{
	struct epoll_backend *b = l->backend;
	int ret = 0;

	/* Closed sockets left the epoll set by themselves. */
	b->sock4 = l->dev->sock4;
	b->sock6 = l->dev->sock6;
	b->kernel_drops[0] = b->kernel_drops[1] = 0;
	if (b->sock4 >= 0)
		ret = add(b, b->sock4);
	if (!ret && b->sock6 >= 0)
		ret = add(b, b->sock6);
	return ret;
}

static int epoll_init(struct loop *l)
{
	struct epoll_backend *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return -ENOMEM;
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0) {
		ret = -errno;
		free(b);
		return ret;
	}
	b->sock4 = b->sock6 = -1;
	l->backend = b;
	ret = l->dev->tun_fd >= 0 ? add(b, l->dev->tun_fd) : 0;
	if (!ret)
		ret = epoll_sockets_changed(l);
	if (ret) {
		close(b->epfd);
		free(b);
		l->backend = NULL;
	}
	return ret;
}

static void epoll_uninit(struct loop *l)
{
	struct epoll_backend *b = l->backend;

	if (!b)
		return;
	close(b->epfd);
	free(b);
	l->backend = NULL;
}

static int epoll_add_fd(struct loop *l, int fd)
{
	return add(l->backend, fd);
}

static void epoll_del_fd(struct loop *l, int fd)
{
	struct epoll_backend *b = l->backend;

	(void)epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void receive_udp(struct loop *l, int fd)
{
	struct wg_device *dev = l->dev;
	struct epoll_backend *b = l->backend;
	struct mmsghdr msgs[WG_BATCH];
	struct iovec iov[WG_BATCH];
	struct wg_pkt pkts[WG_BATCH], batch[RX_BATCH];
	_Alignas(struct cmsghdr) uint8_t control[WG_BATCH][SOCKET_CMSG_SPACE];
	uint32_t *seen = &b->kernel_drops[fd == b->sock6];
	unsigned int n = 0, i, kept = 0;
	int got;

	for (i = 0; i < WG_BATCH; i++) {
		uint32_t id = pool_get(&dev->pool);

		if (id == POOL_NONE)
			break;
		pkts[i].id = id;
		pkts[i].data = pool_buf(&dev->pool, id);
		memset(&pkts[i].addr, 0, sizeof(pkts[i].addr));
		iov[i].iov_base = pkts[i].data;
		iov[i].iov_len = dev->pool.buf_size;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &pkts[i].addr;
		msgs[i].msg_hdr.msg_namelen = sizeof(pkts[i].addr);
		msgs[i].msg_hdr.msg_control = control[i];
		msgs[i].msg_hdr.msg_controllen = sizeof(control[i]);
		n++;
	}
	if (!n) {
		while (recv(fd, discard, sizeof(discard), MSG_DONTWAIT) >= 0)
			device_drop(dev, WG_DROP_NO_BUFFER);
		return;
	}
	got = recvmmsg(fd, msgs, n, MSG_DONTWAIT, NULL);
	if (got < 0)
		got = 0;
	for (i = 0; i < (unsigned int)got; i++) {
		uint32_t seg = socket_read_cmsg(dev, &msgs[i].msg_hdr, seen);

		dev->udp_reads++;
		/* Larger than a buffer: cut short, not ours to guess at. */
		if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			pool_put(&dev->pool, pkts[i].id);
			dev->udp_datagrams++;
			device_drop(dev, WG_DROP_RX_TRUNCATED);
			continue;
		}
		if (kept + OFFLOAD_MAX_SEGS > RX_BATCH) {
			device_receive_udp(dev, batch, kept, device_now_ns());
			kept = 0;
		}
		kept += device_split_datagrams(dev, &batch[kept], RX_BATCH - kept, pkts[i].id, pkts[i].data,
					       msgs[i].msg_len, seg, &pkts[i].addr);
	}
	for (i = (unsigned int)got; i < n; i++)
		pool_put(&dev->pool, pkts[i].id);
	device_receive_udp(dev, batch, kept, device_now_ns());
}

static void receive_tun(struct loop *l)
{
	struct wg_device *dev = l->dev;
	struct epoll_backend *b = l->backend;
	struct wg_pkt pkts[WG_BATCH];
	unsigned int n = 0;

	while (n < WG_BATCH) {
		uint32_t id = pool_get(&dev->pool);
		ssize_t r;

		if (id == POOL_NONE) {
			if (!n) {
				while (read(dev->tun_fd, discard, sizeof(discard)) > 0)
					device_drop(dev, WG_DROP_NO_BUFFER);
			}
			break;
		}
		pkts[n].id = id;
		pkts[n].data = pool_buf(&dev->pool, id) + WG_TUN_HEADROOM;
		r = read(dev->tun_fd, pkts[n].data, loop_tun_read_room(dev));
		if (r <= 0) {
			/* A device that is gone stays readable and fails every read: stop instead of spinning. */
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				b->tun_error = -errno;
			pool_put(&dev->pool, id);
			break;
		}
		if (loop_tun_read_cut(dev, r)) {
			pool_put(&dev->pool, id);
			device_drop(dev, WG_DROP_TUN_TRUNCATED);
			continue;
		}
		pkts[n++].len = (uint32_t)r;
	}
	device_receive_tun(dev, pkts, n, device_now_ns());
}

/*
 * A message (n datagrams) the kernel refused with err. An error that may be
 * another datagram's ICMP error, pending on the socket, was used up by this
 * send: once more. What fails is counted, and told to the peer it was for.
 */
static void send_failed(struct wg_device *dev, int fd, const struct msghdr *h, unsigned int n, int err)
{
	if (socket_error_may_be_pending(err)) {
		if (sendmsg(fd, h, 0) >= 0)
			return;
		err = errno;
	}
	dev->drops[WG_DROP_SEND_ERROR] += n;
	device_send_error(dev, h->msg_name, &(struct wg_send_error){ .err = err, .origin = WG_SEND_ERROR_LOCAL },
			  device_now_ns());
}

/*
 * The datagrams of tx_udp, one message per datagram or per GSO run, sent
 * with sendmmsg in runs of one socket. A run the kernel refuses goes again
 * datagram by datagram: EIO (an egress that cannot segment it) also turns
 * GSO off; EMSGSIZE or EINVAL (a path MTU below the segments, which Linux
 * fragments only datagram by datagram) does not. Any other failed message
 * goes to send_failed, and the rest on.
 */
static void send_udp(struct wg_device *dev)
{
	struct mmsghdr msgs[WG_TXQ_MAX];
	struct iovec iov[WG_TXQ_MAX];
	_Alignas(struct cmsghdr) uint8_t control[WG_TXQ_MAX][CMSG_SPACE(sizeof(uint16_t))];
	unsigned int first[WG_TXQ_MAX], count[WG_TXQ_MAX];
	int fds[WG_TXQ_MAX];
	unsigned int i, n, m = 0, done;

	for (i = 0; i < dev->tx_udp.n; i += n) {
		struct wg_pkt *p = &dev->tx_udp.items[i];
		struct msghdr *h = &msgs[m].msg_hdr;
		unsigned int j;

		n = device_udp_run(dev, i);
		fds[m] = p->addr.sa.sa_family == AF_INET6 ? dev->sock6 : dev->sock4;
		if (fds[m] < 0) {
			dev->drops[WG_DROP_SEND_ERROR] += n;
			continue;
		}
		for (j = 0; j < n; j++) {
			iov[i + j].iov_base = p[j].data;
			iov[i + j].iov_len = p[j].len;
		}
		memset(&msgs[m], 0, sizeof(msgs[m]));
		h->msg_iov = &iov[i];
		h->msg_iovlen = n;
		h->msg_name = &p->addr;
		h->msg_namelen = device_sockaddr_len(&p->addr);
		if (n > 1) {
			struct cmsghdr *c = (struct cmsghdr *)control[m];
			uint16_t seg = (uint16_t)p->len;

			h->msg_control = control[m];
			h->msg_controllen = sizeof(control[m]);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
		first[m] = i;
		count[m++] = n;
	}
	for (done = 0; done < m;) {
		unsigned int same = 1;
		int r;

		while (done + same < m && fds[done + same] == fds[done])
			same++;
		r = sendmmsg(fds[done], msgs + done, same, 0);
		if (r > 0) {
			done += (unsigned int)r;
			continue;
		}
		if (count[done] > 1 && (errno == EIO || errno == EMSGSIZE || errno == EINVAL)) {
			/* This message again as single datagrams: its own msghdrs, one iovec each. */
			struct msghdr *h = &msgs[done].msg_hdr;
			unsigned int j;

			if (errno == EIO)
				dev->udp_gso = false;
			for (j = 0; j < count[done]; j++) {
				struct msghdr one = { .msg_name = h->msg_name, .msg_namelen = h->msg_namelen,
						      .msg_iov = &iov[first[done] + j], .msg_iovlen = 1 };

				if (sendmsg(fds[done], &one, 0) < 0)
					send_failed(dev, fds[done], &one, 1, errno);
			}
		} else {
			/* Unreachable, or EAGAIN under overload: that message alone fails. */
			send_failed(dev, fds[done], &msgs[done].msg_hdr, count[done], errno);
		}
		done++;
	}
	for (i = 0; i < dev->tx_udp.n; i++)
		pool_put(&dev->pool, dev->tx_udp.items[i].id);
	dev->tx_udp.n = 0;
}

/* One write per TUN packet, a coalesced one gathered from its members' buffers. */
static void write_tun(struct wg_device *dev)
{
	struct iovec iov[OFFLOAD_MAX_SEGS];
	unsigned int i, j, n;

	for (i = 0; i < dev->tx_tun.n; i += n) {
		struct wg_pkt *p = &dev->tx_tun.items[i];
		size_t want = 0;

		n = p->segs && p->segs <= dev->tx_tun.n - i ? p->segs : 1;
		for (j = 0; j < n; j++) {
			iov[j].iov_base = p[j].data + p[j].skip;
			iov[j].iov_len = p[j].len - p[j].skip;
			want += iov[j].iov_len;
		}
		/* A coalesced write that fails loses every packet in it. */
		if (writev(dev->tun_fd, iov, (int)n) != (ssize_t)want) {
			dev->drops[WG_DROP_TUN_WRITE_ERROR] += n;
		} else {
			dev->tun_writes++;
			dev->tun_packets += n;
		}
	}
	for (i = 0; i < dev->tx_tun.n; i++)
		pool_put(&dev->pool, dev->tx_tun.items[i].id);
	dev->tx_tun.n = 0;
}

static void epoll_flush(struct wg_device *dev, void *ctx)
{
	(void)ctx;
	device_seal_pending(dev);
	send_udp(dev);
	write_tun(dev);
}

static int epoll_run_once(struct loop *l, uint64_t timeout_ns)
{
	struct epoll_backend *b = l->backend;
	struct epoll_event evs[16];
	int n, i, timeout_ms;

	timeout_ms = timeout_ns == UINT64_MAX ? -1
		     : timeout_ns / 1000000 > 60000 ? 60000
						    : (int)((timeout_ns + 999999) / 1000000);
	n = epoll_wait(b->epfd, evs, 16, timeout_ms);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		int fd = evs[i].data.fd;

		if (fd == l->dev->tun_fd)
			receive_tun(l);
		else if (fd == b->sock4 || fd == b->sock6) {
			/* First the errors: read, the socket's pending error is gone, and the receive is not cut short by it. */
			if (evs[i].events & EPOLLERR)
				socket_read_errors(l->dev, fd, device_now_ns());
			if (evs[i].events & EPOLLIN)
				receive_udp(l, fd);
		}
		else
			loop_dispatch_fd(l, fd);
	}
	epoll_flush(l->dev, l);
	return b->tun_error;
}

const struct loop_ops loop_epoll_ops = {
	.init = epoll_init,
	.uninit = epoll_uninit,
	.add_fd = epoll_add_fd,
	.del_fd = epoll_del_fd,
	.sockets_changed = epoll_sockets_changed,
	.run_once = epoll_run_once,
	.flush = epoll_flush,
	.name = "epoll",
};
