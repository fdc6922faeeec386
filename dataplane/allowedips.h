/* SPDX-License-Identifier: MIT */
/*
 * Cryptokey routing (whitepaper section 2): a longest-prefix-match table from
 * IPv4 and IPv6 prefixes to the peer that owns them. Outbound packets pick
 * their peer by inner destination; inbound packets are dropped unless their
 * inner source maps back to the peer whose key opened them.
 *
 * Concurrency: one writer at a time (insert, remove, remove_by_peer, uninit).
 * Readers (lookup*, walk_by_peer, count) never modify the table, but nothing
 * here publishes changes safely to concurrent readers: the caller must keep
 * writers and readers apart (lock, or run both on one thread). A lock-free
 * reader scheme would need deferred freeing of pruned nodes.
 *
 * Peers are opaque: the table never dereferences them and does not own them.
 * Whoever frees a peer calls allowedips_remove_by_peer first. Each peer's
 * prefixes are also on a list of their own (as the kernel keeps them), found
 * through a small table keyed by the peer pointer, so walk_by_peer and
 * remove_by_peer cost that peer's prefixes, not the whole trie.
 */
#ifndef WGUD_ALLOWEDIPS_H
#define WGUD_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Private to allowedips.c; declared here so the table can be embedded by value
 * and so the unit test can check the trie's shape.
 *
 * A path-compressed binary trie: a node stands for the prefix key/cidr; a
 * child holds a longer prefix that extends it, on the side given by the
 * child's bit at position cidr. A node whose peer is NULL holds no prefix and
 * exists only to join two subtrees, so it always has exactly two children.
 */
struct allowedips_node {
	struct allowedips_node *child[2];
	struct allowedips_node *parent;
	void *peer;
	/* The peer's prefixes of this family, in the order inserted; only nodes with a peer are on it. */
	struct allowedips_node *peer_prev, *peer_next;
	/* Address bits from the most significant, host bits past cidr zero; IPv4 uses the top 32 bits of key[0]. */
	uint64_t key[2];
	uint8_t cidr;
};

/* A peer's two lists, [0] IPv4 and [1] IPv6; present while the peer owns a prefix. */
struct allowedips_owner {
	void *peer; /* NULL: free slot */
	struct allowedips_node *first[2], *last[2];
};

struct allowedips {
	struct allowedips_node *root4;
	struct allowedips_node *root6;
	size_t count4;
	size_t count6;
	struct allowedips_owner *owners; /* open addressing, at most half full; grows in insert */
	size_t owners_cap, owners_used;
};

void allowedips_init(struct allowedips *t);
/* Frees every node; the table is empty and reusable afterwards. */
void allowedips_uninit(struct allowedips *t);

/*
 * family AF_INET (addr 4 bytes, cidr 0..32) or AF_INET6 (16 bytes, cidr 0..128).
 * Host bits are masked off. Re-inserting an existing prefix gives it to peer.
 * Returns 0, -EINVAL (bad family, cidr, NULL addr or peer) or -ENOMEM (table unchanged).
 */
int allowedips_insert(struct allowedips *t, int family, const uint8_t *addr, uint8_t cidr, void *peer);
/* Removes the prefix only if peer owns it: 0, -ENOENT, -EINVAL. Host bits are masked off. */
int allowedips_remove(struct allowedips *t, int family, const uint8_t *addr, uint8_t cidr, void *peer);
void allowedips_remove_by_peer(struct allowedips *t, void *peer);

/* Longest-prefix match; NULL if nothing covers addr or family is unknown. Never allocates. */
void *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *addr);
/*
 * Packet path: pkt starts at an inner IPv4 or IPv6 header. Only the version and
 * the minimum header length (IPv4: IHL >= 5 and within len) are checked; the
 * total/payload length fields are the caller's business. NULL if malformed.
 */
void *allowedips_lookup_dst(const struct allowedips *t, const uint8_t *pkt, size_t len);
void *allowedips_lookup_src(const struct allowedips *t, const uint8_t *pkt, size_t len);

/*
 * Calls cb for every prefix owned by peer (addr masked, 4 or 16 bytes), IPv4
 * first, each family in the order the prefixes were given to the peer. Stops at the first non-zero return of
 * cb and returns it; 0 otherwise. cb must not modify the table.
 */
int allowedips_walk_by_peer(const struct allowedips *t, void *peer,
			    int (*cb)(void *ctx, int family, const uint8_t *addr, uint8_t cidr), void *ctx);

/* Number of stored prefixes, both families. */
size_t allowedips_count(const struct allowedips *t);

#endif
