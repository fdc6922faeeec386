// SPDX-License-Identifier: MIT
/*
 * The policy's words, shared by the start-up flags, the policy file and the
 * control socket. Each command is checked in full (syntax, values,
 * duplicates, room in the list) before its single write into the policy, so
 * a refused command leaves the policy as it was without copying the whole
 * struct (tens of kilobytes) per command. Only a policy file, which is
 * all-or-nothing over many commands, works on a copy.
 */
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTE_LEN 72
#define ADDR_TEXT_LEN 64 /* an IPv6 address, '/', a prefix length, or "[addr]:port" */
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const proto_names[] = {
	[POLICY_PROTO_ANY] = "any",
	[POLICY_PROTO_TCP] = "tcp",
	[POLICY_PROTO_UDP] = "udp",
	[POLICY_PROTO_ICMP] = "icmp",
};

static const char *const kill_switch_names[] = {
	[POLICY_KILL_SWITCH_AUTO] = "auto",
	[POLICY_KILL_SWITCH_ON] = "on",
	[POLICY_KILL_SWITCH_OFF] = "off",
	[POLICY_KILL_SWITCH_LOCKDOWN] = "lockdown",
};

/* What a command's parser needs to explain a refusal: the name a person typed (command or flag). */
struct cmd {
	const char *name;
	const char *usage;
	char *err;
	size_t err_len;
};

static int fail(struct cmd *c, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct cmd *c, int ret, const char *fmt, ...)
{
	char what[192];
	va_list ap;

	if (!c->err || !c->err_len)
		return ret;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->err_len, "%s: %s", c->name, what);
	return ret;
}

static int usage(struct cmd *c)
{
	if (c->err && c->err_len)
		snprintf(c->err, c->err_len, "usage: %s", c->usage);
	return -EINVAL;
}

