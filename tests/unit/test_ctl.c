// SPDX-License-Identifier: MIT
/*
 * The control socket end to end in one process: a real server on a real loop
 * (epoll, and io_uring where the kernel allows it) in a temporary directory,
 * driven by run_once from the test's thread. Clients are ctl_client_main in
 * fork()ed children (so their exit codes and output are real), or raw sockets
 * from the test itself for what the client would never send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "loop.h"

#define TEST_GID 12345
#define NOBODY 65534

struct fixture {
	char dir[64];
	char path[108];
	struct wg_device dev;
	struct loop loop;
	struct ctl_server srv;
	int calls;
	char seen[POLICY_MAX_LINE]; /* the words of the last call, joined by '|' */
};

struct child_result {
	int code;
	char out[4096];
	size_t out_len; /* may exceed sizeof(out): only the start is kept */
	char err[1024];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int handle(void *ctx, char *const words[], size_t n_words, struct ctl_buf *out, char *err, size_t err_len)
{
	struct fixture *f = ctx;
	size_t i, len = 0;

	assert_true(n_words >= 1);
	f->calls++;
	f->seen[0] = '\0';
	for (i = 0; i < n_words; i++)
		len += (size_t)snprintf(f->seen + len, sizeof(f->seen) - len, "%s%s", i ? "|" : "", words[i]);
	if (!strcmp(words[0], "echo")) {
		for (i = 1; i < n_words; i++)
			ctl_buf_printf(out, "%s%s", i > 1 ? " " : "", words[i]);
		if (n_words > 1)
			ctl_buf_append(out, "\n", 1);
		return 0;
	}
	if (!strcmp(words[0], "big") && n_words == 2) {
		long n = strtol(words[1], NULL, 10);

		for (i = 0; i < (size_t)n; i++)
			ctl_buf_printf(out, "line %08zu %052d\n", i, 0);
		return 0;
	}
	if (!strcmp(words[0], "huge")) {
		while (!ctl_buf_printf(out, "%0100d\n", 7))
			;
		return 0;
	}
	if (!strcmp(words[0], "noline")) {
		ctl_buf_printf(out, "abc");
		return 0;
	}
	if (!strcmp(words[0], "badreason")) {
		snprintf(err, err_len, "bad\nreason\x1b[31m here");
		return -EINVAL;
	}
	snprintf(err, err_len, "%s: asked to fail", words[0]);
	return -EINVAL;
}

static int start_server(struct fixture *f, struct ctl_server *s, const char *ifname, int gid)
{
	int ret = ctl_server_open(s, f->dir, ifname, gid);

	if (!ret)
		ret = ctl_server_start(s, &f->loop, handle, f);
	return ret;
}

static int setup_backend(void **state, enum loop_backend backend)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *why;

	assert_non_null(f);
	assert_int_equal(device_init(&f->dev, 1420, 256), 0);
	if (loop_init(&f->loop, &f->dev, backend, &why)) {
		device_uninit(&f->dev);
		free(f);
		*state = NULL;
		return 0; /* the test skips */
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_ctl.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/wg0.ctl", f->dir);
	assert_int_equal(start_server(f, &f->srv, "wg0", -1), 0);
	*state = f;
	return 0;
}

static int setup_epoll(void **state)
{
	return setup_backend(state, LOOP_EPOLL);
}

static int setup_uring(void **state)
{
	return setup_backend(state, LOOP_URING);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *e;
	DIR *d;

	if (!f)
		return 0;
	ctl_server_close(&f->srv);
	loop_uninit(&f->loop);
	device_uninit(&f->dev);
	d = opendir(f->dir);
	while (d && (e = readdir(d))) {
		char p[256];

		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name) < sizeof(p))
			unlink(p);
	}
	if (d)
		closedir(d);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

static struct fixture *fixture(void **state)
{
	if (!*state)
		skip();
	return *state;
}

static void pump(struct fixture *f, int ms)
{
	int ret = f->loop.ops->run_once(&f->loop, (uint64_t)ms * 1000000);

	assert_true(ret == 0 || ret == -EINTR);
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, total = 0;
	ssize_t n;
	char tmp[4096];

	assert_true(fd >= 0);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
		if (len < cap - 1) {
			size_t take = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;

			memcpy(buf + len, tmp, take);
			len += take;
		}
		total += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	return total;
}

static gid_t supplementary_gid; /* nonzero: the client also has this group, besides its primary one */

