// SPDX-License-Identifier: MIT
/*
 * The project's one CIDR helper: netmasks, masking, equality and
 * containment, from a table of cases and from 100,000 random pairs checked
 * bit by bit against a naive reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"

static struct cidr make(int family, const char *addr, uint8_t len)
{
	struct cidr c = { .family = family, .cidr = len };

	assert_int_equal(inet_pton(family, addr, c.addr), 1);
	return c;
}

static void addr_len_and_valid(void **state)
{
	struct cidr c = { 0 };

	(void)state;
	assert_int_equal(cidr_addr_len(AF_INET), 4);
	assert_int_equal(cidr_addr_len(AF_INET6), 16);
	assert_int_equal(cidr_addr_len(AF_UNIX), -EAFNOSUPPORT);
	assert_int_equal(cidr_addr_len(0), -EAFNOSUPPORT);
	c.family = AF_INET;
	c.cidr = 32;
	assert_true(cidr_valid(&c));
	c.cidr = 33;
	assert_false(cidr_valid(&c));
	c.family = AF_INET6;
	assert_true(cidr_valid(&c));
	c.cidr = 128;
	assert_true(cidr_valid(&c));
	c.cidr = 129;
	assert_false(cidr_valid(&c));
	c.family = AF_UNIX;
	c.cidr = 0;
	assert_false(cidr_valid(&c));
}

static void netmask_table(void **state)
{
	static const struct {
		int family;
		uint8_t len;
		const char *mask;
	} cases[] = {
		{ AF_INET, 0, "0.0.0.0" },	    { AF_INET, 1, "128.0.0.0" },	{ AF_INET, 8, "255.0.0.0" },
		{ AF_INET, 20, "255.255.240.0" }, { AF_INET, 31, "255.255.255.254" }, { AF_INET, 32, "255.255.255.255" },
		{ AF_INET6, 0, "::" },		    { AF_INET6, 1, "8000::" },		{ AF_INET6, 36, "ffff:ffff:f000::" },
		{ AF_INET6, 64, "ffff:ffff:ffff:ffff::" },
		{ AF_INET6, 127, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe" },
		{ AF_INET6, 128, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t got[16], want[16] = { 0 };

		memset(got, 0xaa, sizeof(got));
		assert_int_equal(inet_pton(cases[i].family, cases[i].mask, want), 1);
		cidr_netmask(got, cases[i].family, cases[i].len);
		assert_memory_equal(got, want, 16);
	}
}

static void from_masks_and_refuses(void **state)
{
	static const uint8_t v4[4] = { 10, 1, 255, 3 };
	struct cidr c, untouched;

	(void)state;
	memset(&untouched, 0x5a, sizeof(untouched));
	c = untouched;
	assert_int_equal(cidr_from(&c, AF_INET, v4, 33), -EINVAL);
	assert_memory_equal(&c, &untouched, sizeof(c));
	assert_int_equal(cidr_from(&c, AF_UNIX, v4, 8), -EAFNOSUPPORT);
	assert_memory_equal(&c, &untouched, sizeof(c));
	assert_int_equal(cidr_from(&c, AF_INET, v4, 20), 0);
	untouched = make(AF_INET, "10.1.240.0", 20);
	assert_true(cidr_equal(&c, &untouched));
}

static void contains_table(void **state)
{
	static const struct {
		int family;
		const char *net;
		uint8_t net_len;
		const char *x;
		uint8_t x_len;
		bool in;
	} cases[] = {
		{ AF_INET, "10.0.0.0", 8, "10.200.3.4", 32, true },
		{ AF_INET, "10.0.0.0", 8, "10.0.0.0", 8, true },
		{ AF_INET, "10.0.0.0", 8, "10.0.0.0", 7, false }, /* wider than the net */
		{ AF_INET, "10.0.0.0", 8, "11.0.0.1", 32, false },
		{ AF_INET, "0.0.0.0", 0, "203.0.113.9", 32, true },
		{ AF_INET, "198.18.0.0", 24, "198.18.1.2", 32, false },
		{ AF_INET, "198.18.0.0", 23, "198.18.1.2", 32, true },
		{ AF_INET6, "fd00::", 64, "fd00::5", 128, true },
		{ AF_INET6, "fd00::", 64, "fd00:0:0:1::5", 128, false },
		{ AF_INET6, "::", 0, "2001:db8::1", 128, true },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr net = make(cases[i].family, cases[i].net, cases[i].net_len);
		struct cidr x = make(cases[i].family, cases[i].x, cases[i].x_len);

		assert_int_equal(cidr_contains(&net, &x), cases[i].in);
	}
	/* never across families */
	{
		struct cidr any4 = make(AF_INET, "0.0.0.0", 0), v6 = make(AF_INET6, "::1", 128);

		assert_false(cidr_contains(&any4, &v6));
	}
}

