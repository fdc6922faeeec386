// SPDX-License-Identifier: MIT
#include "privdrop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define KEPT (1ULL << CAP_NET_ADMIN)
#define CAP_MAX 64             /* PR_CAPBSET_READ answers EINVAL past the kernel's last capability */
#define THREAD_WAIT_MS 2000    /* for every thread to take the restrictions (they take microseconds) */
#define TASK_PF_IO_WORKER 0x10 /* PF_IO_WORKER in /proc/TID/stat's flags: a kernel io_uring worker */
#define JANITOR_QUIET 'q'      /* the daemon detached: let go of its terminal */
#define JANITOR_DROPPED 'd'    /* privdrop_apply() began: what the daemon cannot undo is the helper's */
#define JANITOR_WAIT_MS 5000   /* from the daemon's last descriptor closed to its exit (its io_uring let go) */

/* ---- looking the user up ---- */

static int __attribute__((format(printf, 4, 5))) refuse(char *err, size_t err_len, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return ret;
}

int privdrop_lookup(struct privdrop *p, const char *name, char *err, size_t err_len)
{
	struct passwd pw, *found = NULL;
	char buf[16384];
	int n = PRIVDROP_MAX_GROUPS, ret;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (geteuid() != 0)
		return refuse(err, err_len, -EPERM,
			      "--user %s needs wgud started as root (it drops to that user after setup)", name);
	if (strlen(name) >= sizeof(p->name))
		return refuse(err, err_len, -ENAMETOOLONG, "--user %.80s: too long for a user name", name);
	ret = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
	if (!found && (!ret || ret == ENOENT || ret == ESRCH))
		return refuse(err, err_len, -ENOENT, "--user %s: no such user (getent passwd lists them)", name);
	if (!found)
		return refuse(err, err_len, -ret, "--user %s: looking the user up: %s", name, strerror(ret));
	if (pw.pw_uid == 0)
		return refuse(err, err_len, -EINVAL, "--user %s is uid 0: name an unprivileged user", name);
	if (pw.pw_gid == 0)
		return refuse(err, err_len, -EINVAL, "--user %s has group 0 (root): give it a group of its own", name);
	if (getgrouplist(name, pw.pw_gid, p->groups, &n) < 0)
		return refuse(err, err_len, -E2BIG, "--user %s is in more than %d groups", name, PRIVDROP_MAX_GROUPS);
	for (i = 0; i < (size_t)n; i++)
		if (p->groups[i] == 0)
			return refuse(err, err_len, -EINVAL, "--user %s is in group 0 (root): take it out of that group",
				      name);
	memcpy(p->name, name, strlen(name) + 1);
	p->uid = pw.pw_uid;
	p->gid = pw.pw_gid;
	p->n_groups = (size_t)n;
	p->set = true;
	return 0;
}

/* ---- the root helper ---- */

static int janitor_fd = -1; /* the pipe's write end: only the daemon holds it */

static void close_from_to(unsigned int from, unsigned int to)
{
	long max;

	if (from > to || !close_range(from, to, 0))
		return;
	/* close_range came with Linux 5.9 */
	max = sysconf(_SC_OPEN_MAX);
	for (; from <= to && from < (unsigned int)(max > 0 ? max : 1024); from++)
		close((int)from);
}

/* Every descriptor from 3 up but those in keep (ascending, each >= 3). */
static void close_others(const int *keep, size_t n)
{
	unsigned int from = 3;
	size_t i;

	for (i = 0; i < n; i++) {
		if (keep[i] > (int)from)
			close_from_to(from, (unsigned int)keep[i] - 1);
		from = (unsigned int)keep[i] + 1;
	}
	close_from_to(from, ~0U);
}

