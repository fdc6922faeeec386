// SPDX-License-Identifier: MIT
/*
 * DNS = in each mode: the resolv.conf text, exactly; /etc/netns/NAME in a
 * temp directory (made and removed, an earlier file put back byte for byte,
 * a killed run's leftovers); resolvconf as stand-in scripts first on PATH that
 * record their argv and stdin (success, failure, a hang, none on PATH); and
 * the private bind mount in children with mount namespaces of their own,
 * the machine's /etc/resolv.conf compared before and after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"

#define H DNS_HEADER

struct fixture {
	char dir[64];
	char path[4096]; /* PATH before the test */
	bool had_path;
};

/* ---- helpers ---- */

static struct model_device *model_of(const char *const addrs[], const char *const search[])
{
	struct model_device *m = model_device_new();
	size_t i;

	assert_non_null(m);
	for (i = 0; addrs && addrs[i]; i++) {
		union model_sockaddr sa = { 0 };
		char a[64];
		char *pct;

		snprintf(a, sizeof(a), "%s", addrs[i]);
		pct = strchr(a, '%');
		if (pct)
			*pct++ = '\0';
		if (inet_pton(AF_INET, a, &sa.sin.sin_addr) == 1) {
			sa.sa.sa_family = AF_INET;
		} else {
			assert_int_equal(inet_pton(AF_INET6, a, &sa.sin6.sin6_addr), 1);
			sa.sa.sa_family = AF_INET6;
			sa.sin6.sin6_scope_id = pct ? (uint32_t)strtoul(pct, NULL, 10) : 0;
		}
		assert_int_equal(model_add_dns(m, &sa), 0);
	}
	for (i = 0; search && search[i]; i++)
		assert_int_equal(model_add_dns_search(m, search[i]), 0);
	return m;
}

static struct model_device *one(const char *addr)
{
	const char *addrs[] = { addr, NULL };

