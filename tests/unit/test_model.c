// SPDX-License-Identifier: MIT
/* The shared model: its text forms (table-driven, valid and hostile), masking, and the allocators' ceilings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "model.h"

struct cidr_case {
	const char *text;
	int family; /* 0: must be refused */
	const char *addr;
	unsigned int cidr;
};

static void parse_cidr_table(void **state)
{
	static const struct cidr_case cases[] = {
		{ "10.0.0.1/24", AF_INET, "10.0.0.1", 24 },
		{ "10.0.0.1", AF_INET, "10.0.0.1", 32 },
		{ "0.0.0.0/0", AF_INET, "0.0.0.0", 0 },
		{ "255.255.255.255/32", AF_INET, "255.255.255.255", 32 },
		{ "fd00::1/64", AF_INET6, "fd00::1", 64 },
		{ "::/0", AF_INET6, "::", 0 },
		{ "::1", AF_INET6, "::1", 128 },
		{ "::ffff:10.0.0.1/128", AF_INET6, "::ffff:10.0.0.1", 128 },
		{ "", 0, NULL, 0 },
		{ "/24", 0, NULL, 0 },
		{ "10.0.0.1/", 0, NULL, 0 },
		{ "10.0.0.1/33", 0, NULL, 0 },
		{ "10.0.0.1/-1", 0, NULL, 0 },
		{ "10.0.0.1/+8", 0, NULL, 0 },
		{ "10.0.0.1/08", 0, NULL, 0 },
		{ "10.0.0.1/24 ", 0, NULL, 0 },
		{ " 10.0.0.1/24", 0, NULL, 0 },
		{ "10.0.0.1/24/8", 0, NULL, 0 },
		{ "10.0.0.1/99999999999999999999999", 0, NULL, 0 },
		{ "10.0.0/24", 0, NULL, 0 },
		{ "10.0.0.256/24", 0, NULL, 0 },
		{ "010.0.0.1", 0, NULL, 0 },
		{ "fd00::1/129", 0, NULL, 0 },
		{ "fd00::1%eth0/64", 0, NULL, 0 },
		{ "example.com/24", 0, NULL, 0 },
		{ "1111:2222:3333:4444:5555:6666:7777:8888:9999/64", 0, NULL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr c, orig;
		uint8_t want[16] = { 0 };

		memset(&c, 0xab, sizeof(c));
		orig = c;
		if (!cases[i].family) {
			assert_int_equal(model_parse_cidr(&c, cases[i].text, strlen(cases[i].text)), -EINVAL);
			assert_memory_equal(&c, &orig, sizeof(c));
			continue;
		}
		assert_int_equal(model_parse_cidr(&c, cases[i].text, strlen(cases[i].text)), 0);
		assert_int_equal(c.family, cases[i].family);
		assert_int_equal(c.cidr, cases[i].cidr);
		assert_int_equal(inet_pton(cases[i].family, cases[i].addr, want), 1);
		assert_memory_equal(c.addr, want, 16);
	}
}

/* The parsers take a slice: bytes past len must not be read as part of the value. */
static void parse_cidr_respects_len(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(model_parse_cidr(&c, "10.0.0.1/24junk", 11), 0);
	assert_int_equal(c.cidr, 24);
	assert_int_equal(model_parse_cidr(&c, "10.0.0.1/2", 9), -EINVAL);
	assert_int_equal(model_parse_cidr(&c, "10.0\0.0.1", 10), -EINVAL);
}

struct endpoint_case {
	const char *text;
	const char *want; /* formatted back; NULL: must be refused */
};

static void parse_endpoint_table(void **state)
{
	static const struct endpoint_case cases[] = {
		{ "192.0.2.1:51820", "192.0.2.1:51820" },
		{ "192.0.2.1:0", "192.0.2.1:0" },
		{ "192.0.2.1:65535", "192.0.2.1:65535" },
		{ "[2001:db8::1]:51820", "[2001:db8::1]:51820" },
		{ "[::]:1", "[::]:1" },
		{ "[::ffff:192.0.2.1]:7", "[::ffff:192.0.2.1]:7" },
		{ "192.0.2.1", NULL },
		{ "192.0.2.1:", NULL },
		{ "192.0.2.1:65536", NULL },
		{ "192.0.2.1:-1", NULL },
		{ "192.0.2.1:+80", NULL },
		{ "192.0.2.1:080", NULL },
		{ "192.0.2.1:80 ", NULL },
		{ "192.0.2.1:80:80", NULL },
		{ "[192.0.2.1]:80", NULL },
		{ "2001:db8::1:51820", NULL },
		{ "[2001:db8::1]51820", NULL },
		{ "[2001:db8::1]:", NULL },
		{ "[2001:db8::1:51820", NULL },
		{ "[]:80", NULL },
		{ ":80", NULL },
		{ "example.com:80", NULL },
		{ "[fe80::1%lo]:80", "[fe80::1%1]:80" },
		{ "[fe80::1%1]:51820", "[fe80::1%1]:51820" },
		{ "[fe80::1%4294967295]:1", "[fe80::1%4294967295]:1" },
		{ "[fe80::1%no-such-if0]:80", NULL },
		{ "[fe80::1%]:80", NULL },
		{ "[fe80::1%lo%lo]:80", NULL },
		{ "[fe80::1%0123456789abcdef0]:80", NULL },
		{ "fe80::1%lo:80", NULL },
		{ "192.0.2.1%1:80", NULL },
		{ "", NULL },
		{ "[", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		union model_sockaddr sa, orig;
		char text[64];

		memset(&sa, 0xcd, sizeof(sa));
		orig = sa;
		if (!cases[i].want) {
			assert_int_equal(model_parse_endpoint(&sa, cases[i].text, strlen(cases[i].text)), -EINVAL);
			assert_memory_equal(&sa, &orig, sizeof(sa));
			continue;
		}
		assert_int_equal(model_parse_endpoint(&sa, cases[i].text, strlen(cases[i].text)), 0);
		model_format_endpoint(text, &sa);
		assert_string_equal(text, cases[i].want);
	}
}

static void format_endpoint_unset(void **state)
{
	union model_sockaddr sa = { 0 };
	char text[64];

	(void)state;
	model_format_endpoint(text, &sa);
	assert_string_equal(text, "(none)");
}

struct number_case {
	const char *text;
	int ok16, ok32;
	uint32_t value;
};

static void parse_numbers_table(void **state)
{
	static const struct number_case cases[] = {
		{ "0", 1, 1, 0 },
		{ "1", 1, 1, 1 },
		{ "51820", 1, 1, 51820 },
		{ "65535", 1, 1, 65535 },
		{ "65536", 0, 1, 65536 },
		{ "4294967295", 0, 1, 4294967295U },
		{ "4294967296", 0, 0, 0 },
		{ "99999999999999999999999999", 0, 0, 0 },
		{ "0x0", 0, 1, 0 },
		{ "0xCa", 0, 1, 0xca },
		{ "0XffffFFFF", 0, 1, 0xffffffffU },
		{ "0x100000000", 0, 0, 0 },
		{ "0x", 0, 0, 0 },
		{ "0xg", 0, 0, 0 },
		{ "x10", 0, 0, 0 },
		{ "010", 0, 0, 0 },
		{ "", 0, 0, 0 },
		{ "-1", 0, 0, 0 },
		{ "+1", 0, 0, 0 },
		{ " 1", 0, 0, 0 },
		{ "1 ", 0, 0, 0 },
		{ "1a", 0, 0, 0 },
		{ "off", 0, 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t v16 = 0x1234;
		uint32_t v32 = 0x12345678;
		size_t len = strlen(cases[i].text);

		assert_int_equal(model_parse_u16(&v16, cases[i].text, len), cases[i].ok16 ? 0 : -EINVAL);
		assert_int_equal(v16, cases[i].ok16 ? cases[i].value : 0x1234);
		assert_int_equal(model_parse_u32(&v32, cases[i].text, len), cases[i].ok32 ? 0 : -EINVAL);
		assert_int_equal(v32, cases[i].ok32 ? cases[i].value : 0x12345678);
	}
}

static void cidr_mask_table(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "10.1.2.3/8", "10.0.0.0" },	   { "10.1.2.3/32", "10.1.2.3" }, { "10.1.2.3/0", "0.0.0.0" },
		{ "10.1.255.3/20", "10.1.240.0" }, { "fd00::1/64", "fd00::" },	  { "fd00:ab:f0cd::1/36", "fd00:ab:f000::" },
		{ "::1/128", "::1" },		   { "ffff::/1", "8000::" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr c;
		uint8_t want[16] = { 0 };

		assert_int_equal(model_parse_cidr(&c, cases[i].in, strlen(cases[i].in)), 0);
		cidr_mask(&c);
		assert_int_equal(inet_pton(c.family, cases[i].out, want), 1);
		assert_memory_equal(c.addr, want, 16);
	}
}

/* An IPv4 prefix must not keep stray bytes past its 4 address bytes, or equal prefixes compare unequal. */
static void cidr_mask_clears_tail(void **state)
{
	struct cidr c;

	(void)state;
	memset(&c, 0xff, sizeof(c));
	c.family = AF_INET;
	c.cidr = 40;
	cidr_mask(&c);
	assert_int_equal(c.cidr, 32);
	assert_int_equal(c.addr[3], 0xff);
	assert_int_equal(c.addr[4], 0);
	assert_int_equal(c.addr[15], 0);
}

static void allocators_grow_and_find(void **state)
{
	struct model_device *dev = model_device_new();
	struct model_peer *p;
	struct cidr c = { .family = AF_INET, .addr = { 10 }, .cidr = 8 };
	union model_sockaddr dns = { 0 };
	uint8_t key[MODEL_KEY_LEN];
	size_t i;

	(void)state;
	assert_non_null(dev);
	for (i = 0; i < 100; i++) {
		assert_int_equal(model_add_peer(dev, &p), 0);
		memset(p->public_key, (int)i + 1, MODEL_KEY_LEN);
		memset(p->preshared_key, 0x77, MODEL_KEY_LEN);
		assert_int_equal(model_peer_add_allowedip(dev, p, &c), 0);
		assert_int_equal(model_peer_add_allowedip(dev, p, &c), 0);
	}
	assert_int_equal(dev->n_peers, 100);
	assert_int_equal(dev->n_allowedips_total, 200);
	for (i = 0; i < 100; i++) {
		assert_int_equal(dev->peers[i].public_key[0], (uint8_t)(i + 1));
		assert_int_equal(dev->peers[i].n_allowedips, 2);
		assert_int_equal(dev->peers[i].flags, 0);
	}
	memset(key, 50, sizeof(key));
	assert_ptr_equal(model_find_peer(dev, key), &dev->peers[49]);
	memset(key, 0, sizeof(key));
	assert_null(model_find_peer(dev, key));

	assert_int_equal(model_add_address(dev, &c), 0);
	dns.sin.sin_family = AF_INET;
	assert_int_equal(model_add_dns(dev, &dns), 0);
	assert_int_equal(model_add_dns_search(dev, "example.com"), 0);
	assert_string_equal(dev->dns_search[0], "example.com");
	assert_int_equal(model_add_hook(dev, MODEL_HOOK_POST_UP, "echo up"), 0);
	assert_int_equal(model_add_hook(dev, MODEL_HOOK_POST_UP, "echo again"), 0);
	assert_int_equal(dev->n_hooks[MODEL_HOOK_POST_UP], 2);
	assert_string_equal(dev->hooks[MODEL_HOOK_POST_UP][1], "echo again");
	assert_int_equal(model_add_hook(dev, MODEL_HOOK_COUNT, "x"), -EINVAL);
	model_device_free(dev);
	model_device_free(NULL);
}

static void allocators_ceilings(void **state)
{
	struct model_device *dev = model_device_new();
	struct model_peer *p;
	struct cidr c = { .family = AF_INET6, .cidr = 128 };
	char *big = malloc(MODEL_MAX_HOOK_LEN + 2);
	char host[MODEL_HOST_LEN + 1];
	size_t i;

	(void)state;
	assert_non_null(dev);
	assert_non_null(big);
	memset(big, 'a', MODEL_MAX_HOOK_LEN + 1);
	big[MODEL_MAX_HOOK_LEN + 1] = '\0';
	assert_int_equal(model_add_hook(dev, MODEL_HOOK_PRE_UP, big), -E2BIG);
	big[MODEL_MAX_HOOK_LEN] = '\0';
	assert_int_equal(model_add_hook(dev, MODEL_HOOK_PRE_UP, big), 0);
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	assert_int_equal(model_add_dns_search(dev, host), -E2BIG);
	assert_int_equal(dev->n_dns_search, 0);

	assert_int_equal(model_add_peer(dev, &p), 0);
	/* Pretend the rest of the device already holds the maximum, rather than allocating it. */
	dev->n_allowedips_total = MODEL_MAX_ALLOWEDIPS - 1;
	assert_int_equal(model_peer_add_allowedip(dev, &dev->peers[0], &c), 0);
	assert_int_equal(model_peer_add_allowedip(dev, &dev->peers[0], &c), -E2BIG);
	assert_int_equal(dev->peers[0].n_allowedips, 1);

	for (i = 1; i < MODEL_MAX_PEERS; i++)
		assert_int_equal(model_add_peer(dev, &p), 0);
	p = NULL;
	assert_int_equal(model_add_peer(dev, &p), -E2BIG);
	assert_null(p);
	assert_int_equal(dev->n_peers, MODEL_MAX_PEERS);
	model_device_free(dev);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_cidr_table),	    cmocka_unit_test(parse_cidr_respects_len),
		cmocka_unit_test(parse_endpoint_table),	    cmocka_unit_test(format_endpoint_unset),
		cmocka_unit_test(parse_numbers_table),	    cmocka_unit_test(cidr_mask_table),
		cmocka_unit_test(cidr_mask_clears_tail),    cmocka_unit_test(allocators_grow_and_find),
		cmocka_unit_test(allocators_ceilings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
