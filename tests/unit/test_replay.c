// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "replay.h"

/* The Linux driver's selftest calls its limit T_LIM: one past the window. */
#define LIM ((uint64_t)COUNTER_WINDOW_SIZE + 1)
#define RAM REJECT_AFTER_MESSAGES

/*
 * Offers counter to the window, first read-only (which must agree and leave
 * the window untouched), then for real.
 */
static void offer(struct replay_window *w, uint64_t counter, bool expected, const char *what, size_t n)
{
	struct replay_window before = *w;
	bool checked = replay_check(w, counter);
	bool updated;

	if (memcmp(&before, w, sizeof(before)))
		fail_msg("%s %zu: replay_check(%llu) changed the window", what, n, (unsigned long long)counter);
	updated = replay_update(w, counter);
	if (checked != updated || updated != expected)
		fail_msg("%s %zu: counter %llu: check %d, update %d, expected %d", what, n,
			 (unsigned long long)counter, checked, updated, expected);
	if (!updated && memcmp(&before, w, sizeof(before)))
		fail_msg("%s %zu: a refused counter %llu changed the window", what, n, (unsigned long long)counter);
}

/* The whole T(n, v) sequence of drivers/net/wireguard/selftest/counter.c, in order. */
static const struct {
	uint64_t counter;
	bool ok;
} kernel_sequence[] = {
	{ 0, true },
	{ 1, true },
	{ 1, false },
	{ 9, true },
	{ 8, true },
	{ 7, true },
	{ 7, false },
	{ LIM, true },
	{ LIM - 1, true },
	{ LIM - 1, false },
	{ LIM - 2, true },
	{ 2, true },
	{ 2, false },
	{ LIM + 16, true },
	{ 3, false },
	{ LIM + 16, false },
	{ LIM * 4, true },
	{ LIM * 4 - (LIM - 1), true },
	{ 10, false },
	{ LIM * 4 - LIM, false },
	{ LIM * 4 - (LIM + 1), false },
	{ LIM * 4 - (LIM - 2), true },
	{ LIM * 4 + 1 - LIM, false },
	{ 0, false },
	{ RAM, false },
	{ RAM - 1, true },
	{ RAM, false },
	{ RAM - 1, false },
	{ RAM - 2, true },
	{ RAM + 1, false },
	{ RAM + 2, false },
	{ RAM - 2, false },
	{ RAM - 3, true },
	{ 0, false },
};

static void test_kernel_sequence(void **state)
{
	struct replay_window w;
	size_t i;

	(void)state;
	replay_init(&w);
	for (i = 0; i < sizeof(kernel_sequence) / sizeof(kernel_sequence[0]); i++)
		offer(&w, kernel_sequence[i].counter, kernel_sequence[i].ok, "kernel case", i + 1);
}

/* The selftest's bulk runs, each from a fresh window. */
static void test_fill_forward_then_zero(void **state)
{
	struct replay_window w;
	uint64_t i;

	(void)state;
	replay_init(&w);
	for (i = 1; i <= COUNTER_WINDOW_SIZE; i++)
		offer(&w, i, true, "forward", i);
	offer(&w, 0, true, "zero at the window's far edge", 0);
	offer(&w, 0, false, "zero again", 0);
}

static void test_fill_forward_past_window(void **state)
{
	struct replay_window w;
	uint64_t i;

	(void)state;
	replay_init(&w);
	for (i = 2; i <= COUNTER_WINDOW_SIZE + 1; i++)
		offer(&w, i, true, "forward", i);
	offer(&w, 1, true, "one at the far edge", 1);
	offer(&w, 0, false, "zero just behind", 0);
}

static void test_fill_backward(void **state)
{
	struct replay_window w;
	uint64_t i;

	(void)state;
	replay_init(&w);
	for (i = COUNTER_WINDOW_SIZE + 1; i-- > 0;)
		offer(&w, i, true, "backward", i);
}

