/* SPDX-License-Identifier: MIT */
/*
 * The one UNIX-socket server both of wgud's sockets use (the UAPI socket and
 * the control socket): accepting, reading, queueing replies, deadlines and
 * eviction. What the bytes mean is the protocol's, behind struct
 * sockserver_proto; the transport here never waits on a client.
 *
 * One server per listening socket. It owns an epoll instance holding the
 * listening socket, every client and a timerfd, and gives the packet loop
 * that one descriptor: the loop calls sockserver_run() when it is readable,
 * which handles what is ready (epoll_wait with timeout 0) and returns.
 * Clients are non-blocking; a reply is owned by its client and sent as the
 * socket takes it (EPOLLOUT is watched only while output is queued); input
 * is not read while a reply is pending, so a pipelining client cannot queue
 * replies without reading them. A request may be costly (a UAPI get
 * snapshots every peer), so one call answers only a few and fires the timer
 * at once to be called again for the rest: packets get their turn between.
 *
 * Deadlines (each from the server's clock, which tests may replace):
 *   idle_ns    a client waiting for a request (after connect or after its
 *              last reply) that sends no byte for this long is closed;
 *   request_ns its request must be complete this long after it began
 *              waiting, however it trickles;
 *   stall_ns   a client with a reply queued that takes no byte of it for
 *              this long is closed and the reply freed. A client that reads
 *              slowly but steadily gets any size of reply whole.
 * At most max_clients at once. When all are taken, a newcomer displaces the
 * client waiting longest for its request, or, when every client has a reply
 * queued, the one stalled longest; but never a client younger than
 * grace_ns (then the newcomer is refused), and a user (SO_PEERCRED) holding
 * half the slots displaces only its own: a flood of connections cannot push
 * a client out between its connect and its request, nor another user's.
 * A few connections are accepted per call, so the clients already in are
 * served before the rest of the backlog.
 *
 * Single-threaded: everything here runs on the thread that calls
 * sockserver_run() (the loop thread once started).
 */
#ifndef WGUD_SOCKSERVER_H
#define WGUD_SOCKSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "loop.h"

#define SOCKSERVER_MAX_CLIENTS 64
#define SOCKSERVER_IDLE_NS (5ULL * 1000000000ULL)
#define SOCKSERVER_REQUEST_NS (30ULL * 1000000000ULL)
#define SOCKSERVER_STALL_NS (5ULL * 1000000000ULL)
#define SOCKSERVER_GRACE_NS (500ULL * 1000000ULL)

/* What a protocol's input hook asks for next. */
enum sockserver_next {
	SOCKSERVER_MORE,    /* no complete request yet: read on */
	SOCKSERVER_REPLIED, /* a reply is queued: send it, then call input again with (data "", n 0) */
	SOCKSERVER_CLOSE,   /* send what is queued, then close */
};

struct sockserver_client {
	int fd;             /* -1: a free slot */
	uid_t uid;          /* the connecting process's (SO_PEERCRED); (uid_t)-1 unknown */
	uint64_t since_ns;  /* began waiting for a request (connect, or the end of its last reply) */
	uint64_t last_ns;   /* the last byte in while waiting, or out while replying */
	char *out;          /* the queued reply, out_cap bytes, wiped before it is freed (it may hold keys) */
	size_t out_off, out_len, out_cap;
	bool replied;       /* once out is sent, the protocol looks again at what it holds (input with n 0) */
	bool closing;       /* close once out is sent */
	uint32_t events;    /* what the epoll set watches for it now */
	void *state;        /* the protocol's, proto->state_size bytes, zeroed at accept */
};

