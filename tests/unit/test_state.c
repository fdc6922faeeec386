// SPDX-License-Identifier: MIT
/*
 * The record of what wgud changed around its device (state.h): values in
 * and out, written at once and read back as a later run would, a file
 * removed when nothing is left, and hostile contents passed over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

static char dir[] = "/tmp/wgud-state.XXXXXX";
static struct state a, b;

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/wg0.state", dir);
	unlink(path);
	return rmdir(dir);
}

static size_t count(const struct state *st, const char *key)
{
	size_t cursor = 0, n = 0;

	while (state_next(st, key, &cursor))
		n++;
	return n;
}

static void round_trip(void **unused)
{
	struct stat st;
	size_t cursor = 0;

	(void)unused;
	state_init(&a, dir, "wg0");
	assert_int_equal(state_load(&a), 0); /* no file: empty */
	assert_int_equal(a.n, 0);
	state_add(&a, "forward_ipv4", "0");
	state_add(&a, "allow_lan", "10.0.0.0/8");
	state_add(&a, "allow_lan", "fd00::/64");
	state_add(&a, "allow_lan", "10.0.0.0/8"); /* once only */
	assert_int_equal(count(&a, "allow_lan"), 2);

	/* what the next run reads */
	state_init(&b, dir, "wg0");
	assert_int_equal(state_load(&b), 0);
	assert_string_equal(state_next(&b, "forward_ipv4", &cursor), "0");
	assert_null(state_next(&b, "forward_ipv4", &cursor));
	assert_int_equal(count(&b, "allow_lan"), 2);
	assert_int_equal(count(&b, "allow"), 0); /* a key is a whole word */
	assert_int_equal(stat(a.path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	state_remove(&b, "allow_lan", "10.0.0.0/8");
	state_init(&a, dir, "wg0");
	assert_int_equal(state_load(&a), 0);
	assert_int_equal(count(&a, "allow_lan"), 1);
	state_remove(&a, "allow_lan", NULL);
	state_remove(&a, "forward_ipv4", NULL);
	/* nothing left: no file */
	assert_int_equal(stat(a.path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* A file is only ever what we wrote, but nothing else in it may reach the undo paths as a value. */
/* Named after the namespace it records; STATE_NOWHERE only in memory. */
static void per_namespace(void **unused)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t cursor = 0;

	(void)unused;
	assert_true(fd >= 0);
	state_init(&a, dir, "wg1");
	state_init_for(&b, dir, "wg1", fd);
	assert_string_equal(a.path, b.path);
	assert_non_null(strstr(a.path, ".netns-"));
	close(fd);

	state_init_for(&a, dir, "wg2", STATE_NOWHERE);
	assert_string_equal(a.path, "");
	assert_int_equal(state_load(&a), 0);
	state_add(&a, "forward_ipv4", "0");
	assert_string_equal(state_next(&a, "forward_ipv4", &cursor), "0");
	state_init(&b, dir, "wg2");
	assert_int_not_equal(stat(b.path, &st), 0); /* nothing written */
	state_remove(&a, "forward_ipv4", NULL);
}

static void hostile_file(void **unused)
{
	static const char text[] = "forward_ipv4 0\n"
				   "novalue\n"
				   " leading 1\n"
				   "two spaces here\n"
				   "ctl\x01 1\n"
				   "allow_lan 192.168.0.0/16\n"
				   "x"
				   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 1\n";
	FILE *f;

	(void)unused;
	state_init(&a, dir, "wg0");
	f = fopen(a.path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(state_load(&a), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(count(&a, "forward_ipv4"), 1);
	assert_int_equal(count(&a, "allow_lan"), 1);
	/* nor can a caller write such a line */
	state_add(&a, "bad key", "1");
	state_add(&a, "key", "bad value");
	state_add(&a, "key", "");
	assert_int_equal(a.n, 2);
	state_remove(&a, "forward_ipv4", NULL);
	state_remove(&a, "allow_lan", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(hostile_file),
		cmocka_unit_test(per_namespace),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
