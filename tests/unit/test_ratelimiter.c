// SPDX-License-Identifier: MIT
/* Handshake rate limiter: 20/s, burst 5, per IPv4 address or IPv6 /64, bounded table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>

#include "messages.h"
#include "ratelimiter.h"

#define MS (NSEC_PER_SEC / 1000)
#define T0 (1000ULL * NSEC_PER_SEC)

static const uint8_t v4_a[4] = { 192, 0, 2, 1 };
static const uint8_t v4_b[4] = { 192, 0, 2, 2 };

static void v4_addr(uint8_t addr[4], uint32_t n)
{
	addr[0] = 10;
	addr[1] = (uint8_t)(n >> 16);
	addr[2] = (uint8_t)(n >> 8);
	addr[3] = (uint8_t)n;
}

/* How many of n back-to-back packets at one instant get through. */
static unsigned int allowed_of(struct ratelimiter *rl, int family, const uint8_t *addr, unsigned int n, uint64_t t)
{
	unsigned int ok = 0;

	while (n--)
		ok += ratelimiter_allow(rl, family, addr, t);
	return ok;
}

static int setup(void **state)
{
	static struct ratelimiter rl;

	assert_int_equal(ratelimiter_init(&rl, 64), 0);
	*state = &rl;
	return 0;
}

static int teardown(void **state)
{
	ratelimiter_uninit(*state);
	return 0;
}

static void test_burst(void **state)
{
	struct ratelimiter *rl = *state;
	int i;

	for (i = 0; i < HANDSHAKE_BURST; i++)
		assert_true(ratelimiter_allow(rl, AF_INET, v4_a, T0));
	assert_false(ratelimiter_allow(rl, AF_INET, v4_a, T0));
	assert_false(ratelimiter_allow(rl, AF_INET, v4_a, T0));
}

static void test_refill_boundary(void **state)
{
	struct ratelimiter *rl = *state;

	/* One packet costs 1 s / 20 = 50 ms of credit. */
	assert_int_equal(allowed_of(rl, AF_INET, v4_a, 10, T0), 5);
	assert_false(ratelimiter_allow(rl, AF_INET, v4_a, T0 + 49 * MS));

	assert_int_equal(allowed_of(rl, AF_INET, v4_b, 10, T0), 5);
	assert_true(ratelimiter_allow(rl, AF_INET, v4_b, T0 + 50 * MS));
	assert_false(ratelimiter_allow(rl, AF_INET, v4_b, T0 + 50 * MS));
	/* A refused packet costs nothing: credit keeps accruing across it. */
	assert_false(ratelimiter_allow(rl, AF_INET, v4_b, T0 + 99 * MS));
	assert_true(ratelimiter_allow(rl, AF_INET, v4_b, T0 + 100 * MS));
}

static void test_steady_rate(void **state)
{
	struct ratelimiter *rl = *state;
	unsigned int ok = 0, ms;

	assert_int_equal(allowed_of(rl, AF_INET, v4_a, 5, T0), 5);
	for (ms = 1; ms <= 1000; ms++)
		ok += ratelimiter_allow(rl, AF_INET, v4_a, T0 + ms * MS);
	assert_int_equal(ok, HANDSHAKES_PER_SECOND);
}

/* Credit is capped at the burst however long the source was quiet. */
static void test_burst_cap(void **state)
{
	struct ratelimiter *rl = *state;

	assert_int_equal(allowed_of(rl, AF_INET, v4_a, 10, T0), 5);
	assert_int_equal(allowed_of(rl, AF_INET, v4_a, 10, T0 + 900 * MS), 5);
	assert_int_equal(allowed_of(rl, AF_INET, v4_a, 10, T0 + 100 * NSEC_PER_SEC), 5);
}

static void test_sources_independent(void **state)
{
	struct ratelimiter *rl = *state;

	assert_int_equal(allowed_of(rl, AF_INET, v4_a, 10, T0), 5);
	assert_int_equal(allowed_of(rl, AF_INET, v4_b, 10, T0), 5);
	assert_false(ratelimiter_allow(rl, AF_INET, v4_a, T0));
}