static void lists(void **state)
{
	struct cidr list[3], x;

	(void)state;
	list[0] = make(AF_INET, "10.0.0.0", 8);
	list[1] = make(AF_INET6, "fd00::", 64);
	list[2] = make(AF_INET, "192.168.1.0", 24);
	x = make(AF_INET, "192.168.1.0", 24);
	assert_int_equal(cidr_find(list, 3, &x), 2);
	x.cidr = 25;
	assert_int_equal(cidr_find(list, 3, &x), 3);
	assert_true(cidr_covered(list, 3, &x));
	x = make(AF_INET6, "fd00::7", 128);
	assert_int_equal(cidr_find(list, 3, &x), 3);
	assert_true(cidr_covered(list, 3, &x));
	x = make(AF_INET, "172.16.0.1", 32);
	assert_false(cidr_covered(list, 3, &x));
	assert_int_equal(cidr_find(list, 0, &x), 0);
	assert_false(cidr_covered(list, 0, &x));
}

static int bit(const uint8_t *a, unsigned int i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

/* The reference: bit by bit, as the definitions read. */
static bool naive_contains(const struct cidr *net, const struct cidr *x)
{
	unsigned int i;

	if (net->family != x->family || x->cidr < net->cidr)
		return false;
	for (i = 0; i < net->cidr; i++)
		if (bit(net->addr, i) != bit(x->addr, i))
			return false;
	return true;
}

static void naive_mask(struct cidr *c)
{
	unsigned int bits = c->family == AF_INET ? 32 : 128, i;

	for (i = c->cidr; i < 128; i++)
		if (i >= bits || i >= c->cidr)
			c->addr[i / 8] &= (uint8_t)~(0x80U >> (i % 8));
}

static void random_against_naive(void **state)
{
	unsigned int seed = 20261201, n;

	(void)state;
	srand(seed);
	for (n = 0; n < 100000; n++) {
		int family = rand() % 2 ? AF_INET : AF_INET6;
		unsigned int bits = family == AF_INET ? 32 : 128, i;
		struct cidr net = { .family = family }, x, masked, ref;

		for (i = 0; i < bits / 8; i++)
			net.addr[i] = (uint8_t)rand();
		net.cidr = (uint8_t)(rand() % (bits + 1));
		x = net;
		/* often share a prefix, so that both answers come up */
		for (i = (unsigned int)rand() % (bits + 1); i < bits; i++)
			if (rand() % 2)
				x.addr[i / 8] ^= (uint8_t)(0x80U >> (i % 8));
		x.cidr = (uint8_t)(rand() % (bits + 1));
		assert_int_equal(cidr_contains(&net, &x), naive_contains(&net, &x));
		masked = ref = x;
		cidr_mask(&masked);
		naive_mask(&ref);
		assert_memory_equal(masked.addr, ref.addr, 16);
		assert_true(cidr_contains(&x, &masked) || masked.cidr < x.cidr);
		assert_true(cidr_equal(&masked, &ref));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addr_len_and_valid),
		cmocka_unit_test(netmask_table),
		cmocka_unit_test(from_masks_and_refuses),
		cmocka_unit_test(contains_table),
		cmocka_unit_test(lists),
		cmocka_unit_test(random_against_naive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