static pid_t spawn_client(struct fixture *f, int id, uid_t uid, gid_t gid, const char *ifname, int argc, char **argv)
{
	char out[128], err[128];
	pid_t pid;

	snprintf(out, sizeof(out), "%s/out.%d", f->dir, id);
	snprintf(err, sizeof(err), "%s/err.%d", f->dir, id);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(99);
		if (gid && (setgroups(supplementary_gid ? 1 : 0, &supplementary_gid) < 0 || setgid(gid) < 0))
			_exit(98);
		if (uid && setuid(uid) < 0)
			_exit(97);
		_exit(ctl_client_main(f->dir, ifname, argc, argv));
	}
	return pid;
}

static void collect(struct fixture *f, int id, pid_t pid, struct child_result *r)
{
	char path[128];
	uint64_t deadline = mono_ms() + 10000;
	int status;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		assert_true(w >= 0);
		if (w == pid)
			break;
		assert_true(mono_ms() < deadline);
		pump(f, 5);
	}
	assert_true(WIFEXITED(status));
	r->code = WEXITSTATUS(status);
	snprintf(path, sizeof(path), "%s/out.%d", f->dir, id);
	r->out_len = slurp(path, r->out, sizeof(r->out));
	snprintf(path, sizeof(path), "%s/err.%d", f->dir, id);
	slurp(path, r->err, sizeof(r->err));
}