static void test_ipv6_prefix(void **state)
{
	struct ratelimiter *rl = *state;
	static const uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t same64[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0xff, 0xff, 0x12, 0x34, 0, 0, 0, 2 };
	static const uint8_t other64[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1 };

	assert_int_equal(allowed_of(rl, AF_INET6, a, 3, T0), 3);
	assert_int_equal(allowed_of(rl, AF_INET6, same64, 10, T0), 2);
	assert_false(ratelimiter_allow(rl, AF_INET6, a, T0));
	assert_int_equal(allowed_of(rl, AF_INET6, other64, 10, T0), 5);
}

static void test_families_separate(void **state)
{
	struct ratelimiter *rl = *state;
	/* The IPv4 address's bytes at the head of an IPv6 address, the rest zero. */
	static const uint8_t v6_like_a[16] = { 192, 0, 2, 1 };

	assert_int_equal(allowed_of(rl, AF_INET, v4_a, 10, T0), 5);
	assert_int_equal(allowed_of(rl, AF_INET6, v6_like_a, 10, T0), 5);
	assert_false(ratelimiter_allow(rl, AF_UNIX, v4_a, T0));
	assert_false(ratelimiter_allow(rl, AF_UNSPEC, v4_a, T0 + NSEC_PER_SEC));
}

/* A clock read that lags the last one counts as no time passing, not as a huge refill. */
static void test_clock_behind(void **state)
{
	struct ratelimiter *rl = *state;

	assert_int_equal(allowed_of(rl, AF_INET, v4_a, 10, T0), 5);
	assert_false(ratelimiter_allow(rl, AF_INET, v4_a, T0 - 10 * MS));
	assert_false(ratelimiter_allow(rl, AF_INET, v4_a, T0 + 49 * MS));
	assert_true(ratelimiter_allow(rl, AF_INET, v4_a, T0 + 50 * MS));
}

static void test_many_sources(void **state)
{
	struct ratelimiter *rl = *state;
	uint8_t addr[4];
	uint32_t n;

	for (n = 0; n < 64; n++) {
		v4_addr(addr, n);
		assert_int_equal(allowed_of(rl, AF_INET, addr, 7, T0), 5);
	}
	for (n = 0; n < 64; n++) {
		v4_addr(addr, n);
		assert_false(ratelimiter_allow(rl, AF_INET, addr, T0 + MS));
	}
}

static void test_full_table(void **state)
{
	struct ratelimiter rl;
	uint8_t addr[4];
	uint32_t n;

	(void)state;
	assert_int_equal(ratelimiter_init(&rl, 4), 0);
	for (n = 0; n < 4; n++) {
		v4_addr(addr, n);
		assert_true(ratelimiter_allow(&rl, AF_INET, addr, T0));
	}
	v4_addr(addr, 100);
	assert_false(ratelimiter_allow(&rl, AF_INET, addr, T0));

	/* Known sources are still served; source 0 is drained and stays drained. */
	v4_addr(addr, 0);
	assert_int_equal(allowed_of(&rl, AF_INET, addr, 10, T0), 4);
	v4_addr(addr, 1);
	assert_true(ratelimiter_allow(&rl, AF_INET, addr, T0));

	/* Live entries are never evicted: a flood of new sources does not reset source 0's drained bucket. */
	for (n = 100; n < 200; n++) {
		v4_addr(addr, n);
		assert_false(ratelimiter_allow(&rl, AF_INET, addr, T0));
	}
	v4_addr(addr, 0);
	assert_false(ratelimiter_allow(&rl, AF_INET, addr, T0));

	/* Nor does gc before anything has been idle for more than one second. */
	ratelimiter_gc(&rl, T0 + 500 * MS);
	v4_addr(addr, 100);
	assert_false(ratelimiter_allow(&rl, AF_INET, addr, T0 + 500 * MS));
	v4_addr(addr, 0);
	assert_true(ratelimiter_allow(&rl, AF_INET, addr, T0 + 600 * MS));
	ratelimiter_gc(&rl, T0 + NSEC_PER_SEC);
	v4_addr(addr, 100);
	assert_false(ratelimiter_allow(&rl, AF_INET, addr, T0 + NSEC_PER_SEC));

	/* Sources 1..3 last spoke at T0 and go; source 0 spoke at T0 + 600 ms and stays. */
	ratelimiter_gc(&rl, T0 + NSEC_PER_SEC + 1);
	for (n = 100; n < 103; n++) {
		v4_addr(addr, n);
		assert_true(ratelimiter_allow(&rl, AF_INET, addr, T0 + NSEC_PER_SEC + 1));
	}
	v4_addr(addr, 103);
	assert_false(ratelimiter_allow(&rl, AF_INET, addr, T0 + NSEC_PER_SEC + 1));
	v4_addr(addr, 0);
	assert_true(ratelimiter_allow(&rl, AF_INET, addr, T0 + NSEC_PER_SEC + 1));
	ratelimiter_uninit(&rl);
}