	return model_of(addrs, NULL);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* The file's whole content ("" when it cannot be read), NUL-terminated in buf. */
static const char *read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* How many entries besides . and .. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void join(char *out, size_t len, const char *a, const char *b)
{
	assert_true((size_t)snprintf(out, len, "%s/%s", a, b) < len);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *path = getenv("PATH");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/wgud-test-dns-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->had_path = path != NULL;
	snprintf(f->path, sizeof(f->path), "%s", path ? path : "");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	if (f->had_path)
		setenv("PATH", f->path, 1);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

/* ---- dns_render ---- */

static void expect_render(struct model_device *m, const char *want)
{
	char buf[DNS_TEXT_MAX];

	assert_int_equal(dns_render(m, buf, sizeof(buf)), (ssize_t)strlen(want));
	assert_string_equal(buf, want);
	model_device_free(m);
}

static void render_v4(void **state)
{
	(void)state;
	expect_render(one("10.64.0.1"), H "nameserver 10.64.0.1\n");
}

static void render_v6_and_search(void **state)
{
	const char *addrs[] = { "10.64.0.1", "fd00::53", NULL };
	const char *search[] = { "example.com", "corp.example", NULL };

	(void)state;
	expect_render(model_of(addrs, search),
		      H "nameserver 10.64.0.1\nnameserver fd00::53\nsearch example.com corp.example\n");
}

static void render_scoped(void **state)
{
	char lo[32], want[256];

	(void)state;
	snprintf(lo, sizeof(lo), "fe80::1%%%u", if_nametoindex("lo"));
	expect_render(one(lo), H "nameserver fe80::1%lo\n");
	/* An index with no interface (now) is written as the number. */
	snprintf(want, sizeof(want), H "nameserver fe80::2%%4000000000\n");
	expect_render(one("fe80::2%4000000000"), want);
}

static void render_none(void **state)
{
	const char *search[] = { "example.com", NULL };
	struct model_device *none = model_of(NULL, NULL), *m = model_of(NULL, search);
	char buf[64] = "x";

	(void)state;
	assert_int_equal(dns_render(none, buf, sizeof(buf)), 0);
	/* Search domains alone are not applied, as in wg-quick. */
	assert_int_equal(dns_render(m, buf, sizeof(buf)), 0);
	assert_int_equal(dns_render(NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "x");
	model_device_free(none);
	model_device_free(m);
}

static void render_too_small(void **state)
{
	const char *addrs[] = { "10.64.0.1", "fd00::53", NULL };
	const char *search[] = { "example.com", NULL };
	const char want[] = H "nameserver 10.64.0.1\nnameserver fd00::53\nsearch example.com\n";
	struct model_device *m = model_of(addrs, search);
	char buf[sizeof(want)];
	size_t len;

	(void)state;
	/* Every size short of the text and its NUL fails, each one past is exact. */
	for (len = 0; len < sizeof(want); len++)
		assert_int_equal(dns_render(m, len ? buf : NULL, len), -ENOSPC);
	assert_int_equal(dns_render(m, buf, sizeof(want)), (ssize_t)strlen(want));
	assert_string_equal(buf, want);
	model_device_free(m);
}

/* ---- --netns: ETC_NETNS/NAME/resolv.conf ---- */

static void netns_fresh(void **state)
{
	struct fixture *f = *state;
	struct model_device *m = one("10.64.0.1"), *m2 = one("10.64.0.2");
	struct dns_state s = { 0 };
	char base[128], dir[160], file[192], buf[512];

	join(base, sizeof(base), f->dir, "netns");
	join(dir, sizeof(dir), base, "vpn");
	join(file, sizeof(file), dir, "resolv.conf");
	assert_int_equal(dns_netns_apply(&s, base, "vpn", m), 0);
	assert_string_equal(read_text(file, buf, sizeof(buf)), H "nameserver 10.64.0.1\n");
	assert_int_equal(mode_of(base), 0755);
	assert_int_equal(mode_of(dir), 0755);
	assert_int_equal(mode_of(file), 0644);
	assert_int_equal(entries(dir), 1); /* no temp file, nothing saved */

	/* Again (a reload): the text follows the conf. */
	assert_int_equal(dns_netns_apply(&s, base, "vpn", m2), 0);
	assert_string_equal(read_text(file, buf, sizeof(buf)), H "nameserver 10.64.0.2\n");
	assert_int_equal(entries(dir), 1);
	/* Another namespace on the same state is refused. */
	assert_int_equal(dns_netns_apply(&s, base, "other", m), -EBUSY);

	dns_restore(&s);
	assert_false(exists(base));
	assert_int_equal(entries(f->dir), 0);
	dns_restore(&s);
	assert_int_equal(entries(f->dir), 0);
	model_device_free(m);
	model_device_free(m2);
}

static void netns_existing(void **state)
{
	static const char mine[] = "# the person's own\nnameserver 192.0.2.53\noptions edns0\n";
	struct fixture *f = *state;
	struct model_device *m = one("10.64.0.1");
	struct dns_state s = { 0 };
	char dir[128], file[160], saved[192], buf[512];

	join(dir, sizeof(dir), f->dir, "vpn");
	join(file, sizeof(file), dir, "resolv.conf");
	join(saved, sizeof(saved), f->dir, ".wgud-vpn.resolv.conf.saved");
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file(file, mine, 0600);

	assert_int_equal(dns_netns_apply(&s, f->dir, "vpn", m), 0);
	assert_string_equal(read_text(file, buf, sizeof(buf)), H "nameserver 10.64.0.1\n");
	assert_string_equal(read_text(saved, buf, sizeof(buf)), mine);
	assert_int_equal(dns_netns_apply(&s, f->dir, "vpn", m), 0);
	assert_string_equal(read_text(saved, buf, sizeof(buf)), mine);

	dns_restore(&s);
	assert_string_equal(read_text(file, buf, sizeof(buf)), mine);
	assert_int_equal(mode_of(file), 0600);
	assert_int_equal(mode_of(dir), 0700); /* not wgud's: stays */
	assert_false(exists(saved));
	dns_restore(&s);
	assert_string_equal(read_text(file, buf, sizeof(buf)), mine);
	assert_int_equal(entries(dir), 1);
	model_device_free(m);
}

/* A wgud killed after its apply left its file, and maybe the saved one. */
static void netns_leftovers(void **state)
{
	static const char mine[] = "nameserver 192.0.2.53\n";
	struct fixture *f = *state;
	struct model_device *m = one("10.64.0.1");
	struct dns_state s = { 0 };
	char dir[128], file[160], saved[192], buf[512];

	join(dir, sizeof(dir), f->dir, "vpn");
	join(file, sizeof(file), dir, "resolv.conf");
	join(saved, sizeof(saved), f->dir, ".wgud-vpn.resolv.conf.saved");
	assert_int_equal(mkdir(dir, 0755), 0);

	/* Only its file: not kept, removed at stop. */
	write_file(file, H "nameserver 10.9.9.9\n", 0644);
	assert_int_equal(dns_netns_apply(&s, f->dir, "vpn", m), 0);
	assert_false(exists(saved));
	dns_restore(&s);
	assert_false(exists(file));

	/* Its file and the saved one: the saved one is put back at stop. */
	write_file(file, H "nameserver 10.9.9.9\n", 0644);
	write_file(saved, mine, 0644);
	assert_int_equal(dns_netns_apply(&s, f->dir, "vpn", m), 0);
	assert_string_equal(read_text(file, buf, sizeof(buf)), H "nameserver 10.64.0.1\n");
	dns_restore(&s);
	assert_string_equal(read_text(file, buf, sizeof(buf)), mine);
	assert_false(exists(saved));

	/* A saved one beside a file that is not wgud's: which is the person's? Refused, nothing changed. */
	write_file(saved, "nameserver 10.1.1.1\n", 0644);
	assert_int_equal(dns_netns_apply(&s, f->dir, "vpn", m), -EEXIST);
	assert_string_equal(read_text(file, buf, sizeof(buf)), mine);
	assert_string_equal(read_text(saved, buf, sizeof(buf)), "nameserver 10.1.1.1\n");
	assert_int_equal(entries(dir), 1); /* the saved one is beside the folder: `ip netns exec` binds all in it */
	assert_int_equal(s.kind, DNS_NONE);
	model_device_free(m);
}

static void netns_changed_meanwhile(void **state)
{
	struct fixture *f = *state;
	struct model_device *m = one("10.64.0.1");
	struct dns_state s = { 0 };
	char file[160], buf[512];

	join(file, sizeof(file), f->dir, "vpn/resolv.conf");
	assert_int_equal(dns_netns_apply(&s, f->dir, "vpn", m), 0);
	write_file(file, "nameserver 192.0.2.1\n", 0644);
	dns_restore(&s); /* someone else's now: left alone */
	assert_string_equal(read_text(file, buf, sizeof(buf)), "nameserver 192.0.2.1\n");
	model_device_free(m);
}

static void netns_no_dns(void **state)
{
	struct fixture *f = *state;
	struct model_device *none = model_of(NULL, NULL), *m = one("10.64.0.1");
	struct dns_state s = { 0 };
	char base[128];

	join(base, sizeof(base), f->dir, "netns");
	assert_int_equal(dns_netns_apply(&s, base, "vpn", none), 0);
	assert_false(exists(base));
	/* DNS = gone from a reloaded conf: the file goes too. */
	assert_int_equal(dns_netns_apply(&s, base, "vpn", m), 0);
	assert_true(exists(base));
	assert_int_equal(dns_netns_apply(&s, base, "vpn", none), 0);
	assert_false(exists(base));
	assert_int_equal(s.kind, DNS_NONE);
	model_device_free(none);
	model_device_free(m);
}

static void netns_bad_names(void **state)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "../etc" };
	struct fixture *f = *state;
	struct model_device *m = one("10.64.0.1");
	struct dns_state s = { 0 };
	char base[128];
	size_t i;

	join(base, sizeof(base), f->dir, "netns");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dns_netns_apply(&s, base, bad[i], m), -EINVAL);
	assert_int_equal(dns_netns_apply(&s, base, NULL, m), -EINVAL);
	assert_int_equal(entries(f->dir), 0);
	model_device_free(m);
}

