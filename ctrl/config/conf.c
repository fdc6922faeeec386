// SPDX-License-Identifier: MIT
/*
 * The wg-quick file parser. Works on slices of the caller's buffer, so key
 * text is never copied; only hooks and search domains are copied out (as C
 * strings, into the model). Stricter than wg(8) where the difference is
 * more likely a typo than intent: a single-valued key given twice in one
 * section, an empty entry in a comma list, numbers with a sign or leading
 * zeros, and blanks inside a value (wg(8) drops every blank on the line).
 */
#include "conf.h"

#include <errno.h>
#include <net/if.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "tun.h"

enum section { SECTION_NONE, SECTION_INTERFACE, SECTION_PEER };

struct parser {
	const char *file;
	unsigned int line;
	struct conf_error *err;
	struct model_device *dev;
	enum section section;
	unsigned int interface_line;
	size_t peer; /* index of the current [Peer]: the array moves as it grows */
	uint32_t seen; /* single-valued keys already given in this section, by handler index */
	bool has_private_key;
};

struct slice {
	const char *s;
	size_t len;
};

enum handler_flags {
	H_REPEAT = 1U << 0, /* may be given several times in a section; each adds */
	H_EMPTY = 1U << 1,  /* an empty value is meaningful (an empty list, a no-op hook) */
};

struct handler {
	const char *name;
	enum section section;
	unsigned int flags;
	int arg;
	int (*parse)(struct parser *p, const struct handler *h, struct slice v);
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	struct conf_error *err = p->err;
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err->file, sizeof(err->file), "%s", p->file);
	err->line = p->line;
	if (p->line)
		snprintf(err->message, sizeof(err->message), "%s:%u: %s", p->file, p->line, what);
	else
		snprintf(err->message, sizeof(err->message), "%s: %s", p->file, what);
	return -EINVAL;
}

