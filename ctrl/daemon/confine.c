// SPDX-License-Identifier: MIT
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns.h"

/* Whole-file writes to /proc/self/{setgroups,uid_map,gid_map}. */
static int write_proc(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		ret = -errno;
	close(fd);
	return ret;
}

int confine_unshare(char *err, size_t err_len)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int flags = CLONE_NEWNET | CLONE_NEWNS | (uid ? CLONE_NEWUSER : 0);
	char map[64];
	int ret;

	ret = netns_keep_home();
	if (ret) {
		snprintf(err, err_len, "opening this namespace: %s", strerror(-ret));
		return ret;
	}
	if (unshare(flags) < 0) {
		ret = -errno;
		snprintf(err, err_len, "making the namespaces: %s%s", strerror(-ret),
			 uid && (ret == -EPERM || ret == -ENOSPC)
				 ? " (unprivileged user namespaces are refused here: see user.max_user_namespaces and "
				   "kernel.unprivileged_userns_clone, or run as root)"
				 : "");
		return ret;
	}
	netns_mark_away();
	if (uid) {
		/* Only ourselves, as ourselves: COMMAND sees its own uid, and nobody else's exists. */
		ret = write_proc("/proc/self/setgroups", "deny");
		snprintf(map, sizeof(map), "%u %u 1", (unsigned int)uid, (unsigned int)uid);
		if (!ret)
			ret = write_proc("/proc/self/uid_map", map);
		snprintf(map, sizeof(map), "%u %u 1", (unsigned int)gid, (unsigned int)gid);
		if (!ret)
			ret = write_proc("/proc/self/gid_map", map);
		if (ret) {
			snprintf(err, err_len, "mapping uid %u and gid %u into the user namespace: %s", (unsigned int)uid,
				 (unsigned int)gid, strerror(-ret));
			return ret;
		}
	}
	/* The private resolv.conf must not show up in the namespace we came from. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		ret = -errno;
		snprintf(err, err_len, "making the mounts private: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int confine_spawn(char *const argv[], pid_t *pid)
{
	pid_t parent = getpid();
	char msg[160];
	pid_t child;

	/* The words are made here: between fork and exec only what is async-signal-safe. */
	snprintf(msg, sizeof(msg), "wgud run: cannot execute %.100s: ", argv[0]);
	child = fork();
	if (child < 0)
		return -errno;
	if (child == 0) {
		const char *why;
		sigset_t none;
		int code;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* Nothing may outlive wgud in its namespaces, whatever killed wgud. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		execvp(argv[0], argv);
		code = errno == ENOENT ? 127 : 126;
		why = errno == ENOENT ? "not found\n" : errno == EACCES ? "permission denied (not executable?)\n"
							       : "the kernel refused it\n";
		(void)!write(STDERR_FILENO, msg, strlen(msg));
		(void)!write(STDERR_FILENO, why, strlen(why));
		_exit(code);
	}
	*pid = child;
	return 0;
}

int confine_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

void confine_reap(pid_t pid, int grace_ms)
{
	const struct timespec step = { .tv_nsec = 10 * 1000000L };
	int status, waited;

	if (pid <= 0)
		return;
	if (waitpid(pid, &status, WNOHANG) == pid)
		return;
	(void)kill(pid, SIGTERM);
	for (waited = 0; waited < grace_ms; waited += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		nanosleep(&step, NULL);
	}
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
}
