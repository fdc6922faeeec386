// SPDX-License-Identifier: MIT
/*
 * The crypto workers: every job of a batch runs exactly once, whatever the
 * thread count and batch size, batch after batch (a worker late for one
 * batch must take nothing from the next); jobs see the batch's own context;
 * stop joins every thread; and one thread runs everything inline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <string.h>

#include "workers.h"

#define MAX_JOBS 512

struct batch_ctx {
	_Atomic unsigned int runs[MAX_JOBS];
	unsigned int tag; /* which batch this context belongs to */
	_Atomic unsigned int wrong_tag;
	unsigned int expect_tag;
	unsigned int n;
};

/* Every job below c->n ran once, none above, none with the wrong context. */
static void check_batch(struct batch_ctx *c)
{
	unsigned int j;

	for (j = 0; j < MAX_JOBS; j++)
		assert_int_equal(atomic_load(&c->runs[j]), j < c->n ? 1 : 0);
	assert_int_equal(atomic_load(&c->wrong_tag), 0);
}

static void count_job(void *ctx, unsigned int job)
{
	struct batch_ctx *c = ctx;
	volatile unsigned int spin;

	if (c->tag != c->expect_tag)
		atomic_fetch_add(&c->wrong_tag, 1);
	atomic_fetch_add(&c->runs[job], 1);
	/* Some work, uneven, so that threads interleave. */
	for (spin = 0; spin < (job % 7) * 50; spin++)
		;
}

static void run_batches(unsigned int threads)
{
	static struct batch_ctx ctx[2];
	struct workers w;
	unsigned int round;

	srand(threads * 7919);
	assert_int_equal(workers_start(&w, threads), 0);
	assert_int_equal(w.n_threads, threads);
	for (round = 0; round < 3000; round++) {
		struct batch_ctx *c = &ctx[round & 1];
		unsigned int n = (unsigned int)rand() % MAX_JOBS;

		memset(c, 0, sizeof(*c));
		c->tag = c->expect_tag = round;
		c->n = n;
		workers_run(&w, count_job, c, n);
		check_batch(c);
		/* Done means done: the batch before ran nothing more while this one ran. */
		if (round)
			check_batch(&ctx[(round - 1) & 1]);
		c->tag = UINT32_MAX; /* a job of this batch run late would now count as wrong */
	}
	workers_stop(&w);
	assert_int_equal(w.n_threads, 1);
}

static void one_thread_runs_inline(void **state)
{
	(void)state;
	run_batches(1);
}

static void two_threads(void **state)
{
	(void)state;
	run_batches(2);
}

static void more_threads_than_cores(void **state)
{
	(void)state;
	run_batches(5);
}

static void default_is_one_per_core(void **state)
{
	struct workers w;

	(void)state;
	assert_int_equal(workers_start(&w, 0), 0);
	assert_true(w.n_threads >= 1 && w.n_threads <= WORKERS_MAX);
	workers_stop(&w);
	assert_int_equal(workers_start(&w, WORKERS_MAX + 10), 0);
	assert_int_equal(w.n_threads, WORKERS_MAX);
	workers_stop(&w);
	/* Stopping twice, or a pool that never had threads, is harmless. */
	workers_stop(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_thread_runs_inline),
		cmocka_unit_test(two_threads),
		cmocka_unit_test(more_threads_than_cores),
		cmocka_unit_test(default_is_one_per_core),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
