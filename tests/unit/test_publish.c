// SPDX-License-Identifier: MIT
/* --publish's argument, table-driven: what is taken, as what, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "publish.h"

struct good {
	const char *arg;
	int family;
	uint8_t addr[4];
	uint16_t host_port, port;
	uint8_t proto;
};

static void takes_the_forms(void **state)
{
	static const struct good cases[] = {
		{ "8080:80", AF_UNSPEC, { 0 }, 8080, 80, IPPROTO_TCP },
		{ "8080:80/tcp", AF_UNSPEC, { 0 }, 8080, 80, IPPROTO_TCP },
		{ "5353:53/udp", AF_UNSPEC, { 0 }, 5353, 53, IPPROTO_UDP },
		{ "127.0.0.1:8080:80", AF_INET, { 127, 0, 0, 1 }, 8080, 80, IPPROTO_TCP },
		{ "10.1.2.3:1:65535/udp", AF_INET, { 10, 1, 2, 3 }, 1, 65535, IPPROTO_UDP },
		{ "65535:1", AF_UNSPEC, { 0 }, 65535, 1, IPPROTO_TCP },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct daemon_publish p;

		assert_int_equal(publish_parse(cases[i].arg, &p), 0);
		assert_int_equal(p.family, cases[i].family);
		assert_memory_equal(p.addr, cases[i].addr, 4);
		assert_int_equal(p.host_port, cases[i].host_port);
		assert_int_equal(p.port, cases[i].port);
		assert_int_equal(p.proto, cases[i].proto);
	}
}

static void refuses_the_rest(void **state)
{
	static const char *const bad[] = {
		"", "80", ":80", "80:", "0:80", "80:0", "65536:80", "80:65536", "80:80/sctp", "80:80/", "80:80/tcpx",
		" 80:80", "80: 80", "+80:80", "-1:80", "80:80:80", "1.2.3:80:80", "1.2.3.4:80", "host:80:80",
		"80:80x", "[::1:80:80", "999999999999999999999:80",
		"1.2.3.4:8080:80:90",
	};
	size_t i;
	char longer[200];

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct daemon_publish p;

		assert_int_equal(publish_parse(bad[i], &p), -EINVAL);
	}
	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	{
		struct daemon_publish p;

		assert_int_equal(publish_parse(longer, &p), -EINVAL);
		/* an IPv6 address is understood, and refused for what it is */
		assert_int_equal(publish_parse("[::1]:8080:80", &p), -EAFNOSUPPORT);
		assert_int_equal(publish_parse("[fe80::1%eth0]:8080:80", &p), -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(takes_the_forms),
		cmocka_unit_test(refuses_the_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