/* Words from flags reach here unfiltered: keep terminal escapes and megabyte arguments out of messages. */
static const char *quote(char out[QUOTE_LEN], const char *word)
{
	size_t i;

	for (i = 0; word[i] && i < QUOTE_LEN - 4; i++)
		out[i] = word[i] >= 0x20 && word[i] < 0x7f ? word[i] : '?';
	if (word[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

void policy_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->kill_switch = POLICY_KILL_SWITCH_AUTO;
	p->masquerade = false;
	p->dns_from_conf = true;
}

enum policy_kill_switch policy_kill_switch_mode(const struct policy *p, bool full_tunnel)
{
	if (p->kill_switch != POLICY_KILL_SWITCH_AUTO)
		return p->kill_switch;
	/* A gateway's clients must not find the plain route when wgud is gone. */
	if (p->n_forward_from)
		return POLICY_KILL_SWITCH_LOCKDOWN;
	return full_tunnel ? POLICY_KILL_SWITCH_ON : POLICY_KILL_SWITCH_OFF;
}

static bool allow_equal(const struct policy_allow *a, const struct policy_allow *b)
{
	return a->proto == b->proto && a->port == b->port && cidr_equal(&a->addr, &b->addr);
}

static bool forward_equal(const struct policy_port_forward *a, const struct policy_port_forward *b)
{
	return a->proto == b->proto && a->port == b->port && a->has_target == b->has_target &&
	       (!a->has_target || (cidr_equal(&a->target, &b->target) && a->target_port == b->target_port));
}

static bool open_equal(const struct policy_open *a, const struct policy_open *b)
{
	return a->proto == b->proto && a->port == b->port;
}

static bool dns_equal(const union model_sockaddr *a, const union model_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	return !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, sizeof(a->sin6.sin6_addr));
}

bool policy_equal(const struct policy *a, const struct policy *b)
{
	size_t i;

	if (a->kill_switch != b->kill_switch || a->masquerade != b->masquerade || a->dns_forward != b->dns_forward ||
	    a->n_allow_lan != b->n_allow_lan || a->n_allow != b->n_allow || a->n_forward_from != b->n_forward_from ||
	    a->n_port_forward != b->n_port_forward || a->n_open != b->n_open || a->n_dns != b->n_dns ||
	    a->dns_from_conf != b->dns_from_conf)
		return false;
	for (i = 0; i < a->n_allow_lan; i++)
		if (!cidr_equal(&a->allow_lan[i], &b->allow_lan[i]))
			return false;
	for (i = 0; i < a->n_allow; i++)
		if (!allow_equal(&a->allow[i], &b->allow[i]))
			return false;
	for (i = 0; i < a->n_forward_from; i++)
		if (!cidr_equal(&a->forward_from[i], &b->forward_from[i]))
			return false;
	for (i = 0; i < a->n_port_forward; i++)
		if (!forward_equal(&a->port_forward[i], &b->port_forward[i]))
			return false;
	for (i = 0; i < a->n_open; i++)
		if (!open_equal(&a->open[i], &b->open[i]))
			return false;
	for (i = 0; i < a->n_dns; i++)
		if (!dns_equal(&a->dns[i], &b->dns[i]))
			return false;
	return true;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* policy_split, with the reason and the 1-based column of a bad byte for the file parser's messages. */
static int split(char *line, char *words[POLICY_MAX_WORDS], size_t *n_words, const char **why, size_t *column)
{
	size_t len = strlen(line), i, n = 0;

	if (len && line[len - 1] == '\n') {
		len--;
		if (len && line[len - 1] == '\r')
			len--;
	}
	*column = 0;
	if (len > POLICY_MAX_LINE) {
		*why = "line longer than " STR(POLICY_MAX_LINE) " bytes";
		return -E2BIG;
	}
	/* Check everything before cutting, so that a refused line is left as it came. */
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (is_blank(line[i]))
			continue;
		if (ch < 0x20 || ch >= 0x7f) {
			*why = "control character or non-ASCII byte";
			*column = i + 1;
			return -EINVAL;
		}
		if (i == 0 || is_blank(line[i - 1])) {
			if (n == POLICY_MAX_WORDS) {
				*why = "more than " STR(POLICY_MAX_WORDS) " words";
				return -EINVAL;
			}
			n++;
		}
	}
	line[len] = '\0';
	n = 0;
	for (i = 0; i < len; i++) {
		if (is_blank(line[i]))
			line[i] = '\0';
		else if (i == 0 || line[i - 1] == '\0')
			words[n++] = &line[i];
	}
	*n_words = n;
	return 0;
}

int policy_split(char *line, char *words[POLICY_MAX_WORDS], size_t *n_words)
{
	const char *why;
	size_t column;

	return split(line, words, n_words, &why, &column);
}

static int parse_verb(struct cmd *c, bool *add, const char *word)
{
	if (!strcmp(word, "add"))
		*add = true;
	else if (!strcmp(word, "del"))
		*add = false;
	else
		return usage(c);
	return 0;
}

static int parse_proto(struct cmd *c, enum policy_proto *out, const char *word, bool tcp_udp_only)
{
	size_t i;

	for (i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++) {
		if (strcmp(word, proto_names[i]))
			continue;
		if (tcp_udp_only && i != POLICY_PROTO_TCP && i != POLICY_PROTO_UDP)
			break;
		*out = (enum policy_proto)i;
		return 0;
	}
	return usage(c);
}

static int parse_port(struct cmd *c, uint16_t *out, const char *text, size_t len)
{
	char q[QUOTE_LEN], buf[QUOTE_LEN];

	if (model_parse_u16(out, text, len) || !*out) {
		snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1), text);
		return fail(c, -EINVAL, "bad port '%s' (1 to 65535)", quote(q, buf));
	}
	return 0;
}

/* A CIDR, or an address meaning its host route; host bits are cleared so that comparisons see the prefix. */
static int parse_prefix(struct cmd *c, struct cidr *out, const char *word)
{
	char q[QUOTE_LEN];

	if (model_parse_cidr(out, word, strlen(word)))
		return fail(c, -EINVAL, "bad CIDR '%s'", quote(q, word));
	cidr_mask(out);
	return 0;
}

/*
 * ADDR[:PORT]: "192.0.2.1", "192.0.2.1:443", "2001:db8::1",
 * "[2001:db8::1]:443", and with prefix_ok a CIDR without a port. An IPv6
 * address with a port needs its brackets, since "::1:443" is an address.
 */
