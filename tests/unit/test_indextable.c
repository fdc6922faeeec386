// SPDX-License-Identifier: MIT
/* Receiver indices: random, unique, bounded; compared against a naive model under churn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>

#include "indextable.h"

#define MAX 512

static void unique_random_bounded(void **state)
{
	struct indextable t;
	uint32_t idx[MAX], extra;
	int entries[MAX], i, j, sequential = 0;

	(void)state;
	assert_int_equal(indextable_init(&t, MAX), 0);
	for (i = 0; i < MAX; i++) {
		assert_int_equal(indextable_insert(&t, &entries[i], &idx[i]), 0);
		for (j = 0; j < i; j++)
			assert_int_not_equal(idx[i], idx[j]);
		if (i && idx[i] == idx[i - 1] + 1)
			sequential++;
	}
	/* Random 32-bit indices are essentially never consecutive. */
	assert_true(sequential < 2);
	assert_int_equal(indextable_insert(&t, &entries[0], &extra), -ENOSPC);
	assert_int_equal(indextable_insert(&t, NULL, &extra), -EINVAL);
	assert_int_equal(indextable_count(&t), MAX);
	for (i = 0; i < MAX; i++)
		assert_ptr_equal(indextable_lookup(&t, idx[i]), &entries[i]);
	assert_int_equal(indextable_remove(&t, idx[3]), 0);
	assert_int_equal(indextable_remove(&t, idx[3]), -ENOENT);
	assert_null(indextable_lookup(&t, idx[3]));
	/* A keypair takes over the index its handshake had. */
	assert_int_equal(indextable_insert_at(&t, idx[3], &entries[5]), 0);
	assert_ptr_equal(indextable_lookup(&t, idx[3]), &entries[5]);
	assert_int_equal(indextable_insert_at(&t, idx[3], &entries[5]), -EEXIST);
	assert_int_equal(indextable_remove(&t, idx[3]), 0);
	assert_int_equal(indextable_replace(&t, idx[4], &entries[4], &extra), 0);
	assert_null(indextable_lookup(&t, idx[4]));
	assert_ptr_equal(indextable_lookup(&t, extra), &entries[4]);
	indextable_uninit(&t);
}

/* Heavy churn in a small table: every live index stays findable, every removed one is gone. */
static void churn_against_model(void **state)
{
	struct indextable t;
	struct {
		uint32_t index;
		bool live;
	} model[64] = { 0 };
	int dummy[64];
	unsigned int seed = 0x5eed;
	int round;

	(void)state;
	assert_int_equal(indextable_init(&t, 64), 0);
	for (round = 0; round < 200000; round++) {
		int k = (int)(rand_r(&seed) % 64);

		if (model[k].live) {
			assert_int_equal(indextable_remove(&t, model[k].index), 0);
			model[k].live = false;
		} else {
			assert_int_equal(indextable_insert(&t, &dummy[k], &model[k].index), 0);
			model[k].live = true;
		}
		if (round % 97 == 0) {
			size_t live = 0;
			int m;

			for (m = 0; m < 64; m++) {
				void *e = indextable_lookup(&t, model[m].index);

				if (model[m].live) {
					live++;
					if (e != &dummy[m])
						fail_msg("round %d seed 0x5eed: live index lost", round);
				} else if (e == &dummy[m]) {
					fail_msg("round %d: removed index still found", round);
				}
			}
			assert_int_equal(indextable_count(&t), live);
		}
	}
	indextable_uninit(&t);
}

/* Raising the ceiling rehashes: every entry stays findable, the table takes more, and it never shrinks. */
static void reserve_grows(void **state)
{
	static int entries[4 * MAX];
	static uint32_t idx[4 * MAX];
	struct indextable t;
	uint32_t extra;
	size_t cap;
	int i;

	(void)state;
	assert_int_equal(indextable_init(&t, 4), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(indextable_insert(&t, &entries[i], &idx[i]), 0);
	assert_int_equal(indextable_insert(&t, &entries[4], &extra), -ENOSPC);
	for (i = 4; i < 4 * MAX; i++) {
		if (i == (int)t.max_entries)
			assert_int_equal(indextable_reserve(&t, 2 * t.max_entries), 0);
		assert_int_equal(indextable_insert(&t, &entries[i], &idx[i]), 0);
	}
	for (i = 0; i < 4 * MAX; i++)
		assert_ptr_equal(indextable_lookup(&t, idx[i]), &entries[i]);
	assert_true(t.capacity >= 2 * t.max_entries);
	cap = t.capacity;
	assert_int_equal(indextable_reserve(&t, 8), 0);
	assert_int_equal(t.capacity, cap);
	assert_int_equal(indextable_reserve(&t, (1U << 24) + 1), -EINVAL);
	indextable_uninit(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unique_random_bounded),
		cmocka_unit_test(churn_against_model),
		cmocka_unit_test(reserve_grows),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
