// SPDX-License-Identifier: MIT
#include "workers.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Below this many jobs a batch runs inline: waking a thread costs more than it saves. */
#define MIN_PARALLEL_JOBS 16
/* Rounds a worker looks for the next batch before it sleeps (some microseconds). */
#define SPIN_ROUNDS 100

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/*
 * Jobs of batch gen until none is left or a newer batch is out, a few at a
 * time (fewer claims on the shared line); returns how many this thread ran.
 */
static unsigned int take_jobs(struct workers *w, uint32_t gen)
{
	const struct workers_batch *b = &w->batch[gen & 1];
	uint64_t c = atomic_load_explicit(&w->claim, memory_order_acquire);
	unsigned int did = 0;

	while ((uint32_t)(c >> 32) == gen && (uint32_t)c < b->n_jobs) {
		uint32_t first = (uint32_t)c, end = first + b->chunk, j;

		if (end > b->n_jobs)
			end = b->n_jobs;
		if (!atomic_compare_exchange_weak_explicit(&w->claim, &c, c + (end - first), memory_order_acq_rel,
							   memory_order_acquire))
			continue;
		for (j = first; j < end; j++)
			b->fn(b->ctx, j);
		did += end - first;
		c = atomic_load_explicit(&w->claim, memory_order_acquire);
	}
	if (did)
		atomic_fetch_add_explicit(&w->done, did, memory_order_release);
	return did;
}

static void *worker_main(void *arg)
{
	struct workers *w = arg;
	uint32_t seen = (uint32_t)(atomic_load(&w->claim) >> 32);

	while (!atomic_load_explicit(&w->stop, memory_order_acquire)) {
		uint32_t gen = (uint32_t)(atomic_load_explicit(&w->claim, memory_order_acquire) >> 32);
		int spin;

		if (gen != seen) {
			seen = gen;
			take_jobs(w, gen);
			continue;
		}
		for (spin = 0; spin < SPIN_ROUNDS; spin++) {
			cpu_relax();
			if ((uint32_t)(atomic_load_explicit(&w->claim, memory_order_relaxed) >> 32) != seen)
				break;
		}
		if (spin == SPIN_ROUNDS) {
			uint32_t word = atomic_load(&w->wake);

			atomic_fetch_add(&w->sleepers, 1);
			/* Looked at again after saying so: a batch published in between is not slept through. */
			if ((uint32_t)(atomic_load(&w->claim) >> 32) == seen && !atomic_load(&w->stop))
				syscall(SYS_futex, &w->wake, FUTEX_WAIT_PRIVATE, word, NULL, NULL, 0);
			atomic_fetch_sub(&w->sleepers, 1);
		}
	}
	return NULL;
}

static void wake_all(struct workers *w)
{
	atomic_fetch_add(&w->wake, 1);
	if (atomic_load(&w->sleepers))
		syscall(SYS_futex, &w->wake, FUTEX_WAKE_PRIVATE, WORKERS_MAX, NULL, NULL, 0);
}

int workers_start(struct workers *w, unsigned int n_threads)
{
	unsigned int i;
	int ret;

	memset(w, 0, sizeof(*w));
	if (!n_threads) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);

		n_threads = cores > 0 ? (unsigned int)cores : 1;
	}
	if (n_threads > WORKERS_MAX)
		n_threads = WORKERS_MAX;
	w->n_threads = 1;
	for (i = 1; i < n_threads; i++) {
		ret = pthread_create(&w->threads[i], NULL, worker_main, w);
		if (ret) {
			workers_stop(w);
			return -ret;
		}
		w->n_threads++;
	}
	return 0;
}

void workers_stop(struct workers *w)
{
	unsigned int i;

	if (w->n_threads <= 1)
		return;
	atomic_store(&w->stop, true);
	/* The sleepers count may miss a worker about to sleep: wake whoever waits, unconditionally. */
	atomic_fetch_add(&w->wake, 1);
	syscall(SYS_futex, &w->wake, FUTEX_WAKE_PRIVATE, WORKERS_MAX, NULL, NULL, 0);
	for (i = 1; i < w->n_threads; i++)
		pthread_join(w->threads[i], NULL);
	w->n_threads = 1;
}

void workers_run(struct workers *w, workers_fn fn, void *ctx, unsigned int n_jobs)
{
	struct workers_batch *b;
	unsigned int j;

	if (!w || w->n_threads <= 1 || n_jobs < MIN_PARALLEL_JOBS) {
		for (j = 0; j < n_jobs; j++)
			fn(ctx, j);
		return;
	}
	w->gen++;
	b = &w->batch[w->gen & 1];
	b->fn = fn;
	b->ctx = ctx;
	b->n_jobs = n_jobs;
	/* A handful per claim, still leaving every thread several claims to balance with. */
	b->chunk = n_jobs / (4 * w->n_threads);
	b->chunk = b->chunk < 1 ? 1 : b->chunk > 8 ? 8 : b->chunk;
	atomic_store_explicit(&w->done, 0, memory_order_relaxed);
	atomic_store_explicit(&w->claim, (uint64_t)w->gen << 32, memory_order_release);
	wake_all(w);
	take_jobs(w, w->gen);
	/*
	 * What is left is a job or two a worker took: a packet's crypto away,
	 * unless the worker lost its core meanwhile; then give the core up.
	 */
	for (j = 0; atomic_load_explicit(&w->done, memory_order_acquire) < n_jobs; j++) {
		cpu_relax();
		if (j > 4000)
			sched_yield();
	}
}