/* The pipe's end and what the caller keeps, in order, without those below 3 (stdio is handled apart). */
static size_t keep_list(int *out, int pipe_fd, const int *keep, size_t n_keep)
{
	size_t n = 0, i, j;

	out[n++] = pipe_fd;
	for (i = 0; i < n_keep; i++)
		if (keep[i] >= 3)
			out[n++] = keep[i];
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && out[j - 1] > out[j]; j--) {
			int t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static void __attribute__((noreturn)) janitor_run(int fd, privdrop_janitor_fn fn, void *ctx, const int *keep,
						  size_t n_keep)
{
	const struct timespec step = { .tv_nsec = 10 * 1000000L };
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), was = fd, waited;
	int kept[PRIVDROP_JANITOR_KEEP_MAX + 1];
	pid_t daemon = getppid();
	bool dropped = false;
	ssize_t n;
	char c;

	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	(void)prctl(PR_SET_NAME, "wgud-janitor", 0, 0, 0);
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* not in stdio's place, which /dev/null takes */
	if (null < 0 || fd < 0) {
		log_error("root helper: %s; the socket files will stay after wgud stops", strerror(errno));
		_exit(1);
	}
	(void)dup2(null, STDIN_FILENO);
	(void)dup2(null, STDOUT_FILENO);
	if (was == STDERR_FILENO)
		(void)dup2(null, STDERR_FILENO); /* there was no stderr */
	close_others(kept, keep_list(kept, fd, keep, n_keep));
	while ((n = read(fd, &c, 1)) != 0) {
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && c == JANITOR_QUIET)
			(void)dup2(STDIN_FILENO, STDERR_FILENO);
		dropped |= n > 0 && c == JANITOR_DROPPED;
	}
	/*
	 * A killed daemon's descriptors close one by one: its listening sockets
	 * may still answer when the pipe's end closes. Gone is when this
	 * process is handed to another parent.
	 */
	for (waited = 0; getppid() == daemon && waited < JANITOR_WAIT_MS; waited += 10)
		nanosleep(&step, NULL);
	fn(ctx, dropped);
	_exit(0);
}

int privdrop_janitor(privdrop_janitor_fn fn, void *ctx, const int *keep, size_t n_keep)
{
	sigset_t stop, was;
	int fds[2], ret;
	pid_t pid;

	if (janitor_fd >= 0)
		return -EALREADY;
	if (n_keep > PRIVDROP_JANITOR_KEEP_MAX)
		return -E2BIG;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	/* A stop signal between the fork and the helper's SIG_IGN must wait, not end it. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, &was);
	pid = fork();
	if (pid == 0) {
		close(fds[1]);
		janitor_run(fds[0], fn, ctx, keep, n_keep);
	}
	ret = pid < 0 ? -errno : 0;
	sigprocmask(SIG_SETMASK, &was, NULL);
	close(fds[0]);
	if (ret) {
		close(fds[1]);
		return ret;
	}
	janitor_fd = fds[1];
	log_debug("root helper %d removes the socket files once wgud is gone", (int)pid);
	return 0;
}

static void tell_janitor(char c, const char *otherwise)
{
	if (janitor_fd >= 0 && write(janitor_fd, &c, 1) != 1)
		log_warn("root helper: %s; %s", strerror(errno), otherwise);
}

void privdrop_janitor_quiet(void)
{
	tell_janitor(JANITOR_QUIET, "it may keep the terminal wgud left");
}

/* ---- every thread ---- */

static bool io_worker(pid_t tid)
{
	char path[64], text[512], *end;
	unsigned int flags = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return false;
	text[n] = '\0';
	/* pid (comm) state ppid pgrp session tty_nr tpgid flags */
	end = strrchr(text, ')');
	return end && sscanf(end + 1, " %*c %*d %*d %*d %*d %*d %u", &flags) == 1 && (flags & TASK_PF_IO_WORKER);
}

/* fn for each of this process's tasks, the kernel's io_uring workers among them; the first error stops. */
static int each_thread(int (*fn)(pid_t tid, void *arg), void *arg)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	int ret = 0;

	if (!dir)
		return -errno;
	while (!ret && (e = readdir(dir))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid > 0)
			ret = fn(tid, arg);
	}
	closedir(dir);
	return ret;
}

