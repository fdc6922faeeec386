// SPDX-License-Identifier: MIT
/*
 * Handshake rate limiter: token buckets in a fixed pool, chained in a
 * SipHash-keyed table. Tokens are nanoseconds of credit, so refilling is just
 * adding the elapsed time; the burst is folded into the bucket's ceiling
 * rather than into the rate.
 */
#include "ratelimiter.h"

#include "messages.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PACKET_COST (NSEC_PER_SEC / HANDSHAKES_PER_SECOND)
#define TOKEN_MAX (PACKET_COST * HANDSHAKE_BURST)
/* An entry with no packet for longer than this holds a full bucket anyway, so dropping it changes nothing. */
#define IDLE_NS NSEC_PER_SEC
#define NIL UINT32_MAX

_Static_assert(sizeof(((struct ratelimiter *)0)->hash_key) == crypto_shorthash_KEYBYTES, "SipHash key size");
_Static_assert(TOKEN_MAX <= IDLE_NS, "an idle entry must have refilled completely");

/* A family tag, then the IPv4 address or the IPv6 /64 prefix, zero padded. */
enum { KEY_LEN = 9 };
enum { TAG_V4 = 4, TAG_V6 = 6 };

struct ratelimiter_entry {
	uint64_t last_time_ns;
	uint64_t tokens;
	uint32_t next;
	uint8_t key[KEY_LEN];
};

static uint32_t roundup_pow2(uint32_t n)
{
	uint32_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static bool make_key(uint8_t key[KEY_LEN], int family, const uint8_t *addr)
{
	memset(key, 0, KEY_LEN);
	switch (family) {
	case AF_INET:
		key[0] = TAG_V4;
		memcpy(key + 1, addr, 4);
		return true;
	case AF_INET6:
		key[0] = TAG_V6;
		memcpy(key + 1, addr, 8);
		return true;
	default:
		return false;
	}
}

static uint32_t bucket_of(const struct ratelimiter *rl, const uint8_t key[KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];

	crypto_shorthash(h, key, KEY_LEN, rl->hash_key);
	return message_le32_load(h) & rl->bucket_mask;
}

/* Time may come from several threads' clock reads, so never let it run backwards here. */
static uint64_t elapsed(uint64_t then_ns, uint64_t now_ns)
{
	return now_ns > then_ns ? now_ns - then_ns : 0;
}

static bool idle(const struct ratelimiter_entry *e, uint64_t now_ns)
{
	return elapsed(e->last_time_ns, now_ns) > IDLE_NS;
}

/* Unlink the entry *link points at and return it to the pool. */
static void release(struct ratelimiter *rl, uint32_t *link)
{
	uint32_t i = *link;

	*link = rl->entries[i].next;
	rl->entries[i].next = rl->free_head;
	rl->free_head = i;
	rl->used--;
}

static void gc_chain(struct ratelimiter *rl, uint32_t *link, uint64_t now_ns)
{
	while (*link != NIL) {
		if (idle(&rl->entries[*link], now_ns))
			release(rl, link);
		else
			link = &rl->entries[*link].next;
	}
}

int ratelimiter_init(struct ratelimiter *rl, size_t max_entries)
{
	uint32_t nbuckets, i;

	memset(rl, 0, sizeof(*rl));
	if (!max_entries || max_entries > RATELIMITER_MAX_ENTRIES)
		return -EINVAL;
	rl->max_entries = (uint32_t)max_entries;
	nbuckets = roundup_pow2(rl->max_entries);

	rl->entries = calloc(rl->max_entries, sizeof(*rl->entries));
	if (!rl->entries)
		goto err;
	rl->buckets = malloc(nbuckets * sizeof(*rl->buckets));
	if (!rl->buckets)
		goto err_entries;

	for (i = 0; i < nbuckets; i++)
		rl->buckets[i] = NIL;
	for (i = 0; i < rl->max_entries; i++)
		rl->entries[i].next = i + 1 < rl->max_entries ? i + 1 : NIL;
	rl->free_head = 0;
	rl->bucket_mask = nbuckets - 1;
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
	return 0;

err_entries:
	free(rl->entries);
err:
	memset(rl, 0, sizeof(*rl));
	return -ENOMEM;
}

void ratelimiter_uninit(struct ratelimiter *rl)
{
	free(rl->buckets);
	free(rl->entries);
	sodium_memzero(rl, sizeof(*rl));
}

void ratelimiter_gc(struct ratelimiter *rl, uint64_t now_ns)
{
	uint32_t i;

	if (!rl->buckets)
		return;
	for (i = 0; i <= rl->bucket_mask; i++)
		gc_chain(rl, &rl->buckets[i], now_ns);
	rl->last_gc_ns = now_ns;
}

static bool take_token(struct ratelimiter_entry *e, uint64_t now_ns)
{
	uint64_t tokens = e->tokens + elapsed(e->last_time_ns, now_ns);
	bool ok;

	if (tokens > TOKEN_MAX)
		tokens = TOKEN_MAX;
	if (now_ns > e->last_time_ns)
		e->last_time_ns = now_ns;
	ok = tokens >= PACKET_COST;
	e->tokens = ok ? tokens - PACKET_COST : tokens;
	return ok;
}

bool ratelimiter_allow(struct ratelimiter *rl, int family, const uint8_t *addr, uint64_t now_ns)
{
	struct ratelimiter_entry *e;
	uint8_t key[KEY_LEN];
	uint32_t *link, b, i;

	if (!make_key(key, family, addr))
		return false;
	b = bucket_of(rl, key);

	/* Walking the chain anyway, so reclaim its idle entries on the way. */
	for (link = &rl->buckets[b]; *link != NIL;) {
		e = &rl->entries[*link];
		if (!memcmp(e->key, key, KEY_LEN))
			return take_token(e, now_ns);
		if (idle(e, now_ns))
			release(rl, link);
		else
			link = &e->next;
	}

	/* A full sweep when full, at most once a second, so a caller that never runs gc still recovers. */
	if (rl->used == rl->max_entries && elapsed(rl->last_gc_ns, now_ns) > IDLE_NS)
		ratelimiter_gc(rl, now_ns);
	if (rl->used == rl->max_entries)
		return false;

	i = rl->free_head;
	e = &rl->entries[i];
	rl->free_head = e->next;
	rl->used++;
	memcpy(e->key, key, KEY_LEN);
	e->last_time_ns = now_ns;
	/* This packet is the first of the burst. */
	e->tokens = TOKEN_MAX - PACKET_COST;
	e->next = rl->buckets[b];
	rl->buckets[b] = i;
	return true;
}