static void run_client_as(struct fixture *f, uid_t uid, gid_t gid, const char *ifname, const char *line,
			  struct child_result *r)
{
	char copy[2048], *argv[64], *save = NULL, *w;
	int argc = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (w = strtok_r(copy, " ", &save); w && argc < 64; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	collect(f, 0, spawn_client(f, 0, uid, gid, ifname, argc, argv), r);
}

static void run_client(struct fixture *f, const char *line, struct child_result *r)
{
	run_client_as(f, 0, 0, "wg0", line, r);
}

static int raw_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Reads what the server says on fd until it closes, pumping the loop meanwhile. */
static size_t raw_read(struct fixture *f, int fd, char *reply, size_t cap)
{
	uint64_t deadline = mono_ms() + 10000;
	size_t len = 0;

	for (;;) {
		ssize_t n = recv(fd, reply + len, cap - 1 - len, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			break;
		if (n > 0) {
			len += (size_t)n;
			assert_true(len < cap - 1);
			continue;
		}
		assert_int_equal(errno, EAGAIN);
		assert_true(mono_ms() < deadline);
		pump(f, 5);
	}
	reply[len] = '\0';
	return len;
}

static void raw_send(int fd, const void *data, size_t n)
{
	assert_int_equal(send(fd, data, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* One connection: send data (then EOF if shut), return the whole reply. */
static size_t raw(struct fixture *f, const void *data, size_t n, bool shut, char *reply, size_t cap)
{
	int fd = raw_connect(f->path);
	size_t len;

	raw_send(fd, data, n);
	if (shut)
		assert_int_equal(shutdown(fd, SHUT_WR), 0);
	len = raw_read(f, fd, reply, cap);
	close(fd);
	return len;
}

static size_t raw_str(struct fixture *f, const char *text, char *reply, size_t cap)
{
	return raw(f, text, strlen(text), false, reply, cap);
}

/* A socket file nobody listens on, as a killed wgud leaves it. */
static void make_stale_socket(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s", path) < sizeof(a.sun_path));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void ok_reply_with_body(void **state)
{
	struct fixture *f = fixture(state);
	struct child_result r;

	run_client(f, "echo hello world", &r);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "hello world\n");
	assert_string_equal(r.err, "");
	assert_int_equal(f->calls, 1);
	assert_string_equal(f->seen, "echo|hello|world");

	run_client(f, "echo", &r);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "");

	/* A body without its last newline gets one: the verdict stays a line of its own. */
	run_client(f, "noline", &r);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "abc\n");
}

/* Bigger than the socket buffer: the server waits for the reader instead of cutting the reply. */
static void large_body(void **state)
{
	struct fixture *f = fixture(state);
	struct child_result r;

	run_client(f, "big 15000", &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.out_len, 15000 * 67);
	assert_memory_equal(r.out, "line 00000000 0000", 18);
	assert_string_equal(r.err, "");
}

static void error_reply(void **state)
{
	struct fixture *f = fixture(state);
	struct child_result r;
	char reply[512];

	run_client(f, "kill-switch sideways", &r);
	assert_int_equal(r.code, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "wgud ctl: wg0: kill-switch: asked to fail\n");

	/* A body past CTL_BUF_MAX is an error, not a truncated answer. */
	run_client(f, "huge", &r);
	assert_int_equal(r.code, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "the reply is longer than 1048576 bytes"));

	raw_str(f, "echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32\n",
		reply, sizeof(reply));
	assert_string_equal(reply, "error: more than 32 words\n");
	assert_int_equal(f->calls, 2);

	/* A handler's reason cannot break the framing or reach a terminal raw. */
	raw_str(f, "badreason\n", reply, sizeof(reply));
	assert_string_equal(reply, "error: bad reason [31m here\n");
}

static void overlong_line(void **state)
{
	struct fixture *f = fixture(state);
	char line[2100], reply[2100];

	/* Exactly POLICY_MAX_LINE bytes with the newline is the longest accepted. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "echo ", 5);
	line[POLICY_MAX_LINE - 1] = '\n';
	raw(f, line, POLICY_MAX_LINE, false, reply, sizeof(reply));
	assert_memory_equal(reply + POLICY_MAX_LINE - 6, "\nok\n", 5);
	assert_int_equal(f->calls, 1);

	line[POLICY_MAX_LINE - 1] = 'x';
	line[POLICY_MAX_LINE] = '\n';
	raw(f, line, POLICY_MAX_LINE + 1, false, reply, sizeof(reply));
	assert_string_equal(reply, "error: the command is longer than 1024 bytes with its newline\n");

	/* Refused as soon as it is too long, without waiting for a newline that may never come. */
	raw(f, line, sizeof(line), false, reply, sizeof(reply));
	assert_string_equal(reply, "error: the command is longer than 1024 bytes with its newline\n");
	assert_int_equal(f->calls, 1);
}

static void binary_garbage(void **state)
{
	static const char *const bad[] = { "echo a\0b\n", "\x01\x02\n", "echo \xff\n", "echo\r\n", "\x1b[2J\n",
					   "\x80" };
	static const size_t len[] = { 9, 3, 7, 6, 5, 1 };
	struct fixture *f = fixture(state);
	char reply[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		raw(f, bad[i], len[i], false, reply, sizeof(reply));
		assert_string_equal(reply, "error: the command holds a byte that is not printable ASCII\n");
	}
	assert_int_equal(f->calls, 0);

	raw_str(f, "\n", reply, sizeof(reply));
	assert_string_equal(reply, "error: empty command\n");
	raw_str(f, " \t \n", reply, sizeof(reply));
	assert_string_equal(reply, "error: empty command\n");
	assert_int_equal(f->calls, 0);
}

static void eof_without_newline(void **state)
{
	struct fixture *f = fixture(state);
	char reply[512];

	raw(f, "echo hi", 7, true, reply, sizeof(reply));
	assert_string_equal(reply, "error: the command must end with a newline\n");
	raw(f, "", 0, true, reply, sizeof(reply));
	assert_string_equal(reply, "error: the command must end with a newline\n");
	assert_int_equal(f->calls, 0);
}

/* One command per connection: what follows the first newline is never run. */
static void only_first_line(void **state)
{
	struct fixture *f = fixture(state);
	char reply[512];

	raw_str(f, "echo a\nfail\n", reply, sizeof(reply));
	assert_string_equal(reply, "a\nok\n");
	assert_int_equal(f->calls, 1);
}

/* A line that trickles in, one byte per loop turn. */
static void line_in_pieces(void **state)
{
	static const char line[] = "echo  slowly\tthere\n";
	struct fixture *f = fixture(state);
	char reply[512];
	int fd = raw_connect(f->path);
	size_t i;

	for (i = 0; i < sizeof(line) - 1; i++) {
		raw_send(fd, line + i, 1);
		pump(f, 1);
	}
	raw_read(f, fd, reply, sizeof(reply));
	close(fd);
	assert_string_equal(reply, "slowly there\nok\n");
	assert_string_equal(f->seen, "echo|slowly|there");
}

static void many_clients(void **state)
{
	struct fixture *f = fixture(state);
	pid_t pids[SOCKSERVER_MAX_CLIENTS];
	char words[SOCKSERVER_MAX_CLIENTS][24], *argv[SOCKSERVER_MAX_CLIENTS][2], reply[128];
	int i, fds_before;

	for (i = 0; i < SOCKSERVER_MAX_CLIENTS; i++) {
		snprintf(words[i], sizeof(words[i]), "client-%d", i);
		argv[i][0] = "echo";
		argv[i][1] = words[i];
		pids[i] = spawn_client(f, i, 0, 0, "wg0", 2, argv[i]);
	}
	for (i = 0; i < SOCKSERVER_MAX_CLIENTS; i++) {
		struct child_result r;
		char want[32];

		collect(f, i, pids[i], &r);
		snprintf(want, sizeof(want), "client-%d\n", i);
		assert_int_equal(r.code, 0);
		assert_string_equal(r.out, want);
	}
	assert_int_equal(f->calls, SOCKSERVER_MAX_CLIENTS);

	/* Slots and descriptors come back after every connection. */
	fds_before = count_fds();
	for (i = 0; i < 200; i++) {
		raw_str(f, i % 2 ? "echo x\n" : "echo\x07\n", reply, sizeof(reply));
		assert_string_equal(reply, i % 2 ? "x\nok\n"
						 : "error: the command holds a byte that is not printable ASCII\n");
	}
	assert_int_equal(count_fds(), fds_before);
	assert_int_equal(sockserver_clients(&f->srv.core), 0);
}

/* Silent clients hold every slot: a newcomer is served all the same, in the place of the oldest. */
static void too_many_clients(void **state)
{
	struct fixture *f = fixture(state);
	int silent[SOCKSERVER_MAX_CLIENTS], i;
	char reply[512];

	f->srv.core.grace_ns = 0; /* the silent ones count as old at once (the grace rule: test_sockserver) */
	for (i = 0; i < SOCKSERVER_MAX_CLIENTS; i++) {
		silent[i] = raw_connect(f->path);
		pump(f, 1);
	}
	pump(f, 1);
	assert_int_equal(sockserver_clients(&f->srv.core), SOCKSERVER_MAX_CLIENTS);
	raw_str(f, "echo y\n", reply, sizeof(reply));
	assert_string_equal(reply, "y\nok\n");
	raw_read(f, silent[0], reply, sizeof(reply));
	assert_string_equal(reply, "error: no command within the idle time\n");

	/* The others are still served. */
	raw_send(silent[1], "echo z\n", 7);
	raw_read(f, silent[1], reply, sizeof(reply));
	assert_string_equal(reply, "z\nok\n");
	for (i = 0; i < SOCKSERVER_MAX_CLIENTS; i++)
		close(silent[i]);
	pump(f, 1);
}

/* A client that asks for a big reply and never reads holds nothing up: others are answered meanwhile. */
static void stalled_reader(void **state)
{
	struct fixture *f = fixture(state);
	char reply[512];
	uint64_t t0;
	int stalled = raw_connect(f->path), i;

	raw_send(stalled, "big 15000\n", 10);
	for (i = 0; i < 5; i++)
		pump(f, 1);
	t0 = mono_ms();
	for (i = 0; i < 20; i++) {
		raw_str(f, "echo x\n", reply, sizeof(reply));
		assert_string_equal(reply, "x\nok\n");
	}
	assert_true(mono_ms() - t0 < 2000);
	assert_int_equal(sockserver_clients(&f->srv.core), 1);
	/* Past its deadline it is closed, its reply dropped. */
	f->srv.core.stall_ns = 0;
	sockserver_run(&f->srv.core);
	assert_int_equal(sockserver_clients(&f->srv.core), 0);
	close(stalled);
}

static void client_errors(void **state)
{
	struct fixture *f = fixture(state);
	struct child_result r;
	char want[256], stale[128], *argv[] = { "show" }, *long_argv[300];
	int i;

	run_client_as(f, 0, 0, "nope0", "show", &r);
	assert_int_equal(r.code, 2);
	snprintf(want, sizeof(want), "wgud ctl: no control socket at %s/nope0.ctl: is wgud running for nope0?\n",
		 f->dir);
	assert_string_equal(r.err, want);

	snprintf(stale, sizeof(stale), "%s/dead0.ctl", f->dir);
	make_stale_socket(stale);
	run_client_as(f, 0, 0, "dead0", "show", &r);
	assert_int_equal(r.code, 2);
	assert_non_null(strstr(r.err, stale));
	assert_non_null(strstr(r.err, "not running"));

	collect(f, 0, spawn_client(f, 0, 0, 0, "wg0", 0, argv), &r);
	assert_int_equal(r.code, 2);
	assert_non_null(strstr(r.err, "usage: wgud ctl IFACE"));

	collect(f, 0, spawn_client(f, 0, 0, 0, "../etc", 1, argv), &r);
	assert_int_equal(r.code, 2);
	assert_string_equal(r.err, "wgud ctl: '../etc' is not an interface name\n");

	for (i = 0; i < 300; i++)
		long_argv[i] = "abcd";
	collect(f, 0, spawn_client(f, 0, 0, 0, "wg0", 300, long_argv), &r);
	assert_int_equal(r.code, 2);
	assert_string_equal(r.err, "wgud ctl: the command is longer than 1023 bytes\n");

	long_argv[1] = "new\nline";
	collect(f, 0, spawn_client(f, 0, 0, 0, "wg0", 2, long_argv), &r);
	assert_int_equal(r.code, 2);
	assert_string_equal(r.err, "wgud ctl: word 2 holds a character that is not printable ASCII\n");
	assert_int_equal(f->calls, 0);
}

static void socket_mode_and_group(void **state)
{
	struct fixture *f = fixture(state);
	struct ctl_server g;
	char path[128];
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());

	assert_int_equal(start_server(f, &g, "wg1", TEST_GID), 0);
	snprintf(path, sizeof(path), "%s/wg1.ctl", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, TEST_GID);
	ctl_server_close(&g);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void open_refusals(void **state)
{
	struct fixture *f = fixture(state);
	struct ctl_server other;
	char path[128];
	struct stat st;
	mode_t old_umask;
	int fd;

	/* A live server keeps its socket. */
	assert_int_equal(ctl_server_open(&other, f->dir, "wg0", -1), -EADDRINUSE);
	ctl_server_close(&other);
	assert_int_equal(stat(f->path, &st), 0);

	/* Not a socket: not ours to remove. */
	snprintf(path, sizeof(path), "%s/file0.ctl", f->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ctl_server_open(&other, f->dir, "file0", -1), -EEXIST);
	ctl_server_close(&other);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	/* A stale socket is replaced. */
	snprintf(path, sizeof(path), "%s/stale0.ctl", f->dir);
	make_stale_socket(path);
	assert_int_equal(start_server(f, &other, "stale0", -1), 0);
	ctl_server_close(&other);

	assert_int_equal(ctl_server_open(&other, f->dir, "a/b", -1), -EINVAL);
	assert_int_equal(ctl_server_open(&other, f->dir, "", -1), -EINVAL);
	assert_int_equal(ctl_server_open(&other, f->dir, "..", -1), -EINVAL);
	assert_int_equal(ctl_server_open(&other, f->dir, "waytoolongifname0", -1), -EINVAL);
	ctl_server_close(&other);

	/* The directory is made when missing, 0755 whatever the umask (wg-quick's is 077). */
	snprintf(path, sizeof(path), "%s/sub", f->dir);
	old_umask = umask(077);
	assert_int_equal(ctl_server_open(&other, path, "wg0", -1), 0);
	umask(old_umask);
	ctl_server_close(&other);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(rmdir(path), 0);
}

/* Defence behind the file mode: a socket anyone may open still refuses a stranger. */
static void stranger_refused(void **state)
{
	struct fixture *f = fixture(state);
	struct ctl_server g;
	struct child_result r;

	if (geteuid() != 0)
		skip();
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(chmod(f->path, 0666), 0);
	run_client_as(f, NOBODY, NOBODY, "wg0", "echo x", &r);
	assert_int_equal(r.code, 1);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "wgud ctl: wg0: permission denied\n");
	assert_int_equal(f->calls, 0);

	/* Root is always let in, and the --ctl-group group too. */
	run_client(f, "echo root", &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(start_server(f, &g, "wg1", TEST_GID), 0);
	run_client_as(f, NOBODY, TEST_GID, "wg1", "echo member", &r);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "member\n");
	/* A supplementary group counts as much as the primary one. */
	supplementary_gid = TEST_GID;
	run_client_as(f, NOBODY, NOBODY, "wg1", "echo supplementary", &r);
	supplementary_gid = 0;
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "supplementary\n");
	/* Without the group, the 0660 mode turns the stranger away at connect. */
	run_client_as(f, NOBODY, NOBODY, "wg1", "echo x", &r);
	assert_int_equal(r.code, 2);
	assert_non_null(strstr(r.err, "permission denied"));
	ctl_server_close(&g);
	assert_int_equal(f->calls, 3);
}