/* Maps the model's allocation errors to what a person should hear. */
static int fail_alloc(struct parser *p, int ret, const char *what)
{
	if (ret == -ENOMEM) {
		fail(p, "out of memory");
		return -ENOMEM;
	}
	return fail(p, "too many %s; split the configuration", what);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static struct slice trim(struct slice v)
{
	while (v.len && is_space(v.s[0])) {
		v.s++;
		v.len--;
	}
	while (v.len && is_space(v.s[v.len - 1]))
		v.len--;
	return v;
}

static bool slice_is(struct slice v, const char *word)
{
	return v.len == strlen(word) && !strncasecmp(v.s, word, v.len);
}

/*
 * Whether a name the file got wrong may be echoed in a message: only short
 * runs of letters, which no base64 key and no sizeable piece of one is.
 */
static bool safe_to_echo(struct slice v)
{
	size_t i;

	if (!v.len || v.len > 20)
		return false;
	for (i = 0; i < v.len; i++)
		if (!((v.s[i] >= 'a' && v.s[i] <= 'z') || (v.s[i] >= 'A' && v.s[i] <= 'Z')))
			return false;
	return true;
}

#define QUOTE_LEN 80

/* Whether text could be (a piece of) a base64 key: a long run of the base64 alphabet, not all digits. */
static bool looks_like_key(struct slice v)
{
	size_t i, run = 0;
	bool digits_only = true;

	for (i = 0; i < v.len; i++) {
		char c = v.s[i];
		bool digit = c >= '0' && c <= '9';

		if (!digit && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '+' && c != '/' && c != '=') {
			run = 0;
			digits_only = true;
			continue;
		}
		digits_only = digits_only && digit;
		if (++run >= 16 && !digits_only)
			return true;
	}
	return false;
}

/*
 * A bad value, quoted for a message, cut short; or a placeholder when it
 * might be a key pasted into the wrong field, since messages go to logs.
 */
static const char *quote(char buf[QUOTE_LEN], struct slice v)
{
	if (looks_like_key(v))
		return "(value not shown: it looks like a key)";
	if (v.len > QUOTE_LEN - 6)
		snprintf(buf, QUOTE_LEN, "'%.*s...'", QUOTE_LEN - 8, v.s);
	else
		snprintf(buf, QUOTE_LEN, "'%.*s'", (int)v.len, v.s);
	return buf;
}

static const char *section_name(enum section s)
{
	return s == SECTION_PEER ? "[Peer]" : "[Interface]";
}

static struct model_peer *cur_peer(struct parser *p)
{
	return &p->dev->peers[p->peer];
}

/* A DNS name: dot-separated labels of letters, digits, '-' and '_', 1..63 each, 253 in all. */
static bool valid_hostname(struct slice v)
{
	size_t i, label = 0;
	bool only_digits = true;

	if (v.len && v.s[v.len - 1] == '.')
		v.len--;
	if (!v.len || v.len > 253)
		return false;
	for (i = 0; i < v.len; i++) {
		char c = v.s[i];

		if (c == '.') {
			if (!label)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (c < '0' || c > '9')
			only_digits = false;
		if (++label > 63)
			return false;
	}
	/* "10.0.0.300" is a mistyped address, not a name to look up. */
	return label && !only_digits;
}

static int parse_key(struct parser *p, uint8_t key[MODEL_KEY_LEN], const char *name, struct slice v)
{
	if (key_from_base64(key, v.s, v.len))
		return fail(p, "%s is not a valid key: it must be 44 characters of base64 as `wg genkey` prints", name);
	return 0;
}

static int on_private_key(struct parser *p, const struct handler *h, struct slice v)
{
	int ret = parse_key(p, p->dev->private_key, h->name, v);

	if (!ret)
		p->has_private_key = true;
	return ret;
}

static int on_listen_port(struct parser *p, const struct handler *h, struct slice v)
{
	char q[QUOTE_LEN];

	if (model_parse_u16(&p->dev->listen_port, v.s, v.len))
		return fail(p, "%s must be a port number 0..65535 (0 picks one at random), not %s", h->name,
			    quote(q, v));
	return 0;
}

static int on_fwmark(struct parser *p, const struct handler *h, struct slice v)
{
	char q[QUOTE_LEN];

	if (slice_is(v, "off")) {
		p->dev->fwmark = 0;
		return 0;
	}
	if (model_parse_u32(&p->dev->fwmark, v.s, v.len))
		return fail(p, "%s must be \"off\" or a number 0..4294967295 (decimal or 0x hex), not %s", h->name,
			    quote(q, v));
	return 0;
}

static int on_mtu(struct parser *p, const struct handler *h, struct slice v)
{
	char q[QUOTE_LEN];
	uint32_t mtu;

	if (model_parse_u32(&mtu, v.s, v.len) || mtu < 576 || mtu > 65535)
		return fail(p, "%s must be a number 576..65535, not %s", h->name, quote(q, v));
	p->dev->mtu = mtu;
	p->dev->flags |= MODEL_DEVICE_HAS_MTU;
	return 0;
}

static int on_table(struct parser *p, const struct handler *h, struct slice v)
{
	char q[QUOTE_LEN];
	struct model_device *dev = p->dev;
	uint32_t id;

	dev->flags |= MODEL_DEVICE_HAS_TABLE;
	if (slice_is(v, "auto")) {
		dev->table = MODEL_TABLE_AUTO;
		return 0;
	}
	if (slice_is(v, "off")) {
		dev->table = MODEL_TABLE_OFF;
		return 0;
	}
	if (slice_is(v, "main"))
		id = 254;
	else if (model_parse_u32(&id, v.s, v.len) || id == 0 || id == UINT32_MAX)
		return fail(p, "%s must be \"auto\", \"off\", \"main\" or a routing table number 1..4294967294, not %s",
			    h->name, quote(q, v));
	dev->table = MODEL_TABLE_NUMBER;
	dev->table_id = id;
	return 0;
}

static int on_save_config(struct parser *p, const struct handler *h, struct slice v)
{
	char q[QUOTE_LEN];

	if (slice_is(v, "true"))
		p->dev->save_config = true;
	else if (slice_is(v, "false"))
		p->dev->save_config = false;
	else
		return fail(p, "%s must be \"true\" or \"false\", not %s", h->name, quote(q, v));
	return 0;
}

static int on_hook(struct parser *p, const struct handler *h, struct slice v)
{
	char cmd[MODEL_MAX_HOOK_LEN + 1];
	int ret;

	if (!v.len)
		return 0;
	/* Lines have no limit of their own (only the file has), so bound the copy here. */
	if (v.len > MODEL_MAX_HOOK_LEN)
		return fail(p, "%s is longer than %u bytes", h->name, MODEL_MAX_HOOK_LEN);
	memcpy(cmd, v.s, v.len);
	cmd[v.len] = '\0';
	ret = model_add_hook(p->dev, (enum model_hook)h->arg, cmd);
	if (ret == -E2BIG)
		return fail(p, "%s is longer than %u bytes", h->name, MODEL_MAX_HOOK_LEN);
	if (ret)
		return fail_alloc(p, ret, "hooks");
	return 0;
}

/* Calls item() for each comma-separated entry, trimmed. An empty value is an empty list. */
static int for_each_item(struct parser *p, const struct handler *h, struct slice v,
			 int (*item)(struct parser *p, const struct handler *h, struct slice e))
{
	while (v.len) {
		const char *comma = memchr(v.s, ',', v.len);
		size_t n = comma ? (size_t)(comma - v.s) : v.len;
		struct slice e = trim((struct slice){ v.s, n });
		int ret;

		if (!e.len)
			return fail(p, "empty entry in the %s list; remove the extra comma", h->name);
		ret = item(p, h, e);
		if (ret)
			return ret;
		if (!comma)
			break;
		v.s += n + 1;
		v.len -= n + 1;
		if (!v.len)
			return fail(p, "the %s list ends with a comma; remove it or add the missing entry", h->name);
	}
	return 0;
}

static int address_item(struct parser *p, const struct handler *h, struct slice e)
{
	char q[QUOTE_LEN];
	struct cidr c;
	int ret;

	if (model_parse_cidr(&c, e.s, e.len))
		return fail(p, "bad address %s in %s: write it like 10.0.0.1/24 or fd00::1/64", quote(q, e),
			    h->name);
	ret = model_add_address(p->dev, &c);
	return ret ? fail_alloc(p, ret, "addresses") : 0;
}

static int on_address(struct parser *p, const struct handler *h, struct slice v)
{
	return for_each_item(p, h, v, address_item);
}

static int dns_item(struct parser *p, const struct handler *h, struct slice e)
{
	char q[QUOTE_LEN];
	char name[MODEL_HOST_LEN];
	struct cidr c;
	int ret;

	if (!memchr(e.s, '/', e.len) && !model_parse_cidr(&c, e.s, e.len)) {
		union model_sockaddr sa = { 0 };

		sa.sa.sa_family = (sa_family_t)c.family;
		if (c.family == AF_INET)
			memcpy(&sa.sin.sin_addr, c.addr, 4);
		else
			memcpy(&sa.sin6.sin6_addr, c.addr, 16);
		ret = model_add_dns(p->dev, &sa);
		return ret ? fail_alloc(p, ret, "DNS servers") : 0;
	}
	if (!valid_hostname(e))
		return fail(p, "bad %s entry %s: give a resolver address (10.0.0.1, fd00::1) or a search domain",
			    h->name, quote(q, e));
	memcpy(name, e.s, e.len);
	name[e.len] = '\0';
	ret = model_add_dns_search(p->dev, name);
	return ret ? fail_alloc(p, ret, "DNS search domains") : 0;
}

static int on_dns(struct parser *p, const struct handler *h, struct slice v)
{
	return for_each_item(p, h, v, dns_item);
}

static int on_public_key(struct parser *p, const struct handler *h, struct slice v)
{
	struct model_peer *peer = cur_peer(p);
	int ret = parse_key(p, peer->public_key, h->name, v);

	if (!ret)
		peer->flags |= MODEL_PEER_HAS_PUBLIC_KEY;
	return ret;
}

static int on_preshared_key(struct parser *p, const struct handler *h, struct slice v)
{
	struct model_peer *peer = cur_peer(p);
	int ret = parse_key(p, peer->preshared_key, h->name, v);

	if (!ret)
		peer->flags |= MODEL_PEER_HAS_PRESHARED_KEY;
	return ret;
}

static int allowedip_item(struct parser *p, const struct handler *h, struct slice e)
{
	char q[QUOTE_LEN];
	struct cidr c;
	int ret;

	if (model_parse_cidr(&c, e.s, e.len))
		return fail(p, "bad prefix %s in %s: write it like 10.0.0.0/24 or fd00::/64", quote(q, e),
			    h->name);
	/* As wg(8) does: host bits are dropped rather than refused. */
	cidr_mask(&c);
	ret = model_peer_add_allowedip(p->dev, cur_peer(p), &c);
	return ret ? fail_alloc(p, ret, "allowed IPs") : 0;
}

static int on_allowed_ips(struct parser *p, const struct handler *h, struct slice v)
{
	return for_each_item(p, h, v, allowedip_item);
}

/* One entry of Endpoint: a literal address into e->addr, or a host name and port for the caller to resolve. */
static int parse_endpoint(struct parser *p, const struct handler *h, struct slice v, struct model_endpoint *e)
{
	char q[QUOTE_LEN];
	const char *colon;
	struct slice host;
	uint16_t port;

	memset(e, 0, sizeof(*e));
	if (!model_parse_endpoint(&e->addr, v.s, v.len)) {
		e->has_addr = true;
		return 0;
	}
	if (v.len && v.s[0] == '[') {
		const char *close = memchr(v.s, ']', v.len);
		const char *pct = close ? memchr(v.s, '%', (size_t)(close - v.s)) : NULL;
		uint32_t scope;

		/* A zone naming no interface is the likely mistake here; say so rather than "not valid". */
		if (pct && model_parse_scope(&scope, pct + 1, (size_t)(close - pct - 1)) == -ENODEV &&
		    close - pct - 1 < IF_NAMESIZE)
			return fail(p, "no interface '%.*s' for the scope of %s %s", (int)(close - pct - 1), pct + 1,
				    h->name, quote(q, v));
	}
	colon = v.len ? memrchr(v.s, ':', v.len) : NULL;
	if (!colon)
		return fail(p, "%s %s has no port: write host:port, like 192.0.2.1:51820", h->name, quote(q, v));
	host = (struct slice){ v.s, (size_t)(colon - v.s) };
	if (model_parse_u16(&port, colon + 1, v.len - host.len - 1))
		return fail(p, "%s %s needs a port number 0..65535 after the last ':'", h->name, quote(q, v));
	if (host.len && (host.s[0] == '[' || memchr(host.s, ':', host.len)))
		return fail(p, "%s %s is not a valid IPv6 endpoint: write it like [2001:db8::1]:51820", h->name,
			    quote(q, v));
	if (!valid_hostname(host))
		return fail(p, "%s %s is neither an IP address nor a host name", h->name, quote(q, v));
	memcpy(e->host, host.s, host.len);
	e->host[host.len] = '\0';
	e->port = port;
	return 0;
}

/* The first entry is the peer's endpoint; the others are what wgud --failover moves to. */
static int endpoint_item(struct parser *p, const struct handler *h, struct slice v)
{
	struct model_peer *peer = cur_peer(p);
	struct model_endpoint e;
	int ret = parse_endpoint(p, h, v, &e);

	if (ret)
		return ret;
	if (peer->flags & (MODEL_PEER_HAS_ENDPOINT | MODEL_PEER_HAS_ENDPOINT_HOST)) {
		ret = model_peer_add_alt_endpoint(peer, &e);
		if (ret == -E2BIG)
			return fail(p, "%s lists more than %d endpoints; keep at most %d", h->name, MODEL_MAX_ENDPOINTS,
				    MODEL_MAX_ENDPOINTS);
		return ret ? fail_alloc(p, ret, "endpoints") : 0;
	}
	if (e.has_addr) {
		peer->endpoint = e.addr;
		peer->flags |= MODEL_PEER_HAS_ENDPOINT;
		return 0;
	}
	memcpy(peer->endpoint_host, e.host, sizeof(e.host));
	peer->endpoint_port = e.port;
	peer->flags |= MODEL_PEER_HAS_ENDPOINT_HOST;
	return 0;
}

static int on_endpoint(struct parser *p, const struct handler *h, struct slice v)
{
	cur_peer(p)->endpoint_line = p->line;
	return for_each_item(p, h, v, endpoint_item);
}

static int on_keepalive(struct parser *p, const struct handler *h, struct slice v)
{
	char q[QUOTE_LEN];
	struct model_peer *peer = cur_peer(p);

	if (slice_is(v, "off"))
		peer->persistent_keepalive = 0;
	else if (model_parse_u16(&peer->persistent_keepalive, v.s, v.len))
		return fail(p, "%s must be \"off\" or seconds 0..65535, not %s", h->name, quote(q, v));
	peer->flags |= MODEL_PEER_HAS_PERSISTENT_KEEPALIVE;
	return 0;
}

static const struct handler handlers[] = {
	{ "PrivateKey", SECTION_INTERFACE, 0, 0, on_private_key },
	{ "ListenPort", SECTION_INTERFACE, 0, 0, on_listen_port },
	{ "FwMark", SECTION_INTERFACE, 0, 0, on_fwmark },
	{ "Address", SECTION_INTERFACE, H_REPEAT | H_EMPTY, 0, on_address },
	{ "DNS", SECTION_INTERFACE, H_REPEAT | H_EMPTY, 0, on_dns },
	{ "MTU", SECTION_INTERFACE, 0, 0, on_mtu },
	{ "Table", SECTION_INTERFACE, 0, 0, on_table },
	{ "PreUp", SECTION_INTERFACE, H_REPEAT | H_EMPTY, MODEL_HOOK_PRE_UP, on_hook },
	{ "PostUp", SECTION_INTERFACE, H_REPEAT | H_EMPTY, MODEL_HOOK_POST_UP, on_hook },
	{ "PreDown", SECTION_INTERFACE, H_REPEAT | H_EMPTY, MODEL_HOOK_PRE_DOWN, on_hook },
	{ "PostDown", SECTION_INTERFACE, H_REPEAT | H_EMPTY, MODEL_HOOK_POST_DOWN, on_hook },
	{ "SaveConfig", SECTION_INTERFACE, 0, 0, on_save_config },
	{ "PublicKey", SECTION_PEER, 0, 0, on_public_key },
	{ "PresharedKey", SECTION_PEER, 0, 0, on_preshared_key },
	{ "AllowedIPs", SECTION_PEER, H_REPEAT | H_EMPTY, 0, on_allowed_ips },
	{ "Endpoint", SECTION_PEER, 0, 0, on_endpoint },
	{ "PersistentKeepalive", SECTION_PEER, 0, 0, on_keepalive },
};

_Static_assert(sizeof(handlers) / sizeof(handlers[0]) <= 32, "seen is a 32-bit mask");

/* The checks that can only run once a section is complete. */
static int end_section(struct parser *p)
{
	if (p->section == SECTION_PEER && !(cur_peer(p)->flags & MODEL_PEER_HAS_PUBLIC_KEY)) {
		p->line = cur_peer(p)->conf_line;
		return fail(p, "[Peer] has no PublicKey; add the peer's public key (`wg pubkey` prints it)");
	}
	return 0;
}

static int on_section(struct parser *p, struct slice name)
{
	struct model_peer *peer;
	int ret = end_section(p);

	if (ret)
		return ret;
	p->seen = 0;
	if (slice_is(name, "Interface")) {
		if (p->interface_line)
			return fail(p, "second [Interface] section (the first is on line %u); a file describes one "
				       "interface", p->interface_line);
		p->section = SECTION_INTERFACE;
		p->interface_line = p->line;
		return 0;
	}
	if (slice_is(name, "Peer")) {
		ret = model_add_peer(p->dev, &peer);
		if (ret)
			return fail_alloc(p, ret, "peers");
		peer->conf_line = p->line;
		peer->flags = MODEL_PEER_REPLACE_ALLOWEDIPS;
		p->peer = p->dev->n_peers - 1;
		p->section = SECTION_PEER;
		return 0;
	}
	if (safe_to_echo(name))
		return fail(p, "unknown section [%.*s]; only [Interface] and [Peer] exist", (int)name.len, name.s);
	return fail(p, "unknown section; only [Interface] and [Peer] exist");
}

static int on_key_value(struct parser *p, struct slice key, struct slice value)
{
	size_t i;

	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		const struct handler *h = &handlers[i];

		if (!slice_is(key, h->name))
			continue;
		if (p->section == SECTION_NONE)
			return fail(p, "%s comes before any section; put it under [Interface] or [Peer]", h->name);
		if (h->section != p->section)
			return fail(p, "%s belongs in %s, not in %s", h->name, section_name(h->section),
				    section_name(p->section));
		if (!(h->flags & H_REPEAT) && (p->seen & (1U << i)))
			return fail(p, "%s is given twice in this section; keep one", h->name);
		p->seen |= 1U << i;
		if (!value.len && !(h->flags & H_EMPTY))
			return fail(p, "%s has no value", h->name);
		return h->parse(p, h, value);
	}
	if (p->section == SECTION_NONE)
		return fail(p, "a key comes before any section; start the file with [Interface]");
	if (safe_to_echo(key))
		return fail(p, "unknown key '%.*s' in %s; see wg-quick(8) for the keys it takes", (int)key.len, key.s,
			    section_name(p->section));
	return fail(p, "unknown key in %s; see wg-quick(8) for the keys it takes", section_name(p->section));
}

static int parse_line(struct parser *p, struct slice line)
{
	const char *hash = memchr(line.s, '#', line.len);
	const char *eq;

	if (hash)
		line.len = (size_t)(hash - line.s);
	line = trim(line);
	if (!line.len)
		return 0;
	if (line.s[0] == '[') {
		if (line.s[line.len - 1] != ']' || line.len < 2)
			return fail(p, "a section header must be alone on its line, like [Peer]");
		return on_section(p, trim((struct slice){ line.s + 1, line.len - 2 }));
	}
	eq = memchr(line.s, '=', line.len);
	if (!eq)
		return fail(p, "this line has no '='; lines are Key = Value, [Interface], [Peer] or # comments");
	return on_key_value(p, trim((struct slice){ line.s, (size_t)(eq - line.s) }),
			    trim((struct slice){ eq + 1, line.len - (size_t)(eq - line.s) - 1 }));
}

/*
 * Public keys are public, so plain memcmp may order them; sorting keeps a
 * file with tens of thousands of peers from costing a comparison per pair.
 */
static int by_key_then_line(const void *a, const void *b, void *arg)
{
	const struct model_peer *peers = arg, *x = &peers[*(const size_t *)a], *y = &peers[*(const size_t *)b];
	int d = memcmp(x->public_key, y->public_key, MODEL_KEY_LEN);

	if (d)
		return d;
	return x->conf_line < y->conf_line ? -1 : x->conf_line > y->conf_line;
}

/* Names the duplicate that comes first in the file, so the message does not depend on the sort. */
static int check_duplicates(struct parser *p)
{
	const struct model_peer *peers = p->dev->peers;
	const struct model_peer *dup = NULL, *first = NULL;
	size_t i, n = p->dev->n_peers, *order;

	if (n < 2)
		return 0;
	order = calloc(n, sizeof(*order));
	if (!order) {
		fail(p, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), by_key_then_line, p->dev->peers);
	for (i = 1; i < n; i++) {
		const struct model_peer *x = &peers[order[i - 1]], *y = &peers[order[i]];

		if (memcmp(x->public_key, y->public_key, MODEL_KEY_LEN))
			continue;
		if (!dup || y->conf_line < dup->conf_line) {
			dup = y;
			first = x;
		}
	}
	free(order);
	if (!dup)
		return 0;
	p->line = dup->conf_line;
	return fail(p, "this [Peer] has the same PublicKey as the [Peer] on line %u; merge the two sections",
		    first->conf_line);
}

static int finish(struct parser *p)
{
	int ret = end_section(p);

	if (ret)
		return ret;
	if (!p->interface_line) {
		p->line = 0;
		return fail(p, "no [Interface] section; add one with the PrivateKey of this interface");
	}
	if (!p->has_private_key) {
		p->line = p->interface_line;
		return fail(p, "[Interface] has no PrivateKey; add one (`wg genkey` makes one)");
	}
	ret = check_duplicates(p);
	if (ret)
		return ret;
	p->dev->flags |= MODEL_DEVICE_REPLACE_PEERS | MODEL_DEVICE_HAS_PRIVATE_KEY | MODEL_DEVICE_HAS_LISTEN_PORT |
			 MODEL_DEVICE_HAS_FWMARK;
	return 0;
}

int conf_parse(const char *file_name, const char *text, size_t len, struct model_device **out, struct conf_error *err)
{
	struct parser p = { .file = file_name, .err = err };
	size_t pos = 0;
	int ret = 0;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	p.dev = model_device_new();
	if (!p.dev) {
		fail(&p, "out of memory");
		return -ENOMEM;
	}
	/* Editors on some systems start files with a UTF-8 byte order mark. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len && !ret) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		p.line++;
		/* No limit per line: wg(8) has none, and AllowedIPs with hundreds of prefixes is real; the file size bounds it. */
		if (memchr(text + pos, '\0', n))
			ret = fail(&p, "line holds a NUL byte; is this a text file?");
		else
			ret = parse_line(&p, (struct slice){ text + pos, n });
		pos += n + 1;
	}
	if (!ret)
		ret = finish(&p);
	if (ret) {
		model_device_free(p.dev);
		return ret;
	}
	*out = p.dev;
	return 0;
}

