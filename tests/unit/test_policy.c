// SPDX-License-Identifier: MIT
/*
 * The policy's words: every command's effect, every refusal leaving the
 * policy byte for byte as it was, start-up flags, policy files, and both
 * output forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "policy.h"

/* Policies are tens of kilobytes: keep them off the stack. */
static struct policy pol, before, other;
static char out[POLICY_FORMAT_MAX];

/* Something in every list, so that refusals are checked against a policy with content. */
static const char base[] = "kill-switch on\n"
			   "masquerade on\n"
			   "allow-lan add 192.168.0.0/16\n"
			   "allow add tcp 192.0.2.1:443\n"
			   "forward-from add 172.20.0.0/24\n"
			   "port-forward add tcp 8080 172.20.0.5:80\n"
			   "open add udp 51413\n"
			   "dns set 9.9.9.9\n"
			   "dns-forward on\n";

static const char base_json[] =
	"{\"kill_switch\":\"on\",\"masquerade\":true,\"allow_lan\":[\"192.168.0.0/16\"],"
	"\"allow\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1/32\",\"port\":443}],\"forward_from\":[\"172.20.0.0/24\"],"
	"\"port_forward\":[{\"proto\":\"tcp\",\"port\":8080,\"target\":\"172.20.0.5\",\"target_port\":80}],"
	"\"open\":[{\"proto\":\"udp\",\"port\":51413}],\"dns\":[\"9.9.9.9\"],\"dns_from_conf\":false,"
	"\"dns_forward\":true}";

static void load(struct policy *p, const char *setup)
{
	char err[256] = "";
	int ret;

	policy_init(p);
	ret = policy_apply_file(p, "setup", setup, strlen(setup), err, sizeof(err));
	if (ret)
		fail_msg("setup refused: %s", err);
}

/* One control-socket line: split, then applied. */
static int run_line(struct policy *p, const char *line, char *err, size_t err_len)
{
	char buf[POLICY_MAX_LINE + 16], *words[POLICY_MAX_WORDS];
	size_t n;
	int ret;

	assert_true(strlen(line) < sizeof(buf));
	strcpy(buf, line);
	ret = policy_split(buf, words, &n);
	if (ret)
		return ret;
	return policy_apply_words(p, words, n, err, err_len);
}

static int count_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static const char *json(const struct policy *p)
{
	int n = policy_format_json(p, out, sizeof(out));

	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	return out;
}

/* A strict enough JSON reader to say that the output parses. */
#include "json_check.h"

static void assert_json(const char *text)
{
	const char *end = json_value(text, 0);

	assert_non_null(end);
	assert_string_equal(json_ws(end), "");
}

struct accept_case {
	const char *setup;
	const char *line;
	const char *want; /* a piece of the JSON form after the command */
};

static const struct accept_case accepted[] = {
	{ "", "kill-switch on", "\"kill_switch\":\"on\"" },
	{ "", "kill-switch off", "\"kill_switch\":\"off\"" },
	{ "kill-switch on", "kill-switch auto", "\"kill_switch\":\"auto\"" },
	{ "", "masquerade on", "\"masquerade\":true" },
	{ "masquerade on", "masquerade off", "\"masquerade\":false" },
	{ "", "allow-lan add 192.168.1.77/24", "\"allow_lan\":[\"192.168.1.0/24\"]" },
	{ "", "allow-lan add 10.0.0.1", "\"allow_lan\":[\"10.0.0.1/32\"]" },
	{ "", "allow-lan add fd00:1::5/16", "\"allow_lan\":[\"fd00::/16\"]" },
	{ "allow-lan add 10.0.0.0/8\nallow-lan add 192.168.0.0/16", "allow-lan del 10.1.2.3/8",
	  "\"allow_lan\":[\"192.168.0.0/16\"]" },
	{ "allow-lan add 10.0.0.0/8\nallow-lan add 192.168.0.0/16", "allow-lan add 172.16.0.0/12",
	  "\"allow_lan\":[\"10.0.0.0/8\",\"192.168.0.0/16\",\"172.16.0.0/12\"]" },
	{ "", "allow add tcp 192.0.2.1:443", "\"allow\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1/32\",\"port\":443}]" },
	{ "", "allow add udp [2001:db8::1]:53", "\"allow\":[{\"proto\":\"udp\",\"addr\":\"2001:db8::1/128\",\"port\":53}]" },
	{ "", "allow add icmp 2001:db8::1", "\"allow\":[{\"proto\":\"icmp\",\"addr\":\"2001:db8::1/128\",\"port\":null}]" },
	{ "", "allow add any 10.9.8.7/16", "\"allow\":[{\"proto\":\"any\",\"addr\":\"10.9.0.0/16\",\"port\":null}]" },
	{ "", "allow add tcp 198.51.100.0/24", "\"allow\":[{\"proto\":\"tcp\",\"addr\":\"198.51.100.0/24\",\"port\":null}]" },
	{ "", "allow add tcp 192.0.2.1:65535", "\"port\":65535}" },
	{ "allow add tcp 192.0.2.1:443", "allow add tcp 192.0.2.1",
	  "\"allow\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1/32\",\"port\":443},"
	  "{\"proto\":\"tcp\",\"addr\":\"192.0.2.1/32\",\"port\":null}]" },
	{ "allow add tcp 192.0.2.1:443\nallow add tcp 192.0.2.1:80", "allow del tcp 192.0.2.1:443",
	  "\"allow\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1/32\",\"port\":80}]" },
	{ "allow add any 10.0.0.0/8", "allow del any 10.255.255.255/8", "\"allow\":[]" },
	{ "", "forward-from add 172.20.0.0/24", "\"forward_from\":[\"172.20.0.0/24\"]" },
	{ "", "forward-from add fd00:20::/64", "\"forward_from\":[\"fd00:20::/64\"]" },
	{ "forward-from add 172.20.0.0/24", "forward-from del 172.20.0.0/24", "\"forward_from\":[]" },
	{ "", "port-forward add tcp 8080 172.20.0.5:80",
	  "\"port_forward\":[{\"proto\":\"tcp\",\"port\":8080,\"target\":\"172.20.0.5\",\"target_port\":80}]" },
	{ "", "port-forward add udp 51000",
	  "\"port_forward\":[{\"proto\":\"udp\",\"port\":51000,\"target\":null,\"target_port\":51000}]" },
	{ "", "port-forward add tcp 443 [fd00::5]:8443",
	  "\"port_forward\":[{\"proto\":\"tcp\",\"port\":443,\"target\":\"fd00::5\",\"target_port\":8443}]" },
	{ "", "port-forward add tcp 22 10.0.0.2",
	  "\"port_forward\":[{\"proto\":\"tcp\",\"port\":22,\"target\":\"10.0.0.2\",\"target_port\":22}]" },
	{ "", "port-forward add tcp 22 fd00::2", "\"target\":\"fd00::2\",\"target_port\":22}" },
	{ "port-forward add tcp 8080 172.20.0.5:80", "port-forward add udp 8080 172.20.0.5:80",
	  "{\"proto\":\"udp\",\"port\":8080,\"target\":\"172.20.0.5\",\"target_port\":80}]" },
	{ "port-forward add tcp 8080 172.20.0.5:80", "port-forward del tcp 8080", "\"port_forward\":[]" },
	{ "port-forward add tcp 8080 172.20.0.5:80", "port-forward del tcp 8080 172.20.0.5:80", "\"port_forward\":[]" },
	/* An explicit target port equal to the port is the same forward as none. */
	{ "port-forward add tcp 80 10.0.0.5", "port-forward del tcp 80 10.0.0.5:80", "\"port_forward\":[]" },
	{ "", "dns set 9.9.9.9 2620:fe::fe", "\"dns\":[\"9.9.9.9\",\"2620:fe::fe\"],\"dns_from_conf\":false" },
	{ "dns set 9.9.9.9", "dns set", "\"dns\":[],\"dns_from_conf\":true" },
	{ "dns set 9.9.9.9 1.1.1.1", "dns set 8.8.8.8", "\"dns\":[\"8.8.8.8\"],\"dns_from_conf\":false" },
	{ "", "  allow-lan\tadd   10.0.0.0/8  \r\n", "\"allow_lan\":[\"10.0.0.0/8\"]" },
	{ "", "kill-switch on\n", "\"kill_switch\":\"on\"" },
	{ "", "kill-switch lockdown", "\"kill_switch\":\"lockdown\"" },
	{ "kill-switch lockdown", "kill-switch auto", "\"kill_switch\":\"auto\"" },
	{ "", "open add tcp 51413", "\"open\":[{\"proto\":\"tcp\",\"port\":51413}]" },
	{ "", "open tcp 51413", "\"open\":[{\"proto\":\"tcp\",\"port\":51413}]" },
	{ "open add tcp 51413", "open add udp 51413",
	  "\"open\":[{\"proto\":\"tcp\",\"port\":51413},{\"proto\":\"udp\",\"port\":51413}]" },
	{ "open add tcp 51413\nopen add tcp 9091", "open del tcp 51413", "\"open\":[{\"proto\":\"tcp\",\"port\":9091}]" },
	{ "", "dns-forward on", "\"dns_forward\":true" },
	{ "dns-forward on", "dns-forward off", "\"dns_forward\":false" },
};

