// SPDX-License-Identifier: MIT
/*
 * Cryptokey routing table: a path-compressed binary trie per address family.
 *
 * Keys are kept as two host-order 64-bit words so that "does this node's
 * prefix cover the address" is two masked XORs, whatever the prefix length.
 * Cidr grows strictly along every root-to-leaf path, so a lookup visits at
 * most 33 (IPv4) or 129 (IPv6) nodes, each in constant time.
 *
 * The one traversal that touches the whole tree (uninit) follows parent
 * pointers instead of recursing or keeping a stack. walk_by_peer and
 * remove_by_peer follow the peer's own list instead.
 *
 * Concurrency: see allowedips.h. Single writer; the caller keeps readers out
 * while a writer runs.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <sys/socket.h>

#include "allowedips.h"

enum {
	IPV4_BITS = 32,
	IPV6_BITS = 128,
};

static unsigned int family_bits(int family)
{
	if (family == AF_INET)
		return IPV4_BITS;
	if (family == AF_INET6)
		return IPV6_BITS;
	return 0;
}

static void load_key(uint64_t key[2], const uint8_t *addr, unsigned int bits)
{
	uint32_t w;

	if (bits == IPV4_BITS) {
		memcpy(&w, addr, sizeof(w));
		key[0] = (uint64_t)be32toh(w) << 32;
		key[1] = 0;
		return;
	}
	memcpy(key, addr, 2 * sizeof(key[0]));
	key[0] = be64toh(key[0]);
	key[1] = be64toh(key[1]);
}

static void store_key(uint8_t *addr, const uint64_t key[2], unsigned int bits)
{
	uint64_t be[2];
	uint32_t w;

	if (bits == IPV4_BITS) {
		w = htobe32((uint32_t)(key[0] >> 32));
		memcpy(addr, &w, sizeof(w));
		return;
	}
	be[0] = htobe64(key[0]);
	be[1] = htobe64(key[1]);
	memcpy(addr, be, sizeof(be));
}

/* The part of a cidr-bit netmask that falls in key word 0 or 1. */
static uint64_t mask_word(unsigned int cidr, unsigned int word)
{
	unsigned int base = word * 64;

	if (cidr <= base)
		return 0;
	if (cidr >= base + 64)
		return ~0ULL;
	return ~0ULL << (64 - (cidr - base));
}

static void mask_key(uint64_t key[2], unsigned int cidr)
{
	key[0] &= mask_word(cidr, 0);
	key[1] &= mask_word(cidr, 1);
}

static bool covers(const struct allowedips_node *n, const uint64_t key[2])
{
	return !(((n->key[0] ^ key[0]) & mask_word(n->cidr, 0)) |
		 ((n->key[1] ^ key[1]) & mask_word(n->cidr, 1)));
}

/* Bit i counted from the most significant bit of the address; i < 128. */
static unsigned int bit_at(const uint64_t key[2], unsigned int i)
{
	return (key[i >> 6] >> (63 - (i & 63))) & 1;
}

static unsigned int common_bits(const uint64_t a[2], const uint64_t b[2])
{
	uint64_t x = a[0] ^ b[0];

	if (x)
		return (unsigned int)__builtin_clzll(x);
	x = a[1] ^ b[1];
	return x ? 64 + (unsigned int)__builtin_clzll(x) : 128;
}

static struct allowedips_node *new_node(const uint64_t key[2], unsigned int cidr, void *peer,
					struct allowedips_node *parent)
{
	struct allowedips_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->key[0] = key[0];
	n->key[1] = key[1];
	mask_key(n->key, cidr);
	n->cidr = (uint8_t)cidr;
	n->peer = peer;
	n->parent = parent;
	return n;
}

static struct allowedips_node **root_of(struct allowedips *t, int family)
{
	return family == AF_INET ? &t->root4 : &t->root6;
}

static size_t *count_of(struct allowedips *t, int family)
{
	return family == AF_INET ? &t->count4 : &t->count6;
}

void allowedips_init(struct allowedips *t)
{
	memset(t, 0, sizeof(*t));
}

/* Post-order start: the first node whose subtrees are all behind it. */
static struct allowedips_node *deepest_first(struct allowedips_node *n)
{
	for (;;) {
		if (n->child[0])
			n = n->child[0];
		else if (n->child[1])
			n = n->child[1];
		else
			return n;
	}
}

/*
 * Post-order successor. Reads only n's parent, so the caller may free or
 * splice out n once this has returned.
 */
