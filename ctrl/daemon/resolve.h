/* SPDX-License-Identifier: MIT */
/*
 * Endpoint host names from a conf, resolved to addresses.
 *
 * At start-up nothing is served yet, so resolve_model() may block there. On
 * a reload the packet loop must not wait: with a full tunnel and the kill
 * switch on, the lookup itself can only leave through the TUN device the
 * loop serves. resolver_start() hands the model to a thread and returns at
 * once; the loop learns the outcome through an eventfd and the callback runs
 * on the loop's thread.
 *
 * Threads: a job belongs to the resolver's thread from resolver_start() until
 * it signals; only job->lock guards what both threads see.
 */
#ifndef WGUD_RESOLVE_H
#define WGUD_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "model.h"

#define RESOLVE_ERR_LEN 320

/* 0, or -EINVAL with err naming file:line and the name that did not resolve. */
int resolve_model(struct model_device *m, const char *file, char *err, size_t err_len);
/* Whether any peer of m has a host name to resolve. */
bool resolve_needed(const struct model_device *m);

/*
 * Called on the loop thread with the model (the caller's now, resolved or not)
 * and resolve_model()'s result and message.
 */
typedef void (*resolver_done_cb)(void *ctx, struct model_device *m, int ret, const char *err);

struct resolve_job;

struct resolver {
	struct loop *loop;
	resolver_done_cb done;
	void *ctx;
	struct resolve_job *job; /* loop thread only; NULL when idle */
};

void resolver_init(struct resolver *r, struct loop *loop, resolver_done_cb done, void *ctx);
/*
 * Resolve m's names off the loop; m and file are the job's until done() gives
 * m back. -EBUSY while a job runs (m stays the caller's).
 */
int resolver_start(struct resolver *r, struct model_device *m, const char *file);
bool resolver_busy(const struct resolver *r);
/* Never waits: a lookup still running is left to finish and clean up after itself. */
void resolver_uninit(struct resolver *r);

#endif