/* ---- no_new_privs and the bounding set, in each thread ---- */

static atomic_uint restricted, restrict_failed;

/* This thread can never again gain a privilege through exec, nor a capability but CAP_NET_ADMIN. */
static int never_exec(void)
{
	int cap, in;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	for (cap = 0; cap < CAP_MAX && (in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) >= 0; cap++)
		if (in && cap != CAP_NET_ADMIN && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	return 0;
}

static void on_restrict(int sig)
{
	int saved = errno;

	(void)sig;
	if (never_exec())
		atomic_fetch_add(&restrict_failed, 1);
	atomic_fetch_add(&restricted, 1);
	errno = saved;
}

static int signal_thread(pid_t tid, void *arg)
{
	unsigned int *sent = arg;

	if (tid == gettid() || io_worker(tid))
		return 0; /* an io_uring worker takes no signal and never runs our code */
	if (syscall(SYS_tgkill, getpid(), tid, SIGRTMIN) < 0)
		return errno == ESRCH ? 0 : -errno;
	(*sent)++;
	return 0;
}

/* Each thread restricts itself, in a signal handler, as glibc has each thread call setuid. */
static int restrict_threads(const char *name)
{
	struct sigaction sa = { .sa_handler = on_restrict, .sa_flags = SA_RESTART }, old;
	const struct timespec ms = { .tv_nsec = 1000000L };
	unsigned int sent = 0, waited;
	int ret = never_exec();

	if (ret) {
		log_error("--user %s: no_new_privs and the bounding set: %s", name, strerror(-ret));
		return ret;
	}
	sigemptyset(&sa.sa_mask);
	atomic_store(&restricted, 0);
	atomic_store(&restrict_failed, 0);
	if (sigaction(SIGRTMIN, &sa, &old) < 0)
		return -errno;
	ret = each_thread(signal_thread, &sent);
	for (waited = 0; atomic_load(&restricted) < sent && waited < THREAD_WAIT_MS; waited++)
		nanosleep(&ms, NULL);
	if (ret) {
		log_error("--user %s: signalling the other threads: %s", name, strerror(-ret));
		return ret;
	}
	/* A late signal must still find the handler: the default action would end the process. */
	if (atomic_load(&restricted) < sent) {
		log_error("--user %s: %u of %u threads did not take no_new_privs and the bounding set", name,
			  sent - atomic_load(&restricted), sent);
		return -ETIMEDOUT;
	}
	sigaction(SIGRTMIN, &old, NULL);
	if (atomic_load(&restrict_failed)) {
		log_error("--user %s: a thread could not take no_new_privs and the bounding set", name);
		return -EPERM;
	}
	return 0;
}

/* ---- the drop ---- */

static int failed(const char *name, const char *step)
{
	int ret = -errno;

	log_error("--user %s: %s: %s", name, step, strerror(errno));
	return ret;
}

/* glibc makes every thread take the new ids; only this one (PR_SET_KEEPCAPS) keeps its permitted set. */
static int change_ids(const struct privdrop *p)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return failed(p->name, "PR_SET_KEEPCAPS");
	if (setgroups(p->n_groups, p->groups) < 0)
		return failed(p->name, "setgroups");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return failed(p->name, "setresgid");
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return failed(p->name, "setresuid");
	return 0;
}

static int keep_net_admin(const struct privdrop *p)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { { .effective = KEPT, .permitted = KEPT } };

	_Static_assert(CAP_NET_ADMIN < 32, "CAP_NET_ADMIN is in the first word");
	if (syscall(SYS_capset, &h, d) < 0)
		return failed(p->name, "capset");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return failed(p->name, "clearing PR_SET_KEEPCAPS");
	return 0;
}

/* ---- checking that it took ---- */

/* The text after "NAME:" at the start of a line of /proc/TID/status, or NULL. */
static const char *status_field(const char *text, const char *name)
{
	size_t len = strlen(name);
	const char *line;

	for (line = text; line; line = (line = strchr(line, '\n')) ? line + 1 : NULL)
		if (!strncmp(line, name, len) && line[len] == ':')
			return line + len + 1;
	return NULL;
}