static int parse_addr_port(struct cmd *c, struct cidr *addr, uint16_t *port, const char *word, bool prefix_ok)
{
	const char *host = word, *port_text = NULL, *colon = strchr(word, ':');
	size_t host_len = strlen(word);
	char q[QUOTE_LEN];

	if (word[0] == '[') {
		const char *close = strchr(word, ']');

		if (!close || close[1] != ':')
			return fail(c, -EINVAL, "bad address '%s' (brackets only as [IPv6]:PORT)", quote(q, word));
		host = word + 1;
		host_len = (size_t)(close - host);
		port_text = close + 2;
	} else if (colon && !strchr(colon + 1, ':')) {
		host_len = (size_t)(colon - word);
		port_text = colon + 1;
	}
	if (memchr(host, '/', host_len) && (!prefix_ok || port_text))
		return fail(c, -EINVAL, "'%s': %s", quote(q, word),
			    prefix_ok ? "a CIDR takes no port" : "a host address, not a CIDR");
	if (model_parse_cidr(addr, host, host_len) || (word[0] == '[') != (port_text && addr->family == AF_INET6))
		return fail(c, -EINVAL, "bad address '%s'", quote(q, word));
	cidr_mask(addr);
	*port = 0;
	if (port_text)
		return parse_port(c, port, port_text, strlen(port_text));
	return 0;
}

/* `dns set` takes bare resolver addresses: the firewall decides which ports. */
static int parse_dns(struct cmd *c, union model_sockaddr *out, const char *word)
{
	struct cidr a;
	char q[QUOTE_LEN];

	if (strchr(word, '/') || model_parse_cidr(&a, word, strlen(word)))
		return fail(c, -EINVAL, "bad resolver address '%s' (an IPv4 or IPv6 address, no port)", quote(q, word));
	memset(out, 0, sizeof(*out));
	if (a.family == AF_INET) {
		out->sin.sin_family = AF_INET;
		memcpy(&out->sin.sin_addr, a.addr, 4);
	} else {
		out->sin6.sin6_family = AF_INET6;
		memcpy(&out->sin6.sin6_addr, a.addr, 16);
	}
	return 0;
}

static int cmd_kill_switch(struct policy *p, struct cmd *c, char *const args[], size_t n)
{
	size_t i;

	if (n != 1)
		return usage(c);
	for (i = 0; i < sizeof(kill_switch_names) / sizeof(kill_switch_names[0]); i++) {
		if (!strcmp(args[0], kill_switch_names[i])) {
			p->kill_switch = (enum policy_kill_switch)i;
			return 0;
		}
	}
	return usage(c);
}

static int on_off(struct cmd *c, bool *out, char *const args[], size_t n)
{
	if (n != 1 || (strcmp(args[0], "on") && strcmp(args[0], "off")))
		return usage(c);
	*out = !strcmp(args[0], "on");
	return 0;
}

static int cmd_masquerade(struct policy *p, struct cmd *c, char *const args[], size_t n)
{
	return on_off(c, &p->masquerade, args, n);
}

static int cmd_dns_forward(struct policy *p, struct cmd *c, char *const args[], size_t n)
{
	return on_off(c, &p->dns_forward, args, n);
}

/*
 * The one change every list takes once its command checked presence: entry
 * appended (refused when the list is full), or the one at `at` removed.
 */
static int list_apply(struct cmd *c, void *items, size_t *n_items, size_t size, size_t at, bool add, const void *entry)
{
	char *base = items;

	if (add && *n_items == POLICY_MAX_ENTRIES)
		return fail(c, -E2BIG, "list full (%d entries)", POLICY_MAX_ENTRIES);
	if (add) {
		memcpy(base + *n_items * size, entry, size);
		(*n_items)++;
	} else {
		memmove(base + at * size, base + (at + 1) * size, (*n_items - at - 1) * size);
		(*n_items)--;
	}
	return 0;
}

/* A default route "as LAN" or "allowed" would switch the kill switch off by the back door. */
static int refuse_everything(struct cmd *c, const struct cidr *entry, bool add)
{
	if (add && cidr_is_default(entry))
		return fail(c, -EINVAL, "a /0 is everything, not a LAN or a host; use kill-switch off to let traffic "
				       "around the tunnel");
	return 0;
}