static struct allowedips_node *postorder_next(const struct allowedips_node *n)
{
	struct allowedips_node *p = n->parent;

	if (p && p->child[0] == n && p->child[1])
		return deepest_first(p->child[1]);
	return p;
}

/*
 * Visits every node after its children, so visit sees each node's final
 * children and may free or splice out the node it is given.
 */
static void for_each_postorder(struct allowedips_node **root,
			       void (*visit)(struct allowedips_node **root, struct allowedips_node *n, void *arg),
			       void *arg)
{
	struct allowedips_node *n, *next;

	if (!*root)
		return;
	for (n = deepest_first(*root); n; n = next) {
		next = postorder_next(n);
		visit(root, n, arg);
	}
}

static void free_visit(struct allowedips_node **root, struct allowedips_node *n, void *arg)
{
	(void)root;
	(void)arg;
	free(n);
}

void allowedips_uninit(struct allowedips *t)
{
	for_each_postorder(&t->root4, free_visit, NULL);
	for_each_postorder(&t->root6, free_visit, NULL);
	free(t->owners);
	allowedips_init(t);
}

/* ---- each peer's lists, found by peer pointer ---- */

/* Pointers are ours, not an attacker's: a multiplicative hash spreads them well enough. */
static size_t owner_home(const struct allowedips *t, const void *peer)
{
	uint64_t h = (uint64_t)(uintptr_t)peer * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (t->owners_cap - 1);
}

static struct allowedips_owner *owner_find(const struct allowedips *t, const void *peer)
{
	size_t i, mask = t->owners_cap - 1;

	if (!t->owners_cap)
		return NULL;
	for (i = owner_home(t, peer); t->owners[i].peer; i = (i + 1) & mask)
		if (t->owners[i].peer == peer)
			return &t->owners[i];
	return NULL;
}

static struct allowedips_owner *owner_free_slot(const struct allowedips *t, const void *peer)
{
	size_t i, mask = t->owners_cap - 1;

	for (i = owner_home(t, peer); t->owners[i].peer; i = (i + 1) & mask)
		;
	return &t->owners[i];
}

/* Room for one more owner with the table at most half full. */
static int owners_reserve(struct allowedips *t)
{
	struct allowedips_owner *old = t->owners;
	size_t old_cap = t->owners_cap, i;

	if (2 * (t->owners_used + 1) <= t->owners_cap)
		return 0;
	t->owners_cap = old_cap ? 2 * old_cap : 16;
	t->owners = calloc(t->owners_cap, sizeof(*t->owners));
	if (!t->owners) {
		t->owners = old;
		t->owners_cap = old_cap;
		return -ENOMEM;
	}
	for (i = 0; i < old_cap; i++)
		if (old[i].peer)
			*owner_free_slot(t, old[i].peer) = old[i];
	free(old);
	return 0;
}

static struct allowedips_owner *owner_get(struct allowedips *t, void *peer)
{
	struct allowedips_owner *o = owner_find(t, peer);

	if (o)
		return o;
	if (owners_reserve(t))
		return NULL;
	o = owner_free_slot(t, peer);
	memset(o, 0, sizeof(*o));
	o->peer = peer;
	t->owners_used++;
	return o;
}

/* Moves later members of the probe chain back, as indextable.c does: no tombstones. */
static void owner_drop(struct allowedips *t, struct allowedips_owner *o)
{
	size_t mask = t->owners_cap - 1, hole = (size_t)(o - t->owners), j;

	t->owners[hole].peer = NULL;
	t->owners_used--;
	for (j = (hole + 1) & mask; t->owners[j].peer; j = (j + 1) & mask) {
		size_t home = owner_home(t, t->owners[j].peer);

		if (((j - home) & mask) >= ((j - hole) & mask)) {
			t->owners[hole] = t->owners[j];
			t->owners[j].peer = NULL;
			hole = j;
		}
	}
}

static void drop_if_empty(struct allowedips *t, struct allowedips_owner *o)
{
	if (o && !o->first[0] && !o->first[1])
		owner_drop(t, o);
}

static void list_append(struct allowedips_owner *o, struct allowedips_node *n, int fam)
{
	n->peer_next = NULL;
	n->peer_prev = o->last[fam];
	if (o->last[fam])
		o->last[fam]->peer_next = n;
	else
		o->first[fam] = n;
	o->last[fam] = n;
}