static bool ids_are(const char *text, const char *name, unsigned int id)
{
	const char *v = status_field(text, name);
	unsigned int a, b, c, d;

	return v && sscanf(v, "%u %u %u %u", &a, &b, &c, &d) == 4 && a == id && b == id && c == id && d == id;
}

static bool caps_are(const char *text, const char *name, uint64_t mask, uint64_t want)
{
	const char *v = status_field(text, name);
	unsigned long long caps;

	return v && sscanf(v, "%llx", &caps) == 1 && (caps & mask) == want;
}

static int check_thread(pid_t tid, void *arg)
{
	const struct privdrop *p = arg;
	char path[64], text[4096];
	const char *nnp, *what = NULL;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno; /* a thread that ended */
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	nnp = status_field(text, "NoNewPrivs");
	if (io_worker(tid)) {
		/* Its credentials are those it was made with; an idle one exits within seconds. */
		if (!ids_are(text, "Uid", p->uid))
			log_warn("--user %s: io_uring worker %d was made before the drop and keeps its uid until it exits",
				 p->name, (int)tid);
		return 0;
	}
	if (!ids_are(text, "Uid", p->uid) || !ids_are(text, "Gid", p->gid))
		what = "another uid or gid";
	else if (!caps_are(text, "CapPrm", ~KEPT, 0) || !caps_are(text, "CapEff", ~KEPT, 0))
		what = "a capability other than CAP_NET_ADMIN";
	else if (!caps_are(text, "CapBnd", ~0ULL, KEPT) || !caps_are(text, "CapAmb", ~0ULL, 0))
		what = "a bounding or ambient set other than CAP_NET_ADMIN alone";
	else if (!nnp || atoi(nnp) != 1)
		what = "no no_new_privs";
	if (!what)
		return 0;
	log_error("--user %s: thread %d has %s after the drop", p->name, (int)tid, what);
	return -EPERM;
}

static int check(const struct privdrop *p)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg) || ru != p->uid || eu != p->uid || su != p->uid ||
	    rg != p->gid || eg != p->gid || sg != p->gid) {
		log_error("--user %s: the uid or gid did not change", p->name);
		return -EPERM;
	}
	if (syscall(SYS_capget, &h, d) < 0)
		return failed(p->name, "capget");
	if (d[0].effective != KEPT || d[0].permitted != KEPT || d[0].inheritable || d[1].effective || d[1].permitted ||
	    d[1].inheritable) {
		log_error("--user %s: the capabilities are not CAP_NET_ADMIN alone", p->name);
		return -EPERM;
	}
	return each_thread(check_thread, (void *)p);
}

/* The files become the user's: group and mode as they are. */
static int hand_over(const struct privdrop *p, const char *const paths[], size_t n_paths)
{
	size_t i;

	for (i = 0; i < n_paths; i++)
		if (paths[i][0] && fchownat(AT_FDCWD, paths[i], p->uid, (gid_t)-1, AT_SYMLINK_NOFOLLOW) < 0) {
			int ret = -errno;

			log_error("--user %s: making %s the user's: %s", p->name, paths[i], strerror(errno));
			return ret;
		}
	return 0;
}

int privdrop_apply(const struct privdrop *p, const char *const paths[], size_t n_paths)
{
	int ret;

	if (!p->set)
		return -EINVAL;
	tell_janitor(JANITOR_DROPPED, "what wgud cannot undo as the user stays after it");
	ret = restrict_threads(p->name);
	if (!ret)
		ret = hand_over(p, paths, n_paths);
	if (!ret)
		ret = change_ids(p);
	if (!ret)
		ret = keep_net_admin(p);
	if (!ret)
		ret = check(p);
	if (ret)
		return ret;
	log_info("dropped to user %s (uid %u, gid %u), keeping CAP_NET_ADMIN only", p->name, (unsigned int)p->uid,
		 (unsigned int)p->gid);
	return 0;
}