/* A base that is a file: an error, and nothing left behind. */
static void netns_unwritable(void **state)
{
	struct fixture *f = *state;
	struct model_device *m = one("10.64.0.1");
	struct dns_state s = { 0 };
	char base[128];

	join(base, sizeof(base), f->dir, "file");
	write_file(base, "", 0644);
	assert_int_equal(dns_netns_apply(&s, base, "vpn", m), -ENOTDIR);
	assert_int_equal(entries(f->dir), 1);
	assert_int_equal(s.kind, DNS_NONE);
	model_device_free(m);
}

/* ---- resolvconf ---- */

/* A stand-in resolvconf in DIR/bin, first and only on PATH; body runs after it logs to DIR/log. */
static void stand_in(struct fixture *f, const char *body)
{
	char bin[128], exe[160], text[1024];

	join(bin, sizeof(bin), f->dir, "bin");
	if (mkdir(bin, 0755))
		assert_int_equal(errno, EEXIST);
	join(exe, sizeof(exe), bin, "resolvconf");
	snprintf(text, sizeof(text),
		 "#!/bin/sh\nPATH=/usr/bin:/bin\n{ echo \"argv: $*\"; cat; echo --; } >> '%s/log'\n%s\n", f->dir,
		 body);
	write_file(exe, text, 0755);
	assert_int_equal(setenv("PATH", bin, 1), 0);
}

