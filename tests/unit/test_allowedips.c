// SPDX-License-Identifier: MIT
/*
 * Allowed-ips table: fixed cases (including the insert/lookup sequence
 * published with the Linux driver's self-test), packet parsing, and a
 * randomized comparison against a linear-scan reference with heavily
 * overlapping prefixes. Every test ends in allowedips_uninit so that
 * ASan's leak checker sees any node the table forgot.
 *
 * Past the usual ~900 lines because it carries its own reference model, the
 * published table and a checker for the trie's shape; splitting them would
 * only scatter one module's tests.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "allowedips.h"

enum {
	NUM_PEERS = 8,
};

static int peer_storage[NUM_PEERS];
#define P(i) ((void *)&peer_storage[(i)])

static int family_of(const char *s)
{
	return strchr(s, ':') ? AF_INET6 : AF_INET;
}

static void parse(const char *s, uint8_t addr[16], int *family)
{
	memset(addr, 0, 16);
	*family = family_of(s);
	assert_int_equal(inet_pton(*family, s, addr), 1);
}

static int ins(struct allowedips *t, const char *s, uint8_t cidr, void *peer)
{
	uint8_t addr[16];
	int family;

	parse(s, addr, &family);
	return allowedips_insert(t, family, addr, cidr, peer);
}

static int rem(struct allowedips *t, const char *s, uint8_t cidr, void *peer)
{
	uint8_t addr[16];
	int family;

	parse(s, addr, &family);
	return allowedips_remove(t, family, addr, cidr, peer);
}

static void *look(const struct allowedips *t, const char *s)
{
	uint8_t addr[16];
	int family;

	parse(s, addr, &family);
	return allowedips_lookup(t, family, addr);
}

/* Trie shape, read through the node struct the header exposes. */

static unsigned int bit_at(const uint64_t key[2], unsigned int i)
{
	return (key[i >> 6] >> (63 - (i & 63))) & 1;
}

static bool key_masked(const uint64_t key[2], unsigned int cidr)
{
	unsigned int i;

	for (i = cidr; i < 128; i++) {
		if (bit_at(key, i))
			return false;
	}
	return true;
}

static bool key_extends(const uint64_t key[2], const uint64_t prefix[2], unsigned int cidr)
{
	unsigned int i;

	for (i = 0; i < cidr; i++) {
		if (bit_at(key, i) != bit_at(prefix, i))
			return false;
	}
	return true;
}

struct shape {
	size_t prefixes;
	size_t glue;
};

/* Recursion is fine here: depth is bounded by 129 because cidr grows along every path. */
static void check_node(const struct allowedips_node *n, const struct allowedips_node *parent, unsigned int bits,
		       struct shape *s)
{
	unsigned int i;

	assert_ptr_equal(n->parent, parent);
	assert_true(n->cidr <= bits);
	assert_true(key_masked(n->key, n->cidr));
	if (bits == 32)
		assert_true(key_masked(n->key, 32));
	if (parent) {
		assert_true(n->cidr > parent->cidr);
		assert_true(key_extends(n->key, parent->key, parent->cidr));
		assert_ptr_equal(parent->child[bit_at(n->key, parent->cidr)], n);
	}
	if (n->peer) {
		s->prefixes++;
	} else {
		/* A node without a prefix that does not join two subtrees should have been pruned. */
		assert_non_null(n->child[0]);
		assert_non_null(n->child[1]);
		s->glue++;
	}
	if (n->cidr == bits) {
		assert_null(n->child[0]);
		assert_null(n->child[1]);
	}
	for (i = 0; i < 2; i++) {
		if (n->child[i])
			check_node(n->child[i], n, bits, s);
	}
}

static void check_shape(const struct allowedips *t)
{
	struct shape s4 = { 0 }, s6 = { 0 };

	if (t->root4)
		check_node(t->root4, NULL, 32, &s4);
	if (t->root6)
		check_node(t->root6, NULL, 128, &s6);
	assert_int_equal(s4.prefixes, t->count4);
	assert_int_equal(s6.prefixes, t->count6);
	/* Every glue node has two children, so there are fewer glue nodes than prefixes. */
	assert_true(s4.glue < s4.prefixes || s4.prefixes == 0);
	assert_true(s6.glue < s6.prefixes || s6.prefixes == 0);
	assert_true(s4.prefixes || !t->root4);
	assert_true(s6.prefixes || !t->root6);
}

/* Walk collection for the fixed tests. */

struct seen {
	int family[16];
	char addr[16][INET6_ADDRSTRLEN];
	uint8_t cidr[16];
	size_t n;
	size_t stop_after;
};

static int collect(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct seen *s = ctx;

	assert_true(s->n < 16);
	s->family[s->n] = family;
	assert_non_null(inet_ntop(family, addr, s->addr[s->n], sizeof(s->addr[s->n])));
	s->cidr[s->n] = cidr;
	s->n++;
	return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

static bool seen_has(const struct seen *s, const char *addr, uint8_t cidr)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->family[i] == family_of(addr) && !strcmp(s->addr[i], addr) && s->cidr[i] == cidr)
			return true;
	}
	return false;
}

static void test_nested_v4(void **state)
{
	static const struct {
		const char *addr;
		int peer;
	} cases[] = {
		{ "10.1.2.3", 5 },   { "10.1.2.4", 4 },	  { "10.1.2.255", 4 }, { "10.1.3.1", 3 },
		{ "10.1.255.255", 3 }, { "10.2.0.0", 2 }, { "10.255.0.1", 2 }, { "11.0.0.0", 1 },
		{ "0.0.0.0", 1 },    { "255.255.255.255", 1 }, { "9.255.255.255", 1 },
	};
	struct allowedips t;
	size_t i;

	(void)state;
	allowedips_init(&t);
	assert_int_equal(ins(&t, "10.1.2.0", 24, P(4)), 0);
	assert_int_equal(ins(&t, "0.0.0.0", 0, P(1)), 0);
	assert_int_equal(ins(&t, "10.1.2.3", 32, P(5)), 0);
	assert_int_equal(ins(&t, "10.0.0.0", 8, P(2)), 0);
	assert_int_equal(ins(&t, "10.1.0.0", 16, P(3)), 0);
	assert_int_equal(allowedips_count(&t), 5);
	check_shape(&t);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_ptr_equal(look(&t, cases[i].addr), P(cases[i].peer));
	/* Removing the middle of the chain falls back to the next shorter prefix. */
	assert_int_equal(rem(&t, "10.1.0.0", 16, P(3)), 0);
	assert_ptr_equal(look(&t, "10.1.3.1"), P(2));
	assert_ptr_equal(look(&t, "10.1.2.4"), P(4));
	assert_int_equal(rem(&t, "0.0.0.0", 0, P(1)), 0);
	assert_null(look(&t, "11.0.0.0"));
	assert_ptr_equal(look(&t, "10.1.2.3"), P(5));
	assert_int_equal(allowedips_count(&t), 3);
	check_shape(&t);
	allowedips_uninit(&t);
	assert_int_equal(allowedips_count(&t), 0);
	assert_null(look(&t, "10.1.2.3"));
}