static int cidr_list(struct cidr *list, size_t *n_list, struct cmd *c, char *const args[], size_t n, bool partial)
{
	struct cidr entry;
	char text[ADDR_TEXT_LEN];
	size_t i;
	bool add;
	int ret;

	if (n != 2)
		return usage(c);
	ret = parse_verb(c, &add, args[0]);
	if (!ret)
		ret = parse_prefix(c, &entry, args[1]);
	if (!ret && partial)
		ret = refuse_everything(c, &entry, add);
	if (ret)
		return ret;
	i = cidr_find(list, *n_list, &entry);
	if (add && i < *n_list)
		return fail(c, -EEXIST, "%s is already in the list", model_format_cidr(text, &entry));
	if (!add && i == *n_list)
		return fail(c, -ENOENT, "%s is not in the list", model_format_cidr(text, &entry));
	return list_apply(c, list, n_list, sizeof(list[0]), i, add, &entry);
}

static int cmd_allow_lan(struct policy *p, struct cmd *c, char *const args[], size_t n)
{
	return cidr_list(p->allow_lan, &p->n_allow_lan, c, args, n, true);
}

static int cmd_forward_from(struct policy *p, struct cmd *c, char *const args[], size_t n)
{
	return cidr_list(p->forward_from, &p->n_forward_from, c, args, n, false);
}

static int cmd_allow(struct policy *p, struct cmd *c, char *const args[], size_t n)
{
	struct policy_allow entry = { 0 };
	size_t i;
	bool add;
	int ret;

	if (n != 3)
		return usage(c);
	ret = parse_verb(c, &add, args[0]);
	if (!ret)
		ret = parse_proto(c, &entry.proto, args[1], false);
	if (!ret)
		ret = parse_addr_port(c, &entry.addr, &entry.port, args[2], true);
	if (!ret)
		ret = refuse_everything(c, &entry.addr, add);
	if (ret)
		return ret;
	if (entry.port && entry.proto != POLICY_PROTO_TCP && entry.proto != POLICY_PROTO_UDP)
		return fail(c, -EINVAL, "a port needs tcp or udp, not %s", proto_names[entry.proto]);
	for (i = 0; i < p->n_allow && !allow_equal(&p->allow[i], &entry); i++)
		;
	if (add && i < p->n_allow)
		return fail(c, -EEXIST, "%s %s is already allowed", args[1], args[2]);
	if (!add && i == p->n_allow)
		return fail(c, -ENOENT, "%s %s is not in the list", args[1], args[2]);
	return list_apply(c, p->allow, &p->n_allow, sizeof(p->allow[0]), i, add, &entry);
}

/*
 * A tunnel port forwards to one place, so entries are keyed by protocol and
 * port: `del` without a target removes whichever it is, `del` with one
 * only if it matches.
 */
static int cmd_port_forward(struct policy *p, struct cmd *c, char *const args[], size_t n)
{
	struct policy_port_forward entry = { 0 };
	size_t i;
	bool add;
	int ret;

	if (n != 3 && n != 4)
		return usage(c);
	ret = parse_verb(c, &add, args[0]);
	if (!ret)
		ret = parse_proto(c, &entry.proto, args[1], true);
	if (!ret)
		ret = parse_port(c, &entry.port, args[2], strlen(args[2]));
	if (!ret && n == 4) {
		entry.has_target = true;
		/* `port-forward add tcp 9001 9000` reads naturally but names no address */
		if (strspn(args[3], "0123456789") == strlen(args[3]))
			return fail(c, -EINVAL, "bad address '%.8s' (ADDR or ADDR:PORT; to this host on the same port, give no "
						"address)", args[3]);
		ret = parse_addr_port(c, &entry.target, &entry.target_port, args[3], false);
	}
	if (ret)
		return ret;
	if (entry.target_port == entry.port)
		entry.target_port = 0;
	for (i = 0; i < p->n_port_forward; i++)
		if (p->port_forward[i].proto == entry.proto && p->port_forward[i].port == entry.port)
			break;
	if (add && i < p->n_port_forward)
		return fail(c, -EEXIST, "%s port %u is already forwarded; del it first", args[1], entry.port);
	if (!add && (i == p->n_port_forward || (n == 4 && !forward_equal(&p->port_forward[i], &entry))))
		return fail(c, -ENOENT, "no such forward of %s port %u", args[1], entry.port);
	return list_apply(c, p->port_forward, &p->n_port_forward, sizeof(p->port_forward[0]), i, add, &entry);
}