static const char *stand_in_log(struct fixture *f, char *buf, size_t len)
{
	char log[128];

	join(log, sizeof(log), f->dir, "log");
	return read_text(log, buf, len);
}

static void resolvconf_plain(void **state)
{
	struct fixture *f = *state;
	const char *addrs[] = { "10.64.0.1", "fd00::53", NULL };
	const char *search[] = { "example.com", NULL };
	struct model_device *m = model_of(addrs, search);
	struct dns_state s = { 0 };
	char order[128], buf[2048];

	join(order, sizeof(order), f->dir, "no-interface-order");
	s.interface_order = order;
	stand_in(f, "exit 0");
	assert_int_equal(dns_resolvconf_apply(&s, "wg0", m), 0);
	assert_string_equal(stand_in_log(f, buf, sizeof(buf)),
			    "argv: -a wg0 -m 0 -x\n" H "nameserver 10.64.0.1\nnameserver fd00::53\nsearch example.com\n--\n");
	dns_restore(&s);
	dns_restore(&s);
	assert_string_equal(stand_in_log(f, buf, sizeof(buf)),
			    "argv: -a wg0 -m 0 -x\n" H "nameserver 10.64.0.1\nnameserver fd00::53\nsearch example.com\n--\n"
			    "argv: -d wg0 -f\n--\n");
	model_device_free(m);
}

