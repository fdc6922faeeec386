/* SPDX-License-Identifier: MIT */
/*
 * The event loop: moves batches between the kernel (TUN, UDP) and the device's
 * packet paths, fires timers, and serves the other file descriptors ctrl/
 * registers (UAPI, signals, netlink). Two backends with one interface:
 * io_uring (multishot recvmsg with a provided-buffer ring, batched
 * submissions) and epoll with recvmmsg/sendmmsg, used when io_uring cannot be.
 * Single-threaded: every callback runs on the loop's thread.
 */
#ifndef WGUD_LOOP_H
#define WGUD_LOOP_H

#include <sys/types.h>

#include "device.h"

enum loop_backend { LOOP_AUTO, LOOP_URING, LOOP_EPOLL };

struct loop;
typedef void (*loop_fd_cb)(void *ctx, int fd);

struct loop_ops {
	int (*init)(struct loop *l);
	void (*uninit)(struct loop *l);
	int (*add_fd)(struct loop *l, int fd);
	void (*del_fd)(struct loop *l, int fd);
	int (*sockets_changed)(struct loop *l);
	int (*run_once)(struct loop *l, uint64_t timeout_ns);
	void (*flush)(struct wg_device *dev, void *ctx);
	const char *name;
};

#define LOOP_MAX_FDS 64

struct loop_fd {
	int fd;
	loop_fd_cb cb;
	void *ctx;
};

struct loop {
	struct wg_device *dev;
	const struct loop_ops *ops;
	void *backend;
	struct loop_fd fds[LOOP_MAX_FDS];
	unsigned int n_fds;
	bool stop;
};

/*
 * want LOOP_AUTO tries io_uring first. On a fallback, *why says why io_uring
 * was not used (NULL otherwise), for the caller to report once. LOOP_URING
 * fails where io_uring is refused, except in a build without it
 * (-DWGUD_IO_URING=OFF): there epoll runs and *why says so.
 */
int loop_init(struct loop *l, struct wg_device *dev, enum loop_backend want, const char **why);
void loop_uninit(struct loop *l);
int loop_add_fd(struct loop *l, int fd, loop_fd_cb cb, void *ctx);
void loop_del_fd(struct loop *l, int fd);
/* After socket_bind() replaced the UDP sockets. */
int loop_sockets_changed(struct loop *l);
/* Runs until loop_stop(); returns 0, or -errno on a fatal error. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);
const char *loop_backend_name(const struct loop *l);

/* Shared by the backends. */
void loop_dispatch_fd(struct loop *l, int fd);

/*
 * Room for a packet read from TUN: after the headroom, with tail room for
 * padding and the tag. TUN cuts a longer packet to the read's length without
 * a word (IFF_NO_PI), so a read that fills the room is taken as cut short:
 * the room is larger than max_mtu, and no packet of an MTU wgud accepts
 * fills it.
 */
static inline uint32_t loop_tun_read_room(const struct wg_device *dev)
{
	return dev->pool.buf_size - WG_TUN_HEADROOM - 64;
}

static inline bool loop_tun_read_cut(const struct wg_device *dev, ssize_t len)
{
	return len >= (ssize_t)loop_tun_read_room(dev);
}
extern const struct loop_ops loop_epoll_ops;
extern const struct loop_ops loop_uring_ops;

#endif
