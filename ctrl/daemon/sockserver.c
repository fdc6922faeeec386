// SPDX-License-Identifier: MIT
#include "sockserver.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "unixsock.h"

/* epoll data for the two descriptors that are not clients; clients carry their slot index. */
#define TAG_LISTEN UINT32_MAX
#define TAG_TIMER (UINT32_MAX - 1)

/*
 * Work per sockserver_run(), so that a busy socket shares the loop thread
 * with packets: rounds of epoll_wait, bytes sent to one client per turn,
 * reads from one client per turn. What is left is still ready (the set is
 * level-triggered) and the timer is fired at once to come back for it.
 */
#define RUN_ROUNDS 8
#define RUN_EVENTS 32
#define RUN_REQUESTS 2 /* a request may cost the loop a snapshot of every peer */
#define ACCEPTS_PER_CALL 8
#define FLUSH_BUDGET (1U << 20)
#define READ_BUDGET 64

void sockserver_init(struct sockserver *s, const struct sockserver_proto *proto, void *ctx)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->proto = proto;
	s->ctx = ctx;
	s->listen_fd = s->epfd = s->timerfd = -1;
	s->now = device_now_ns;
	s->idle_ns = SOCKSERVER_IDLE_NS;
	s->request_ns = SOCKSERVER_REQUEST_NS;
	s->stall_ns = SOCKSERVER_STALL_NS;
	s->grace_ns = SOCKSERVER_GRACE_NS;
	s->max_clients = SOCKSERVER_MAX_CLIENTS;
	for (i = 0; i < SOCKSERVER_MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
}

static int watch(int epfd, int op, int fd, uint32_t events, uint32_t tag)
{
	struct epoll_event ev = { .events = events, .data.u32 = tag };

	return epoll_ctl(epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int sockserver_listen(struct sockserver *s, const char *path, int group_gid)
{
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(s->path))
		return -ENAMETOOLONG;
	ret = unixsock_listen(path, group_gid, SOCKSERVER_MAX_CLIENTS, &fd);
	if (ret)
		return ret;
	ret = sockserver_adopt(s, fd, path);
	if (ret) {
		unlink(path);
		return ret;
	}
	memcpy(s->path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		s->file_dev = st.st_dev;
		s->file_ino = st.st_ino;
	}
	return 0;
}

int sockserver_adopt(struct sockserver *s, int listen_fd, const char *label)
{
	int ret = 0;

	s->listen_fd = listen_fd;
	snprintf(s->label, sizeof(s->label), "%s", label);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->epfd < 0 || s->timerfd < 0)
		ret = -errno;
	if (!ret)
		ret = watch(s->epfd, EPOLL_CTL_ADD, s->listen_fd, EPOLLIN, TAG_LISTEN);
	if (!ret)
		ret = watch(s->epfd, EPOLL_CTL_ADD, s->timerfd, EPOLLIN, TAG_TIMER);
	if (ret)
		sockserver_close(s);
	return ret;
}

static void on_ready(void *ctx, int fd)
{
	(void)fd;
	sockserver_run(ctx);
}

int sockserver_start(struct sockserver *s, struct loop *loop)
{
	int ret = loop_add_fd(loop, s->epfd, on_ready, s);

	if (!ret)
		s->loop = loop;
	return ret;
}

int sockserver_fd(const struct sockserver *s)
{
	return s->epfd;
}

unsigned int sockserver_clients(const struct sockserver *s)
{
	unsigned int i, n = 0;

	for (i = 0; i < SOCKSERVER_MAX_CLIENTS; i++)
		n += s->clients[i].fd >= 0;
	return n;
}

/* ---- the reply queue ---- */

static bool pending(const struct sockserver_client *c)
{
	return c->out_off < c->out_len;
}

static void free_out(struct sockserver_client *c)
{
	if (c->out) {
		explicit_bzero(c->out, c->out_cap);
		free(c->out);
	}
	c->out = NULL;
	c->out_off = c->out_len = c->out_cap = 0;
}

int sockserver_queue(struct sockserver_client *c, const void *data, size_t len)
{
	size_t need = c->out_len - c->out_off + len, cap;
	char *p;

	if (!len)
		return 0;
	if (need <= c->out_cap - c->out_off) {
		memcpy(c->out + c->out_len, data, len);
		c->out_len += len;
		return 0;
	}
	/* A fresh buffer rather than realloc: the old one is wiped, not left behind in the heap. */
	for (cap = c->out_cap ? c->out_cap : 256; cap < need; cap *= 2)
		;
	p = malloc(cap);
	if (!p)
		return -ENOMEM;
	if (c->out)
		memcpy(p, c->out + c->out_off, c->out_len - c->out_off);
	memcpy(p + c->out_len - c->out_off, data, len);
	free_out(c);
	c->out = p;
	c->out_len = need;
	c->out_cap = cap;
	return 0;
}