/* `open tcp 51413` is `open add tcp 51413`, as the seeds and gluetun's users say it. */
static int cmd_open(struct policy *p, struct cmd *c, char *const args[], size_t n)
{
	struct policy_open entry = { 0 };
	bool add = true;
	size_t i;
	int ret = 0;

	if (n != 2 && n != 3)
		return usage(c);
	if (n == 3)
		ret = parse_verb(c, &add, args[0]);
	args += n - 2;
	if (!ret)
		ret = parse_proto(c, &entry.proto, args[0], true);
	if (!ret)
		ret = parse_port(c, &entry.port, args[1], strlen(args[1]));
	if (ret)
		return ret;
	for (i = 0; i < p->n_open && !open_equal(&p->open[i], &entry); i++)
		;
	if (add && i < p->n_open)
		return fail(c, -EEXIST, "%s port %u is already open", args[0], entry.port);
	if (!add && i == p->n_open)
		return fail(c, -ENOENT, "%s port %u is not open", args[0], entry.port);
	return list_apply(c, p->open, &p->n_open, sizeof(p->open[0]), i, add, &entry);
}

static int cmd_dns(struct policy *p, struct cmd *c, char *const args[], size_t n)
{
	union model_sockaddr one, other;
	size_t i, j;
	int ret;

	if (n < 1 || strcmp(args[0], "set"))
		return usage(c);
	if (n - 1 > POLICY_MAX_ENTRIES)
		return fail(c, -E2BIG, "at most %d resolvers", POLICY_MAX_ENTRIES);
	/* Checked in a first pass: p->dns is overwritten only once all are good. */
	for (i = 1; i < n; i++) {
		ret = parse_dns(c, &one, args[i]);
		if (ret)
			return ret;
		for (j = 1; j < i; j++) {
			if (parse_dns(c, &other, args[j]) == 0 && dns_equal(&one, &other))
				return fail(c, -EINVAL, "resolver %s given twice", args[i]);
		}
	}
	for (i = 1; i < n; i++)
		parse_dns(c, &p->dns[i - 1], args[i]);
	p->n_dns = n - 1;
	p->dns_from_conf = n == 1;
	return 0;
}

struct command {
	const char *name;
	const char *usage;
	const char *what; /* for help */
	int (*run)(struct policy *p, struct cmd *c, char *const args[], size_t n);
};

static const struct command commands[] = {
	{ "kill-switch", "kill-switch on|off|auto|lockdown",
	  "nothing leaves but through the tunnel; lockdown: and nothing at all once wgud stops (auto: lockdown with "
	  "forward-from, on with a full tunnel)",
	  cmd_kill_switch },
	{ "allow-lan", "allow-lan add|del CIDR", "reach CIDR directly, not through the tunnel", cmd_allow_lan },
	{ "allow", "allow add|del tcp|udp|icmp|any ADDR[:PORT]|CIDR", "reach one host or port directly", cmd_allow },
	{ "forward-from", "forward-from add|del CIDR", "forward CIDR out through the tunnel and nowhere else",
	  cmd_forward_from },
	{ "masquerade", "masquerade on|off", "NAT forwarded traffic to the tunnel address", cmd_masquerade },
	{ "port-forward", "port-forward add|del tcp|udp PORT [ADDR[:PORT]]",
	  "connections to PORT through the tunnel go to ADDR (a forward-from host) or this host", cmd_port_forward },
	{ "open", "open [add|del] tcp|udp PORT", "accept connections to PORT through the tunnel (else only replies)",
	  cmd_open },
	{ "dns", "dns set [ADDR...]", "DNS only to ADDR, only through the tunnel (none: the conf's DNS)", cmd_dns },
	{ "dns-forward", "dns-forward on|off",
	  "DNS from forward-from subnets to this host goes to the resolvers through the tunnel", cmd_dns_forward },
};

#define COMMAND_NAMES \
	"kill-switch, allow-lan, allow, forward-from, masquerade, port-forward, open, dns, dns-forward, show or help"

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int policy_apply_words(struct policy *p, char *const words[], size_t n_words, char *err, size_t err_len)
{
	const struct command *command;
	struct cmd c = { .err = err, .err_len = err_len };
	char q[QUOTE_LEN];

	if (!n_words) {
		if (err && err_len)
			snprintf(err, err_len, "empty command");
		return -EINVAL;
	}
	command = find_command(words[0]);
	if (!command) {
		if (err && err_len && !strcmp(words[0], "show"))
			snprintf(err, err_len, "show: only on the control socket (wgud ctl IFACE show)");
		else if (err && err_len)
			snprintf(err, err_len, "unknown command '%s' (" COMMAND_NAMES ")", quote(q, words[0]));
		return -EINVAL;
	}
	c.name = command->name;
	c.usage = command->usage;
	return command->run(p, &c, words + 1, n_words - 1);
}