/* The framing alone: splits do not change the answer, and an answer sticks. */
static void frame_table(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		bool eof;
		int want;
		const char *line;
	} cases[] = {
		{ "show\n", 5, false, 1, "show" },
		{ "show", 4, false, 0, NULL },
		{ "show", 4, true, -ENODATA, NULL },
		{ "", 0, true, -ENODATA, NULL },
		{ "\n", 1, false, 1, "" },
		{ "a\tb\n\x01", 5, false, 1, "a\tb" },
		{ "a\x01\n", 3, false, -EINVAL, NULL },
		{ "a\0\n", 3, false, -EINVAL, NULL },
		{ "a\x7f\n", 3, false, -EINVAL, NULL },
		{ "\xc3\xa9\n", 3, false, -EINVAL, NULL },
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (j = 0; j <= cases[i].len; j++) {
			struct ctl_client_buf b = { .len = 0 };
			char *line = NULL;
			int ret = ctl_frame(&b, cases[i].in, j, &line);

			if (!ret)
				ret = ctl_frame(&b, cases[i].in + j, cases[i].len - j, &line);
			if (!ret && cases[i].eof)
				ret = ctl_frame(&b, NULL, 0, &line);
			assert_int_equal(ret, cases[i].want);
			if (cases[i].line)
				assert_string_equal(line, cases[i].line);
			/* Whatever comes next, the answer stands. */
			assert_int_equal(ctl_frame(&b, "x\n", 2, &line), ret ? ret : 1);
		}
	}
}

