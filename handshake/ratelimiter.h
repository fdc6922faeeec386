/* SPDX-License-Identifier: MIT */
/*
 * Per-source rate limit on handshake messages that carried a valid mac2
 * (whitepaper 5.3): a token bucket of HANDSHAKES_PER_SECOND with a burst of
 * HANDSHAKE_BURST per IPv4 address or IPv6 /64 (a host owns a whole /64, so
 * limiting single v6 addresses would limit nothing).
 *
 * The table is sized and allocated once at init; input never allocates. Keys
 * are hashed with a random SipHash key so a sender cannot aim collisions.
 * When the table is full, new sources are refused until idle entries (no
 * packet for over a second) are reclaimed, by ratelimiter_gc() or lazily;
 * live entries are never evicted, so flooding from many addresses cannot
 * reset a limited source's bucket.
 *
 * Pure: time is the caller's monotonic clock; the caller serialises all calls
 * on one ratelimiter (one per interface). sodium_init() must have run.
 */
#ifndef WGUD_RATELIMITER_H
#define WGUD_RATELIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bound for max_entries: entries are linked by 32-bit indices. */
#define RATELIMITER_MAX_ENTRIES (1U << 24)

struct ratelimiter_entry;

struct ratelimiter {
	struct ratelimiter_entry *entries; /* max_entries of them, unused ones on the free list */
	uint32_t *buckets;                 /* heads of the hash chains, bucket_mask + 1 of them */
	uint32_t bucket_mask;
	uint32_t free_head;
	uint32_t max_entries;
	uint32_t used;
	uint64_t last_gc_ns;
	uint8_t hash_key[16];              /* crypto_shorthash key */
};

/* max_entries 1..RATELIMITER_MAX_ENTRIES, else -EINVAL; -ENOMEM. */
int ratelimiter_init(struct ratelimiter *rl, size_t max_entries);
/* Safe on a zeroed or already uninitialised ratelimiter. */
void ratelimiter_uninit(struct ratelimiter *rl);

/*
 * Whether one more handshake message from addr may be processed now. family
 * is AF_INET (addr 4 bytes) or AF_INET6 (16 bytes); anything else is refused.
 */
bool ratelimiter_allow(struct ratelimiter *rl, int family, const uint8_t *addr, uint64_t now_ns)
	__attribute__((warn_unused_result));

/* Reclaim every entry idle for more than a second; meant to run about once a second. */
void ratelimiter_gc(struct ratelimiter *rl, uint64_t now_ns);

#endif
