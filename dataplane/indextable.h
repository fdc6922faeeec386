/* SPDX-License-Identifier: MIT */
/*
 * Receiver indices (whitepaper 5.4.2 "I_i"): every handshake and keypair gets a
 * random 32-bit index that the peer echoes back, so that an incoming message
 * finds its state in O(1) and an observer learns nothing from the numbers.
 *
 * An open-addressing table with a ceiling on its entries. The ceiling is
 * raised (and the table rehashed) only by indextable_reserve, which the
 * device calls at configuration time as peers are added; on the packet path
 * a full table is a refused insert, never an allocation. Not thread-safe:
 * the owner serialises access.
 */
#ifndef WGUD_INDEXTABLE_H
#define WGUD_INDEXTABLE_H

#include <stddef.h>
#include <stdint.h>

struct indextable_slot {
	uint32_t index;
	void *entry; /* NULL: the slot is free */
};

struct indextable {
	struct indextable_slot *slots;
	size_t capacity; /* a power of two, at least twice max_entries */
	size_t max_entries;
	size_t used;
};

int indextable_init(struct indextable *t, size_t max_entries);
void indextable_uninit(struct indextable *t);
/* Raise the ceiling to max_entries (never lowers it), rehashing into a larger array: 0, -ENOMEM, -EINVAL. */
int indextable_reserve(struct indextable *t, size_t max_entries);
/* Reserve a fresh random index for entry: 0, -ENOSPC when max_entries are in use. */
int indextable_insert(struct indextable *t, void *entry, uint32_t *index_out);
/* Put entry under a given index (a keypair taking over its handshake's index): 0, -EEXIST, -ENOSPC, -EINVAL. */
int indextable_insert_at(struct indextable *t, uint32_t index, void *entry);
/* Give entry a new random index in place of old (a new handshake for the same peer). */
int indextable_replace(struct indextable *t, uint32_t old_index, void *entry, uint32_t *index_out);
void *indextable_lookup(const struct indextable *t, uint32_t index);
/* 0 or -ENOENT */
int indextable_remove(struct indextable *t, uint32_t index);
size_t indextable_count(const struct indextable *t);

#endif
