/* SPDX-License-Identifier: MIT */
/*
 * The cross-platform userspace API that wg(8) speaks over
 * /var/run/wireguard/IFACE.sock (https://www.wireguard.com/xplatform/): the
 * framing of requests on a stream, the parse of a `set` body into the model,
 * and the text of the `get` reply. No I/O here: the socket server reads,
 * feeds uapi_conn, applies the model and writes what uapi_format_* made.
 *
 * A connection may carry several requests in a row (wireguard-go serves
 * them in a loop), so the server handles one and asks again:
 *
 *	op = uapi_conn_feed(&c, data, n, &body, &body_len);
 *	while (op == UAPI_OP_GET || op == UAPI_OP_SET) {
 *		... reply ...
 *		uapi_conn_consume(&c);
 *		op = uapi_conn_feed(&c, NULL, 0, &body, &body_len);
 *	}
 *	if (op == UAPI_OP_ERROR)
 *		... reply uapi_format_errno(c.error), then close ...
 */
#ifndef WGUD_UAPI_H
#define WGUD_UAPI_H

#include <stddef.h>
#include <sys/types.h>

#include "model.h"

/*
 * Bounds on what one client may make us buffer. The socket is root's only,
 * so these guard against mistakes more than attacks: a set for
 * MODEL_MAX_PEERS peers with a few allowed-ips each is about 16 MiB of text;
 * the longest line wg(8) writes is under 100 bytes.
 */
#define UAPI_MAX_REQUEST (16U << 20)
#define UAPI_MAX_LINE 4096
/* "errno=-2147483648\n\n" and its NUL */
#define UAPI_ERRNO_REPLY_LEN 24

enum uapi_op { UAPI_OP_NONE, UAPI_OP_GET, UAPI_OP_SET, UAPI_OP_ERROR };

/* One client connection's input. Owned by the thread that serves the socket. */
struct uapi_conn {
	char *buf; /* may hold private keys: wiped before it is freed or reused */
	size_t len, cap;
	size_t scan;    /* bytes of the front request checked so far */
	size_t line;    /* where the line being checked starts */
	size_t req_len; /* length of the complete request at the front; 0 while incomplete */
	enum uapi_op op; /* of the front request, once its first line is known */
	int error;       /* after UAPI_OP_ERROR: the -errno to report before closing */
};

int uapi_conn_init(struct uapi_conn *c);
void uapi_conn_uninit(struct uapi_conn *c);
/*
 * Appends data (n may be 0) and looks at the request at the front:
 * UAPI_OP_NONE - incomplete, read more;
 * UAPI_OP_GET  - "get=1\n\n";
 * UAPI_OP_SET  - "set=1\n" ... "\n": *body, *body_len are its key=value lines
 *                (each ending in '\n', without the blank line), valid until
 *                the next feed or consume;
 * UAPI_OP_ERROR - not the protocol: c->error says why (-EPROTO: not a get or
 *                set, -EINVAL: "get=1\n" followed by more than "\n", as
 *                wireguard-go answers; -EMSGSIZE: a line or request past the
 *                limits; -ENOMEM). The connection is finished: every later
 *                feed says UAPI_OP_ERROR again.
 * The front request stays until uapi_conn_consume(); bytes after it wait for
 * the next round.
 */
enum uapi_op uapi_conn_feed(struct uapi_conn *c, const char *data, size_t n, const char **body, size_t *body_len);
/* Drops the request reported by the last feed (nothing if none is complete) and wipes its bytes. */
void uapi_conn_consume(struct uapi_conn *c);

/*
 * Parses a set body into a fresh device that carries HAS_* flags only for
 * what was given, peers in the order they came (a key given twice makes two
 * entries, applied in turn, as wireguard-go would). Validates everything
 * before the caller changes anything: on error returns -EINVAL (a bad key or
 * value, as wireguard-go), -EPROTO (a line without '='), -ENOMEM or -E2BIG
 * (past the model's limits), and *out is NULL.
 */
int uapi_parse_set(const char *body, size_t len, struct model_device **out);

/*
 * The get reply for a snapshot, in wireguard-go's order and forms, ending in
 * "errno=0\n\n". Zero private key, listen port and fwmark are left out, as
 * wireguard-go does; the preshared key is always there (zeros for none).
 * Returns the length written (out is also NUL-terminated, so cap must be one
 * more), or -ENOSPC (out wiped) when cap is too small: grow it and call again.
 */
ssize_t uapi_format_get(char *out, size_t cap, const struct model_device *dev);

/*
 * "errno=N\n\n" for a set reply or an error, err being 0 or -errno. The
 * number keeps its minus sign: that is what wireguard-go sends, and wg(8)
 * sets errno to minus the number it reads, so that it prints "Invalid
 * argument" for errno=-22. out holds UAPI_ERRNO_REPLY_LEN bytes; returns the
 * length.
 */
size_t uapi_format_errno(char out[UAPI_ERRNO_REPLY_LEN], int err);

#endif