static void commands_accepted(void **state)
{
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		load(&pol, accepted[i].setup);
		err[0] = '\0';
		if (run_line(&pol, accepted[i].line, err, sizeof(err)))
			fail_msg("'%s' refused: %s", accepted[i].line, err);
		if (!strstr(json(&pol), accepted[i].want))
			fail_msg("'%s': %s lacks %s", accepted[i].line, out, accepted[i].want);
		assert_json(out);
	}
}

struct refuse_case {
	const char *setup; /* after base */
	const char *line;
	int ret;
	const char *why; /* a piece of the message, or NULL when policy_split refuses */
};

static const struct refuse_case refused[] = {
	{ "", "allow-lan add 10.0.0.0/33", -EINVAL, "allow-lan: bad CIDR '10.0.0.0/33'" },
	{ "", "allow-lan add 0.0.0.0/0", -EINVAL, "use kill-switch off" },
	{ "", "allow-lan add ::/0", -EINVAL, "use kill-switch off" },
	{ "", "allow-lan add 0.0.0.0/00", -EINVAL, "bad CIDR" },
	{ "", "allow-lan add 10.1.2.3/0", -EINVAL, "a /0 is everything" },
	{ "", "allow add any 0.0.0.0/0", -EINVAL, "a /0 is everything" },
	{ "", "allow add tcp ::/0", -EINVAL, "use kill-switch off" },
	{ "", "allow add udp 192.0.2.9/0", -EINVAL, "a /0 is everything" },
	{ "", "allow-lan add 300.0.0.0/8", -EINVAL, "bad CIDR" },
	{ "", "allow-lan add fd00::/129", -EINVAL, "bad CIDR" },
	{ "", "allow-lan add 10.0.0.0/08", -EINVAL, "bad CIDR" },
	{ "", "allow-lan add 10.0.0.0/", -EINVAL, "bad CIDR" },
	{ "", "allow-lan add lan", -EINVAL, "bad CIDR 'lan'" },
	{ "", "allow-lan add", -EINVAL, "usage: allow-lan add|del CIDR" },
	{ "", "allow-lan", -EINVAL, "usage: allow-lan add|del CIDR" },
	{ "", "allow-lan add 10.0.0.0/8 10.1.0.0/16", -EINVAL, "usage: allow-lan add|del CIDR" },
	{ "", "allow-lan put 10.0.0.0/8", -EINVAL, "usage: allow-lan" },
	{ "", "allow-lan add 192.168.255.1/16", -EEXIST, "192.168.0.0/16 is already in the list" },
	{ "", "allow-lan del 10.0.0.0/8", -ENOENT, "10.0.0.0/8 is not in the list" },
	{ "", "allow-lan del 192.168.0.0/24", -ENOENT, "not in the list" },
	{ "", "frobnicate on", -EINVAL, "unknown command 'frobnicate'" },
	{ "", "frobnicate", -EINVAL, "dns-forward, show or help)" },
	{ "", "Kill-switch on", -EINVAL, "unknown command" },
	{ "", "show", -EINVAL, "show:" },
	{ "", "kill-switch", -EINVAL, "usage: kill-switch on|off|auto" },
	{ "", "kill-switch maybe", -EINVAL, "usage: kill-switch" },
	{ "", "kill-switch on off", -EINVAL, "usage: kill-switch" },
	{ "", "masquerade yes", -EINVAL, "usage: masquerade on|off" },
	{ "", "masquerade", -EINVAL, "usage: masquerade" },
	{ "", "allow add tcp 192.0.2.1:0", -EINVAL, "allow: bad port '0'" },
	{ "", "allow add tcp 192.0.2.1:70000", -EINVAL, "bad port '70000'" },
	{ "", "allow add tcp 192.0.2.1:", -EINVAL, "bad port ''" },
	{ "", "allow add tcp 192.0.2.1:0443", -EINVAL, "bad port" },
	{ "", "allow add icmp 192.0.2.1:80", -EINVAL, "a port needs tcp or udp, not icmp" },
	{ "", "allow add any [2001:db8::1]:80", -EINVAL, "a port needs tcp or udp, not any" },
	{ "", "allow add sctp 192.0.2.1", -EINVAL, "usage: allow add|del" },
	{ "", "allow add TCP 192.0.2.1", -EINVAL, "usage: allow" },
	{ "", "allow add tcp 10.0.0.0/8:80", -EINVAL, "a CIDR takes no port" },
	{ "", "allow add tcp [fd00::/8]:80", -EINVAL, "a CIDR takes no port" },
	{ "", "allow add tcp [192.0.2.1]:80", -EINVAL, "bad address" },
	{ "", "allow add tcp [2001:db8::1]", -EINVAL, "bad address" },
	{ "", "allow add tcp [2001:db8::1]x80", -EINVAL, "bad address" },
	{ "", "allow add tcp example.com:443", -EINVAL, "bad address 'example.com:443'" },
	{ "", "allow add tcp :443", -EINVAL, "bad address" },
	{ "", "allow add tcp 192.0.2.1:443", -EEXIST, "already allowed" },
	{ "", "allow del tcp 192.0.2.1:80", -ENOENT, "not in the list" },
	{ "", "allow del udp 192.0.2.1:443", -ENOENT, "not in the list" },
	{ "", "allow del tcp 192.0.2.1", -ENOENT, "not in the list" },
	{ "", "allow add tcp", -EINVAL, "usage: allow" },
	{ "", "allow add tcp 192.0.2.1 443", -EINVAL, "usage: allow" },
	{ "", "port-forward add icmp 80", -EINVAL, "usage: port-forward add|del tcp|udp PORT [ADDR[:PORT]]" },
	{ "", "port-forward add any 80", -EINVAL, "usage: port-forward" },
	{ "", "port-forward add tcp 0", -EINVAL, "port-forward: bad port '0'" },
	{ "", "port-forward add tcp 65536", -EINVAL, "bad port '65536'" },
	{ "", "port-forward add tcp http", -EINVAL, "bad port 'http'" },
	{ "", "port-forward add tcp 80 10.0.0.0/24", -EINVAL, "a host address, not a CIDR" },
	{ "", "port-forward add tcp 80 10.0.0.5:0", -EINVAL, "bad port '0'" },
	{ "", "port-forward add tcp 80 10.0.0.5:70000", -EINVAL, "bad port '70000'" },
	{ "", "port-forward add tcp 80 host.lan", -EINVAL, "bad address" },
	{ "", "port-forward add tcp 9001 9000", -EINVAL, "to this host on the same port, give no address" },
	{ "", "port-forward add tcp 80 10.0.0.5 x", -EINVAL, "usage: port-forward" },
	{ "", "port-forward add tcp", -EINVAL, "usage: port-forward" },
	{ "", "port-forward add tcp 8080 172.20.0.6:80", -EEXIST, "tcp port 8080 is already forwarded" },
	{ "", "port-forward add tcp 8080", -EEXIST, "already forwarded" },
	{ "", "port-forward del tcp 8080 172.20.0.6:80", -ENOENT, "no such forward of tcp port 8080" },
	{ "", "port-forward del tcp 8080 172.20.0.5", -ENOENT, "no such forward" },
	{ "", "port-forward del udp 8080", -ENOENT, "no such forward of udp port 8080" },
	{ "", "forward-from del 10.0.0.0/8", -ENOENT, "forward-from: 10.0.0.0/8 is not in the list" },
	{ "", "forward-from add 172.20.0.9/24", -EEXIST, "172.20.0.0/24 is already in the list" },
	{ "", "forward-from add 172.20.0.0/99", -EINVAL, "forward-from: bad CIDR" },
	{ "", "dns set 9.9.9.9/32", -EINVAL, "dns: bad resolver address '9.9.9.9/32'" },
	{ "", "dns set 9.9.9.9:53", -EINVAL, "bad resolver address" },
	{ "", "dns set [2620:fe::fe]:53", -EINVAL, "bad resolver address" },
	{ "", "dns set dns.quad9.net", -EINVAL, "bad resolver address" },
	{ "", "dns set 1.1.1.1 9.9.9.9 1.1.1.1", -EINVAL, "resolver 1.1.1.1 given twice" },
	{ "", "dns set 2620:fe::fe 2620:00fe:0::fe", -EINVAL, "given twice" },
	{ "", "dns set 1.1.1.1 bogus", -EINVAL, "bad resolver address 'bogus'" },
	{ "", "dns add 9.9.9.9", -EINVAL, "usage: dns set [ADDR...]" },
	{ "", "dns", -EINVAL, "usage: dns" },
	{ "", "kill-switch Lockdown", -EINVAL, "usage: kill-switch on|off|auto|lockdown" },
	{ "", "open add tcp", -EINVAL, "usage: open [add|del] tcp|udp PORT" },
	{ "", "open tcp", -EINVAL, "usage: open [add|del] tcp|udp PORT" },
	{ "", "open put tcp 51413", -EINVAL, "usage: open" },
	{ "", "open udp 51413", -EEXIST, "udp port 51413 is already open" },
	{ "", "open add any 51413", -EINVAL, "usage: open" },
	{ "", "open add icmp 1", -EINVAL, "usage: open" },
	{ "", "open add tcp 0", -EINVAL, "open: bad port '0'" },
	{ "", "open add tcp 65536", -EINVAL, "open: bad port '65536'" },
	{ "", "open add udp 51413", -EEXIST, "udp port 51413 is already open" },
	{ "", "open del tcp 51413", -ENOENT, "tcp port 51413 is not open" },
	{ "", "open add tcp 80 81", -EINVAL, "usage: open" },
	{ "", "dns-forward", -EINVAL, "usage: dns-forward on|off" },
	{ "", "dns-forward yes", -EINVAL, "usage: dns-forward on|off" },
	{ "", "help", -EINVAL, "unknown command 'help'" },
	{ "", "", -EINVAL, "empty command" },
	/* Refused by policy_split: binary garbage, overlong and wordy lines. */
	{ "", "allow-lan add \x01\x02", -EINVAL, NULL },
	{ "", "\xff\xfe\xfd", -EINVAL, NULL },
	{ "", "allow-lan add 10.0.0.0/8\x7f", -EINVAL, NULL },
	{ "", "kill-switch off\r", -EINVAL, NULL },
	{ "", "kill-switch off\n\n", -EINVAL, NULL },
	{ "", "kill-switch off\nkill-switch auto", -EINVAL, NULL },
	{ "", "dns set 9.9.9.9\v", -EINVAL, NULL },
	{ "", "allow-lan add 10.0.0.0/8 caf\xc3\xa9", -EINVAL, NULL },
};