static void test_fill_backward_from_one_past(void **state)
{
	struct replay_window w;
	uint64_t i;

	(void)state;
	replay_init(&w);
	for (i = COUNTER_WINDOW_SIZE + 2; i-- > 1;)
		offer(&w, i, true, "backward", i);
	offer(&w, 0, false, "zero behind the window", 0);
}

static void test_fill_backward_then_top(void **state)
{
	struct replay_window w;
	uint64_t i;

	(void)state;
	replay_init(&w);
	for (i = COUNTER_WINDOW_SIZE + 1; i-- > 1;)
		offer(&w, i, true, "backward", i);
	offer(&w, COUNTER_WINDOW_SIZE + 1, true, "one above", 0);
	offer(&w, 0, false, "zero now behind", 0);
}

static void test_fill_backward_then_zero_then_top(void **state)
{
	struct replay_window w;
	uint64_t i;

	(void)state;
	replay_init(&w);
	for (i = COUNTER_WINDOW_SIZE + 1; i-- > 1;)
		offer(&w, i, true, "backward", i);
	offer(&w, 0, true, "zero at the far edge", 0);
	offer(&w, COUNTER_WINDOW_SIZE + 1, true, "one above", 0);
}

/* The window's back edge is exactly COUNTER_WINDOW_SIZE below the highest counter. */
static void test_window_edge(void **state)
{
	const uint64_t top = 3 * COUNTER_BITS_TOTAL + 37;
	struct replay_window w;

	(void)state;
	replay_init(&w);
	offer(&w, top, true, "top", 0);
	offer(&w, top - COUNTER_WINDOW_SIZE - 1, false, "one behind the edge", 0);
	offer(&w, top - COUNTER_WINDOW_SIZE, true, "on the edge", 0);
	offer(&w, top - COUNTER_WINDOW_SIZE, false, "on the edge again", 0);
	offer(&w, top - 1, true, "just below the top", 0);
}

/* A jump past the whole ring must recycle every word, leaving no stale bits. */
static void test_jump_clears_ring(void **state)
{
	struct replay_window w;
	uint64_t i, top = 100 + 5 * COUNTER_BITS_TOTAL + 3;

	(void)state;
	replay_init(&w);
	for (i = 0; i <= 100; i++)
		offer(&w, i, true, "low", i);
	offer(&w, top, true, "jump", 0);
	for (i = 1; i <= COUNTER_WINDOW_SIZE; i++)
		offer(&w, top - i, true, "whole window below the jump", i);
	for (i = 0; i <= 100; i++)
		offer(&w, i, false, "low again", i);
	/* Jumps of a few words, where only some words are recycled. */
	for (i = 1; i <= 300; i++)
		offer(&w, top + i * 61, true, "short jumps", i);
	for (i = 1; i <= 300; i++)
		offer(&w, top + i * 61, false, "short jumps again", i);
}

/* Near the top of the counter space, where sums could wrap if done carelessly. */
static void test_reject_edge(void **state)
{
	struct replay_window w;
	uint64_t i;

	(void)state;
	replay_init(&w);
	offer(&w, UINT64_MAX, false, "max", 0);
	offer(&w, RAM, false, "reject after messages", 0);
	for (i = RAM - COUNTER_WINDOW_SIZE; i < RAM; i++)
		offer(&w, i, true, "last window", i - (RAM - COUNTER_WINDOW_SIZE));
	offer(&w, RAM - COUNTER_WINDOW_SIZE - 2, false, "behind last window", 0);
	offer(&w, UINT64_MAX - 1, false, "max - 1", 0);
}

/*
 * Randomized check against a naive model: the set of accepted counters and
 * their maximum. A counter is accepted iff it is below REJECT_AFTER_MESSAGES,
 * not accepted before, and no more than COUNTER_WINDOW_SIZE below the maximum.
 */
#define RANGE_BITS 25
#define RANGE (1ULL << RANGE_BITS)
#define STEPS 100000

struct model {
	uint8_t *seen;	/* RANGE bits, indexed by counter - base */
	uint64_t base, max;
	bool any;
	uint64_t recent[256];	/* offsets accepted lately, to be replayed */
	size_t nrecent;
};

