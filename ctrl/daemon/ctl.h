/* SPDX-License-Identifier: MIT */
/*
 * The control socket, /var/run/wgud/IFACE.ctl, and its client `wgud ctl`.
 *
 * Protocol (one request per connection, a stream UNIX socket):
 *
 *   client: one line of words separated by blanks, ended by "\n", at most
 *           POLICY_MAX_LINE bytes with the newline; printable ASCII and tabs
 *           only. Nothing after the first newline is read.
 *   server: zero or more body lines, then a final line, "ok" or
 *           "error: REASON", then it closes the connection.
 *
 *   $ printf 'kill-switch on\n' | socat - UNIX-CONNECT:/var/run/wgud/wg0.ctl
 *   ok
 *
 * A line that is too long, holds any other byte (NUL, control characters,
 * bytes >= 0x80), or ends at EOF without its newline is answered
 * "error: ..." and the handler is never called, so nothing is applied. On an
 * error the server sends no body. The client therefore reads to EOF and
 * takes the last line as the verdict.
 *
 * Who may connect: the socket is 0600 (or 0660 with the --ctl-group group)
 * in a folder made 0755, and, behind that, the server checks SO_PEERCRED:
 * root, the server's own euid, and, with a group, clients that have it as
 * their primary or a supplementary group (SO_PEERGROUPS).
 *
 * Transport (sockserver.h, shared with the UAPI socket): the server runs on
 * the loop thread and never waits on a client. A reply is queued and sent
 * as the client reads it; a client that takes none of it for
 * SOCKSERVER_STALL_NS is closed. A client that sends no byte of its line
 * for SOCKSERVER_IDLE_NS (or has not finished it in SOCKSERVER_REQUEST_NS)
 * is told "error: no command within the idle time" and closed. With
 * SOCKSERVER_MAX_CLIENTS connected, a newcomer (one that passed the
 * SO_PEERCRED check) takes the slot of the client waiting longest.
 */
#ifndef WGUD_CTL_H
#define WGUD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "policy.h"
#include "sockserver.h"

#define CTL_SOCKET_DIR "/var/run/wgud"
#define CTL_BUF_MAX (1U << 20) /* a reply body */

/* A reply body: grows up to CTL_BUF_MAX; the first failure sticks in error. */
struct ctl_buf {
	char *data; /* NUL-terminated when not NULL */
	size_t len, cap;
	int error; /* 0, -ENOMEM or -EMSGSIZE */
};

void ctl_buf_init(struct ctl_buf *b);
void ctl_buf_uninit(struct ctl_buf *b);
int ctl_buf_append(struct ctl_buf *b, const char *data, size_t len);
int ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Called with the words of a line (never zero of them; they live only for the
 * call); writes body text into out (may stay empty) and returns 0, or -errno
 * with a one-line reason in err. Runs on the loop thread.
 */
typedef int (*ctl_handler)(void *ctx, char *const words[], size_t n_words, struct ctl_buf *out, char *err,
			   size_t err_len);

/* One client's input until its line is complete. */
struct ctl_client_buf {
	char data[POLICY_MAX_LINE]; /* the line without its newline, then a NUL */
	size_t len;
	int result; /* once non-zero, what every later call returns: input past the line is ignored */
};

/*
 * The server's line framing, without I/O. Feeds n bytes of a client's input
 * (data NULL means the client reached EOF). Returns 1 with *line pointing at
 * the NUL-terminated line inside b once its newline arrived, 0 while more is
 * needed, or -E2BIG (longer than POLICY_MAX_LINE with the newline), -EINVAL (a
 * byte other than printable ASCII or tab), -ENODATA (EOF before a newline).
 * The same bytes give the same answer however they are split.
 */
int ctl_frame(struct ctl_client_buf *b, const char *data, size_t n, char **line);

/* Owned by the loop thread once started. */
struct ctl_server {
	struct sockserver core; /* the transport; each client's state is a struct ctl_client_buf */
	int group_gid;          /* -1: none */
	ctl_handler handle;
	void *ctx;
};

/* Closed and empty: what ctl_server_close() may be called on before or without ctl_server_open(). */
void ctl_server_init(struct ctl_server *s);

/*
 * Creates dir (0755) if missing and DIR/IFNAME.ctl: mode 0600, or 0660 owned
 * by group_gid when group_gid >= 0. -EADDRINUSE when a live process serves
 * the path already; a stale socket is replaced; -EEXIST when something that
 * is not a socket sits there (left untouched).
 */
int ctl_server_open(struct ctl_server *s, const char *dir, const char *ifname, int group_gid);
/* Registers the listening socket with the loop. */
int ctl_server_start(struct ctl_server *s, struct loop *loop, ctl_handler handle, void *ctx);
/* Closes every connection and removes the socket file. */
void ctl_server_close(struct ctl_server *s);

/*
 * `wgud ctl IFACE WORDS...`: joins argv with spaces, sends the line to
 * DIR/IFACE.ctl, prints the body to stdout and an error's reason to stderr.
 * Returns the exit code: 0 ok, 1 refused by the server, 2 usage or no answer
 * (the message names the socket path).
 */
int ctl_client_main(const char *dir, const char *ifname, int argc, char **argv);

#endif