/* Takes n off its peer's list (the owner may go, and the table's slots move). */
static void list_remove(struct allowedips *t, struct allowedips_node *n, int fam)
{
	struct allowedips_owner *o = owner_find(t, n->peer);

	if (n->peer_prev)
		n->peer_prev->peer_next = n->peer_next;
	else
		o->first[fam] = n->peer_next;
	if (n->peer_next)
		n->peer_next->peer_prev = n->peer_prev;
	else
		o->last[fam] = n->peer_prev;
	n->peer_prev = n->peer_next = NULL;
	drop_if_empty(t, o);
}

static int fam_index(int family)
{
	return family == AF_INET6;
}

/*
 * Drops n if it no longer earns its place: no prefix and fewer than two
 * children. Returns n's parent when n vanished without a replacement, since
 * the parent lost a child and may now qualify in turn; NULL otherwise.
 */
static struct allowedips_node *prune_one(struct allowedips_node **root, struct allowedips_node *n)
{
	struct allowedips_node *parent = n->parent, *child, **slot;

	if (n->peer || (n->child[0] && n->child[1]))
		return NULL;
	child = n->child[0] ? n->child[0] : n->child[1];
	slot = parent ? &parent->child[parent->child[1] == n] : root;
	*slot = child;
	if (child)
		child->parent = parent;
	free(n);
	return child ? NULL : parent;
}

/*
 * Puts a new prefix node at *slot, where n (possibly NULL) was: either
 * directly above n, when key/cidr covers n, or beside it under a new glue
 * node at the first bit where they differ.
 */
static int splice_in(struct allowedips_node **slot, struct allowedips_node *parent, const uint64_t key[2],
		     unsigned int cidr, void *peer, struct allowedips_node **added)
{
	struct allowedips_node *n = *slot, *leaf, *glue;
	unsigned int common;

	if (!n) {
		leaf = new_node(key, cidr, peer, parent);
		if (!leaf)
			return -ENOMEM;
		*slot = leaf;
		*added = leaf;
		return 0;
	}
	common = common_bits(key, n->key);
	if (common >= cidr) {
		/* The walk stopped at n because n->cidr > cidr: key/cidr covers n. */
		leaf = new_node(key, cidr, peer, parent);
		if (!leaf)
			return -ENOMEM;
		leaf->child[bit_at(n->key, cidr)] = n;
		n->parent = leaf;
		*slot = leaf;
		*added = leaf;
		return 0;
	}
	/* common < cidr and common < n->cidr: both keys are defined at bit common and differ there. */
	glue = new_node(key, common, NULL, parent);
	if (!glue)
		return -ENOMEM;
	leaf = new_node(key, cidr, peer, glue);
	if (!leaf) {
		free(glue);
		return -ENOMEM;
	}
	glue->child[bit_at(key, common)] = leaf;
	glue->child[bit_at(n->key, common)] = n;
	n->parent = glue;
	*slot = glue;
	*added = leaf;
	return 0;
}

int allowedips_insert(struct allowedips *t, int family, const uint8_t *addr, uint8_t cidr, void *peer)
{
	struct allowedips_node **slot, *n, *parent = NULL, *added = NULL;
	unsigned int bits = family_bits(family);
	int fam = fam_index(family);
	size_t *count;
	uint64_t key[2];
	int ret;

	if (!bits || !addr || !peer || cidr > bits)
		return -EINVAL;
	/* The owner first, so that running out of memory leaves the table as it was. */
	if (!owner_get(t, peer))
		return -ENOMEM;
	load_key(key, addr, bits);
	mask_key(key, cidr);
	slot = root_of(t, family);
	count = count_of(t, family);
	while ((n = *slot) && n->cidr <= cidr && covers(n, key)) {
		if (n->cidr == cidr) {
			if (n->peer == peer)
				return 0;
			if (n->peer)
				list_remove(t, n, fam);
			else
				++*count;
			n->peer = peer;
			list_append(owner_find(t, peer), n, fam);
			return 0;
		}
		parent = n;
		slot = &n->child[bit_at(key, n->cidr)];
	}
	ret = splice_in(slot, parent, key, cidr, peer, &added);
	if (ret) {
		drop_if_empty(t, owner_find(t, peer));
		return ret;
	}
	list_append(owner_find(t, peer), added, fam);
	++*count;
	return 0;
}