static void frame_lengths(void **state)
{
	char in[POLICY_MAX_LINE + 2], *line = NULL;
	struct ctl_client_buf b;

	(void)state;
	memset(in, 'w', sizeof(in));
	in[POLICY_MAX_LINE - 1] = '\n';
	memset(&b, 0, sizeof(b));
	assert_int_equal(ctl_frame(&b, in, POLICY_MAX_LINE, &line), 1);
	assert_int_equal(strlen(line), POLICY_MAX_LINE - 1);

	in[POLICY_MAX_LINE - 1] = 'w';
	memset(&b, 0, sizeof(b));
	assert_int_equal(ctl_frame(&b, in, POLICY_MAX_LINE - 1, &line), 0);
	assert_int_equal(ctl_frame(&b, in, 1, &line), -E2BIG);
}

static void buf_bounds(void **state)
{
	struct ctl_buf b;
	size_t i;

	(void)state;
	ctl_buf_init(&b);
	assert_int_equal(ctl_buf_printf(&b, "%s=%d", "a", 1), 0);
	assert_int_equal(ctl_buf_append(&b, "xyz", 3), 0);
	assert_string_equal(b.data, "a=1xyz");
	for (i = 0; b.len < CTL_BUF_MAX - 1000; i++)
		assert_int_equal(ctl_buf_printf(&b, "%0999zu\n", i), 0);
	assert_int_equal(ctl_buf_append(&b, b.data, 1001), -EMSGSIZE);
	/* Sticky, even for what would fit. */
	assert_int_equal(ctl_buf_append(&b, "x", 1), -EMSGSIZE);
	assert_int_equal(b.error, -EMSGSIZE);
	assert_true(b.len <= CTL_BUF_MAX);
	ctl_buf_uninit(&b);
	assert_null(b.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frame_table),
		cmocka_unit_test(frame_lengths),
		cmocka_unit_test(buf_bounds),
		cmocka_unit_test_setup_teardown(ok_reply_with_body, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(large_body, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(error_reply, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(overlong_line, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(binary_garbage, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(eof_without_newline, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(only_first_line, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(line_in_pieces, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(many_clients, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(too_many_clients, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(stalled_reader, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(client_errors, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(socket_mode_and_group, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(open_refusals, setup_epoll, teardown),
		cmocka_unit_test_setup_teardown(stranger_refused, setup_epoll, teardown),
		/* io_uring's multishot poll reports arrivals only: the same promises must hold. */
		cmocka_unit_test_setup_teardown(ok_reply_with_body, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(large_body, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(line_in_pieces, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(binary_garbage, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(eof_without_newline, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(many_clients, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(too_many_clients, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(stalled_reader, setup_uring, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