static void test_nested_v6(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	assert_int_equal(ins(&t, "2001:db8:1:2::", 64, P(3)), 0);
	assert_int_equal(ins(&t, "2001:db8:1::", 48, P(2)), 0);
	assert_int_equal(ins(&t, "::", 0, P(1)), 0);
	assert_int_equal(ins(&t, "2001:db8:1:2::42", 128, P(4)), 0);
	assert_int_equal(allowedips_count(&t), 4);
	check_shape(&t);
	assert_ptr_equal(look(&t, "2001:db8:1:2::42"), P(4));
	assert_ptr_equal(look(&t, "2001:db8:1:2::43"), P(3));
	assert_ptr_equal(look(&t, "2001:db8:1:2:ffff:ffff:ffff:ffff"), P(3));
	assert_ptr_equal(look(&t, "2001:db8:1:3::42"), P(2));
	assert_ptr_equal(look(&t, "2001:db8:1:ffff::"), P(2));
	assert_ptr_equal(look(&t, "2001:db8:2::"), P(1));
	assert_ptr_equal(look(&t, "::"), P(1));
	assert_ptr_equal(look(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), P(1));
	assert_int_equal(rem(&t, "::", 0, P(1)), 0);
	assert_null(look(&t, "2001:db8:2::"));
	assert_ptr_equal(look(&t, "2001:db8:1:2::42"), P(4));
	check_shape(&t);
	allowedips_uninit(&t);
}