struct sockserver_proto {
	const char *name; /* in log lines: "uapi", "ctl" */
	size_t state_size;
	/*
	 * Optional. Whether the freshly accepted fd may be served; when not,
	 * the hook writes up to cap bytes of farewell into msg and returns
	 * their count, sent once without waiting before the close (a fresh
	 * socket's buffer is empty). Returns a negative number to admit.
	 */
	int (*refuse)(void *ctx, int fd, char *msg, size_t cap);
	int (*open)(void *ctx, struct sockserver_client *c);   /* optional; 0 or -errno (closed then) */
	void (*close)(void *ctx, struct sockserver_client *c); /* optional; frees and wipes state */
	/* Bytes from the client; data NULL at EOF (then only SOCKSERVER_CLOSE makes sense). */
	enum sockserver_next (*input)(void *ctx, struct sockserver_client *c, const char *data, size_t n);
	/* Optional: sent once, without waiting, to a client closed for idling. */
	const char *idle_farewell;
};

struct sockserver {
	const struct sockserver_proto *proto;
	void *ctx;
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* removed at close; empty: nothing of ours */
	char label[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* where it listens, for log lines */
	dev_t file_dev;           /* the socket file this server made, to tell it from a later server's */
	ino_t file_ino;
	bool leave_file;          /* close leaves the file: sockserver_leave_file() */
	int epfd, timerfd;
	struct loop *loop;
	uint64_t (*now)(void); /* CLOCK_MONOTONIC by default; tests inject theirs */
	uint64_t idle_ns, request_ns, stall_ns;
	uint64_t grace_ns;        /* a client this young is never displaced by a newcomer */
	unsigned int max_clients; /* at most SOCKSERVER_MAX_CLIENTS */
	int accept_errno;         /* the last accept failure reported, so that it is reported once */
	unsigned long evicted;    /* clients closed for a deadline or to make room: tests read it */
	unsigned long refused;    /* newcomers closed at once: every slot held by a young client */
	unsigned int answered;    /* requests answered in this sockserver_run(): at most a few per turn */
	struct sockserver_client clients[SOCKSERVER_MAX_CLIENTS];
};

/* Closed and empty, with the default limits: safe to sockserver_close() as it is. */
void sockserver_init(struct sockserver *s, const struct sockserver_proto *proto, void *ctx);
/*
 * The listening socket at path (unixsock_listen's rules: 0600, or 0660 for
 * group_gid >= 0; -EADDRINUSE when a live process serves it) and the epoll
 * set. On failure nothing is left and path is not removed at close.
 */
int sockserver_listen(struct sockserver *s, const char *path, int group_gid);
/*
 * The same for a listening socket made elsewhere (a TCP one, say), which the
 * server owns from now on, on success or not; label names it in log lines.
 */
int sockserver_adopt(struct sockserver *s, int listen_fd, const char *label);
/* Hands the epoll set to the loop. */
int sockserver_start(struct sockserver *s, struct loop *loop);
/* What the loop calls: serves what is ready, closes what outstayed, rearms the timer. Never blocks. */
void sockserver_run(struct sockserver *s);
/* The epoll set's descriptor (readable when sockserver_run has work), -1 before listen. */
int sockserver_fd(const struct sockserver *s);
/* Closes every client, the set and the listening socket, and removes the socket file. */
void sockserver_close(struct sockserver *s);

/*
 * For a process about to drop root (privdrop.h): it will not be able to
 * remove the file from its root-owned folder, so close leaves it, and
 * sockserver_remove_file() removes it from a process that still can.
 */
void sockserver_leave_file(struct sockserver *s);
/*
 * Removes the socket file this server made, if it is still the one at its
 * path and nobody serves it (not that of a server started there since); for
 * the root helper, once the server's process is gone.
 */
void sockserver_remove_file(const struct sockserver *s);

/* Appends a copy of data to c's reply. 0, or -ENOMEM. */
int sockserver_queue(struct sockserver_client *c, const void *data, size_t len);
/* The same for a malloc'd buffer of cap bytes, which the server now owns (wipes and frees it). */
int sockserver_queue_owned(struct sockserver_client *c, char *buf, size_t len, size_t cap);

unsigned int sockserver_clients(const struct sockserver *s);

#endif