static void check_refused(const char *setup, const char *line, int want, const char *why)
{
	char err[256] = "";
	int ret;

	load(&pol, base);
	if (*setup) {
		assert_int_equal(policy_apply_file(&pol, "setup", setup, strlen(setup), err, sizeof(err)), 0);
		err[0] = '\0';
	}
	memcpy(&before, &pol, sizeof(pol));
	ret = run_line(&pol, line, err, sizeof(err));
	if (ret != want)
		fail_msg("'%s': %d, want %d (%s)", line, ret, want, err);
	if (memcmp(&before, &pol, sizeof(pol)))
		fail_msg("'%s' changed the policy", line);
	if (why && !strstr(err, why))
		fail_msg("'%s': message '%s' lacks '%s'", line, err, why);
}

static void commands_refused(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		check_refused(refused[i].setup, refused[i].line, refused[i].ret, refused[i].why);
}

/* Refusals that take more than one line to set up: words and lines at their limits. */
static void limits_refused(void **state)
{
	char line[POLICY_MAX_LINE + 16];
	size_t i;

	(void)state;
	/* 33 words */
	line[0] = '\0';
	for (i = 0; i < POLICY_MAX_WORDS + 1; i++)
		strcat(line, "dns ");
	check_refused("", line, -EINVAL, NULL);
	/* 1025 bytes, with and without the newline */
	memset(line, 'a', POLICY_MAX_LINE + 1);
	line[POLICY_MAX_LINE + 1] = '\0';
	check_refused("", line, -E2BIG, NULL);
	strcat(line, "\n");
	check_refused("", line, -E2BIG, NULL);
	/* 1024 bytes split fine, and the word is then an unknown command */
	line[POLICY_MAX_LINE] = '\0';
	check_refused("", line, -EINVAL, "unknown command 'aaaa");
}