static bool model_accept(struct model *m, uint64_t off)
{
	uint64_t c = m->base + off;

	if (c >= RAM || (m->seen[off / 8] >> (off % 8)) & 1)
		return false;
	if (m->any && c + COUNTER_WINDOW_SIZE < m->max)
		return false;
	m->seen[off / 8] |= (uint8_t)(1u << (off % 8));
	if (!m->any || c > m->max)
		m->max = c;
	m->any = true;
	m->recent[m->nrecent++ % 256] = off;
	return true;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* Offsets clustered round the model's maximum, where the window has edges, and replays. */
static uint64_t pick(struct model *m, uint64_t *rng)
{
	uint64_t top = m->any ? m->max - m->base : 0, r = rng_next(rng), span, off;
	unsigned int kind = (unsigned int)(r % 100);

	r = rng_next(rng);
	if (kind < 30)
		off = top + 1 + r % 4;
	else if (kind < 60)
		off = top - r % (COUNTER_WINDOW_SIZE + 300 < top ? COUNTER_WINDOW_SIZE + 300 : top + 1);
	else if (kind < 80)
		off = m->nrecent ? m->recent[r % (m->nrecent < 256 ? m->nrecent : 256)] : 0;
	else if (kind < 81)
		off = top + r % (3 * COUNTER_BITS_TOTAL);
	else if (kind < 90)
		off = top + r % 200;
	else {
		span = top + 2 * COUNTER_WINDOW_SIZE;
		off = r % span;
	}
	return off < RANGE ? off : RANGE - 1 - r % 1000;
}

static void random_run(uint64_t base, uint64_t seed, size_t min_accepted)
{
	struct model m = { .base = base };
	struct replay_window w, before;
	uint64_t rng = seed, off, c;
	bool want, checked, got;
	size_t step, accepted = 0;

	m.seen = calloc(RANGE / 8, 1);
	assert_non_null(m.seen);
	replay_init(&w);
	for (step = 0; step < STEPS; step++) {
		off = pick(&m, &rng);
		c = base + off;
		before = w;
		checked = replay_check(&w, c);
		if (memcmp(&before, &w, sizeof(w)))
			fail_msg("seed %#llx base %#llx step %zu: replay_check changed the window",
				 (unsigned long long)seed, (unsigned long long)base, step);
		got = replay_update(&w, c);
		want = model_accept(&m, off);
		if (checked != want || got != want)
			fail_msg("seed %#llx base %#llx step %zu: counter %llu: check %d update %d model %d",
				 (unsigned long long)seed, (unsigned long long)base, step,
				 (unsigned long long)c, checked, got, want);
		accepted += got;
	}
	free(m.seen);
	/* Both outcomes must have been exercised plenty for the run to mean anything. */
	assert_true(accepted >= min_accepted);
	assert_true(accepted < STEPS - STEPS / 10);
}

static void test_random_low(void **state)
{
	(void)state;
	random_run(0, 0x9e3779b97f4a7c15ULL, STEPS / 4);
}

/* Starts 2^22 below REJECT_AFTER_MESSAGES so the run reaches and stays at the limit. */
static void test_random_at_limit(void **state)
{
	(void)state;
	random_run(RAM - (1ULL << 22), 0xd1b54a32d192ed03ULL, STEPS / 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_sequence),
		cmocka_unit_test(test_fill_forward_then_zero),
		cmocka_unit_test(test_fill_forward_past_window),
		cmocka_unit_test(test_fill_backward),
		cmocka_unit_test(test_fill_backward_from_one_past),
		cmocka_unit_test(test_fill_backward_then_top),
		cmocka_unit_test(test_fill_backward_then_zero_then_top),
		cmocka_unit_test(test_window_edge),
		cmocka_unit_test(test_jump_clears_ring),
		cmocka_unit_test(test_reject_edge),
		cmocka_unit_test(test_random_low),
		cmocka_unit_test(test_random_at_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
