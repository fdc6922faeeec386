// SPDX-License-Identifier: MIT
/* Backend selection and what both backends share. */
#include "loop.h"

#include <errno.h>
#include <string.h>

#ifdef WGUD_IO_URING
/* 0 with io_uring ready, else -errno and, unless io_uring was asked for by name, why it was not used. */
static int try_uring(struct loop *l, enum loop_backend want, const char **why)
{
	static const char *const reasons[] = {
		[ENOSYS] = "the kernel has no io_uring",
		[EPERM] = "io_uring is refused (kernel.io_uring_disabled or a seccomp profile)",
		[EACCES] = "io_uring is refused (kernel.io_uring_disabled or a seccomp profile)",
		[EINVAL] = "the kernel's io_uring lacks multishot recvmsg or provided-buffer rings (needs Linux 6.0)",
		[ENOMEM] = "io_uring could not get locked memory (RLIMIT_MEMLOCK)",
	};
	int ret;

	l->ops = &loop_uring_ops;
	ret = l->ops->init(l);
	if (ret && want != LOOP_URING)
		*why = -ret < (int)(sizeof(reasons) / sizeof(reasons[0])) && reasons[-ret] ? reasons[-ret]
											  : "io_uring setup failed";
	return ret;
}
#else
/* Asked for by name, io_uring is missed and said so; the automatic choice has only epoll to choose from. */
static int try_uring(struct loop *l, enum loop_backend want, const char **why)
{
	(void)l;
	if (want == LOOP_URING)
		*why = "this build has no io_uring (-DWGUD_IO_URING=OFF)";
	return -EOPNOTSUPP;
}
#endif

int loop_init(struct loop *l, struct wg_device *dev, enum loop_backend want, const char **why)
{
	int ret;

	memset(l, 0, sizeof(*l));
	l->dev = dev;
	*why = NULL;
	if (want != LOOP_EPOLL) {
		ret = try_uring(l, want, why);
		if (!ret)
			goto ready;
		if (want == LOOP_URING && !*why)
			return ret;
	}
	l->ops = &loop_epoll_ops;
	ret = l->ops->init(l);
	if (ret)
		return ret;
ready:
	dev->flush = l->ops->flush;
	dev->flush_ctx = l;
	return 0;
}

void loop_uninit(struct loop *l)
{
	if (l->ops)
		l->ops->uninit(l);
	l->dev->flush = NULL;
	l->ops = NULL;
}

int loop_add_fd(struct loop *l, int fd, loop_fd_cb cb, void *ctx)
{
	int ret;

	if (l->n_fds == LOOP_MAX_FDS)
		return -ENOSPC;
	ret = l->ops->add_fd(l, fd);
	if (ret)
		return ret;
	l->fds[l->n_fds].fd = fd;
	l->fds[l->n_fds].cb = cb;
	l->fds[l->n_fds].ctx = ctx;
	l->n_fds++;
	return 0;
}

void loop_del_fd(struct loop *l, int fd)
{
	unsigned int i;

	for (i = 0; i < l->n_fds; i++) {
		if (l->fds[i].fd == fd) {
			l->ops->del_fd(l, fd);
			l->fds[i] = l->fds[--l->n_fds];
			return;
		}
	}
}

void loop_dispatch_fd(struct loop *l, int fd)
{
	unsigned int i;

	for (i = 0; i < l->n_fds; i++) {
		if (l->fds[i].fd == fd) {
			l->fds[i].cb(l->fds[i].ctx, fd);
			return;
		}
	}
}

int loop_sockets_changed(struct loop *l)
{
	return l->ops->sockets_changed(l);
}

int loop_run(struct loop *l)
{
	int ret = 0;

	l->stop = false;
	while (!l->stop) {
		uint64_t now = device_now_ns(), next = device_tick(l->dev, now), timeout;

		l->ops->flush(l->dev, l);
		timeout = next == UINT64_MAX ? UINT64_MAX : next > now ? next - now : 0;
		ret = l->ops->run_once(l, timeout);
		if (ret && ret != -EINTR)
			break;
		ret = 0;
	}
	l->ops->flush(l->dev, l);
	return ret;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

const char *loop_backend_name(const struct loop *l)
{
	return l->ops ? l->ops->name : "none";
}
