// SPDX-License-Identifier: MIT
#include "unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

/* A zombie or a dead process: its sockets may outlive it a moment (io_uring lets go of files asynchronously). */
static bool process_gone(pid_t pid)
{
	char path[64], stat[256], *close_paren;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return false; /* not visible from here: assume it lives */
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return false;
	stat[n] = '\0';
	close_paren = strrchr(stat, ')');
	return close_paren && (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

bool unixsock_alive(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool answered;

	if (fd < 0)
		return false;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	answered = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	/* The listener's credentials are those of the process that called listen(). */
	if (answered && !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) && process_gone(cred.pid))
		answered = false;
	close(fd);
	return answered;
}

int unixsock_dir(const char *dir)
{
	if (mkdir(dir, 0755) == 0)
		return chmod(dir, 0755) < 0 ? -errno : 0;
	return errno == EEXIST ? 0 : -errno;
}

int unixsock_listen(const char *path, int group_gid, int backlog, int *fd_out)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	int fd, ret;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		/* Never unlink what we did not make: a file there is somebody's mistake to see. */
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unixsock_alive(path))
			return -EADDRINUSE;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Owner only from the moment it exists: these sockets hand out keys and change the firewall. */
	old_umask = umask(0177);
	ret = bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
	umask(old_umask);
	if (ret)
		goto err_close;
	/* Group first, then the group bit: never 0660 with the wrong group. */
	if (group_gid >= 0 && (chown(path, (uid_t)-1, (gid_t)group_gid) < 0 || chmod(path, 0660) < 0)) {
		ret = -errno;
		goto err_unlink;
	}
	if (listen(fd, backlog) < 0) {
		ret = -errno;
		goto err_unlink;
	}
	*fd_out = fd;
	return 0;

err_unlink:
	unlink(path);
err_close:
	close(fd);
	return ret;
}

void unixsock_close(struct loop *loop, int *fd, char *path)
{
	if (*fd >= 0) {
		if (loop)
			loop_del_fd(loop, *fd);
		close(*fd);
		*fd = -1;
	}
	if (path[0] && unlink(path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", path, strerror(errno));
	path[0] = '\0';
}
