// SPDX-License-Identifier: MIT
/*
 * The fallback loop: epoll, recvmmsg and sendmmsg, plain read/write on TUN.
 * Used where io_uring is disabled (sysctl, seccomp) or too old.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>

#include "device_internal.h"
#include "loop.h"
#include "socket.h"

/*
 * Where input goes when the pool is empty: epoll is level-triggered, so
 * leaving it unread would spin. Dropping it is what a full queue means.
 */
static uint8_t discard[65536];

struct epoll_backend {
	int epfd;
	int sock4, sock6; /* as registered */
	uint32_t kernel_drops[2]; /* SO_RXQ_OVFL count last seen, per socket (v4, v6) */
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
	struct wg_pkt pkts[WG_BATCH];
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
		socket_count_kernel_drops(dev, &msgs[i].msg_hdr, seen);
		/* Larger than a buffer: cut short, not ours to guess at. */
		if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			pool_put(&dev->pool, pkts[i].id);
			device_drop(dev, WG_DROP_RX_TRUNCATED);
			continue;
		}
		pkts[kept] = pkts[i];
		pkts[kept++].len = msgs[i].msg_len;
	}
	for (i = (unsigned int)got; i < n; i++)
		pool_put(&dev->pool, pkts[i].id);
	device_receive_udp(dev, pkts, kept, device_now_ns());
}

static void receive_tun(struct loop *l)
{
	struct wg_device *dev = l->dev;
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

static void send_udp_batch(struct wg_device *dev, int fd, struct wg_pkt **p, unsigned int n)
{
	struct mmsghdr msgs[WG_TXQ_MAX];
	struct iovec iov[WG_TXQ_MAX];
	unsigned int i, done = 0;

	for (i = 0; i < n; i++) {
		iov[i].iov_base = p[i]->data;
		iov[i].iov_len = p[i]->len;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &p[i]->addr;
		msgs[i].msg_hdr.msg_namelen = device_sockaddr_len(&p[i]->addr);
	}
	while (done < n) {
		int r = sendmmsg(fd, msgs + done, n - done, 0);

		if (r <= 0) {
			/* Skip the datagram that failed (unreachable, EAGAIN under overload) and go on. */
			device_drop(dev, WG_DROP_SEND_ERROR);
			done++;
			continue;
		}
		done += (unsigned int)r;
	}
}

static void epoll_flush(struct wg_device *dev, void *ctx)
{
	struct wg_pkt *v4[WG_TXQ_MAX], *v6[WG_TXQ_MAX];
	unsigned int n4 = 0, n6 = 0, i;

	(void)ctx;
	for (i = 0; i < dev->tx_udp.n; i++) {
		struct wg_pkt *p = &dev->tx_udp.items[i];

		if (p->addr.sa.sa_family == AF_INET6 && dev->sock6 >= 0)
			v6[n6++] = p;
		else if (p->addr.sa.sa_family == AF_INET && dev->sock4 >= 0)
			v4[n4++] = p;
		else
			device_drop(dev, WG_DROP_SEND_ERROR);
	}
	if (n4)
		send_udp_batch(dev, dev->sock4, v4, n4);
	if (n6)
		send_udp_batch(dev, dev->sock6, v6, n6);
	for (i = 0; i < dev->tx_udp.n; i++)
		pool_put(&dev->pool, dev->tx_udp.items[i].id);
	dev->tx_udp.n = 0;

	for (i = 0; i < dev->tx_tun.n; i++) {
		struct wg_pkt *p = &dev->tx_tun.items[i];

		if (write(dev->tun_fd, p->data, p->len) != (ssize_t)p->len)
			device_drop(dev, WG_DROP_TUN_WRITE_ERROR);
		pool_put(&dev->pool, p->id);
	}
	dev->tx_tun.n = 0;
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
		else if (fd == b->sock4 || fd == b->sock6)
			receive_udp(l, fd);
		else
			loop_dispatch_fd(l, fd);
	}
	epoll_flush(l->dev, l);
	return 0;
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