static void resolvconf_interface_order(void **state)
{
	struct fixture *f = *state;
	struct model_device *m = one("10.64.0.1"), *none = model_of(NULL, NULL);
	struct dns_state s = { 0 };
	char order[128], buf[2048];

	/* Debian's resolvconf ships lines like these; "tun*" is the first that is a name and a '*'. */
	join(order, sizeof(order), f->dir, "interface-order");
	write_file(order, "lo.inet6\nlo.@(dnsmasq|pdnsd)\nlo\n  tun*\t\ntap*\nwg*\n", 0644);
	s.interface_order = order;
	stand_in(f, "exit 0");
	assert_int_equal(dns_resolvconf_apply(&s, "wg0", m), 0);
	/* A reload runs -a again; then DNS = gone runs -d. */
	assert_int_equal(dns_resolvconf_apply(&s, "wg0", m), 0);
	assert_int_equal(dns_resolvconf_apply(&s, "wg0", none), 0);
	assert_int_equal(s.kind, DNS_NONE);
	dns_restore(&s);
	assert_string_equal(stand_in_log(f, buf, sizeof(buf)),
			    "argv: -a tun.wg0 -m 0 -x\n" H "nameserver 10.64.0.1\n--\n"
			    "argv: -a tun.wg0 -m 0 -x\n" H "nameserver 10.64.0.1\n--\n"
			    "argv: -d tun.wg0 -f\n--\n");
	model_device_free(m);
	model_device_free(none);
}

static void resolvconf_names(void **state)
{
	static const struct {
		const char *order; /* NULL: no file */
		const char *want;
	} cases[] = {
		{ NULL, "wg0" },
		{ "", "wg0" },
		{ "tun*\n", "tun.wg0" },
		{ "lo\nwg-x*\ntun*\n", "wg-x.wg0" },
		{ "tun*", "wg0" },	      /* `while read` skips a last line without its newline */
		{ "tun**\n*\na b*\nt_n*\n", "wg0" }, /* none is a name and one '*' */
		{ "tun*\r\n", "wg0" },	      /* CR is not a blank to bash */
		{ "# tun*\nppp*\n", "ppp.wg0" },
		{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "tun*\nhso*\n",
		  "hso.wg0" }, /* a line too long for a name, whose tail looks like one */
	};
	struct fixture *f = *state;
	char order[128], out[DNS_NAME_MAX];
	size_t i;

	join(order, sizeof(order), f->dir, "interface-order");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unlink(order);
		if (cases[i].order)
			write_file(order, cases[i].order, 0644);
		assert_int_equal(dns_resolvconf_name(out, sizeof(out), order, "wg0"), 0);
		if (strcmp(out, cases[i].want))
			fail_msg("case %zu: \"%s\", want \"%s\"", i, out, cases[i].want);
	}
	assert_int_equal(dns_resolvconf_name(out, 4, order, "wg0"), -ENAMETOOLONG);
}

static void resolvconf_fails(void **state)
{
	struct fixture *f = *state;
	struct model_device *m = one("10.64.0.1");
	struct dns_state s = { .interface_order = "/nonexistent" };
	char buf[1024];

	stand_in(f, "echo 'resolvconf: something broke' >&2; exit 3");
	assert_int_equal(dns_resolvconf_apply(&s, "wg0", m), -EIO);
	assert_int_equal(s.kind, DNS_NONE);
	dns_restore(&s); /* nothing was set: no -d */
	assert_string_equal(stand_in_log(f, buf, sizeof(buf)), "argv: -a wg0 -m 0 -x\n" H "nameserver 10.64.0.1\n--\n");
	stand_in(f, "kill -9 $$");
	assert_int_equal(dns_resolvconf_apply(&s, "wg0", m), -EIO);
	model_device_free(m);
}

static void resolvconf_hangs(void **state)
{
	struct fixture *f = *state;
	struct model_device *m = one("10.64.0.1");
	struct dns_state s = { .interface_order = "/nonexistent", .timeout_ms = 300 };
	struct timespec a, b;
	long ms;

	stand_in(f, "exec sleep 30");
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(dns_resolvconf_apply(&s, "wg0", m), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 300 && ms < 3000);
	assert_int_equal(s.kind, DNS_NONE);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* reaped: no zombie left */
	assert_int_equal(errno, ECHILD);
	model_device_free(m);
}