/* Each --dns adds one resolver; the first one replaces the conf's list. */
static int flag_dns(struct policy *p, struct cmd *c, const char *word)
{
	union model_sockaddr sa;
	size_t i;
	int ret;

	ret = parse_dns(c, &sa, word);
	if (ret)
		return ret;
	if (p->dns_from_conf) {
		p->dns[0] = sa;
		p->n_dns = 1;
		p->dns_from_conf = false;
		return 0;
	}
	for (i = 0; i < p->n_dns; i++)
		if (dns_equal(&p->dns[i], &sa))
			return fail(c, -EEXIST, "resolver %s given twice", word);
	if (p->n_dns == POLICY_MAX_ENTRIES)
		return fail(c, -E2BIG, "at most %d resolvers", POLICY_MAX_ENTRIES);
	p->dns[p->n_dns++] = sa;
	return 0;
}

struct flag {
	const char *flag;
	const char *usage;
	const char *command; /* NULL: --dns */
	const char *verb;    /* put before the arguments, or NULL */
	size_t min_args, max_args;
	bool list; /* the last argument may hold several values, separated by ';' or ',' */
};

static const struct flag flags[] = {
	{ "--kill-switch", "--kill-switch on|off|auto|lockdown", "kill-switch", NULL, 1, 1, false },
	{ "--allow-lan", "--allow-lan CIDR[;CIDR...]", "allow-lan", "add", 1, 1, true },
	{ "--allow", "--allow tcp|udp|icmp|any ADDR[:PORT]|CIDR[;...]", "allow", "add", 2, 2, true },
	{ "--forward-from", "--forward-from CIDR[;CIDR...]", "forward-from", "add", 1, 1, true },
	{ "--masquerade", "--masquerade [on|off]", "masquerade", NULL, 0, 1, false },
	{ "--port-forward", "--port-forward tcp|udp PORT [ADDR[:PORT]]", "port-forward", "add", 2, 3, false },
	{ "--open", "--open tcp|udp PORT[;PORT...]", "open", "add", 2, 2, true },
	{ "--dns", "--dns ADDR[;ADDR...]", NULL, NULL, 1, 1, true },
	{ "--dns-forward", "--dns-forward [on|off]", "dns-forward", NULL, 0, 1, false },
};

static const struct flag *find_flag(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(flags[i].flag, name))
			return &flags[i];
	return NULL;
}

int policy_flag_arity(const char *flag, size_t *min_args, size_t *max_args)
{
	const struct flag *f = find_flag(flag);

	if (!f)
		return -EINVAL;
	*min_args = f->min_args;
	*max_args = f->max_args;
	return 0;
}

/* One value of the flag: the same command a person would type, named after the flag in messages. */
static int flag_one(struct policy *p, const struct flag *f, struct cmd *c, char *const args[], size_t n_args)
{
	char *words[2 + 3];
	size_t n = 0, i;

	if (!f->command)
		return flag_dns(p, c, args[0]);
	if (f->verb)
		words[n++] = (char *)f->verb;
	for (i = 0; i < n_args; i++)
		words[n++] = args[i];
	if (!n_args)
		words[n++] = "on"; /* a bare --masquerade, --dns-forward */
	return find_command(f->command)->run(p, c, words, n);
}

/* A list in the last argument: every value into a copy, which replaces *p only if all were taken. */
static int flag_list(struct policy *p, const struct flag *f, struct cmd *c, char *const args[], size_t n_args)
{
	char *values = strdup(args[n_args - 1]), *value, *rest, *one[3], q[QUOTE_LEN];
	struct policy *next = malloc(sizeof(*next));
	int ret = 0;

	if (!values || !next) {
		ret = fail(c, -ENOMEM, "out of memory");
		goto out;
	}
	*next = *p;
	memcpy(one, args, (n_args - 1) * sizeof(args[0]));
	for (value = values; !ret && value; value = rest) {
		rest = strpbrk(value, ";,");
		if (rest)
			*rest++ = '\0';
		if (!*value) {
			ret = fail(c, -EINVAL, "an empty value in the list '%s'", quote(q, args[n_args - 1]));
			break;
		}
		one[n_args - 1] = value;
		ret = flag_one(next, f, c, one, n_args);
	}
	if (!ret)
		*p = *next;
out:
	free(values);
	free(next);
	return ret;
}

