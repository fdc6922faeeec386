// SPDX-License-Identifier: MIT
/*
 * The UNIX-socket server core on its own: a real listening socket in a
 * temporary directory, a toy line protocol, and a clock the test moves by
 * hand, so every deadline is exact and nothing sleeps. The server is driven
 * by calling sockserver_run() as the loop would; clients are plain
 * non-blocking sockets of the test's own.
 *
 * The toy protocol: each line is a request, answered before the next one
 * is looked at. "big N" answers N bytes of a known pattern, "bye" answers
 * "bye\n" and closes, anything else is echoed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sockserver.h"

#define SEC 1000000000ULL
#define MB16 (16U << 20)

static uint64_t fake_now = 1000 * SEC;

static uint64_t fake_clock(void)
{
	return fake_now;
}

struct line_state {
	char buf[256];
	size_t len;
};

struct fixture {
	char dir[64];
	char path[108];
	struct sockserver s;
	int inputs; /* calls of the input hook, for checks that nothing ran */
};

static char pattern(size_t i)
{
	return (char)('a' + (i * 7 + i / 4096) % 26);
}

static void answer(struct sockserver_client *c, const char *line)
{
	if (!strncmp(line, "big ", 4)) {
		size_t n = strtoul(line + 4, NULL, 10), i;
		char *p = malloc(n ? n : 1);

		assert_non_null(p);
		for (i = 0; i < n; i++)
			p[i] = pattern(i);
		assert_int_equal(sockserver_queue_owned(c, p, n, n ? n : 1), 0);
		return;
	}
	assert_int_equal(sockserver_queue(c, line, strlen(line)), 0);
	assert_int_equal(sockserver_queue(c, "\n", 1), 0);
}

static enum sockserver_next toy_input(void *ctx, struct sockserver_client *c, const char *data, size_t n)
{
	struct fixture *f = ctx;
	struct line_state *st = c->state;
	char *nl;

	f->inputs++;
	if (!data)
		return SOCKSERVER_CLOSE;
	assert_true(st->len + n < sizeof(st->buf));
	memcpy(st->buf + st->len, data, n);
	st->len += n;
	st->buf[st->len] = '\0';
	nl = strchr(st->buf, '\n');
	if (!nl)
		return SOCKSERVER_MORE;
	*nl = '\0';
	answer(c, st->buf);
	if (!strcmp(st->buf, "bye"))
		return SOCKSERVER_CLOSE;
	st->len -= (size_t)(nl + 1 - st->buf);
	memmove(st->buf, nl + 1, st->len + 1);
	return SOCKSERVER_REPLIED;
}