int sockserver_queue_owned(struct sockserver_client *c, char *buf, size_t len, size_t cap)
{
	int ret;

	if (!pending(c)) {
		free_out(c);
		c->out = buf;
		c->out_len = len;
		c->out_cap = cap;
		return 0;
	}
	ret = sockserver_queue(c, buf, len);
	explicit_bzero(buf, cap);
	free(buf);
	return ret;
}

/* ---- one client ---- */

static void drop(struct sockserver *s, struct sockserver_client *c)
{
	if (s->proto->close)
		s->proto->close(s->ctx, c);
	(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free_out(c);
	free(c->state);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Said once to a client closed while waiting: its socket buffer holds nothing of ours, so it fits. */
static void farewell(int fd, const char *text)
{
	if (text)
		(void)send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void evict(struct sockserver *s, struct sockserver_client *c, const char *why)
{
	bool replying = pending(c);

	if (replying)
		log_warn("%s: closed a client of %s: %s", s->proto->name, s->label, why);
	else
		log_debug("%s: closed a client of %s: %s", s->proto->name, s->label, why);
	if (!replying)
		farewell(c->fd, s->proto->idle_farewell);
	s->evicted++;
	drop(s, c);
}

static void want(struct sockserver *s, struct sockserver_client *c, uint32_t events)
{
	int ret;

	if (c->events == events)
		return;
	ret = watch(s->epfd, EPOLL_CTL_MOD, c->fd, events, (uint32_t)(c - s->clients));
	if (ret) {
		log_warn("%s: cannot watch a client of %s: %s", s->proto->name, s->label, strerror(-ret));
		drop(s, c);
		return;
	}
	c->events = events;
}

/* Sends what the socket takes; true when the reply is all out, false when waiting (or closed). */
static bool flush(struct sockserver *s, struct sockserver_client *c)
{
	size_t budget = FLUSH_BUDGET;

	while (pending(c)) {
		size_t len = c->out_len - c->out_off;
		ssize_t n = send(c->fd, c->out + c->out_off, len < budget ? len : budget, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->out_off += (size_t)n;
			c->last_ns = s->now();
			budget -= (size_t)n;
			if (!budget && pending(c))
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			/* The reader is gone: nobody to send the rest to. */
			drop(s, c);
			return false;
		}
		break;
	}
	if (pending(c)) {
		want(s, c, EPOLLOUT);
		return false;
	}
	free_out(c);
	return true;
}

/* next is what the protocol said to input; request: it came with bytes (an EOF costs nothing to answer). */
static void apply(struct sockserver *s, struct sockserver_client *c, enum sockserver_next next, bool request)
{
	if (request && next != SOCKSERVER_MORE)
		s->answered++;
	if (next == SOCKSERVER_REPLIED)
		c->replied = true;
	else if (next == SOCKSERVER_CLOSE)
		c->closing = true;
}

/*
 * After the protocol spoke: send its reply; once out, close if it asked so,
 * or let it look at what it already holds (a request sent right behind the
 * last one), and go back to reading when it has nothing to say.
 */
static void settle(struct sockserver *s, struct sockserver_client *c)
{
	while (c->fd >= 0) {
		if (!flush(s, c))
			return;
		if (c->closing) {
			drop(s, c);
			return;
		}
		if (!c->replied)
			break;
		c->since_ns = c->last_ns = s->now();
		/* The next request waits for another turn; the timer brings it. */
		if (s->answered >= RUN_REQUESTS)
			return;
		c->replied = false;
		apply(s, c, s->proto->input(s->ctx, c, "", 0), true);
	}
	if (c->fd >= 0)
		want(s, c, EPOLLIN);
}

static void receive(struct sockserver *s, struct sockserver_client *c)
{
	char buf[4096]; /* may hold keys: wiped */
	int budget = READ_BUDGET;

	while (c->fd >= 0 && !pending(c) && !c->closing && s->answered < RUN_REQUESTS && budget--) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			/* Gone before it finished: nobody to answer. */
			drop(s, c);
			break;
		}
		c->last_ns = s->now();
		apply(s, c, s->proto->input(s->ctx, c, n ? buf : NULL, (size_t)n), n > 0);
		if (!n)
			c->closing = true; /* whatever the protocol said: EOF stays readable forever */
		settle(s, c);
	}
	explicit_bzero(buf, sizeof(buf));
}

static void on_client(struct sockserver *s, struct sockserver_client *c, uint32_t events)
{
	if (c->replied && !pending(c)) {
		settle(s, c); /* a request deferred by the budget */
		return;
	}
	if (pending(c)) {
		if (flush(s, c))
			settle(s, c);
		/* A peer that hung up while we had output queued will never take it. */
		else if (c->fd >= 0 && (events & (EPOLLHUP | EPOLLERR)))
			drop(s, c);
		return;
	}
	receive(s, c);
}

/* ---- slots, deadlines and the timer ---- */

static uint64_t deadline(const struct sockserver *s, const struct sockserver_client *c)
{
	uint64_t idle, whole;

	if (pending(c))
		return c->last_ns + s->stall_ns;
	idle = c->last_ns + s->idle_ns;
	whole = c->since_ns + s->request_ns;
	return idle < whole ? idle : whole;
}

/*
 * A free slot, or one made free. When every slot is taken, the newcomer
 * displaces the client waiting longest for its request (else the one
 * stalled longest), with two rules so that a flood of connections cannot
 * push others out: a client younger than grace_ns is never displaced (the
 * newcomer is refused instead), and a user who holds half the slots
 * displaces only its own clients.
 */
static struct sockserver_client *take_slot(struct sockserver *s, uid_t uid, uint64_t now)
{
	struct sockserver_client *waiting = NULL, *stalled = NULL;
	unsigned int i, own = 0;
	bool own_only;

	for (i = 0; i < s->max_clients; i++) {
		if (s->clients[i].fd < 0)
			return &s->clients[i];
		own += s->clients[i].uid == uid;
	}
	own_only = own >= (s->max_clients + 1) / 2;
	for (i = 0; i < s->max_clients; i++) {
		struct sockserver_client *c = &s->clients[i];

		if ((own_only && c->uid != uid) || c->since_ns + s->grace_ns > now)
			continue;
		if (!pending(c) && (!waiting || c->since_ns < waiting->since_ns))
			waiting = c;
		if (pending(c) && (!stalled || c->last_ns < stalled->last_ns))
			stalled = c;
	}
	if (!waiting)
		waiting = stalled;
	if (!waiting)
		return NULL;
	evict(s, waiting, "every slot was taken and a new client came");
	return waiting;
}

static uid_t peer_uid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	/* Unknown counts as a user of its own that shares with nobody. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || len != sizeof(cred))
		return (uid_t)-1;
	return cred.uid;
}

static void expire(struct sockserver *s, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < SOCKSERVER_MAX_CLIENTS; i++) {
		struct sockserver_client *c = &s->clients[i];

		if (c->fd < 0 || deadline(s, c) > now)
			continue;
		if (pending(c))
			evict(s, c, "it took no byte of its reply within the time allowed");
		else if (c->last_ns + s->idle_ns <= now)
			evict(s, c, "it sent nothing within the idle time");
		else
			evict(s, c, "its request did not complete within the time allowed");
	}
}

/* The timer at the earliest deadline; at once when work was left over. */
static void arm(struct sockserver *s, uint64_t now, bool busy)
{
	struct itimerspec its = { .it_value = { 0, 0 } };
	uint64_t next = busy ? now : UINT64_MAX;
	unsigned int i;

	for (i = 0; i < SOCKSERVER_MAX_CLIENTS; i++) {
		uint64_t d;

		if (s->clients[i].fd < 0)
			continue;
		d = deadline(s, &s->clients[i]);
		if (d < next)
			next = d;
	}
	if (next != UINT64_MAX) {
		uint64_t delta = next > now ? next - now : 1;

		its.it_value.tv_sec = (time_t)(delta / 1000000000ULL);
		its.it_value.tv_nsec = (long)(delta % 1000000000ULL);
	}
	(void)timerfd_settime(s->timerfd, 0, &its, NULL);
}

static void accept_one(struct sockserver *s, int fd)
{
	struct sockserver_client *c;
	char msg[256];
	uid_t uid;
	int ret;

	if (s->proto->refuse) {
		ret = s->proto->refuse(s->ctx, fd, msg, sizeof(msg));
		if (ret >= 0) {
			(void)send(fd, msg, (size_t)ret, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			return;
		}
	}
	uid = peer_uid(fd);
	c = take_slot(s, uid, s->now());
	if (!c) {
		s->refused++;
		close(fd);
		return;
	}
	c->uid = uid;
	c->state = s->proto->state_size ? calloc(1, s->proto->state_size) : NULL;
	ret = s->proto->state_size && !c->state ? -ENOMEM : 0;
	if (!ret)
		ret = watch(s->epfd, EPOLL_CTL_ADD, fd, EPOLLIN, (uint32_t)(c - s->clients));
	if (ret) {
		log_warn("%s: cannot take a client on %s: %s", s->proto->name, s->label, strerror(-ret));
		free(c->state);
		c->state = NULL;
		close(fd);
		return;
	}
	c->fd = fd;
	c->events = EPOLLIN;
	c->since_ns = c->last_ns = s->now();
	if (s->proto->open && (ret = s->proto->open(s->ctx, c))) {
		log_warn("%s: cannot take a client on %s: %s", s->proto->name, s->label, strerror(-ret));
		drop(s, c);
	}
}

/* A few at a time: the clients already in get their turn before the backlog's next ones. */
static void on_listen(struct sockserver *s)
{
	unsigned int n;

	for (n = 0; n < ACCEPTS_PER_CALL; n++) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			accept_one(s, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		/* EMFILE and the like come back on every wakeup: say it once per kind. */
		if (errno != EAGAIN && errno != s->accept_errno)
			log_warn("%s: accept on %s: %s", s->proto->name, s->label, strerror(errno));
		s->accept_errno = errno == EAGAIN ? 0 : errno;
		return;
	}
}

/* Clients whose next request (already read) waited for a turn: they have no event to bring them. */
static void resume(struct sockserver *s)
{
	unsigned int i;

	for (i = 0; i < SOCKSERVER_MAX_CLIENTS && s->answered < RUN_REQUESTS; i++) {
		struct sockserver_client *c = &s->clients[i];

		if (c->fd >= 0 && c->replied && !pending(c))
			settle(s, c);
	}
}

static void dispatch(struct sockserver *s, const struct epoll_event *ev)
{
	uint64_t expirations;

	if (ev->data.u32 == TAG_LISTEN)
		on_listen(s);
	else if (ev->data.u32 == TAG_TIMER)
		(void)!read(s->timerfd, &expirations, sizeof(expirations));
	else if (ev->data.u32 < SOCKSERVER_MAX_CLIENTS && s->clients[ev->data.u32].fd >= 0)
		on_client(s, &s->clients[ev->data.u32], ev->events);
}

void sockserver_run(struct sockserver *s)
{
	struct epoll_event ev[RUN_EVENTS];
	bool busy = true;
	int round, n, i;

	if (s->epfd < 0)
		return;
	s->answered = 0;
	resume(s);
	for (round = 0; round < RUN_ROUNDS && s->answered < RUN_REQUESTS; round++) {
		n = epoll_wait(s->epfd, ev, RUN_EVENTS, 0);
		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			busy = false;
			break;
		}
		/* Events past the budget stay ready (the set is level-triggered) for the next turn. */
		for (i = 0; i < n && s->answered < RUN_REQUESTS; i++)
			dispatch(s, &ev[i]);
	}
	/* busy unless the set ran dry: a spent request budget leaves it true */
	expire(s, s->now());
	/* The loop may watch the set edge-wise (io_uring's poll): work left over must wake it again. */
	arm(s, s->now(), busy);
}

void sockserver_close(struct sockserver *s)
{
	unsigned int i;

	for (i = 0; i < SOCKSERVER_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			drop(s, &s->clients[i]);
	if (s->loop && s->epfd >= 0)
		loop_del_fd(s->loop, s->epfd);
	s->loop = NULL;
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->timerfd >= 0)
		close(s->timerfd);
	s->epfd = s->timerfd = -1;
	if (s->leave_file)
		s->path[0] = '\0'; /* sockserver_remove_file()'s, in the root helper */
	unixsock_close(NULL, &s->listen_fd, s->path);
}

void sockserver_leave_file(struct sockserver *s)
{
	s->leave_file = true;
}

void sockserver_remove_file(const struct sockserver *s)
{
	struct stat st;

	/* An inode number may come again: a live server's socket is never ours, whatever its number. */
	if (!s->path[0] || lstat(s->path, &st) || !S_ISSOCK(st.st_mode) || st.st_dev != s->file_dev ||
	    st.st_ino != s->file_ino || unixsock_alive(s->path))
		return;
	if (unlink(s->path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", s->path, strerror(errno));
}