static void split_cases(void **state)
{
	static const struct {
		const char *line;
		int ret;
		const char *words; /* joined by '|' */
	} cases[] = {
		{ "", 0, "" },
		{ "   \t ", 0, "" },
		{ "\n", 0, "" },
		{ "\r\n", 0, "" },
		{ " \t\r\n", 0, "" },
		{ "a b\r\n", 0, "a|b" },
		{ "\ta\t\tb  c ", 0, "a|b|c" },
		{ "allow-lan add 10.0.0.0/8\n", 0, "allow-lan|add|10.0.0.0/8" },
		{ "a\r", -EINVAL, NULL },
		{ "a\rb\n", -EINVAL, NULL },
		{ "a\nb", -EINVAL, NULL },
		{ "a\n\n", -EINVAL, NULL },
		{ "a\r\r\n", -EINVAL, NULL },
		{ "\x01", -EINVAL, NULL },
		{ "a\x1b[2J", -EINVAL, NULL },
		{ "\x7f", -EINVAL, NULL },
		{ "caf\xc3\xa9", -EINVAL, NULL },
		{ "\x80", -EINVAL, NULL },
	};
	char buf[POLICY_MAX_LINE + 16], joined[POLICY_MAX_LINE + 64], *words[POLICY_MAX_WORDS];
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(buf, cases[i].line);
		n = 999;
		assert_int_equal(policy_split(buf, words, &n), cases[i].ret);
		if (cases[i].ret) {
			/* a refused line is left as it came, and so is the count */
			assert_string_equal(buf, cases[i].line);
			assert_int_equal(n, 999);
			continue;
		}
		joined[0] = '\0';
		for (j = 0; j < n; j++) {
			if (j)
				strcat(joined, "|");
			strcat(joined, words[j]);
		}
		assert_string_equal(joined, cases[i].words);
	}

	/* exactly POLICY_MAX_WORDS words, and one more */
	buf[0] = '\0';
	for (i = 0; i < POLICY_MAX_WORDS; i++)
		strcat(buf, i % 2 ? "w\t" : "w ");
	assert_int_equal(policy_split(buf, words, &n), 0);
	assert_int_equal(n, POLICY_MAX_WORDS);
	for (i = 0; i < n; i++)
		assert_string_equal(words[i], "w");
	buf[0] = '\0';
	for (i = 0; i < POLICY_MAX_WORDS + 1; i++)
		strcat(buf, "w ");
	assert_int_equal(policy_split(buf, words, &n), -EINVAL);

	/* POLICY_MAX_LINE bytes plus "\r\n" fit; one more byte does not */
	memset(buf, 'x', POLICY_MAX_LINE);
	strcpy(buf + POLICY_MAX_LINE, "\r\n");
	assert_int_equal(policy_split(buf, words, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(words[0]), POLICY_MAX_LINE);
	memset(buf, 'x', POLICY_MAX_LINE + 1);
	strcpy(buf + POLICY_MAX_LINE + 1, "\n");
	assert_int_equal(policy_split(buf, words, &n), -E2BIG);
	assert_int_equal(strlen(buf), POLICY_MAX_LINE + 2);
}

static void list_line(char *line, size_t len, size_t list, unsigned int i)
{
	unsigned int a = i / 16 + 1, b = i % 16;

	if (list == 0)
		snprintf(line, len, "allow-lan add 10.%u.%u.0/24", a, b);
	else if (list == 1)
		snprintf(line, len, "allow add tcp 10.0.%u.%u:443", a, b);
	else if (list == 2)
		snprintf(line, len, "forward-from add fd00:%x:%x::/48", a, b);
	else if (list == 3)
		snprintf(line, len, "port-forward add udp %u", 1000 + i);
	else
		snprintf(line, len, "open add tcp %u", 2000 + i);
}

/* Fill one list to POLICY_MAX_ENTRIES; the next add is -E2BIG and changes nothing. */
static void list_full(void **state)
{
	char line[128], err[256];
	size_t list;
	unsigned int i;

	(void)state;
	for (list = 0; list < 5; list++) {
		load(&pol, "");
		for (i = 0; i < POLICY_MAX_ENTRIES; i++) {
			list_line(line, sizeof(line), list, i);
			if (run_line(&pol, line, err, sizeof(err)))
				fail_msg("'%s': %s", line, err);
		}
		memcpy(&before, &pol, sizeof(pol));
		list_line(line, sizeof(line), list, 999);
		assert_int_equal(run_line(&pol, line, err, sizeof(err)), -E2BIG);
		assert_non_null(strstr(err, "list full"));
		assert_memory_equal(&before, &pol, sizeof(pol));
		/* a duplicate is still -EEXIST, not -E2BIG */
		list_line(line, sizeof(line), list, 7);
		assert_int_equal(run_line(&pol, line, err, sizeof(err)), -EEXIST);
	}
}