static void resolvconf_missing(void **state)
{
	struct fixture *f = *state;
	struct model_device *m = one("10.64.0.1"), *none = model_of(NULL, NULL);
	struct dns_state s = { .interface_order = "/nonexistent" };
	char bin[128], exe[160], cwd[4096];

	/* Not executable, or only on a relative PATH entry: not used. */
	join(bin, sizeof(bin), f->dir, "bin");
	assert_int_equal(mkdir(bin, 0755), 0);
	join(exe, sizeof(exe), bin, "resolvconf");
	write_file(exe, "#!/bin/sh\nexit 0\n", 0644);
	assert_int_equal(setenv("PATH", bin, 1), 0);
	assert_int_equal(dns_resolvconf_apply(&s, "wg0", m), -ENOENT);
	assert_int_equal(chmod(exe, 0755), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(bin), 0);
	assert_int_equal(setenv("PATH", ":.:bin", 1), 0);
	assert_int_equal(dns_resolvconf_apply(&s, "wg0", m), -ENOENT);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(s.kind, DNS_NONE);
	/* No DNS: nothing to look for. */
	assert_int_equal(dns_resolvconf_apply(&s, "wg0", none), 0);
	assert_int_equal(dns_resolvconf_apply(&s, "", m), -EINVAL);
	assert_int_equal(dns_resolvconf_apply(&s, "0123456789abcdef", m), -EINVAL);
	model_device_free(m);
	model_device_free(none);
}

/* ---- `wgud run`: the private bind mount ---- */

/* fn in a child with a mount namespace of its own (/ made private, as the daemon does); its exit code. */
static int in_own_mount_ns(int (*fn)(struct fixture *f), struct fixture *f)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(100);
		_exit(fn(f));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int child_bind(struct fixture *f)
{
	const char *addrs[] = { "10.64.0.1", "fd00::53", NULL };
	const char *search[] = { "example.com", NULL };
	struct model_device *m = model_of(addrs, search);
	char buf[1024];
	int fd;

	if (dns_bind_private(f->dir, NULL, m))
		return 1;
	if (strcmp(read_text("/etc/resolv.conf", buf, sizeof(buf)),
		   H "nameserver 10.64.0.1\nnameserver fd00::53\nsearch example.com\n"))
		return 2;
	fd = open("/etc/resolv.conf", O_WRONLY);
	if (fd >= 0 || errno != EROFS)
		return 3;
	/* Again (a reload): the new mount covers the old one. */
	model_device_free(m);
	m = one("10.64.0.9");
	if (dns_bind_private(f->dir, NULL, m) ||
	    strcmp(read_text("/etc/resolv.conf", buf, sizeof(buf)), H "nameserver 10.64.0.9\n"))
		return 4;
	model_device_free(m);
	return 0;
}