const char *policy_flag_usage(const char *flag)
{
	const struct flag *f = find_flag(flag);

	return f ? f->usage : "";
}

int policy_apply_flag(struct policy *p, const char *flag, char *const args[], size_t n_args, char *err,
		      size_t err_len)
{
	const struct flag *f = find_flag(flag);
	struct cmd c = { .name = flag, .err = err, .err_len = err_len };
	char q[QUOTE_LEN];

	if (!f) {
		if (err && err_len)
			snprintf(err, err_len, "unknown option '%s'", quote(q, flag));
		return -EINVAL;
	}
	c.usage = f->usage;
	if (n_args < f->min_args || n_args > f->max_args)
		return usage(&c);
	if (f->list && strpbrk(args[n_args - 1], ";,"))
		return flag_list(p, f, &c, args, n_args);
	return flag_one(p, f, &c, args, n_args);
}

int policy_apply_file(struct policy *p, const char *file_name, const char *text, size_t len, char *err,
		      size_t err_len)
{
	char line[POLICY_MAX_LINE + 1], *words[POLICY_MAX_WORDS], why[256];
	struct policy *next;
	unsigned int line_no = 0;
	size_t pos = 0, n, n_words, column;
	const char *reason;
	int ret = 0;

	next = malloc(sizeof(*next));
	if (!next) {
		if (err && err_len)
			snprintf(err, err_len, "%s: out of memory", file_name);
		return -ENOMEM;
	}
	*next = *p;
	while (pos < len) {
		const char *start = text + pos, *end = memchr(start, '\n', len - pos), *hash;

		n = end ? (size_t)(end - start) : len - pos;
		pos += n + (end != NULL);
		line_no++;
		if (n && start[n - 1] == '\r')
			n--;
		/* '#' appears in no word, so it always starts a comment. */
		hash = memchr(start, '#', n);
		if (hash)
			n = (size_t)(hash - start);
		if (n > POLICY_MAX_LINE) {
			ret = -E2BIG;
			snprintf(why, sizeof(why), "line longer than %d bytes", POLICY_MAX_LINE);
			break;
		}
		if (memchr(start, '\0', n)) {
			ret = -EINVAL;
			snprintf(why, sizeof(why), "NUL byte in the line");
			break;
		}
		memcpy(line, start, n);
		line[n] = '\0';
		ret = split(line, words, &n_words, &reason, &column);
		if (ret) {
			if (column)
				snprintf(why, sizeof(why), "%s at column %zu", reason, column);
			else
				snprintf(why, sizeof(why), "%s", reason);
			break;
		}
		if (!n_words)
			continue;
		ret = policy_apply_words(next, words, n_words, why, sizeof(why));
		if (ret)
			break;
	}
	if (ret) {
		if (err && err_len)
			snprintf(err, err_len, "%s:%u: %s", file_name, line_no, why);
	} else {
		*p = *next;
	}
	free(next);
	return ret;
}

int policy_format_help(char *out, size_t cap)
{
	size_t len = 0, i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		int n = snprintf(out + len, cap - len, "%-52s %s\n", commands[i].usage, commands[i].what);

		if (n < 0 || (size_t)n >= cap - len)
			return -ENOSPC;
		len += (size_t)n;
	}
	return (int)len;
}

static const char *name_of(const char *const names[], size_t n_names, unsigned int i)
{
	return i < n_names && names[i] ? names[i] : "?";
}

const char *policy_kill_switch_name(enum policy_kill_switch k)
{
	return name_of(kill_switch_names, sizeof(kill_switch_names) / sizeof(kill_switch_names[0]), (unsigned int)k);
}

const char *policy_proto_name(enum policy_proto p)
{
	return name_of(proto_names, sizeof(proto_names) / sizeof(proto_names[0]), (unsigned int)p);
}