static void dns_limits(void **state)
{
	static char text[POLICY_MAX_ENTRIES + 1][16];
	char *words[POLICY_MAX_ENTRIES + 3], err[256];
	size_t i;

	(void)state;
	words[0] = "dns";
	words[1] = "set";
	for (i = 0; i <= POLICY_MAX_ENTRIES; i++) {
		snprintf(text[i], sizeof(text[i]), "10.0.%zu.%zu", i / 256, i % 256);
		words[i + 2] = text[i];
	}
	load(&pol, base);
	memcpy(&before, &pol, sizeof(pol));
	assert_int_equal(policy_apply_words(&pol, words, POLICY_MAX_ENTRIES + 3, err, sizeof(err)), -E2BIG);
	assert_memory_equal(&before, &pol, sizeof(pol));
	assert_int_equal(policy_apply_words(&pol, words, POLICY_MAX_ENTRIES + 2, err, sizeof(err)), 0);
	assert_int_equal(pol.n_dns, POLICY_MAX_ENTRIES);
	assert_false(pol.dns_from_conf);
	assert_int_equal(pol.dns[255].sa.sa_family, AF_INET);

	/* --dns one at a time stops at the same bound */
	policy_init(&pol);
	for (i = 0; i < POLICY_MAX_ENTRIES; i++)
		assert_int_equal(policy_apply_flag(&pol, "--dns", &words[i + 2], 1, err, sizeof(err)), 0);
	memcpy(&before, &pol, sizeof(pol));
	assert_int_equal(policy_apply_flag(&pol, "--dns", &words[POLICY_MAX_ENTRIES + 2], 1, err, sizeof(err)), -E2BIG);
	assert_memory_equal(&before, &pol, sizeof(pol));
}

static void flags(void **state)
{
	static const struct {
		const char *flag;
		const char *args[3];
		size_t n;
		const char *want;
	} ok[] = {
		{ "--kill-switch", { "on" }, 1, "\"kill_switch\":\"on\"" },
		{ "--kill-switch", { "off" }, 1, "\"kill_switch\":\"off\"" },
		{ "--allow-lan", { "10.1.2.3/8" }, 1, "\"allow_lan\":[\"10.0.0.0/8\"]" },
		{ "--allow", { "tcp", "192.0.2.1:443" }, 2,
		  "\"allow\":[{\"proto\":\"tcp\",\"addr\":\"192.0.2.1/32\",\"port\":443}]" },
		{ "--forward-from", { "172.20.0.0/24" }, 1, "\"forward_from\":[\"172.20.0.0/24\"]" },
		{ "--masquerade", { NULL }, 0, "\"masquerade\":true" },
		{ "--masquerade", { "on" }, 1, "\"masquerade\":true" },
		{ "--port-forward", { "tcp", "8080", "172.20.0.5:80" }, 3,
		  "\"port_forward\":[{\"proto\":\"tcp\",\"port\":8080,\"target\":\"172.20.0.5\",\"target_port\":80}]" },
		{ "--port-forward", { "udp", "53" }, 2, "{\"proto\":\"udp\",\"port\":53,\"target\":null,\"target_port\":53}" },
		{ "--dns", { "9.9.9.9" }, 1, "\"dns\":[\"9.9.9.9\"],\"dns_from_conf\":false" },
		{ "--kill-switch", { "lockdown" }, 1, "\"kill_switch\":\"lockdown\"" },
		{ "--open", { "tcp", "51413" }, 2, "\"open\":[{\"proto\":\"tcp\",\"port\":51413}]" },
		{ "--dns-forward", { NULL }, 0, "\"dns_forward\":true" },
		{ "--dns-forward", { "off" }, 1, "\"dns_forward\":false" },
		/* lists, as gluetun's variables are written */
		{ "--forward-from", { "172.28.0.0/24;10.30.0.0/24;192.168.50.0/24" }, 1,
		  "\"forward_from\":[\"172.28.0.0/24\",\"10.30.0.0/24\",\"192.168.50.0/24\"]" },
		{ "--allow-lan", { "192.168.1.0/24,fd00:1::/64" }, 1, "\"allow_lan\":[\"192.168.1.0/24\",\"fd00:1::/64\"]" },
		{ "--dns", { "9.9.9.9,2620:fe::fe" }, 1, "\"dns\":[\"9.9.9.9\",\"2620:fe::fe\"]" },
		{ "--open", { "udp", "51413;6881" }, 2,
		  "\"open\":[{\"proto\":\"udp\",\"port\":51413},{\"proto\":\"udp\",\"port\":6881}]" },
		{ "--allow", { "tcp", "192.0.2.1:443;[2001:db8::1]:443" }, 2,
		  "{\"proto\":\"tcp\",\"addr\":\"2001:db8::1/128\",\"port\":443}]" },
	};
	static const struct {
		const char *flag;
		const char *args[4];
		size_t n;
		int ret;
		const char *why;
	} bad[] = {
		{ "--bogus", { "x" }, 1, -EINVAL, "unknown option '--bogus'" },
		{ "kill-switch", { "on" }, 1, -EINVAL, "unknown option" },
		{ "--kill-switch", { NULL }, 0, -EINVAL, "usage: --kill-switch on|off|auto" },
		{ "--kill-switch", { "on", "off" }, 2, -EINVAL, "usage: --kill-switch" },
		{ "--kill-switch", { "yes" }, 1, -EINVAL, "usage: --kill-switch" },
		{ "--allow-lan", { "10.0.0.0/33" }, 1, -EINVAL, "--allow-lan: bad CIDR '10.0.0.0/33'" },
		{ "--allow-lan", { "192.168.0.0/16" }, 1, -EEXIST, "--allow-lan: 192.168.0.0/16 is already" },
		{ "--allow-lan", { NULL }, 0, -EINVAL, "usage: --allow-lan CIDR" },
		{ "--allow", { "tcp" }, 1, -EINVAL, "usage: --allow" },
		{ "--allow", { "icmp", "192.0.2.9:1" }, 2, -EINVAL, "--allow: a port needs tcp or udp" },
		{ "--forward-from", { "a", "b" }, 2, -EINVAL, "usage: --forward-from CIDR" },
		{ "--masquerade", { "maybe" }, 1, -EINVAL, "usage: --masquerade [on|off]" },
		{ "--port-forward", { "tcp", "0" }, 2, -EINVAL, "--port-forward: bad port '0'" },
		{ "--port-forward", { "tcp", "1", "2", "3" }, 4, -EINVAL, "usage: --port-forward" },
		{ "--dns", { "9.9.9.9:53" }, 1, -EINVAL, "--dns: bad resolver address" },
		{ "--dns", { "9.9.9.9" }, 1, -EEXIST, "given twice" },
		{ "--dns", { NULL }, 0, -EINVAL, "usage: --dns ADDR" },
		{ "--allow-lan", { "\x1b]0x\x07" }, 1, -EINVAL, "bad CIDR '?]0x?'" },
		/* lists: one bad value refuses them all, and names the value */
		{ "--allow-lan", { "10.9.0.0/16;10.8.0.0/33" }, 1, -EINVAL, "--allow-lan: bad CIDR '10.8.0.0/33'" },
		{ "--forward-from", { "10.9.0.0/16,,10.8.0.0/16" }, 1, -EINVAL, "an empty value in the list" },
		{ "--forward-from", { "10.9.0.0/16;" }, 1, -EINVAL, "an empty value in the list" },
		{ "--forward-from", { "10.9.0.0/16;10.9.0.0/16" }, 1, -EEXIST, "10.9.0.0/16 is already in the list" },
		{ "--dns", { "1.1.1.1;1.1.1.1" }, 1, -EEXIST, "given twice" },
		{ "--open", { "tcp", "80;0" }, 2, -EINVAL, "--open: bad port '0'" },
		{ "--open", { "icmp", "80" }, 2, -EINVAL, "usage: --open tcp|udp PORT" },
		{ "--kill-switch", { "lockdown;on" }, 1, -EINVAL, "usage: --kill-switch" },
		{ "--dns-forward", { "yes" }, 1, -EINVAL, "usage: --dns-forward [on|off]" },
	};
	char err[256];
	size_t i, lo, hi;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		policy_init(&pol);
		if (policy_apply_flag(&pol, ok[i].flag, (char *const *)ok[i].args, ok[i].n, err, sizeof(err)))
			fail_msg("%s refused: %s", ok[i].flag, err);
		if (!strstr(json(&pol), ok[i].want))
			fail_msg("%s: %s lacks %s", ok[i].flag, out, ok[i].want);
		assert_int_equal(policy_flag_arity(ok[i].flag, &lo, &hi), 0);
		assert_true(lo <= ok[i].n && ok[i].n <= hi);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		load(&pol, base);
		memcpy(&before, &pol, sizeof(pol));
		err[0] = '\0';
		assert_int_equal(policy_apply_flag(&pol, bad[i].flag, (char *const *)bad[i].args, bad[i].n, err, sizeof(err)),
				 bad[i].ret);
		assert_memory_equal(&before, &pol, sizeof(pol));
		if (!strstr(err, bad[i].why))
			fail_msg("%s: message '%s' lacks '%s'", bad[i].flag, err, bad[i].why);
	}
	assert_int_equal(policy_flag_arity("--bogus", &lo, &hi), -EINVAL);
	assert_int_equal(policy_flag_arity("--masquerade", &lo, &hi), 0);
	assert_true(lo == 0 && hi == 1);
	assert_int_equal(policy_flag_arity("--port-forward", &lo, &hi), 0);
	assert_true(lo == 2 && hi == 3);

	/* --masquerade off, after on */
	policy_init(&pol);
	assert_int_equal(policy_apply_flag(&pol, "--masquerade", NULL, 0, err, sizeof(err)), 0);
	assert_true(pol.masquerade);
	assert_int_equal(policy_apply_flag(&pol, "--masquerade", (char *[]){ "off" }, 1, err, sizeof(err)), 0);
	assert_false(pol.masquerade);
}

