// SPDX-License-Identifier: MIT
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define NETNS_RUN_DIR "/var/run/netns"

/* Set once by the control thread before other threads exist; read-only after. */
static int home_fd = -1;
static int target_fd = -1; /* where the control thread works; -1: /proc/self/ns/net of that thread */
static bool away;

int netns_open(const char *spec, int *fd, char *err, size_t err_len)
{
	struct stat st, here;
	char path[256];
	int ret;

	if (!*spec) {
		snprintf(err, err_len, "--netns needs a name or a path");
		return -EINVAL;
	}
	/* `ip netns` names are anything but "/", "." and ".."; a path has a "/" */
	if (strchr(spec, '/'))
		ret = snprintf(path, sizeof(path), "%s", spec);
	else if (strcmp(spec, ".") && strcmp(spec, ".."))
		ret = snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, spec);
	else
		ret = -1;
	if (ret < 0 || (size_t)ret >= sizeof(path)) {
		snprintf(err, err_len, "'%.64s%s' is not a namespace name or path", spec, strlen(spec) > 64 ? "..." : "");
		return -EINVAL;
	}
	/* nsfs files are regular: a device or a FIFO is never opened (opening some has effects) */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "%s is not a network namespace", path);
		*fd = -1;
		return -EINVAL;
	}
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (*fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "%s: %s%s", path, strerror(-ret),
			 ret == -ENOENT && !strchr(spec, '/') ? " (create it first: ip netns add NAME)" : "");
		return ret;
	}
	/* nsfs says what it is; anything else (a plain file, another kind of namespace) is refused here */
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode) || ioctl(*fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		ret = -EINVAL;
		snprintf(err, err_len, "%s is not a network namespace", path);
		goto err_fd;
	}
	/* The UDP would go into the tunnel it carries: the two sides must be two namespaces. */
	if (stat("/proc/thread-self/ns/net", &here) == 0 && here.st_ino == st.st_ino && here.st_dev == st.st_dev) {
		ret = -EINVAL;
		snprintf(err, err_len, "%s is wgud's own network namespace: the UDP must stay outside the tunnel's", path);
		goto err_fd;
	}
	return 0;

err_fd:
	close(*fd);
	*fd = -1;
	return ret;
}

int netns_keep_home(void)
{
	if (home_fd >= 0)
		return 0;
	home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	return home_fd < 0 ? -errno : 0;
}

int netns_enter(int fd)
{
	int ret = netns_keep_home();

	if (ret)
		return ret;
	if (setns(fd, CLONE_NEWNET) < 0)
		return -errno;
	target_fd = fd;
	away = true;
	return 0;
}

bool netns_away(void)
{
	return away;
}

void netns_mark_away(void)
{
	away = true;
}

int netns_home_begin(void)
{
	if (!away)
		return 0;
	if (home_fd < 0)
		return -EPERM;
	if (target_fd < 0) {
		/* `wgud run`: where this thread is now, to come back to */
		target_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (target_fd < 0)
			return -errno;
	}
	return setns(home_fd, CLONE_NEWNET) < 0 ? -errno : 0;
}

void netns_home_end(void)
{
	if (away && target_fd >= 0)
		(void)setns(target_fd, CLONE_NEWNET);
}

int netns_home_fd(void)
{
	return home_fd;
}

int netns_go_home(void)
{
	if (!away)
		return 0;
	if (home_fd < 0)
		return -EPERM;
	return setns(home_fd, CLONE_NEWNET) < 0 ? -errno : 0;
}
