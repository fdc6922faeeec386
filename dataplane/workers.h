/* SPDX-License-Identifier: MIT */
/*
 * Crypto on every core: the event loop hands a batch of independent jobs
 * (seal or open one packet each) to a few worker threads and works on the
 * batch itself, then waits until every job is done (fork and join). Nothing
 * but the jobs runs meanwhile, so the rules for the data they touch are
 * simple: during workers_run every thread reads the keys and writes only the
 * bytes of the packets its jobs name; everything else (counters, replay
 * windows, queues, timers) is touched by the loop thread alone, before and
 * after. Nonces are assigned before and packets leave after, in order.
 *
 * No allocation and no system call per packet: a worker that finds nothing
 * to do spins briefly, then sleeps on a futex; waking the sleepers costs one
 * system call per batch.
 */
#ifndef WGUD_WORKERS_H
#define WGUD_WORKERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define WORKERS_MAX 64

typedef void (*workers_fn)(void *ctx, unsigned int job);

struct workers_batch {
	workers_fn fn;
	void *ctx;
	unsigned int n_jobs;
	unsigned int chunk; /* jobs taken per claim */
};

/*
 * The protocol: batch g lives in batch[g & 1], written by the loop thread
 * before it publishes claim = g << 32 | 0. A job is taken by moving claim
 * from (g, i) to (g, i + 1) with i below batch g's n_jobs, so a thread that
 * read a batch late can take nothing from it once the next batch is out;
 * the loop thread starts batch g + 1 only when all of batch g is done, so
 * the slot a worker reads is not rewritten before its claim fails.
 */
struct workers {
	unsigned int n_threads; /* the loop thread included; 1: everything runs inline */
	pthread_t threads[WORKERS_MAX];
	struct workers_batch batch[2]; /* written by the loop thread only, as above */
	uint32_t gen;                  /* loop thread only: the last batch published */
	_Atomic uint64_t claim;        /* generation << 32 | next job */
	_Atomic unsigned int done;     /* jobs of the current batch finished */
	_Atomic uint32_t wake;         /* futex word, bumped per batch and at stop */
	_Atomic unsigned int sleepers;
	_Atomic bool stop;
};

/* n_threads in all (0: one per online core), capped at WORKERS_MAX; 0 or -errno. */
int workers_start(struct workers *w, unsigned int n_threads);
void workers_stop(struct workers *w);
/* fn(ctx, 0 .. n_jobs - 1), spread over the threads (w NULL: all inline); returns when all ran. Loop thread only. */
void workers_run(struct workers *w, workers_fn fn, void *ctx, unsigned int n_jobs);

#endif
