/* SPDX-License-Identifier: MIT */
/*
 * The data plane's handshake events (device.h, struct wg_event) as log lines
 * for a person: one line per change of a peer's state, never one per packet,
 * never a key. Peers are named by their endpoint. A peer's send errors (ICMP
 * errors, refused sends) are said once per change of errno, and once when a
 * handshake shows the peer answers again. Refusals are logged at most
 * once per DIAG_REFUSAL_INTERVAL_NS per reason, with how many were not.
 * Loop thread only.
 */
#ifndef WGUD_DIAG_H
#define WGUD_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"

#define DIAG_REFUSAL_INTERVAL_NS (30ULL * 1000000000ULL)
/* The initiation after which "no response" is said: two went unanswered, REKEY_TIMEOUT apart. */
#define DIAG_NO_RESPONSE_ATTEMPT 3

struct diag {
	uint64_t refusal_said_ns[WG_REFUSED_COUNT];
	uint64_t refusal_unsaid[WG_REFUSED_COUNT];
	uint64_t roam_said_ns, roam_unsaid;
	/* Called once, at the first completed handshake (--wait-up), then cleared. */
	void (*first_up)(void *ctx);
	void *first_up_ctx;
	char last_problem[256]; /* what went wrong last, in words: why there is no handshake yet */
};

/*
 * A peer's last send error in words, for the log and show: "Connection
 * refused (ICMP port unreachable from 192.0.2.1)", or strerror alone when
 * the send itself failed. diag_format_icmp: the part in parentheses ("" for
 * a failed send).
 */
#define DIAG_SEND_ERROR_LEN 160
void diag_format_send_error(char *out, size_t len, const struct wg_send_error *e);
void diag_format_icmp(char *out, size_t len, const struct wg_send_error *e);

/* A peer's address as the log, show and health write it (scoped IPv6 too); NULL: "(no endpoint)". */
void diag_format_addr(char out[64], const union wg_sockaddr *a);

/* Listen to dev's events from now on. */
void diag_attach(struct diag *g, struct wg_device *dev);
/* The handler itself, with the clock given (for tests). */
void diag_event(struct diag *g, const struct wg_event *ev, uint64_t now_ns);

#endif