static const struct sockserver_proto toy = {
	.name = "toy",
	.state_size = sizeof(struct line_state),
	.input = toy_input,
	.idle_farewell = "idle\n",
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_sockserver.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/s.sock", f->dir);
	sockserver_init(&f->s, &toy, f);
	f->s.now = fake_clock;
	assert_int_equal(sockserver_listen(&f->s, f->path, -1), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sockserver_close(&f->s);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One turn of the loop; however much is queued it returns at once (the bound is loose on purpose). */
static void run(struct fixture *f)
{
	uint64_t t0 = wall_ms();

	sockserver_run(&f->s);
	assert_true(wall_ms() - t0 < 1000);
}

static int connect_client(struct fixture *f)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	run(f);
	return fd;
}

static void say(int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* What is there to read now, without waiting; -1 once the server closed (EOF or reset). */
static ssize_t drain(int fd, char *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return -1;
	if (n < 0) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return n;
}

static size_t read_now(int fd, char *buf, size_t cap, bool *closed)
{
	size_t len = 0;
	ssize_t n;

	*closed = false;
	while (len < cap && (n = drain(fd, buf + len, cap - len)) != 0) {
		if (n < 0) {
			*closed = true;
			break;
		}
		len += (size_t)n;
	}
	return len;
}

static void expect(struct fixture *f, int fd, const char *want)
{
	char buf[256];
	bool closed;
	size_t len;

	run(f);
	len = read_now(fd, buf, sizeof(buf) - 1, &closed);
	buf[len] = '\0';
	assert_string_equal(buf, want);
}

static bool server_closed(int fd)
{
	char buf[4096];
	bool closed;

	while (read_now(fd, buf, sizeof(buf), &closed) == sizeof(buf))
		;
	return closed;
}

static void echo_and_pipelining(void **state)
{
	struct fixture *f = *state;
	int fd = connect_client(f);

	say(fd, "hello\n");
	expect(f, fd, "hello\n");
	/* Two requests in one write: answered in turn, the second only after the first went out. */
	say(fd, "one\ntwo\n");
	expect(f, fd, "one\ntwo\n");
	say(fd, "bye\n");
	expect(f, fd, "bye\n");
	assert_true(server_closed(fd));
	assert_int_equal(sockserver_clients(&f->s), 0);
	close(fd);
}

/* A 16 MiB reply nobody reads: the caller is never held, and after stall_ns without progress it is gone. */
static void stalled_reader_evicted(void **state)
{
	struct fixture *f = *state;
	int fd = connect_client(f), other;
	char req[32];

	snprintf(req, sizeof(req), "big %u\n", MB16);
	say(fd, req);
	run(f);
	assert_int_equal(sockserver_clients(&f->s), 1);
	assert_true(f->s.clients[0].out_len == MB16 && f->s.clients[0].out_off < MB16);

	/* Others are served meanwhile. */
	other = connect_client(f);
	say(other, "ping\n");
	expect(f, other, "ping\n");

	fake_now += f->s.stall_ns - 1;
	run(f);
	assert_int_equal(sockserver_clients(&f->s), 2);
	fake_now += 1;
	run(f);
	/* Gone with its 16 MiB (ASan's leak check sees that it was freed); `other` idled out meanwhile. */
	assert_int_equal(sockserver_clients(&f->s), 0);
	assert_int_equal(f->s.evicted, 2);
	assert_true(server_closed(fd));
	assert_true(server_closed(other));
	close(fd);
	close(other);
}

/* Slow but steady: one socket buffer per "second" is far more than stall_ns in all, and all of it arrives. */
static void steady_reader_gets_16mb(void **state)
{
	struct fixture *f = *state;
	int fd = connect_client(f), rounds = 0;
	char req[32], *buf = malloc(MB16);
	size_t got = 0, i;
	bool closed = false;

	assert_non_null(buf);
	snprintf(req, sizeof(req), "big %u\n", MB16);
	say(fd, req);
	while (got < MB16 && !closed) {
		run(f);
		got += read_now(fd, buf + got, MB16 - got, &closed);
		fake_now += SEC;
		rounds++;
	}
	assert_int_equal(got, MB16);
	assert_true((uint64_t)rounds * SEC > f->s.stall_ns);
	for (i = 0; i < MB16; i++)
		if (buf[i] != pattern(i))
			fail_msg("byte %zu differs", i);
	/* And the connection goes on as before. */
	say(fd, "after\n");
	expect(f, fd, "after\n");
	assert_int_equal(f->s.evicted, 0);
	free(buf);
	close(fd);
}

/* A request right behind a big reply is answered once the reply is out, and not before. */
static void pipelined_behind_big_reply(void **state)
{
	struct fixture *f = *state;
	int fd = connect_client(f);
	size_t n = 3000000, got = 0;
	char *buf = malloc(n + 64);
	bool closed = false;

	assert_non_null(buf);
	say(fd, "big 3000000\nnext\n");
	while (!closed && (got < n + 5)) {
		run(f);
		got += read_now(fd, buf + got, n + 64 - got, &closed);
		fake_now += SEC;
	}
	assert_int_equal(got, n + 5);
	assert_memory_equal(buf + n, "next\n", 5);
	assert_int_equal(f->s.evicted, 0);
	free(buf);
	close(fd);
}

/* Requests cost the loop (a UAPI get snapshots every peer): a turn answers a few, the timer brings the rest. */
static void requests_share_the_loop(void **state)
{
	static const char all[] = "a\nb\nc\nd\ne\nf\ng\nh\n";
	struct fixture *f = *state;
	int fd = connect_client(f), turns;
	struct pollfd pfd = { .fd = sockserver_fd(&f->s), .events = POLLIN };
	char buf[64];
	size_t len;
	bool closed;

	say(fd, all);
	run(f);
	len = read_now(fd, buf, sizeof(buf) - 1, &closed);
	assert_true(len > 0 && len < strlen(all));
	assert_memory_equal(buf, all, len);
	/* What the loop watches wakes it again at once (the timer was set to fire now). */
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	for (turns = 0; len < strlen(all) && turns < 10; turns++) {
		run(f);
		len += read_now(fd, buf + len, sizeof(buf) - 1 - len, &closed);
	}
	buf[len] = '\0';
	assert_string_equal(buf, all);
	close(fd);
}

static void idle_evicted(void **state)
{
	struct fixture *f = *state;
	int silent = connect_client(f), half = connect_client(f), done = connect_client(f);

	say(half, "hal");
	say(done, "x\n");
	expect(f, done, "x\n");
	fake_now += f->s.idle_ns - 1;
	run(f);
	assert_int_equal(sockserver_clients(&f->s), 3);
	fake_now += 1;
	expect(f, silent, "idle\n");
	expect(f, half, "idle\n");
	expect(f, done, "idle\n");
	assert_true(server_closed(silent) && server_closed(half) && server_closed(done));
	assert_int_equal(sockserver_clients(&f->s), 0);
	assert_int_equal(f->s.evicted, 3);
	close(silent);
	close(half);
	close(done);
}

/* A byte now and then keeps the idle deadline away, not the one for the whole request. */
static void trickle_evicted(void **state)
{
	struct fixture *f = *state;
	int fd = connect_client(f);
	uint64_t start = fake_now;

	while (fake_now + f->s.idle_ns / 2 < start + f->s.request_ns) {
		say(fd, "a");
		run(f);
		assert_int_equal(sockserver_clients(&f->s), 1);
		fake_now += f->s.idle_ns / 2;
	}
	fake_now = start + f->s.request_ns;
	run(f);
	assert_int_equal(sockserver_clients(&f->s), 0);
	assert_true(server_closed(fd));
	close(fd);
}

/* All slots taken: the newcomer is served, the client waiting longest makes room, a replying one is spared. */
static void full_evicts_oldest_idle(void **state)
{
	struct fixture *f = *state;
	int fds[SOCKSERVER_MAX_CLIENTS], late, i;

	fds[0] = connect_client(f);
	say(fds[0], "big 4000000\n");
	run(f);
	for (i = 1; i < SOCKSERVER_MAX_CLIENTS; i++) {
		fake_now += 1000;
		fds[i] = connect_client(f);
	}
	assert_int_equal(sockserver_clients(&f->s), SOCKSERVER_MAX_CLIENTS);
	fake_now += f->s.grace_ns; /* all past their grace: the oldest waiting one goes */
	late = connect_client(f);
	say(late, "served\n");
	expect(f, late, "served\n");
	assert_int_equal(sockserver_clients(&f->s), SOCKSERVER_MAX_CLIENTS);
	expect(f, fds[1], "idle\n");
	assert_true(server_closed(fds[1]));
	/* The others, the one with its reply queued included, are still there. */
	say(fds[2], "still\n");
	expect(f, fds[2], "still\n");
	assert_false(server_closed(fds[0]));
	for (i = 0; i < SOCKSERVER_MAX_CLIENTS; i++)
		close(fds[i]);
	close(late);
	run(f);
	assert_int_equal(sockserver_clients(&f->s), 0);
}

/* Every slot replying to a reader that stopped: the one stalled longest makes room. */
static void full_of_stalled_readers(void **state)
{
	struct fixture *f = *state;
	int fds[4], late, i;

	f->s.max_clients = 4;
	for (i = 0; i < 4; i++) {
		fds[i] = connect_client(f);
		say(fds[i], "big 4000000\n");
		run(f);
		fake_now += 1000;
	}
	fake_now += f->s.grace_ns;
	late = connect_client(f);
	say(late, "x\n");
	expect(f, late, "x\n");
	assert_true(server_closed(fds[0]));
	for (i = 1; i < 4; i++)
		assert_false(server_closed(fds[i]));
	for (i = 0; i < 4; i++)
		close(fds[i]);
	close(late);
	run(f);
	assert_int_equal(sockserver_clients(&f->s), 0);
}

/*
 * A flood of connections cannot push out a client between its connect and
 * its request: every slot held by a client younger than the grace time, the
 * newcomers are refused and the first client is still served.
 */
static void young_clients_are_not_displaced(void **state)
{
	struct fixture *f = *state;
	int fds[4], flood[8], i;

	f->s.max_clients = 4;
	for (i = 0; i < 4; i++)
		fds[i] = connect_client(f);
	for (i = 0; i < 8; i++)
		flood[i] = connect_client(f);
	assert_int_equal(f->s.refused, 8);
	for (i = 0; i < 8; i++)
		assert_true(server_closed(flood[i]));
	fake_now += 1000;
	say(fds[0], "first\n");
	expect(f, fds[0], "first\n");
	/* Past the grace time a newcomer displaces the one waiting longest (fds[1]: fds[0] asked since). */
	fake_now += f->s.grace_ns;
	flood[0] = connect_client(f);
	assert_true(server_closed(fds[1]));
	assert_false(server_closed(flood[0]));
	for (i = 0; i < 4; i++)
		close(fds[i]);
	for (i = 0; i < 8; i++)
		close(flood[i]);
	run(f);
	assert_int_equal(sockserver_clients(&f->s), 0);
}

/* The timer is what wakes the loop for a deadline: it is armed for the earliest one. */
static void timer_follows_deadline(void **state)
{
	struct fixture *f = *state;
	int fd = connect_client(f);
	struct itimerspec its;

	assert_int_equal(timerfd_gettime(f->s.timerfd, &its), 0);
	assert_true(its.it_value.tv_sec > 0 || its.it_value.tv_nsec > 0);
	assert_true((uint64_t)its.it_value.tv_sec * SEC + (uint64_t)its.it_value.tv_nsec <= f->s.idle_ns);
	close(fd);
	run(f);
	assert_int_equal(sockserver_clients(&f->s), 0);
	assert_int_equal(timerfd_gettime(f->s.timerfd, &its), 0);
	assert_true(its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(echo_and_pipelining, setup, teardown),
		cmocka_unit_test_setup_teardown(stalled_reader_evicted, setup, teardown),
		cmocka_unit_test_setup_teardown(steady_reader_gets_16mb, setup, teardown),
		cmocka_unit_test_setup_teardown(pipelined_behind_big_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(requests_share_the_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(idle_evicted, setup, teardown),
		cmocka_unit_test_setup_teardown(trickle_evicted, setup, teardown),
		cmocka_unit_test_setup_teardown(full_evicts_oldest_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(full_of_stalled_readers, setup, teardown),
		cmocka_unit_test_setup_teardown(young_clients_are_not_displaced, setup, teardown),
		cmocka_unit_test_setup_teardown(timer_follows_deadline, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
