/* SPDX-License-Identifier: MIT */
/*
 * --failover: a peer whose conf lists several endpoints (Endpoint = a, b)
 * moves to the next one, round-robin, when no handshake completed for
 * --failover-after seconds since it began trying. The wall needs no change
 * for a move: wgud's own marked UDP goes out to any address, and a lockdown
 * left at stop lets out the endpoints in use then (facts.c).
 *
 * Loop thread only.
 */
#ifndef WGUD_FAILOVER_H
#define WGUD_FAILOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "loop.h"
#include "model.h"

#define FAILOVER_DEFAULT_AFTER 30
#define FAILOVER_MIN_AFTER 5
/* Below REKEY_ATTEMPT_TIME (90 s): a series of initiations that gave up is no longer "trying". */
#define FAILOVER_MAX_AFTER 85

struct failover_peer {
	uint8_t public_key[MODEL_KEY_LEN];
	union wg_sockaddr endpoints[MODEL_MAX_ENDPOINTS];
	size_t n_endpoints, cur;
	uint64_t trying_since_ns; /* 0: not trying (no handshake in flight) */
};

struct failover {
	struct wg_device *dev;
	struct loop *loop;
	uint64_t after_ns;
	struct failover_peer *peers;
	size_t n_peers;
	int timer_fd; /* -1 when no peer has alternatives */
};

/*
 * Whether a conf lists several endpoints for a peer without --failover:
 * -EINVAL with err naming file:line; 0 otherwise.
 */
int failover_check(const struct model_device *m, const char *file, bool enabled, char *err, size_t err_len);
/*
 * Takes the (resolved) conf's peers with alternatives; m may be freed
 * afterwards. loop NULL: no timer, the caller ticks (tests).
 */
int failover_init(struct failover *f, struct wg_device *dev, struct loop *loop, const struct model_device *m,
		  unsigned int after_sec);
/* Also on an all-zero struct failover (never initialised). */
void failover_uninit(struct failover *f);
/* One look at every peer with alternatives; the timer calls it each second (for tests: the clock given). */
void failover_tick(struct failover *f, uint64_t now_ns);

#endif