/* The first --dns replaces the conf's resolvers; the next ones add to it. */
static void flag_dns_replaces_conf(void **state)
{
	char err[256];

	(void)state;
	policy_init(&pol);
	/* as the daemon fills it from the conf */
	pol.dns[0].sin.sin_family = AF_INET;
	pol.dns[0].sin.sin_addr.s_addr = htonl(0x01010101);
	pol.dns[1].sin.sin_family = AF_INET;
	pol.dns[1].sin.sin_addr.s_addr = htonl(0x08080808);
	pol.n_dns = 2;
	assert_int_equal(policy_apply_flag(&pol, "--dns", (char *[]){ "9.9.9.9" }, 1, err, sizeof(err)), 0);
	assert_string_equal(strstr(json(&pol), "\"dns\""), "\"dns\":[\"9.9.9.9\"],\"dns_from_conf\":false,\"dns_forward\":false}");
	assert_int_equal(policy_apply_flag(&pol, "--dns", (char *[]){ "2620:fe::fe" }, 1, err, sizeof(err)), 0);
	assert_string_equal(strstr(json(&pol), "\"dns\""),
			    "\"dns\":[\"9.9.9.9\",\"2620:fe::fe\"],\"dns_from_conf\":false,\"dns_forward\":false}");
	assert_int_equal(pol.dns[1].sa.sa_family, AF_INET6);
}

static void file_applied(void **state)
{
	static const char text[] = "# wgud policy\n"
				   "\n"
				   "allow-lan add 10.0.0.0/8   # the home LAN\r\n"
				   "   masquerade on\n"
				   "\t \n"
				   "#kill-switch off\n"
				   "# a comment may hold anything: caf\xc3\xa9 \x01\n"
				   "forward-from add 172.20.0.0/24"; /* no final newline */
	char err[256] = "";

	(void)state;
	policy_init(&pol);
	assert_int_equal(policy_apply_file(&pol, "t.policy", text, strlen(text), err, sizeof(err)), 0);
	assert_string_equal(json(&pol), "{\"kill_switch\":\"auto\",\"masquerade\":true,\"allow_lan\":[\"10.0.0.0/8\"],"
					"\"allow\":[],\"forward_from\":[\"172.20.0.0/24\"],\"port_forward\":[],\"open\":[],"
					"\"dns\":[],\"dns_from_conf\":true,\"dns_forward\":false}");

	/* the whole base, and an empty file */
	load(&pol, base);
	assert_string_equal(json(&pol), base_json);
	memcpy(&before, &pol, sizeof(pol));
	assert_int_equal(policy_apply_file(&pol, "empty", "", 0, err, sizeof(err)), 0);
	assert_memory_equal(&before, &pol, sizeof(pol));
}