static void bind_private(void **state)
{
	struct fixture *f = *state;
	char before[8192], after[8192];
	struct stat a, b;

	if (geteuid())
		skip();
	read_text("/etc/resolv.conf", before, sizeof(before));
	assert_int_equal(lstat("/etc/resolv.conf", &a), 0);
	assert_int_equal(in_own_mount_ns(child_bind, f), 0);
	assert_string_equal(read_text("/etc/resolv.conf", after, sizeof(after)), before);
	assert_int_equal(lstat("/etc/resolv.conf", &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec);
	assert_int_equal(entries(f->dir), 0);
}

/* A dangling link (systemd-resolved's stub when it is stopped), and a path that is not there. */
static int child_dangling(struct fixture *f)
{
	struct model_device *m = one("10.64.0.1");
	char link[128], nowhere[128];
	int ret;

	join(link, sizeof(link), f->dir, "resolv.conf");
	join(nowhere, sizeof(nowhere), f->dir, "stub-resolv.conf");
	if (symlink(nowhere, link))
		return 1;
	ret = dns_bind_private(f->dir, link, m);
	if (ret != -ENOENT)
		return 2;
	if (dns_bind_private(f->dir, nowhere, m) != -ENOENT)
		return 3;
	unlink(link);
	model_device_free(m);
	return 0;
}

static void bind_dangling(void **state)
{
	struct fixture *f = *state;

	if (geteuid())
		skip();
	assert_int_equal(in_own_mount_ns(child_dangling, f), 0);
	assert_int_equal(entries(f->dir), 0);
}

/* A mount that propagates: a bind on it would show outside; refused. */
static int child_shared(struct fixture *f)
{
	struct model_device *m = one("10.64.0.1");
	char mnt[128], file[160], buf[256];

	join(mnt, sizeof(mnt), f->dir, "mnt");
	join(file, sizeof(file), mnt, "resolv.conf");
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") || mount(NULL, mnt, NULL, MS_SHARED, NULL))
		return 1;
	write_file(file, "nameserver 192.0.2.1\n", 0644);
	if (dns_bind_private(f->dir, file, m) != -EPERM)
		return 2;
	if (strcmp(read_text(file, buf, sizeof(buf)), "nameserver 192.0.2.1\n"))
		return 3;
	model_device_free(m);
	return 0;
}

static void bind_refuses_shared(void **state)
{
	struct fixture *f = *state;
	char mnt[128];

	if (geteuid())
		skip();
	join(mnt, sizeof(mnt), f->dir, "mnt");
	assert_int_equal(mkdir(mnt, 0755), 0);
	assert_int_equal(in_own_mount_ns(child_shared, f), 0);
	assert_int_equal(rmdir(mnt), 0);
	assert_int_equal(entries(f->dir), 0);
}

/* In its parent's mount namespace, nothing is mounted (a temp file is the target, to be safe). */
static void bind_refuses_host_namespace(void **state)
{
	struct fixture *f = *state;
	struct model_device *m = one("10.64.0.1");
	char file[128], buf[256];
	char parent[64];
	struct stat self, up;

	snprintf(parent, sizeof(parent), "/proc/%d/ns/mnt", (int)getppid());
	if (geteuid() || stat("/proc/self/ns/mnt", &self) || stat(parent, &up) || self.st_ino != up.st_ino)
		skip();
	join(file, sizeof(file), f->dir, "resolv.conf");
	write_file(file, "nameserver 192.0.2.1\n", 0644);
	if (dns_bind_private(f->dir, file, m) != -EPERM) {
		umount2(file, MNT_DETACH);
		fail_msg("mounted in the machine's own namespace");
	}
	assert_string_equal(read_text(file, buf, sizeof(buf)), "nameserver 192.0.2.1\n");
	assert_int_equal(entries(f->dir), 1);
	model_device_free(m);
}

static void bind_no_dns(void **state)
{
	struct fixture *f = *state;
	struct model_device *m = model_of(NULL, NULL);

	/* Nothing to do, so not even the namespace is checked. */
	assert_int_equal(dns_bind_private(f->dir, "/nonexistent/resolv.conf", m), 0);
	model_device_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(render_v4),
		cmocka_unit_test(render_v6_and_search),
		cmocka_unit_test(render_scoped),
		cmocka_unit_test(render_none),
		cmocka_unit_test(render_too_small),
		cmocka_unit_test_setup_teardown(netns_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(netns_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(netns_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(netns_changed_meanwhile, setup, teardown),
		cmocka_unit_test_setup_teardown(netns_no_dns, setup, teardown),
		cmocka_unit_test_setup_teardown(netns_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(netns_unwritable, setup, teardown),
		cmocka_unit_test_setup_teardown(resolvconf_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(resolvconf_interface_order, setup, teardown),
		cmocka_unit_test_setup_teardown(resolvconf_names, setup, teardown),
		cmocka_unit_test_setup_teardown(resolvconf_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(resolvconf_hangs, setup, teardown),
		cmocka_unit_test_setup_teardown(resolvconf_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(bind_private, setup, teardown),
		cmocka_unit_test_setup_teardown(bind_dangling, setup, teardown),
		cmocka_unit_test_setup_teardown(bind_refuses_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(bind_refuses_host_namespace, setup, teardown),
		cmocka_unit_test_setup_teardown(bind_no_dns, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
