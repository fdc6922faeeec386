// SPDX-License-Identifier: MIT
#include "confine.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
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

#define INIT_STACK (64 * 1024)

/* The signals the namespace's init passes on to COMMAND (the rest keep their defaults there). */
static const int passed_on[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

struct spawn {
	char *const *argv;
	char msg[160]; /* made before the clone: between it and exec only what is async-signal-safe */
	int ready[2];  /* init's: EOF once wgud is gone */
};

static void nothing(int sig)
{
	(void)sig;
}

static _Noreturn void exec_command(const struct spawn *sp)
{
	const char *why;
	sigset_t none;
	int code, cap;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/*
	 * COMMAND gets no capability, even as root: none may take the wall down,
	 * move it out of the namespace or reach the veth's far side. The bounding
	 * set is what an exec as root would grant; no_new_privs stops setuid.
	 */
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		(void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	execvp(sp->argv[0], sp->argv);
	code = errno == ENOENT ? 127 : 126;
	why = errno == ENOENT ? "not found\n" : errno == EACCES ? "permission denied (not executable?)\n"
							 : "the kernel refused it\n";
	(void)!write(STDERR_FILENO, sp->msg, strlen(sp->msg));
	(void)!write(STDERR_FILENO, why, strlen(why));
	_exit(code);
}

/*
 * PID 1 of COMMAND's own PID namespace: starts COMMAND, passes wgud's
 * signals on to it, reaps whatever is orphaned there, and ends with
 * COMMAND's status; when it ends the kernel kills everything left in the
 * namespace, so nothing COMMAND started outlives it. It dies with wgud.
 */
static int namespace_init(void *arg)
{
	const struct spawn *sp = arg;
	struct sigaction sa = { .sa_handler = nothing };
	sigset_t set;
	pid_t command;
	size_t i;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		_exit(127);
	close(sp->ready[1]);
	/* wgud may have died before the line above: then the pipe is at EOF already */
	{
		struct pollfd p = { .fd = sp->ready[0], .events = POLLIN };

		if (poll(&p, 1, 0) > 0)
			_exit(127);
	}
	/* init gets only the signals it has a handler for, even from outside: an empty one, then sigwait */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (i = 0; i < sizeof(passed_on) / sizeof(passed_on[0]); i++) {
		sigaction(passed_on[i], &sa, NULL);
		sigaddset(&set, passed_on[i]);
	}
	sigaction(SIGCHLD, &sa, NULL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/*
	 * A fork by the bare system call: this process is a copy of a threaded
	 * one, where glibc's fork could wait on a lock a thread held at the copy.
	 * From here to exec only system calls.
	 */
	command = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
	if (command < 0)
		_exit(126);
	if (command == 0) {
		close(sp->ready[0]);
		exec_command(sp);
	}
	for (;;) {
		siginfo_t si;
		int status;
		pid_t pid;

		if (sigwaitinfo(&set, &si) < 0)
			continue;
		if (si.si_signo != SIGCHLD) {
			/* a terminal's signal (SI_KERNEL) reached COMMAND's process group already */
			if (si.si_code != SI_KERNEL)
				(void)kill(command, si.si_signo);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == command)
				_exit(confine_exit_code(status));
	}
}

int confine_spawn(char *const argv[], pid_t *pid)
{
	struct spawn sp = { .argv = argv };
	char *stack;
	pid_t child;
	int ret;

	snprintf(sp.msg, sizeof(sp.msg), "wgud run: cannot execute %.100s: ", argv[0]);
	if (pipe2(sp.ready, O_CLOEXEC) < 0)
		return -errno;
	stack = malloc(INIT_STACK);
	if (!stack) {
		ret = -ENOMEM;
		goto out;
	}
	/* A copy of this process, as fork makes, but first of a new PID namespace (this process's stays) */
	child = clone(namespace_init, stack + INIT_STACK, CLONE_NEWPID | SIGCHLD, &sp);
	ret = child < 0 ? -errno : 0;
	if (!ret)
		*pid = child;
	free(stack);
out:
	/* the write end stays open in wgud until it exits: init's EOF */
	close(sp.ready[0]);
	if (ret)
		close(sp.ready[1]);
	return ret;
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