static void file_refused(void **state)
{
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		int ret;
		const char *err;
	} cases[] = {
		{ "allow-lan add 10.0.0.0/8\nmasquerade on\nforward-from add 1.2.3.4/33\nkill-switch off\n", 0, -EINVAL,
		  "t.policy:3: forward-from: bad CIDR '1.2.3.4/33'" },
		{ "# c\n\nallow-lan add 10.0.0.0/8\nallow-lan add 10.0.0.0/8\n", 0, -EEXIST,
		  "t.policy:4: allow-lan: 10.0.0.0/8 is already in the list" },
		{ "masquerade on\nkill-switch\0on\n", 29, -EINVAL, "t.policy:2: NUL byte in the line" },
		{ "masquerade on\nkill-switch \x01on\n", 0, -EINVAL,
		  "t.policy:2: control character or non-ASCII byte at column 13" },
		{ "masquerade on\rkill-switch on\n", 0, -EINVAL, "t.policy:1: control character or non-ASCII byte at column 14" },
		{ "show\n", 0, -EINVAL, "t.policy:1: show: only on the control socket" },
		{ "kill-switch on\nfoo", 0, -EINVAL, "t.policy:2: unknown command 'foo'" },
		{ "dns set 1.1.1.1 1.1.1.1", 0, -EINVAL, "t.policy:1: dns: resolver 1.1.1.1 given twice" },
	};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);

		load(&pol, base);
		memcpy(&before, &pol, sizeof(pol));
		err[0] = '\0';
		assert_int_equal(policy_apply_file(&pol, "t.policy", cases[i].text, len, err, sizeof(err)), cases[i].ret);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)))
			fail_msg("message '%s' does not start with '%s'", err, cases[i].err);
		assert_memory_equal(&before, &pol, sizeof(pol));
	}
}

static void file_long_lines(void **state)
{
	static char text[3 * POLICY_MAX_LINE];
	char err[256];
	size_t n;

	(void)state;
	/* a long comment is fine */
	n = (size_t)sprintf(text, "masquerade on # ");
	memset(text + n, 'c', 2 * POLICY_MAX_LINE);
	n += 2 * POLICY_MAX_LINE;
	text[n++] = '\n';
	load(&pol, "");
	assert_int_equal(policy_apply_file(&pol, "t", text, n, err, sizeof(err)), 0);
	assert_true(pol.masquerade);

	/* a long command is not, on line 2 */
	n = (size_t)sprintf(text, "masquerade off\nallow-lan add ");
	memset(text + n, '1', POLICY_MAX_LINE);
	n += POLICY_MAX_LINE;
	memcpy(&before, &pol, sizeof(pol));
	assert_int_equal(policy_apply_file(&pol, "t", text, n, err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "t:2: line longer than 1024 bytes");
	assert_memory_equal(&before, &pol, sizeof(pol));
}

static void kill_switch_mode(void **state)
{
	static const struct {
		const char *setup;
		bool full_tunnel;
		enum policy_kill_switch want;
	} cases[] = {
		{ "", false, POLICY_KILL_SWITCH_OFF },
		{ "", true, POLICY_KILL_SWITCH_ON },
		/* a gateway locks down by default, full tunnel or not */
		{ "forward-from add 172.20.0.0/24", false, POLICY_KILL_SWITCH_LOCKDOWN },
		{ "forward-from add 172.20.0.0/24", true, POLICY_KILL_SWITCH_LOCKDOWN },
		{ "kill-switch off", true, POLICY_KILL_SWITCH_OFF },
		{ "kill-switch off\nforward-from add 172.20.0.0/24", true, POLICY_KILL_SWITCH_OFF },
		{ "kill-switch on", false, POLICY_KILL_SWITCH_ON },
		{ "kill-switch on\nforward-from add 172.20.0.0/24", true, POLICY_KILL_SWITCH_ON },
		{ "kill-switch lockdown", false, POLICY_KILL_SWITCH_LOCKDOWN },
		{ "kill-switch lockdown", true, POLICY_KILL_SWITCH_LOCKDOWN },
		{ "kill-switch on\nkill-switch auto", true, POLICY_KILL_SWITCH_ON },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		load(&pol, cases[i].setup);
		if (policy_kill_switch_mode(&pol, cases[i].full_tunnel) != cases[i].want)
			fail_msg("'%s' with full tunnel %d: %s, want %s", cases[i].setup, cases[i].full_tunnel,
				 policy_kill_switch_name(policy_kill_switch_mode(&pol, cases[i].full_tunnel)),
				 policy_kill_switch_name(cases[i].want));
	}
	assert_string_equal(policy_kill_switch_name(POLICY_KILL_SWITCH_LOCKDOWN), "lockdown");
	assert_string_equal(policy_kill_switch_name((enum policy_kill_switch)99), "?");
}

static void format_json_exact(void **state)
{
	(void)state;
	policy_init(&pol);
	assert_string_equal(json(&pol), "{\"kill_switch\":\"auto\",\"masquerade\":false,\"allow_lan\":[],\"allow\":[],"
					"\"forward_from\":[],\"port_forward\":[],\"open\":[],\"dns\":[],\"dns_from_conf\":true,"
					"\"dns_forward\":false}");
	assert_json(out);
	load(&pol, base);
	assert_string_equal(json(&pol), base_json);
	assert_json(out);
}

static void format_text(void **state)
{
	static const char *const want[] = {
		"kill-switch: on",  "masquerade: on",		   "allow-lan: 192.168.0.0/16",
		"tcp 192.0.2.1:443", "forward-from: 172.20.0.0/24", "tcp 8080 -> 172.20.0.5:80",
		"dns: 9.9.9.9\n",
	};
	char err[256];
	size_t i;
	int n;

	(void)state;
	policy_init(&pol);
	n = policy_format_text(&pol, out, sizeof(out));
	assert_true(n > 0 && (size_t)n == strlen(out));
	assert_non_null(strstr(out, "kill-switch: auto"));
	assert_non_null(strstr(out, "allow-lan: (none)"));
	assert_non_null(strstr(out, "dns: from the conf\n"));

	load(&pol, base);
	assert_int_equal(run_line(&pol, "allow add any fd00::/8", err, sizeof(err)), 0);
	assert_int_equal(run_line(&pol, "allow add udp [2001:db8::53]:53", err, sizeof(err)), 0);
	assert_int_equal(run_line(&pol, "port-forward add udp 51000", err, sizeof(err)), 0);
	n = policy_format_text(&pol, out, sizeof(out));
	assert_true(n > 0 && (size_t)n == strlen(out));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(out, want[i]))
			fail_msg("text lacks '%s':\n%s", want[i], out);
	assert_non_null(strstr(out, "any fd00::/8"));
	assert_non_null(strstr(out, "udp [2001:db8::53]:53"));
	assert_non_null(strstr(out, "udp 51000 -> this host:51000"));
	assert_null(strstr(out, "from the conf"));
}

