// SPDX-License-Identifier: MIT
/*
 * TUN device opening. Runs in a private network namespace of its own
 * (unshare), so nothing appears in the machine's namespace; needs root, as CI has.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "tun.h"

static int enter_private_netns(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (this test needs root)\n", strerror(errno));
		return -1;
	}
	return 0;
}

static void opens_named_device(void **state)
{
	struct tun_device dev;

	(void)state;
	assert_int_equal(tun_open(&dev, "wgudtest0", false), 0);
	assert_string_equal(dev.name, "wgudtest0");
	assert_true(dev.fd >= 0);
	assert_int_not_equal(if_nametoindex("wgudtest0"), 0);
	tun_close(&dev);
	/* A non-persistent device disappears with its last file descriptor. */
	assert_int_equal(if_nametoindex("wgudtest0"), 0);
	assert_int_equal(dev.fd, -1);
}

static void kernel_picks_name_and_vnet_hdr(void **state)
{
	struct tun_device dev;

	(void)state;
	assert_int_equal(tun_open(&dev, "", true), 0);
	assert_true(strncmp(dev.name, "tun", 3) == 0);
	assert_true(dev.vnet_hdr);
	tun_close(&dev);
}

static void bad_names_refused(void **state)
{
	struct tun_device dev;

	(void)state;
	assert_int_equal(tun_open(&dev, "a-name-far-too-long-for-linux", false), -ENAMETOOLONG);
	assert_int_equal(tun_open(&dev, "bad/name", false), -EINVAL);
}

/* One check for every place a name comes in: flags, conf file names, the control socket, nftables. */
static void ifname_rule_table(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{ "wg0", true },	      { "a", true },		 { "fifteen-chars-x", true }, { "wg_1=+.-", true },
		{ "...", true },	      { "", false },		 { "sixteen-chars-xx", false }, { ".", false },
		{ "..", false },	      { "wg 0", false },	 { "wg/0", false },	      { "wg0\n", false },
		{ "wg:0", false },	      { "wg\"0", false },	 { "wg\x7f", false },	      { "wg\xc3\xa9", false },
		{ "%i", false },	      { "$(id)", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (tun_ifname_valid(cases[i].name) != cases[i].ok)
			fail_msg("tun_ifname_valid(\"%s\") should be %d", cases[i].name, cases[i].ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(opens_named_device),
		cmocka_unit_test(kernel_picks_name_and_vnet_hdr),
		cmocka_unit_test(bad_names_refused),
		cmocka_unit_test(ifname_rule_table),
	};

	return cmocka_run_group_tests(tests, enter_private_netns, NULL);
}