/* A caller that never runs gc still gets its table back once entries go idle. */
static void test_full_table_lazy_reclaim(void **state)
{
	struct ratelimiter rl;
	uint8_t addr[4];
	uint32_t n;

	(void)state;
	assert_int_equal(ratelimiter_init(&rl, 8), 0);
	for (n = 0; n < 8; n++) {
		v4_addr(addr, n);
		assert_true(ratelimiter_allow(&rl, AF_INET, addr, T0));
	}
	v4_addr(addr, 8);
	assert_false(ratelimiter_allow(&rl, AF_INET, addr, T0 + 500 * MS));
	for (n = 8; n < 16; n++) {
		v4_addr(addr, n);
		assert_true(ratelimiter_allow(&rl, AF_INET, addr, T0 + 2 * NSEC_PER_SEC));
	}
	v4_addr(addr, 16);
	assert_false(ratelimiter_allow(&rl, AF_INET, addr, T0 + 2 * NSEC_PER_SEC));
	ratelimiter_uninit(&rl);
}

static void test_init_args(void **state)
{
	struct ratelimiter rl;

	(void)state;
	assert_int_equal(ratelimiter_init(&rl, 0), -EINVAL);
	ratelimiter_uninit(&rl);
	assert_int_equal(ratelimiter_init(&rl, (size_t)RATELIMITER_MAX_ENTRIES + 1), -EINVAL);
	assert_int_equal(ratelimiter_init(&rl, 1), 0);
	assert_true(ratelimiter_allow(&rl, AF_INET, v4_a, T0));
	assert_false(ratelimiter_allow(&rl, AF_INET, v4_b, T0));
	ratelimiter_uninit(&rl);
	/* Twice is harmless. */
	ratelimiter_uninit(&rl);
	ratelimiter_gc(&rl, T0);
}

/* Leaks here show up in LeakSanitizer's report at exit. */
static void test_uninit_frees(void **state)
{
	struct ratelimiter rl;
	uint8_t addr[4];
	uint32_t n;
	int round;

	(void)state;
	for (round = 0; round < 3; round++) {
		assert_int_equal(ratelimiter_init(&rl, 4096), 0);
		for (n = 0; n < 5000; n++) {
			v4_addr(addr, n);
			(void)!ratelimiter_allow(&rl, AF_INET, addr, T0);
		}
		ratelimiter_uninit(&rl);
		assert_null(rl.entries);
		assert_null(rl.buckets);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_burst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refill_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_steady_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources_independent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_families_separate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_behind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_sources, setup, teardown),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_full_table_lazy_reclaim),
		cmocka_unit_test(test_init_args),
		cmocka_unit_test(test_uninit_frees),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