/* Both forms return -ENOSPC unless the whole text and its NUL fit. */
static void format_no_space(void **state)
{
	static char small[2048];
	int (*const formats[])(const struct policy *, char *, size_t) = { policy_format_json, policy_format_text };
	size_t f;
	int n;

	(void)state;
	load(&pol, base);
	for (f = 0; f < 2; f++) {
		n = formats[f](&pol, small, sizeof(small));
		assert_true(n > 0);
		assert_int_equal(formats[f](&pol, small, (size_t)n + 1), n);
		assert_int_equal(formats[f](&pol, small, (size_t)n), -ENOSPC);
		assert_int_equal(formats[f](&pol, small, 1), -ENOSPC);
		assert_int_equal(formats[f](&pol, NULL, 0), -ENOSPC);
	}
}

/* The longest text every list can hold still fits in POLICY_FORMAT_MAX, as valid JSON. */
static void format_worst_case(void **state)
{
	char line[256], err[256];
	unsigned int i;
	int n;

	(void)state;
	load(&pol, "");
	for (i = 0; i < POLICY_MAX_ENTRIES; i++) {
		snprintf(line, sizeof(line), "allow-lan add ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff%02x/128", i);
		assert_int_equal(run_line(&pol, line, err, sizeof(err)), 0);
		snprintf(line, sizeof(line), "allow add icmp ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff%02x/127", i & ~1U);
		if (!(i & 1))
			assert_int_equal(run_line(&pol, line, err, sizeof(err)), 0);
		snprintf(line, sizeof(line), "allow add tcp [ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff%02x]:65535", i);
		if (i & 1)
			assert_int_equal(run_line(&pol, line, err, sizeof(err)), 0);
		snprintf(line, sizeof(line), "forward-from add ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff%02x/128", i);
		assert_int_equal(run_line(&pol, line, err, sizeof(err)), 0);
		snprintf(line, sizeof(line), "port-forward add tcp %u [ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff%02x]:65535",
			 65535 - i, i);
		assert_int_equal(run_line(&pol, line, err, sizeof(err)), 0);
		snprintf(line, sizeof(line), "open add udp %u", 65535 - i);
		assert_int_equal(run_line(&pol, line, err, sizeof(err)), 0);
	}
	assert_int_equal(run_line(&pol, "kill-switch lockdown", err, sizeof(err)), 0);
	assert_int_equal(run_line(&pol, "dns-forward on", err, sizeof(err)), 0);
	for (i = 0; i < POLICY_MAX_ENTRIES; i++) {
		pol.dns[i].sin6.sin6_family = AF_INET6;
		memset(&pol.dns[i].sin6.sin6_addr, 0xff, 16);
		pol.dns[i].sin6.sin6_addr.s6_addr[15] = (uint8_t)i;
	}
	pol.n_dns = POLICY_MAX_ENTRIES;
	n = policy_format_json(&pol, out, sizeof(out));
	assert_true(n > 0 && n < POLICY_FORMAT_MAX);
	assert_json(out);
	n = policy_format_text(&pol, out, sizeof(out));
	assert_true(n > 0 && n < POLICY_FORMAT_MAX);
}

/* `wgud ctl IFACE help`: every command once, with its arguments and a meaning; too little room is refused. */
static void help_lists_every_word(void **state)
{
	static const char *const words[] = {
		"kill-switch on|off|auto|lockdown", "allow-lan add|del CIDR", "allow add|del tcp|udp|icmp|any",
		"forward-from add|del CIDR",	   "masquerade on|off",	     "port-forward add|del tcp|udp PORT",
		"open [add|del] tcp|udp PORT",	   "dns set [ADDR...]",	     "dns-forward on|off",
	};
	size_t i;
	int n;

	(void)state;
	n = policy_format_help(out, sizeof(out));
	assert_true(n > 0);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		const char *at = strstr(out, words[i]);

		if (!at || (at != out && at[-1] != '\n'))
			fail_msg("help lacks a line for '%s':\n%s", words[i], out);
		assert_null(strstr(at + 1, words[i]));
		/* a meaning after the usage, on the same line */
		assert_true(strchr(at, '\n') - at > (ptrdiff_t)strlen(words[i]) + 8);
	}
	/* every command of the table has a line, and every line has a command */
	assert_int_equal((size_t)count_lines(out), sizeof(words) / sizeof(words[0]));
	assert_int_equal(policy_format_help(out, 40), -ENOSPC);
}

/* add then del of the same entries gives back the same policy, though the unused slots differ. */
static void add_del_round_trip(void **state)
{
	static const char *const lines[][2] = {
		{ "allow-lan add 10.0.0.0/8", "allow-lan del 10.0.0.0/8" },
		{ "allow add udp [fd00::1]:53", "allow del udp [fd00::1]:53" },
		{ "forward-from add 10.2.0.0/16", "forward-from del 10.2.0.0/16" },
		{ "port-forward add udp 9 10.0.0.1", "port-forward del udp 9" },
		{ "open add tcp 22", "open del tcp 22" },
	};
	char err[256];
	size_t i;

	(void)state;
	load(&pol, base);
	load(&other, base);
	assert_true(policy_equal(&pol, &other));
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(run_line(&pol, lines[i][0], err, sizeof(err)), 0);
		assert_false(policy_equal(&pol, &other));
		assert_int_equal(run_line(&pol, lines[i][1], err, sizeof(err)), 0);
		assert_true(policy_equal(&pol, &other));
	}
	assert_int_equal(run_line(&pol, "kill-switch auto", err, sizeof(err)), 0);
	assert_false(policy_equal(&pol, &other));
	load(&pol, base);
	assert_int_equal(run_line(&pol, "dns-forward off", err, sizeof(err)), 0);
	assert_false(policy_equal(&pol, &other));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(commands_accepted), cmocka_unit_test(commands_refused),
		cmocka_unit_test(limits_refused),    cmocka_unit_test(split_cases),
		cmocka_unit_test(list_full),	     cmocka_unit_test(dns_limits),
		cmocka_unit_test(flags),	     cmocka_unit_test(flag_dns_replaces_conf),
		cmocka_unit_test(file_applied),	     cmocka_unit_test(file_refused),
		cmocka_unit_test(file_long_lines),   cmocka_unit_test(kill_switch_mode),
		cmocka_unit_test(format_json_exact), cmocka_unit_test(format_text),
		cmocka_unit_test(format_no_space),   cmocka_unit_test(format_worst_case),
		cmocka_unit_test(add_del_round_trip), cmocka_unit_test(help_lists_every_word),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