int conf_interface_name(char out[16], const char *path)
{
	const char *base = strrchr(path, '/');
	char name[IFNAMSIZ];
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len <= 5 || strcmp(base + len - 5, ".conf") || len - 5 >= sizeof(name))
		return -EINVAL;
	memcpy(name, base, len - 5);
	name[len - 5] = '\0';
	if (!tun_ifname_valid(name))
		return -EINVAL;
	memcpy(out, name, len - 4);
	return 0;
}

static int io_fail(struct conf_error *err, const char *path, int ret, const char *what)
{
	snprintf(err->file, sizeof(err->file), "%s", path);
	err->line = 0;
	snprintf(err->message, sizeof(err->message), "%s: %s: %s", path, what, strerror(-ret));
	return ret;
}

int conf_read_file(const char *path, struct model_device **out, struct conf_error *err, bool *world_readable)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd, ret;

	*out = NULL;
	*world_readable = false;
	memset(err, 0, sizeof(*err));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return io_fail(err, path, -errno, "cannot open");
	if (fstat(fd, &st)) {
		ret = io_fail(err, path, -errno, "cannot stat");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = io_fail(err, path, -EINVAL, "not a regular file");
		goto out;
	}
	*world_readable = st.st_mode & (S_IRWXG | S_IRWXO);
	/* One byte more than the limit, to tell a file at the limit from a bigger one. */
	buf = malloc(CONF_MAX_FILE_SIZE + 1);
	if (!buf) {
		ret = io_fail(err, path, -ENOMEM, "cannot read");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, CONF_MAX_FILE_SIZE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = io_fail(err, path, -errno, "cannot read");
			goto out;
		}
		if (!n)
			break;
		len += (size_t)n;
		if (len > CONF_MAX_FILE_SIZE) {
			snprintf(err->file, sizeof(err->file), "%s", path);
			snprintf(err->message, sizeof(err->message), "%s: larger than %u bytes; is this a configuration file?",
				 path, CONF_MAX_FILE_SIZE);
			ret = -EFBIG;
			goto out;
		}
	}
	ret = conf_parse(path, buf, len, out, err);
out:
	if (buf) {
		/* The file holds the private key. */
		sodium_memzero(buf, len);
		free(buf);
	}
	close(fd);
	return ret;
}
