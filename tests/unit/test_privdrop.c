// SPDX-License-Identifier: MIT
/*
 * --user (privdrop.h) and what it hands over: the refusals at lookup; the
 * state file rewritten in place (same inode, nothing of a longer old file
 * left, emptied rather than removed, then tidied); a socket file left at
 * close and removed later only if it is still the server's; the root
 * helper, which outlives SIGTERM and runs its callback once the process
 * that started it is gone, SIGKILL included; and, as root, the drop itself
 * in a child with a second thread: both threads checked through /proc, and
 * a thread that blocks the signal makes the drop refuse while still root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "privdrop.h"
#include "sockserver.h"
#include "state.h"

static char dir[] = "/tmp/wgud-privdrop.XXXXXX";

static int setup(void **unused)
{
	(void)unused;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **unused)
{
	(void)unused;
	return rmdir(dir);
}

static void sleep_ms(long ms)
{
	const struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

static bool gone(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 && errno == ENOENT;
}

static bool appears(const char *path, int ms)
{
	for (; ms > 0 && gone(path); ms -= 10)
		sleep_ms(10);
	return !gone(path);
}

static void lookup_refusals(void **unused)
{
	struct privdrop p;
	char err[256];

	(void)unused;
	if (geteuid() != 0) {
		assert_int_equal(privdrop_lookup(&p, "nobody", err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "needs wgud started as root"));
		assert_false(p.set);
		return;
	}
	assert_int_equal(privdrop_lookup(&p, "root", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "uid 0"));
	assert_int_equal(privdrop_lookup(&p, "no-such-user-wgud", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no such user"));
	assert_int_equal(privdrop_lookup(&p, "a-name-longer-than-the-sixty-four-bytes-a-struct-privdrop-holds-for-it",
					 err, sizeof(err)),
			 -ENAMETOOLONG);
	assert_false(p.set);
	if (getpwnam("nobody")) {
		assert_int_equal(privdrop_lookup(&p, "nobody", err, sizeof(err)), 0);
		assert_true(p.set);
		assert_int_equal(p.uid, getpwnam("nobody")->pw_uid);
		assert_true(p.n_groups >= 1);
	}
}

static off_t file_size(const char *path, ino_t *ino)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	if (ino)
		*ino = st.st_ino;
	return st.st_size;
}

static void state_in_place(void **unused)
{
	static struct state st, again;
	struct stat sb;
	ino_t ino, now;
	char text[256];
	FILE *f;

	(void)unused;
	state_init(&st, dir, "wg0");
	assert_int_equal(state_hand_over(&st, getuid(), getgid()), 0);
	assert_int_equal(lstat(st.path, &sb), 0); /* made, empty, the user's */
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_size, 0);
	ino = sb.st_ino;
	state_add(&st, "allow_lan", "2001:db8:1234:5678::/64");
	state_add(&st, "allow_lan", "198.51.100.0/24");
	state_add(&st, "forward_ipv4", "0");
	state_remove(&st, "allow_lan", "2001:db8:1234:5678::/64"); /* shorter than before */
	assert_int_equal(file_size(st.path, &now), (off_t)strlen("allow_lan 198.51.100.0/24\nforward_ipv4 0\n"));
	assert_int_equal(now, ino); /* rewritten, never renamed */
	f = fopen(st.path, "r");
	assert_non_null(f);
	text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
	fclose(f);
	assert_string_equal(text, "allow_lan 198.51.100.0/24\nforward_ipv4 0\n");
	state_init(&again, dir, "wg0");
	assert_int_equal(state_load(&again), 0);
	assert_int_equal(again.n, 2);
	/* a file left half-way (new lines, then blank ones over the old tail) reads as the new lines */
	f = fopen(st.path, "a");
	assert_non_null(f);
	fputs("\n\n\n", f);
	fclose(f);
	assert_int_equal(state_load(&again), 0);
	assert_int_equal(again.n, 2);
	state_tidy(&st); /* not empty: it stays */
	assert_false(gone(st.path));
	state_remove(&st, "allow_lan", NULL);
	state_remove(&st, "forward_ipv4", NULL);
	assert_int_equal(file_size(st.path, &now), 0); /* emptied, not removed: the folder is not ours */
	assert_int_equal(now, ino);
	state_tidy(&st);
	assert_true(gone(st.path));
}

static enum sockserver_next no_input(void *ctx, struct sockserver_client *c, const char *data, size_t n)
{
	(void)ctx;
	(void)c;
	(void)data;
	(void)n;
	return SOCKSERVER_CLOSE;
}

static const struct sockserver_proto proto = { .name = "test", .input = no_input };

static void socket_left_for_the_helper(void **unused)
{
	static struct sockserver a, b;
	char path[108];

	(void)unused;
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	sockserver_init(&a, &proto, NULL);
	assert_int_equal(sockserver_listen(&a, path, -1), 0);
	sockserver_leave_file(&a);
	sockserver_close(&a);
	assert_false(gone(path)); /* close left it */
	/* a later server at the same path: the first one's helper must not take its file */
	sockserver_init(&b, &proto, NULL);
	assert_int_equal(sockserver_listen(&b, path, -1), 0);
	snprintf(a.path, sizeof(a.path), "%s", path); /* as the helper's copy, made before the close, holds it */
	sockserver_remove_file(&a);
	assert_false(gone(path));
	sockserver_leave_file(&b);
	sockserver_close(&b);
	snprintf(b.path, sizeof(b.path), "%s", path);
	sockserver_remove_file(&b);
	assert_true(gone(path));
}

static char marker[128];