static struct allowedips_node *find_exact(struct allowedips_node *n, const uint64_t key[2], unsigned int cidr)
{
	while (n && n->cidr <= cidr && covers(n, key)) {
		if (n->cidr == cidr)
			return n;
		n = n->child[bit_at(key, n->cidr)];
	}
	return NULL;
}

int allowedips_remove(struct allowedips *t, int family, const uint8_t *addr, uint8_t cidr, void *peer)
{
	struct allowedips_node **root, *n;
	unsigned int bits = family_bits(family);
	uint64_t key[2];

	if (!bits || !addr || !peer || cidr > bits)
		return -EINVAL;
	load_key(key, addr, bits);
	mask_key(key, cidr);
	root = root_of(t, family);
	n = find_exact(*root, key, cidr);
	if (!n || n->peer != peer)
		return -ENOENT;
	list_remove(t, n, fam_index(family));
	n->peer = NULL;
	--*count_of(t, family);
	while (n)
		n = prune_one(root, n);
	return 0;
}

void allowedips_remove_by_peer(struct allowedips *t, void *peer)
{
	struct allowedips_owner *o;
	struct allowedips_node *n;
	int fam;

	if (!peer)
		return;
	for (fam = 0; fam < 2; fam++) {
		struct allowedips_node **root = fam ? &t->root6 : &t->root4;

		while ((o = owner_find(t, peer)) && (n = o->first[fam])) {
			list_remove(t, n, fam);
			n->peer = NULL;
			--*count_of(t, fam ? AF_INET6 : AF_INET);
			while (n)
				n = prune_one(root, n);
		}
	}
}

void *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *addr)
{
	const struct allowedips_node *n;
	unsigned int bits = family_bits(family);
	void *best = NULL;
	uint64_t key[2];

	if (!bits || !addr)
		return NULL;
	load_key(key, addr, bits);
	n = family == AF_INET ? t->root4 : t->root6;
	while (n && covers(n, key)) {
		if (n->peer)
			best = n->peer;
		if (n->cidr == bits)
			break;
		n = n->child[bit_at(key, n->cidr)];
	}
	return best;
}

static void *lookup_packet(const struct allowedips *t, const uint8_t *pkt, size_t len, bool dst)
{
	size_t ihl;

	if (!pkt || len < 1)
		return NULL;
	switch (pkt[0] >> 4) {
	case 4:
		ihl = (size_t)(pkt[0] & 0x0f) * 4;
		if (len < sizeof(struct iphdr) || ihl < sizeof(struct iphdr) || ihl > len)
			return NULL;
		return allowedips_lookup(t, AF_INET,
					 pkt + (dst ? offsetof(struct iphdr, daddr) : offsetof(struct iphdr, saddr)));
	case 6:
		if (len < sizeof(struct ip6_hdr))
			return NULL;
		return allowedips_lookup(t, AF_INET6,
					 pkt + (dst ? offsetof(struct ip6_hdr, ip6_dst) : offsetof(struct ip6_hdr, ip6_src)));
	default:
		return NULL;
	}
}

void *allowedips_lookup_dst(const struct allowedips *t, const uint8_t *pkt, size_t len)
{
	return lookup_packet(t, pkt, len, true);
}

void *allowedips_lookup_src(const struct allowedips *t, const uint8_t *pkt, size_t len)
{
	return lookup_packet(t, pkt, len, false);
}

static int walk_family(const struct allowedips_node *n, int family,
		       int (*cb)(void *ctx, int family, const uint8_t *addr, uint8_t cidr), void *ctx)
{
	unsigned int bits = family_bits(family);
	uint8_t addr[16];
	int ret;

	for (; n; n = n->peer_next) {
		store_key(addr, n->key, bits);
		ret = cb(ctx, family, addr, n->cidr);
		if (ret)
			return ret;
	}
	return 0;
}

int allowedips_walk_by_peer(const struct allowedips *t, void *peer,
			    int (*cb)(void *ctx, int family, const uint8_t *addr, uint8_t cidr), void *ctx)
{
	const struct allowedips_owner *o = peer ? owner_find(t, peer) : NULL;
	int ret;

	if (!o)
		return 0;
	ret = walk_family(o->first[0], AF_INET, cb, ctx);
	if (ret)
		return ret;
	/* cb may not modify the table, so o is still where it was. */
	return walk_family(o->first[1], AF_INET6, cb, ctx);
}

size_t allowedips_count(const struct allowedips *t)
{
	return t->count4 + t->count6;
}
