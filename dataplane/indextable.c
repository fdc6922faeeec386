// SPDX-License-Identifier: MIT
#include "indextable.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>

#define MAX_ENTRIES (1U << 24)

static size_t capacity_for(size_t max_entries)
{
	size_t cap = 16;

	while (cap < 2 * max_entries)
		cap <<= 1;
	return cap;
}

int indextable_init(struct indextable *t, size_t max_entries)
{
	size_t cap;

	if (!max_entries || max_entries > MAX_ENTRIES)
		return -EINVAL;
	cap = capacity_for(max_entries);
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->capacity = cap;
	t->max_entries = max_entries;
	t->used = 0;
	return 0;
}

static size_t find(const struct indextable *t, uint32_t index);

int indextable_reserve(struct indextable *t, size_t max_entries)
{
	struct indextable_slot *old = t->slots;
	size_t old_cap = t->capacity, cap, i;

	if (max_entries > MAX_ENTRIES)
		return -EINVAL;
	if (max_entries <= t->max_entries)
		return 0;
	cap = capacity_for(max_entries);
	if (cap > old_cap) {
		t->slots = calloc(cap, sizeof(*t->slots));
		if (!t->slots) {
			t->slots = old;
			return -ENOMEM;
		}
		t->capacity = cap;
		for (i = 0; i < old_cap; i++)
			if (old[i].entry)
				t->slots[find(t, old[i].index)] = old[i];
		free(old);
	}
	t->max_entries = max_entries;
	return 0;
}

void indextable_uninit(struct indextable *t)
{
	free(t->slots);
	t->slots = NULL;
	t->capacity = t->used = 0;
}

/*
 * Indices are uniformly random, so their low bits are a fine hash. Linear
 * probing over a table at most half full keeps chains short; deletion shifts
 * the rest of a chain back, so no tombstones build up.
 */
static size_t find(const struct indextable *t, uint32_t index)
{
	size_t mask = t->capacity - 1, i = index & mask;

	while (t->slots[i].entry && t->slots[i].index != index)
		i = (i + 1) & mask;
	return i;
}

int indextable_insert(struct indextable *t, void *entry, uint32_t *index_out)
{
	size_t i;
	uint32_t index;

	if (!entry)
		return -EINVAL;
	if (t->used >= t->max_entries)
		return -ENOSPC;
	do {
		index = randombytes_random();
		i = find(t, index);
	} while (t->slots[i].entry);
	t->slots[i].index = index;
	t->slots[i].entry = entry;
	t->used++;
	*index_out = index;
	return 0;
}

int indextable_insert_at(struct indextable *t, uint32_t index, void *entry)
{
	size_t i;

	if (!entry)
		return -EINVAL;
	i = find(t, index);
	if (t->slots[i].entry)
		return -EEXIST;
	if (t->used >= t->max_entries)
		return -ENOSPC;
	t->slots[i].index = index;
	t->slots[i].entry = entry;
	t->used++;
	return 0;
}

int indextable_replace(struct indextable *t, uint32_t old_index, void *entry, uint32_t *index_out)
{
	int ret = indextable_remove(t, old_index);

	if (ret)
		return ret;
	return indextable_insert(t, entry, index_out);
}

void *indextable_lookup(const struct indextable *t, uint32_t index)
{
	return t->slots[find(t, index)].entry;
}

int indextable_remove(struct indextable *t, uint32_t index)
{
	size_t mask = t->capacity - 1, hole = find(t, index), j;

	if (!t->slots[hole].entry)
		return -ENOENT;
	t->slots[hole].entry = NULL;
	t->used--;
	/* Pull back every later member of the chain that may not sit past the hole. */
	for (j = (hole + 1) & mask; t->slots[j].entry; j = (j + 1) & mask) {
		size_t home = t->slots[j].index & mask;

		/* Movable when home is not cyclically inside (hole, j]. */
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			t->slots[hole] = t->slots[j];
			t->slots[j].entry = NULL;
			hole = j;
		}
	}
	return 0;
}

size_t indextable_count(const struct indextable *t)
{
	return t->used;
}