static void test_host_bits_masked(void **state)
{
	struct seen s = { 0 };
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	assert_int_equal(ins(&t, "10.1.2.3", 8, P(1)), 0);
	assert_int_equal(ins(&t, "2001:db8:dead:beef::1", 32, P(1)), 0);
	assert_ptr_equal(look(&t, "10.200.0.1"), P(1));
	assert_ptr_equal(look(&t, "10.0.0.0"), P(1));
	assert_null(look(&t, "11.1.2.3"));
	assert_ptr_equal(look(&t, "2001:db8::"), P(1));
	assert_int_equal(allowedips_walk_by_peer(&t, P(1), collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.family[0], AF_INET);
	assert_string_equal(s.addr[0], "10.0.0.0");
	assert_int_equal(s.cidr[0], 8);
	assert_int_equal(s.family[1], AF_INET6);
	assert_string_equal(s.addr[1], "2001:db8::");
	assert_int_equal(s.cidr[1], 32);
	/* The same prefix spelt with other host bits is the same entry. */
	assert_int_equal(ins(&t, "10.9.9.9", 8, P(2)), 0);
	assert_int_equal(allowedips_count(&t), 2);
	assert_int_equal(rem(&t, "10.255.255.255", 8, P(2)), 0);
	assert_int_equal(allowedips_count(&t), 1);
	check_shape(&t);
	allowedips_uninit(&t);
}

static void test_replace_on_reinsert(void **state)
{
	struct seen s = { 0 };
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	assert_int_equal(ins(&t, "192.168.0.0", 16, P(1)), 0);
	assert_int_equal(ins(&t, "192.168.0.0", 16, P(2)), 0);
	assert_int_equal(allowedips_count(&t), 1);
	assert_ptr_equal(look(&t, "192.168.7.7"), P(2));
	assert_int_equal(allowedips_walk_by_peer(&t, P(1), collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(allowedips_walk_by_peer(&t, P(2), collect, &s), 0);
	assert_int_equal(s.n, 1);
	/* The old owner no longer holds it and cannot remove it. */
	assert_int_equal(rem(&t, "192.168.0.0", 16, P(1)), -ENOENT);
	assert_ptr_equal(look(&t, "192.168.7.7"), P(2));
	/* Same peer again: no duplicate. */
	assert_int_equal(ins(&t, "192.168.0.0", 16, P(2)), 0);
	assert_int_equal(allowedips_count(&t), 1);
	check_shape(&t);
	allowedips_uninit(&t);
}

static void test_remove(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	assert_int_equal(ins(&t, "10.0.0.0", 8, P(1)), 0);
	assert_int_equal(ins(&t, "10.1.0.0", 16, P(2)), 0);
	assert_int_equal(ins(&t, "fd00::", 8, P(1)), 0);
	assert_int_equal(rem(&t, "10.0.0.0", 8, P(2)), -ENOENT);
	assert_int_equal(rem(&t, "fd00::", 8, P(2)), -ENOENT);
	/* Covered or covering prefixes are not the prefix. */
	assert_int_equal(rem(&t, "10.0.0.0", 9, P(1)), -ENOENT);
	assert_int_equal(rem(&t, "10.0.0.0", 7, P(1)), -ENOENT);
	assert_int_equal(rem(&t, "10.1.0.0", 24, P(2)), -ENOENT);
	assert_int_equal(rem(&t, "11.0.0.0", 8, P(1)), -ENOENT);
	/* Same bits in the other family. */
	assert_int_equal(rem(&t, "a00::", 8, P(1)), -ENOENT);
	assert_int_equal(allowedips_count(&t), 3);
	assert_ptr_equal(look(&t, "10.2.0.0"), P(1));
	assert_int_equal(rem(&t, "10.0.0.0", 8, P(1)), 0);
	assert_int_equal(rem(&t, "10.0.0.0", 8, P(1)), -ENOENT);
	assert_null(look(&t, "10.2.0.0"));
	assert_ptr_equal(look(&t, "10.1.2.3"), P(2));
	assert_ptr_equal(look(&t, "fd00::1"), P(1));
	check_shape(&t);
	assert_int_equal(rem(&t, "10.1.0.0", 16, P(2)), 0);
	assert_int_equal(rem(&t, "fd00::", 8, P(1)), 0);
	assert_int_equal(allowedips_count(&t), 0);
	assert_null(t.root4);
	assert_null(t.root6);
	allowedips_uninit(&t);
}

static void test_remove_prunes_glue(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	/* Two siblings need a glue node at their first differing bit. */
	assert_int_equal(ins(&t, "10.0.0.0", 24, P(1)), 0);
	assert_int_equal(ins(&t, "10.0.1.0", 24, P(2)), 0);
	check_shape(&t);
	assert_null(t.root4->peer);
	assert_int_equal(t.root4->cidr, 23);
	assert_int_equal(rem(&t, "10.0.0.0", 24, P(1)), 0);
	check_shape(&t);
	assert_non_null(t.root4);
	assert_int_equal(t.root4->cidr, 24);
	assert_null(t.root4->parent);
	assert_int_equal(rem(&t, "10.0.1.0", 24, P(2)), 0);
	assert_null(t.root4);
	/* A prefix node keeps its place while it holds a prefix, and leaves a glue node when it loses it. */
	assert_int_equal(ins(&t, "10.0.0.0", 8, P(1)), 0);
	assert_int_equal(ins(&t, "10.1.0.0", 16, P(2)), 0);
	assert_int_equal(ins(&t, "10.128.0.0", 16, P(3)), 0);
	assert_int_equal(rem(&t, "10.0.0.0", 8, P(1)), 0);
	check_shape(&t);
	assert_null(t.root4->peer);
	assert_int_equal(rem(&t, "10.128.0.0", 16, P(3)), 0);
	check_shape(&t);
	assert_ptr_equal(t.root4->peer, P(2));
	assert_null(t.root4->child[0]);
	assert_null(t.root4->child[1]);
	/* Inserting at a glue node's exact prefix turns it into a prefix node. */
	assert_int_equal(ins(&t, "10.0.0.0", 24, P(4)), 0);
	assert_int_equal(ins(&t, "10.0.1.0", 24, P(5)), 0);
	assert_int_equal(ins(&t, "10.0.0.0", 23, P(6)), 0);
	assert_int_equal(allowedips_count(&t), 4);
	check_shape(&t);
	allowedips_uninit(&t);
}

static void test_remove_by_peer(void **state)
{
	struct seen s = { 0 };
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	assert_int_equal(ins(&t, "1.0.0.0", 32, P(1)), 0);
	assert_int_equal(ins(&t, "64.0.0.0", 32, P(1)), 0);
	assert_int_equal(ins(&t, "128.0.0.0", 32, P(1)), 0);
	assert_int_equal(ins(&t, "192.0.0.0", 32, P(1)), 0);
	assert_int_equal(ins(&t, "255.0.0.0", 32, P(1)), 0);
	assert_int_equal(ins(&t, "192.0.0.0", 8, P(2)), 0);
	assert_int_equal(ins(&t, "0.0.0.0", 0, P(3)), 0);
	assert_int_equal(ins(&t, "2001:db8::", 32, P(1)), 0);
	assert_int_equal(ins(&t, "2001:db8::1", 128, P(2)), 0);
	assert_int_equal(allowedips_count(&t), 9);
	allowedips_remove_by_peer(&t, P(1));
	check_shape(&t);
	assert_int_equal(allowedips_count(&t), 3);
	assert_ptr_equal(look(&t, "1.0.0.0"), P(3));
	assert_ptr_equal(look(&t, "64.0.0.0"), P(3));
	assert_ptr_equal(look(&t, "192.0.0.0"), P(2));
	assert_ptr_equal(look(&t, "255.0.0.0"), P(3));
	assert_ptr_equal(look(&t, "2001:db8::1"), P(2));
	assert_null(look(&t, "2001:db8::2"));
	assert_int_equal(allowedips_walk_by_peer(&t, P(1), collect, &s), 0);
	assert_int_equal(s.n, 0);
	/* A peer that owns nothing, and NULL, change nothing. */
	allowedips_remove_by_peer(&t, P(7));
	allowedips_remove_by_peer(&t, NULL);
	assert_int_equal(allowedips_count(&t), 3);
	allowedips_remove_by_peer(&t, P(2));
	allowedips_remove_by_peer(&t, P(3));
	assert_int_equal(allowedips_count(&t), 0);
	assert_null(t.root4);
	assert_null(t.root6);
	/* Nested prefixes of one peer (the kernel self-test's case). */
	assert_int_equal(ins(&t, "192.168.0.0", 16, P(1)), 0);
	assert_int_equal(ins(&t, "192.168.0.0", 24, P(1)), 0);
	allowedips_remove_by_peer(&t, P(1));
	assert_null(look(&t, "192.168.0.1"));
	assert_null(t.root4);
	allowedips_uninit(&t);
}

static void test_families_independent(void **state)
{
	uint8_t v4[4] = { 10, 0, 0, 1 };
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	assert_int_equal(ins(&t, "10.0.0.0", 8, P(1)), 0);
	assert_null(look(&t, "::ffff:10.0.0.1"));
	assert_null(look(&t, "a00::"));
	assert_int_equal(ins(&t, "::", 0, P(2)), 0);
	assert_ptr_equal(look(&t, "::ffff:10.0.0.1"), P(2));
	assert_ptr_equal(look(&t, "10.0.0.1"), P(1));
	assert_null(look(&t, "11.0.0.1"));
	assert_int_equal(ins(&t, "::ffff:10.0.0.0", 104, P(3)), 0);
	assert_ptr_equal(look(&t, "10.0.0.1"), P(1));
	assert_ptr_equal(allowedips_lookup(&t, AF_INET, v4), P(1));
	assert_null(allowedips_lookup(&t, AF_UNIX, v4));
	assert_null(allowedips_lookup(&t, AF_INET, NULL));
	assert_int_equal(t.count4, 1);
	assert_int_equal(t.count6, 2);
	allowedips_uninit(&t);
}

static void test_invalid(void **state)
{
	uint8_t addr[16] = { 10 };
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	assert_int_equal(allowedips_insert(&t, AF_INET, addr, 33, P(1)), -EINVAL);
	assert_int_equal(allowedips_insert(&t, AF_INET6, addr, 129, P(1)), -EINVAL);
	assert_int_equal(allowedips_insert(&t, AF_INET6, addr, 255, P(1)), -EINVAL);
	assert_int_equal(allowedips_insert(&t, AF_UNIX, addr, 8, P(1)), -EINVAL);
	assert_int_equal(allowedips_insert(&t, AF_UNSPEC, addr, 0, P(1)), -EINVAL);
	assert_int_equal(allowedips_insert(&t, AF_INET, addr, 8, NULL), -EINVAL);
	assert_int_equal(allowedips_insert(&t, AF_INET, NULL, 8, P(1)), -EINVAL);
	assert_int_equal(allowedips_count(&t), 0);
	assert_null(t.root4);
	assert_null(t.root6);
	assert_int_equal(allowedips_insert(&t, AF_INET, addr, 32, P(1)), 0);
	assert_int_equal(allowedips_insert(&t, AF_INET6, addr, 128, P(1)), 0);
	assert_int_equal(allowedips_remove(&t, AF_INET, addr, 33, P(1)), -EINVAL);
	assert_int_equal(allowedips_remove(&t, AF_INET6, addr, 129, P(1)), -EINVAL);
	assert_int_equal(allowedips_remove(&t, AF_UNIX, addr, 8, P(1)), -EINVAL);
	assert_int_equal(allowedips_remove(&t, AF_INET, addr, 32, NULL), -EINVAL);
	assert_int_equal(allowedips_remove(&t, AF_INET, NULL, 32, P(1)), -EINVAL);
	assert_int_equal(allowedips_count(&t), 2);
	allowedips_uninit(&t);
}

/* Each peer's list follows its prefixes through reassignment, removal and pruning, in insertion order. */
static void test_peer_lists(void **state)
{
	static const struct {
		const char *addr;
		uint8_t cidr;
		int peer;
	} steps[] = {
		{ "10.0.0.0", 24, 1 }, { "fd00::", 64, 1 }, { "10.0.1.0", 24, 2 }, { "10.0.0.0", 16, 1 },
		{ "10.0.1.0", 24, 1 }, /* taken over from peer 2 */
		{ "192.168.0.0", 16, 2 },
	};
	struct seen s = { 0 };
	struct allowedips t;
	size_t i;

	(void)state;
	allowedips_init(&t);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		assert_int_equal(ins(&t, steps[i].addr, steps[i].cidr, P(steps[i].peer)), 0);
	assert_int_equal(allowedips_walk_by_peer(&t, P(1), collect, &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.addr[0], "10.0.0.0");
	assert_int_equal(s.cidr[0], 24);
	assert_int_equal(s.cidr[1], 16);
	assert_string_equal(s.addr[2], "10.0.1.0");
	assert_string_equal(s.addr[3], "fd00::");
	s.n = 0;
	assert_int_equal(allowedips_walk_by_peer(&t, P(2), collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.addr[0], "192.168.0.0");
	/* Removing from the middle of a list, then the whole peer. */
	assert_int_equal(rem(&t, "10.0.0.0", 16, P(1)), 0);
	s.n = 0;
	assert_int_equal(allowedips_walk_by_peer(&t, P(1), collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.cidr[1], 24);
	assert_string_equal(s.addr[1], "10.0.1.0");
	allowedips_remove_by_peer(&t, P(1));
	assert_int_equal(allowedips_count(&t), 1);
	assert_int_equal(t.owners_used, 1);
	assert_ptr_equal(look(&t, "192.168.1.1"), P(2));
	assert_null(look(&t, "10.0.1.1"));
	check_shape(&t);
	allowedips_remove_by_peer(&t, P(2));
	assert_int_equal(t.owners_used, 0);
	assert_null(t.root4);
	assert_null(t.root6);
	allowedips_uninit(&t);
}

static void test_walk_stops_early(void **state)
{
	struct seen s = { .stop_after = 2 };
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	assert_int_equal(ins(&t, "10.0.0.0", 8, P(1)), 0);
	assert_int_equal(ins(&t, "10.0.0.0", 16, P(2)), 0);
	assert_int_equal(ins(&t, "10.0.0.0", 24, P(1)), 0);
	assert_int_equal(ins(&t, "172.16.0.0", 12, P(1)), 0);
	assert_int_equal(ins(&t, "fd00::", 8, P(1)), 0);
	assert_int_equal(allowedips_walk_by_peer(&t, P(1), collect, &s), 42);
	assert_int_equal(s.n, 2);
	s.n = 0;
	s.stop_after = 0;
	assert_int_equal(allowedips_walk_by_peer(&t, P(1), collect, &s), 0);
	assert_int_equal(s.n, 4);
	/* IPv4 first, then address order with the shorter prefix first. */
	assert_string_equal(s.addr[0], "10.0.0.0");
	assert_int_equal(s.cidr[0], 8);
	assert_string_equal(s.addr[1], "10.0.0.0");
	assert_int_equal(s.cidr[1], 24);
	assert_string_equal(s.addr[2], "172.16.0.0");
	assert_string_equal(s.addr[3], "fd00::");
	s.n = 0;
	assert_int_equal(allowedips_walk_by_peer(&t, NULL, collect, &s), 0);
	assert_int_equal(s.n, 0);
	allowedips_uninit(&t);
}

/* Published with the Linux driver's allowedips self-test; peers a..h are 0..7. */
static const struct {
	int peer;
	const char *addr;
	uint8_t cidr;
} kernel_inserts[] = {
	{ 0, "192.168.4.0", 24 },
	{ 1, "192.168.4.4", 32 },
	{ 2, "192.168.0.0", 16 },
	{ 3, "192.95.5.64", 27 },
	{ 2, "192.95.5.65", 27 },
	{ 3, "2607:5300:6000:6b00::c05f:543", 128 },
	{ 2, "2607:5300:6000:6b00::", 64 },
	{ 4, "0.0.0.0", 0 },
	{ 4, "::", 0 },
	{ 5, "::", 0 },
	{ 6, "2404:6800::", 32 },
	{ 7, "2404:6800:4004:800:dead:beef:dead:beef", 64 },
	{ 0, "2404:6800:4004:800:dead:beef:dead:beef", 128 },
	{ 2, "2444:6800:40e4:800:deae:beef:def:beef", 128 },
	{ 1, "2444:6800:f0e4:800:eeae:beef::", 98 },
	{ 6, "64.15.112.0", 20 },
	{ 7, "64.15.123.211", 25 },
	{ 0, "10.0.0.0", 25 },
	{ 1, "10.0.0.128", 25 },
	{ 0, "10.1.0.0", 30 },
	{ 1, "10.1.0.4", 30 },
	{ 2, "10.1.0.8", 29 },
	{ 3, "10.1.0.16", 29 },
};

static const struct {
	int peer;
	const char *addr;
} kernel_lookups[] = {
	{ 0, "192.168.4.20" },
	{ 0, "192.168.4.0" },
	{ 1, "192.168.4.4" },
	{ 2, "192.168.200.182" },
	{ 2, "192.95.5.68" },
	{ 4, "192.95.5.96" },
	{ 3, "2607:5300:6000:6b00::c05f:543" },
	{ 2, "2607:5300:6000:6b00::c02e:1ee" },
	{ 5, "2607:5300:6000:6b01::" },
	{ 6, "2404:6800:4004:806::1006" },
	{ 6, "2404:6800:4004:806:0:1234:0:5678" },
	{ 5, "2404:67ff:4004:806:0:1234:0:5678" },
	{ 5, "2404:6801:4004:806:0:1234:0:5678" },
	{ 7, "2404:6800:4004:800:0:1234:0:5678" },
	{ 7, "2404:6800:4004:800::" },
	{ 7, "2404:6800:4004:800:1010:1010:1010:1010" },
	{ 0, "2404:6800:4004:800:dead:beef:dead:beef" },
	{ 6, "64.15.116.26" },
	{ 6, "64.15.127.3" },
	{ 6, "64.15.123.1" },
	{ 7, "64.15.123.128" },
	{ 7, "64.15.123.129" },
	{ 0, "10.0.0.52" },
	{ 1, "10.0.0.220" },
	{ 0, "10.1.0.2" },
	{ 1, "10.1.0.6" },
	{ 2, "10.1.0.10" },
	{ 3, "10.1.0.20" },
};

static void test_kernel_sequence(void **state)
{
	struct allowedips t;
	struct seen s = { 0 };
	uint8_t addr[16];
	unsigned int i;

	(void)state;
	allowedips_init(&t);
	for (i = 0; i < sizeof(kernel_inserts) / sizeof(kernel_inserts[0]); i++)
		assert_int_equal(ins(&t, kernel_inserts[i].addr, kernel_inserts[i].cidr, P(kernel_inserts[i].peer)), 0);
	check_shape(&t);
	for (i = 0; i < sizeof(kernel_lookups) / sizeof(kernel_lookups[0]); i++) {
		if (look(&t, kernel_lookups[i].addr) != P(kernel_lookups[i].peer))
			fail_msg("lookup %s: want peer %d", kernel_lookups[i].addr, kernel_lookups[i].peer);
	}
	assert_int_equal(ins(&t, "1.0.0.0", 32, P(0)), 0);
	assert_int_equal(ins(&t, "64.0.0.0", 32, P(0)), 0);
	assert_int_equal(ins(&t, "128.0.0.0", 32, P(0)), 0);
	assert_int_equal(ins(&t, "192.0.0.0", 32, P(0)), 0);
	assert_int_equal(ins(&t, "255.0.0.0", 32, P(0)), 0);
	allowedips_remove_by_peer(&t, P(0));
	assert_ptr_not_equal(look(&t, "1.0.0.0"), P(0));
	assert_ptr_not_equal(look(&t, "255.0.0.0"), P(0));
	check_shape(&t);
	allowedips_uninit(&t);

	/* One /128 per bit position: each differs from all-ones in exactly one bit. */
	allowedips_init(&t);
	for (i = 0; i < 128; i++) {
		memset(addr, 0xff, sizeof(addr));
		addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		assert_int_equal(allowedips_insert(&t, AF_INET6, addr, 128, P(0)), 0);
	}
	assert_int_equal(allowedips_count(&t), 128);
	check_shape(&t);
	for (i = 0; i < 128; i++) {
		memset(addr, 0xff, sizeof(addr));
		addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		assert_ptr_equal(allowedips_lookup(&t, AF_INET6, addr), P(0));
	}
	memset(addr, 0xff, sizeof(addr));
	assert_null(allowedips_lookup(&t, AF_INET6, addr));
	allowedips_uninit(&t);

	/* Walk reports masked prefixes. */
	allowedips_init(&t);
	assert_int_equal(ins(&t, "192.95.5.93", 27, P(0)), 0);
	assert_int_equal(ins(&t, "2607:5300:6000:6b00::c05f:543", 128, P(0)), 0);
	assert_int_equal(ins(&t, "10.1.0.20", 29, P(0)), 0);
	assert_int_equal(ins(&t, "2607:5300:6d8a:6bf8:dab1:f1df:c05f:1523", 83, P(0)), 0);
	assert_int_equal(ins(&t, "2607:5300:6d8a:6bf8:dab1:f1df:c05f:1523", 21, P(0)), 0);
	assert_int_equal(allowedips_walk_by_peer(&t, P(0), collect, &s), 0);
	assert_int_equal(s.n, 5);
	assert_true(seen_has(&s, "192.95.5.64", 27));
	assert_true(seen_has(&s, "2607:5300:6000:6b00::c05f:543", 128));
	assert_true(seen_has(&s, "10.1.0.16", 29));
	assert_true(seen_has(&s, "2607:5300:6d8a:6bf8:dab1:e000::", 83));
	assert_true(seen_has(&s, "2607:5000::", 21));
	allowedips_uninit(&t);
}

/* Packet parsing. */

static void make_v4(uint8_t *pkt, size_t len, uint8_t ihl_words, const char *src, const char *dst)
{
	memset(pkt, 0, len);
	pkt[0] = (uint8_t)(0x40 | ihl_words);
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	pkt[8] = 64;
	pkt[9] = IPPROTO_UDP;
	assert_int_equal(inet_pton(AF_INET, src, pkt + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, pkt + 16), 1);
}

static void make_v6(uint8_t *pkt, size_t len, const char *src, const char *dst)
{
	memset(pkt, 0, len);
	pkt[0] = 0x60;
	pkt[4] = (uint8_t)((len - 40) >> 8);
	pkt[5] = (uint8_t)(len - 40);
	pkt[6] = IPPROTO_UDP;
	pkt[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, pkt + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, pkt + 24), 1);
}

static void test_lookup_packet(void **state)
{
	struct allowedips t;
	uint8_t pkt[64];
	size_t len;

	(void)state;
	allowedips_init(&t);
	assert_int_equal(ins(&t, "10.0.0.0", 8, P(1)), 0);
	assert_int_equal(ins(&t, "192.168.1.0", 24, P(2)), 0);
	assert_int_equal(ins(&t, "fd00::", 8, P(3)), 0);
	assert_int_equal(ins(&t, "2001:db8::", 32, P(4)), 0);

	make_v4(pkt, 28, 5, "192.168.1.7", "10.9.8.7");
	assert_ptr_equal(allowedips_lookup_dst(&t, pkt, 28), P(1));
	assert_ptr_equal(allowedips_lookup_src(&t, pkt, 28), P(2));
	assert_ptr_equal(allowedips_lookup_dst(&t, pkt, 20), P(1));
	assert_null(allowedips_lookup_dst(&t, pkt, 19));
	assert_null(allowedips_lookup_src(&t, pkt, 19));
	assert_null(allowedips_lookup_dst(&t, pkt, 1));
	assert_null(allowedips_lookup_dst(&t, pkt, 0));
	assert_null(allowedips_lookup_dst(&t, NULL, 28));
	/* Addresses no prefix covers. */
	make_v4(pkt, 20, 5, "8.8.8.8", "1.1.1.1");
	assert_null(allowedips_lookup_dst(&t, pkt, 20));
	assert_null(allowedips_lookup_src(&t, pkt, 20));
	/* IPv4 options: IHL 6 needs 24 bytes; IHL below 5 is malformed. */
	make_v4(pkt, 24, 6, "192.168.1.7", "10.9.8.7");
	assert_ptr_equal(allowedips_lookup_dst(&t, pkt, 24), P(1));
	assert_null(allowedips_lookup_dst(&t, pkt, 23));
	make_v4(pkt, 24, 15, "192.168.1.7", "10.9.8.7");
	assert_null(allowedips_lookup_dst(&t, pkt, 24));
	assert_ptr_equal(allowedips_lookup_dst(&t, pkt, 60), P(1));
	make_v4(pkt, 24, 4, "192.168.1.7", "10.9.8.7");
	assert_null(allowedips_lookup_dst(&t, pkt, 24));
	assert_null(allowedips_lookup_src(&t, pkt, 24));
	make_v4(pkt, 24, 0, "192.168.1.7", "10.9.8.7");
	assert_null(allowedips_lookup_dst(&t, pkt, 24));
	/* Wrong versions with an otherwise good IPv4 header. */
	make_v4(pkt, 60, 5, "192.168.1.7", "10.9.8.7");
	pkt[0] = 0x55;
	assert_null(allowedips_lookup_dst(&t, pkt, 60));
	pkt[0] = 0x05;
	assert_null(allowedips_lookup_dst(&t, pkt, 60));
	pkt[0] = 0xf5;
	assert_null(allowedips_lookup_src(&t, pkt, 60));
	/* A 20-byte IPv4-sized buffer claiming version 6 is too short for IPv6. */
	pkt[0] = 0x65;
	assert_null(allowedips_lookup_dst(&t, pkt, 20));

	len = 48;
	make_v6(pkt, len, "2001:db8::1", "fd00::1");
	assert_ptr_equal(allowedips_lookup_dst(&t, pkt, len), P(3));
	assert_ptr_equal(allowedips_lookup_src(&t, pkt, len), P(4));
	assert_ptr_equal(allowedips_lookup_dst(&t, pkt, 40), P(3));
	assert_null(allowedips_lookup_dst(&t, pkt, 39));
	assert_null(allowedips_lookup_src(&t, pkt, 39));
	pkt[0] = 0x40;
	assert_null(allowedips_lookup_dst(&t, pkt, 40));
	pkt[0] = 0x70;
	assert_null(allowedips_lookup_dst(&t, pkt, 40));
	/* A v4-mapped address in an IPv6 header does not reach the IPv4 table. */
	make_v6(pkt, 40, "::ffff:192.168.1.7", "::ffff:10.1.1.1");
	assert_null(allowedips_lookup_dst(&t, pkt, 40));
	assert_null(allowedips_lookup_src(&t, pkt, 40));
	allowedips_uninit(&t);
}

/* Randomized comparison against a linear reference. */

enum {
	RAND_OPS = 40000,
	REF_SOFT_MAX = 400,
	POOL = 4,
	CHECK_EVERY = 512,
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int rnd_below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

struct ref_entry {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
	void *peer;
	bool seen;
};

struct ref {
	struct ref_entry *e;
	size_t n;
	size_t cap;
	uint64_t seed;
	size_t op;
	uint8_t pool4[POOL][16];
	uint8_t pool6[POOL][16];
};

static unsigned int bits_of(int family)
{
	return family == AF_INET ? 32 : 128;
}

static void mask_bytes(uint8_t *addr, unsigned int cidr, unsigned int bits)
{
	unsigned int i;

	for (i = cidr; i < bits; i++)
		addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

static bool ref_covers(const struct ref_entry *e, int family, const uint8_t *addr)
{
	uint8_t masked[16];

	if (e->family != family)
		return false;
	memcpy(masked, addr, 16);
	mask_bytes(masked, e->cidr, bits_of(family));
	return !memcmp(masked, e->addr, bits_of(family) / 8);
}

static struct ref_entry *ref_find(struct ref *r, int family, const uint8_t *masked, uint8_t cidr)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->e[i].family == family && r->e[i].cidr == cidr &&
		    !memcmp(r->e[i].addr, masked, bits_of(family) / 8))
			return &r->e[i];
	}
	return NULL;
}

static void *ref_lookup(const struct ref *r, int family, const uint8_t *addr)
{
	const struct ref_entry *best = NULL;
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (ref_covers(&r->e[i], family, addr) && (!best || r->e[i].cidr > best->cidr))
			best = &r->e[i];
	}
	return best ? best->peer : NULL;
}

static void ref_insert(struct ref *r, int family, const uint8_t *addr, uint8_t cidr, void *peer)
{
	struct ref_entry *e;
	uint8_t masked[16] = { 0 };

	memcpy(masked, addr, bits_of(family) / 8);
	mask_bytes(masked, cidr, bits_of(family));
	e = ref_find(r, family, masked, cidr);
	if (!e) {
		assert_true(r->n < r->cap);
		e = &r->e[r->n++];
		memset(e, 0, sizeof(*e));
		e->family = family;
		memcpy(e->addr, masked, 16);
		e->cidr = cidr;
	}
	e->peer = peer;
}

static int ref_remove(struct ref *r, int family, const uint8_t *addr, uint8_t cidr, void *peer)
{
	struct ref_entry *e;
	uint8_t masked[16] = { 0 };

	memcpy(masked, addr, bits_of(family) / 8);
	mask_bytes(masked, cidr, bits_of(family));
	e = ref_find(r, family, masked, cidr);
	if (!e || e->peer != peer)
		return -ENOENT;
	*e = r->e[--r->n];
	return 0;
}

static void ref_remove_by_peer(struct ref *r, void *peer)
{
	size_t i = 0;

	while (i < r->n) {
		if (r->e[i].peer == peer)
			r->e[i] = r->e[--r->n];
		else
			i++;
	}
}

/*
 * Addresses share a random-length prefix with one of a few pool addresses and
 * are random after it, so generated prefixes nest and collide often.
 */
static void gen_addr(struct ref *r, int family, uint8_t addr[16])
{
	unsigned int bits = bits_of(family), keep = rnd_below(bits + 1), i;
	const uint8_t *base = family == AF_INET ? r->pool4[rnd_below(POOL)] : r->pool6[rnd_below(POOL)];

	memset(addr, 0, 16);
	memcpy(addr, base, bits / 8);
	for (i = keep; i < bits; i++) {
		if (rnd() & 1)
			addr[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	}
}

static uint8_t gen_cidr(int family)
{
	unsigned int bits = bits_of(family);

	/* Mostly uniform; a few near /0 (they cover everything, so keep them rare) and near host routes. */
	switch (rnd_below(32)) {
	case 0:
		return (uint8_t)rnd_below(4);
	case 1 ... 6:
		return (uint8_t)(bits - rnd_below(4));
	default:
		return (uint8_t)rnd_below(bits + 1);
	}
}

static int gen_family(void)
{
	return rnd_below(2) ? AF_INET : AF_INET6;
}

#define RCHECK(cond, ...)                                                                                    \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			print_error("allowedips random: seed %#llx op %zu: ", (unsigned long long)r->seed, r->op); \
			fail_msg(__VA_ARGS__);                                                               \
		}                                                                                            \
	} while (0)

struct walk_ctx {
	struct ref *r;
	void *peer;
	size_t visits;
};

static int walk_check(void *arg, int family, const uint8_t *addr, uint8_t cidr)
{
	struct walk_ctx *w = arg;
	struct ref *r = w->r;
	struct ref_entry *e = ref_find(r, family, addr, cidr);

	RCHECK(e, "walk reported a prefix the reference does not hold (cidr %u)", cidr);
	RCHECK(e->peer == w->peer, "walk reported another peer's prefix (cidr %u)", cidr);
	RCHECK(!e->seen, "walk reported a prefix twice (cidr %u)", cidr);
	e->seen = true;
	w->visits++;
	return 0;
}

static void check_against_ref(struct ref *r, const struct allowedips *t)
{
	struct walk_ctx w = { .r = r };
	size_t i, want;
	int p;

	RCHECK(allowedips_count(t) == r->n, "count %zu, reference %zu", allowedips_count(t), r->n);
	for (p = 0; p < NUM_PEERS; p++) {
		for (i = 0; i < r->n; i++)
			r->e[i].seen = false;
		w.peer = P(p);
		w.visits = 0;
		RCHECK(allowedips_walk_by_peer(t, P(p), walk_check, &w) == 0, "walk returned non-zero");
		for (i = 0, want = 0; i < r->n; i++)
			want += r->e[i].peer == P(p);
		RCHECK(w.visits == want, "walk of peer %d visited %zu, reference has %zu", p, w.visits, want);
	}
	check_shape(t);
}

static void check_lookup(struct ref *r, const struct allowedips *t, int family, const uint8_t *addr)
{
	uint8_t pkt[40] = { 0 };
	void *want = ref_lookup(r, family, addr);
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, s, sizeof(s));
	RCHECK(allowedips_lookup(t, family, addr) == want, "lookup %s", s);
	if (family == AF_INET) {
		pkt[0] = 0x45;
		memcpy(pkt + 16, addr, 4);
		RCHECK(allowedips_lookup_dst(t, pkt, 20) == want, "lookup_dst %s", s);
		memcpy(pkt + 12, addr, 4);
		RCHECK(allowedips_lookup_src(t, pkt, 20) == want, "lookup_src %s", s);
	} else {
		pkt[0] = 0x60;
		memcpy(pkt + 24, addr, 16);
		RCHECK(allowedips_lookup_dst(t, pkt, 40) == want, "lookup_dst %s", s);
		memcpy(pkt + 8, addr, 16);
		RCHECK(allowedips_lookup_src(t, pkt, 40) == want, "lookup_src %s", s);
	}
}

/* Removes a stored prefix, spelt with random host bits, by its owner or (sometimes) by someone else. */
static void op_remove_existing(struct ref *r, struct allowedips *t)
{
	struct ref_entry e = r->e[rnd_below((unsigned int)r->n)];
	unsigned int bits = bits_of(e.family), i;
	void *peer = rnd_below(4) ? e.peer : P(rnd_below(NUM_PEERS));
	int want, got;

	for (i = e.cidr; i < bits; i++) {
		if (rnd() & 1)
			e.addr[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	}
	want = ref_remove(r, e.family, e.addr, e.cidr, peer);
	got = allowedips_remove(t, e.family, e.addr, e.cidr, peer);
	RCHECK(got == want, "remove existing /%u: got %d want %d", e.cidr, got, want);
}

static void random_op(struct ref *r, struct allowedips *t)
{
	unsigned int dice = rnd_below(1000), i;
	int family = gen_family(), want, got;
	uint8_t addr[16], cidr;
	void *peer;

	if (dice < 400 && r->n < REF_SOFT_MAX) {
		gen_addr(r, family, addr);
		cidr = gen_cidr(family);
		peer = P(rnd_below(NUM_PEERS));
		ref_insert(r, family, addr, cidr, peer);
		got = allowedips_insert(t, family, addr, cidr, peer);
		RCHECK(got == 0, "insert /%u returned %d", cidr, got);
	} else if (dice < 600 && r->n) {
		op_remove_existing(r, t);
	} else if (dice < 700) {
		gen_addr(r, family, addr);
		cidr = gen_cidr(family);
		peer = P(rnd_below(NUM_PEERS));
		want = ref_remove(r, family, addr, cidr, peer);
		got = allowedips_remove(t, family, addr, cidr, peer);
		RCHECK(got == want, "remove random /%u: got %d want %d", cidr, got, want);
	} else if (dice < 712) {
		/* Per-peer lists: removing one peer leaves every other peer's walk whole. */
		peer = P(rnd_below(NUM_PEERS));
		ref_remove_by_peer(r, peer);
		allowedips_remove_by_peer(t, peer);
		RCHECK(allowedips_count(t) == r->n, "count after remove_by_peer");
		check_against_ref(r, t);
	} else {
		for (i = 0; i < 4; i++) {
			family = gen_family();
			gen_addr(r, family, addr);
			/* Now and then an address from anywhere, which mostly misses the pool's prefixes. */
			if (i == 0)
				addr[0] = (uint8_t)rnd();
			check_lookup(r, t, family, addr);
		}
	}
}

static void test_random_vs_reference(void **state)
{
	struct ref ref = { 0 }, *r = &ref;
	const char *env = getenv("WGUD_ALLOWEDIPS_SEED");
	struct allowedips t;
	unsigned int i, j;
	int p;

	(void)state;
	r->seed = env ? strtoull(env, NULL, 0) : 0x5eed0a11d1b5ULL;
	rng_state = r->seed;
	r->cap = REF_SOFT_MAX + 1;
	r->e = calloc(r->cap, sizeof(*r->e));
	assert_non_null(r->e);
	for (i = 0; i < POOL; i++) {
		for (j = 0; j < 16; j++) {
			r->pool4[i][j] = (uint8_t)rnd();
			r->pool6[i][j] = (uint8_t)rnd();
		}
	}
	/* Pool members share their first bits too, so the pools overlap each other. */
	for (i = 1; i < POOL; i++) {
		r->pool4[i][0] = r->pool4[0][0];
		memcpy(r->pool6[i], r->pool6[0], 4);
	}

	allowedips_init(&t);
	for (r->op = 0; r->op < RAND_OPS; r->op++) {
		random_op(r, &t);
		if (r->op % CHECK_EVERY == 0)
			check_against_ref(r, &t);
	}
	check_against_ref(r, &t);
	RCHECK(r->n > 0, "reference empty at the end: the op mix drains the table");

	/* Draining by peer must leave nothing behind, not even glue. */
	for (p = 0; p < NUM_PEERS; p++) {
		ref_remove_by_peer(r, P(p));
		allowedips_remove_by_peer(&t, P(p));
		check_against_ref(r, &t);
	}
	assert_null(t.root4);
	assert_null(t.root6);
	allowedips_uninit(&t);
	free(r->e);
}

/* Many prefixes left in the table at uninit: ASan's leak check covers the teardown. */
static void test_uninit_frees_all(void **state)
{
	uint8_t addr[16];
	struct allowedips t;
	unsigned int i;

	(void)state;
	rng_state = 1;
	allowedips_init(&t);
	for (i = 0; i < 2000; i++) {
		memset(addr, 0, sizeof(addr));
		addr[0] = (uint8_t)rnd();
		addr[1] = (uint8_t)rnd();
		addr[15] = (uint8_t)i;
		assert_int_equal(allowedips_insert(&t, AF_INET6, addr, (uint8_t)rnd_below(129), P(i % NUM_PEERS)), 0);
		assert_int_equal(allowedips_insert(&t, AF_INET, addr, (uint8_t)rnd_below(33), P(i % NUM_PEERS)), 0);
	}
	check_shape(&t);
	assert_true(allowedips_count(&t) > 1000);
	allowedips_uninit(&t);
	assert_int_equal(allowedips_count(&t), 0);
	assert_null(t.root4);
	assert_null(t.root6);
	/* Reusable after uninit; uninit on an empty table is harmless. */
	assert_int_equal(ins(&t, "10.0.0.0", 8, P(1)), 0);
	assert_ptr_equal(look(&t, "10.1.1.1"), P(1));
	allowedips_uninit(&t);
	allowedips_uninit(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_v4),
		cmocka_unit_test(test_nested_v6),
		cmocka_unit_test(test_host_bits_masked),
		cmocka_unit_test(test_replace_on_reinsert),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remove_prunes_glue),
		cmocka_unit_test(test_remove_by_peer),
		cmocka_unit_test(test_peer_lists),
		cmocka_unit_test(test_families_independent),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_walk_stops_early),
		cmocka_unit_test(test_kernel_sequence),
		cmocka_unit_test(test_lookup_packet),
		cmocka_unit_test(test_random_vs_reference),
		cmocka_unit_test(test_uninit_frees_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