static void make_marker(void *ctx, bool dropped)
{
	/* made whole under a temporary name: the test may look the moment it appears */
	char tmp[160];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", (const char *)ctx);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	(void)fchmod(fd, dropped ? 0640 : 0600);
	close(fd);
	(void)rename(tmp, ctx);
}

static pid_t first_child(pid_t pid)
{
	char path[64];
	FILE *f;
	int child = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &child) != 1)
			child = -1;
		fclose(f);
	}
	return child;
}

/* A "daemon" that starts the helper and then waits to be killed; returns its pid and the helper's. */
static pid_t start_daemon(pid_t *helper)
{
	pid_t pid = fork();
	int waited;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (privdrop_janitor(make_marker, marker, NULL, 0))
			_exit(1);
		for (;;)
			pause();
	}
	for (waited = 0; (*helper = first_child(pid)) <= 0 && waited < 2000; waited += 10)
		sleep_ms(10);
	assert_true(*helper > 0);
	return pid;
}

static void helper_outlives(void **unused)
{
	struct stat st;
	int sig, status;

	(void)unused;
	snprintf(marker, sizeof(marker), "%s/marker", dir);
	for (sig = SIGTERM; sig; sig = sig == SIGTERM ? SIGKILL : 0) {
		pid_t helper, daemon = start_daemon(&helper);

		/* systemd signals the whole cgroup: the helper stays for the daemon's end */
		assert_int_equal(kill(helper, SIGTERM), 0);
		assert_int_equal(kill(helper, SIGHUP), 0);
		sleep_ms(100);
		assert_true(gone(marker));
		assert_int_equal(kill(helper, 0), 0);
		assert_int_equal(kill(daemon, sig), 0);
		assert_int_equal(waitpid(daemon, &status, 0), daemon);
		assert_true(appears(marker, 2000));
		assert_int_equal(lstat(marker, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600); /* no drop began: dropped false */
		assert_int_equal(unlink(marker), 0);
	}
}

/* ---- the drop itself (root only), in a child process ---- */

static bool block_rt;

static void *idle_thread(void *arg)
{
	(void)arg;
	if (block_rt) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGRTMIN);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	for (;;)
		pause();
	return NULL;
}

/* "Field:\tvalue" of /proc/self/task/TID/status, as text. */
static bool task_field(pid_t tid, const char *name, char *out, size_t cap)
{
	char path[64], line[256];
	size_t len = strlen(name);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			snprintf(out, cap, "%s", line + len + 2);
			out[strcspn(out, "\n")] = '\0';
			found = true;
		}
	fclose(f);
	return found;
}

static bool task_is(pid_t tid, const char *name, const char *want)
{
	char v[128];

	return task_field(tid, name, v, sizeof(v)) && !strcmp(v, want);
}

/* The thread that is not this one. */
static pid_t other_thread(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	pid_t tid = -1;

	while (d && (e = readdir(d)))
		if (atoi(e->d_name) > 0 && atoi(e->d_name) != gettid())
			tid = atoi(e->d_name);
	if (d)
		closedir(d);
	return tid;
}

static bool dropped(pid_t tid, const char *uid, const char *caps)
{
	return task_is(tid, "Uid", uid) && task_is(tid, "CapEff", caps) && task_is(tid, "CapPrm", caps) &&
	       task_is(tid, "CapBnd", "0000000000001000") && task_is(tid, "CapAmb", "0000000000000000") &&
	       task_is(tid, "NoNewPrivs", "1");
}

/* The exit status says which check failed. */
static int drop_in_child(const struct privdrop *p, const char *file)
{
	const char *const paths[] = { file };
	char uid[64];
	pthread_t t;

	if (privdrop_janitor(make_marker, marker, NULL, 0))
		return 9;
	if (pthread_create(&t, NULL, idle_thread, NULL))
		return 10;
	sleep_ms(20); /* the thread has blocked what it blocks */
	if (privdrop_apply(p, paths, 1))
		return block_rt && geteuid() == 0 && getuid() == 0 ? 0 : 11; /* refused while still root */
	if (block_rt)
		return 12;
	snprintf(uid, sizeof(uid), "%u\t%u\t%u\t%u", p->uid, p->uid, p->uid, p->uid);
	if (!dropped(gettid(), uid, "0000000000001000"))
		return 13;
	if (other_thread() < 0 || !dropped(other_thread(), uid, "0000000000000000"))
		return 14;
	if (setuid(0) == 0)
		return 15;
	return 0;
}

static void drop(void **unused)
{
	struct privdrop p;
	char err[256], sock[128];
	struct stat st;
	int status, fd;

	(void)unused;
	if (geteuid() != 0 || !getpwnam("nobody")) {
		skip();
		return;
	}
	assert_int_equal(privdrop_lookup(&p, "nobody", err, sizeof(err)), 0);
	snprintf(sock, sizeof(sock), "%s/file", dir);
	snprintf(marker, sizeof(marker), "%s/marker", dir);
	for (block_rt = false;; block_rt = true) {
		pid_t pid;

		fd = open(sock, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		close(fd);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(drop_in_child(&p, sock));
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(lstat(sock, &st), 0);
		assert_int_equal(st.st_uid, block_rt ? 0 : p.uid); /* the files are the user's first */
		assert_int_equal(unlink(sock), 0);
		assert_true(appears(marker, 2000)); /* the helper, told the drop began */
		assert_int_equal(lstat(marker, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0640);
		assert_int_equal(unlink(marker), 0);
		if (block_rt)
			break;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookup_refusals),
		cmocka_unit_test(state_in_place),
		cmocka_unit_test(socket_left_for_the_helper),
		cmocka_unit_test(helper_outlives),
		cmocka_unit_test(drop),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
