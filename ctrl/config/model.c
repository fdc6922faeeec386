// SPDX-License-Identifier: MIT
/*
 * The shared configuration model: growable arrays with hard ceilings, and the
 * strict text forms that the conf parser and the UAPI both accept.
 */
#include "model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Addresses, DNS entries and hooks per device: far above any real file, low enough to bound memory. */
#define LIST_MAX 65536

struct model_device *model_device_new(void)
{
	return calloc(1, sizeof(struct model_device));
}

static void free_strings(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void model_device_free(struct model_device *dev)
{
	size_t i;

	if (!dev)
		return;
	for (i = 0; i < dev->n_peers; i++) {
		free(dev->peers[i].allowedips);
		free(dev->peers[i].alt_endpoints);
	}
	if (dev->peers)
		sodium_memzero(dev->peers, dev->cap_peers * sizeof(*dev->peers));
	free(dev->peers);
	free(dev->addresses);
	free(dev->dns);
	free_strings(dev->dns_search, dev->n_dns_search);
	for (i = 0; i < MODEL_HOOK_COUNT; i++)
		free_strings(dev->hooks[i], dev->n_hooks[i]);
	sodium_memzero(dev, sizeof(*dev));
	free(dev);
}

/*
 * Makes room for one more element. Not realloc(): the peer array holds
 * preshared keys, and realloc would leave a copy of them in freed memory,
 * so the old block is wiped before it goes back to the allocator.
 */
static int grow(void **arr, size_t *cap, size_t n, size_t elem, size_t max)
{
	size_t new_cap;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= max)
		return -E2BIG;
	new_cap = *cap ? *cap * 2 : 4;
	if (new_cap > max)
		new_cap = max;
	p = calloc(new_cap, elem);
	if (!p)
		return -ENOMEM;
	if (*arr) {
		memcpy(p, *arr, n * elem);
		sodium_memzero(*arr, *cap * elem);
		free(*arr);
	}
	*arr = p;
	*cap = new_cap;
	return 0;
}

int model_add_peer(struct model_device *dev, struct model_peer **out)
{
	int ret = grow((void **)&dev->peers, &dev->cap_peers, dev->n_peers, sizeof(*dev->peers), MODEL_MAX_PEERS);

	if (ret)
		return ret;
	*out = &dev->peers[dev->n_peers++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

int model_peer_add_allowedip(struct model_device *dev, struct model_peer *peer, const struct cidr *c)
{
	int ret;

	if (dev->n_allowedips_total >= MODEL_MAX_ALLOWEDIPS)
		return -E2BIG;
	ret = grow((void **)&peer->allowedips, &peer->cap_allowedips, peer->n_allowedips, sizeof(*c),
		   MODEL_MAX_ALLOWEDIPS);
	if (ret)
		return ret;
	peer->allowedips[peer->n_allowedips++] = *c;
	dev->n_allowedips_total++;
	return 0;
}

int model_peer_add_alt_endpoint(struct model_peer *peer, const struct model_endpoint *e)
{
	if (peer->n_alt_endpoints >= MODEL_MAX_ENDPOINTS - 1)
		return -E2BIG;
	if (!peer->alt_endpoints && !(peer->alt_endpoints = calloc(MODEL_MAX_ENDPOINTS - 1, sizeof(*e))))
		return -ENOMEM;
	peer->alt_endpoints[peer->n_alt_endpoints++] = *e;
	return 0;
}

int model_add_address(struct model_device *dev, const struct cidr *c)
{
	int ret = grow((void **)&dev->addresses, &dev->cap_addresses, dev->n_addresses, sizeof(*c), LIST_MAX);

	if (ret)
		return ret;
	dev->addresses[dev->n_addresses++] = *c;
	return 0;
}

int model_add_dns(struct model_device *dev, const union model_sockaddr *addr)
{
	int ret = grow((void **)&dev->dns, &dev->cap_dns, dev->n_dns, sizeof(*addr), LIST_MAX);

	if (ret)
		return ret;
	dev->dns[dev->n_dns++] = *addr;
	return 0;
}

static int add_string(char ***v, size_t *n, size_t *cap, const char *s, size_t max_len)
{
	char *copy;
	int ret;

	if (strlen(s) > max_len)
		return -E2BIG;
	ret = grow((void **)v, cap, *n, sizeof(**v), LIST_MAX);
	if (ret)
		return ret;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	(*v)[(*n)++] = copy;
	return 0;
}

int model_add_dns_search(struct model_device *dev, const char *domain)
{
	return add_string(&dev->dns_search, &dev->n_dns_search, &dev->cap_dns_search, domain, MODEL_HOST_LEN - 1);
}

int model_add_hook(struct model_device *dev, enum model_hook hook, const char *command)
{
	if ((unsigned int)hook >= MODEL_HOOK_COUNT)
		return -EINVAL;
	return add_string(&dev->hooks[hook], &dev->n_hooks[hook], &dev->cap_hooks[hook], command,
			  MODEL_MAX_HOOK_LEN);
}

struct model_peer *model_find_peer(struct model_device *dev, const uint8_t public_key[MODEL_KEY_LEN])
{
	size_t i;

	for (i = 0; i < dev->n_peers; i++)
		if (!sodium_memcmp(dev->peers[i].public_key, public_key, MODEL_KEY_LEN))
			return &dev->peers[i];
	return NULL;
}

/* inet_pton wants a C string; text here is a length-bounded slice. */
static int parse_addr(int *family, uint8_t addr[16], const char *text, size_t len)
{
	char buf[INET6_ADDRSTRLEN];
	uint8_t tmp[16];

	if (!len || len >= sizeof(buf) || memchr(text, '\0', len))
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, tmp) == 1) {
		*family = AF_INET;
		memcpy(addr, tmp, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, buf, tmp) == 1) {
		*family = AF_INET6;
		memcpy(addr, tmp, 16);
		return 0;
	}
	return -EINVAL;
}

/* Decimal without sign or leading zeros ("0" itself is fine), so "010" cannot mean 8 to one reader and 10 to another. */
static int parse_decimal(uint64_t *out, const char *text, size_t len, uint64_t max)
{
	uint64_t v = 0;
	size_t i;

	if (!len || (len > 1 && text[0] == '0'))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(text[i] - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_hex(uint64_t *out, const char *text, size_t len, uint64_t max)
{
	uint64_t v = 0;
	size_t i;
	int d;

	if (!len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char ch = text[i];

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			return -EINVAL;
		v = v * 16 + (uint64_t)d;
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

int model_parse_u16(uint16_t *out, const char *text, size_t len)
{
	uint64_t v;

	if (parse_decimal(&v, text, len, UINT16_MAX))
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int model_parse_u32(uint32_t *out, const char *text, size_t len)
{
	uint64_t v;
	int ret;

	if (len > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		ret = parse_hex(&v, text + 2, len - 2, UINT32_MAX);
	else
		ret = parse_decimal(&v, text, len, UINT32_MAX);
	if (ret)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int model_parse_cidr(struct cidr *out, const char *text, size_t len)
{
	const char *slash = memchr(text, '/', len);
	size_t addr_len = slash ? (size_t)(slash - text) : len;
	struct cidr c = { 0 };
	uint64_t prefix;

	if (parse_addr(&c.family, c.addr, text, addr_len))
		return -EINVAL;
	prefix = c.family == AF_INET ? 32 : 128;
	if (slash && parse_decimal(&prefix, slash + 1, len - addr_len - 1, prefix))
		return -EINVAL;
	c.cidr = (uint8_t)prefix;
	*out = c;
	return 0;
}

/*
 * The zone of a scoped IPv6 address, as getaddrinfo and so wg(8) take it:
 * an interface index or the name of an interface that exists now.
 */
int model_parse_scope(uint32_t *out, const char *text, size_t len)
{
	char name[IF_NAMESIZE];
	unsigned int index;
	uint64_t v;

	if (!parse_decimal(&v, text, len, UINT32_MAX)) {
		*out = (uint32_t)v;
		return 0;
	}
	if (!len || len >= sizeof(name) || memchr(text, '\0', len))
		return -EINVAL;
	memcpy(name, text, len);
	name[len] = '\0';
	index = if_nametoindex(name);
	if (!index)
		return -ENODEV;
	*out = index;
	return 0;
}

int model_parse_endpoint(union model_sockaddr *out, const char *text, size_t len)
{
	union model_sockaddr sa = { 0 };
	const char *host, *colon;
	size_t host_len;
	uint16_t port;
	uint8_t addr[16];
	uint32_t scope = 0;
	int family;

	if (len && text[0] == '[') {
		const char *close = memchr(text, ']', len), *pct;

		if (!close || (size_t)(close - text) + 1 >= len || close[1] != ':')
			return -EINVAL;
		host = text + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
		/* "[fe80::1%eth0]:51820": like getaddrinfo, any IPv6 address may carry a zone. */
		pct = memchr(host, '%', host_len);
		if (pct) {
			if (model_parse_scope(&scope, pct + 1, (size_t)(close - pct - 1)))
				return -EINVAL;
			host_len = (size_t)(pct - host);
		}
	} else {
		colon = memchr(text, ':', len);
		if (!colon)
			return -EINVAL;
		host = text;
		host_len = (size_t)(colon - text);
	}
	if (model_parse_u16(&port, colon + 1, len - (size_t)(colon + 1 - text)))
		return -EINVAL;
	if (parse_addr(&family, addr, host, host_len))
		return -EINVAL;
	/* An IPv6 address needs its brackets, and an IPv4 one must not have them. */
	if ((family == AF_INET6) != (text[0] == '['))
		return -EINVAL;
	if (family == AF_INET) {
		sa.sin.sin_family = AF_INET;
		sa.sin.sin_port = htons(port);
		memcpy(&sa.sin.sin_addr, addr, 4);
	} else {
		sa.sin6.sin6_family = AF_INET6;
		sa.sin6.sin6_port = htons(port);
		sa.sin6.sin6_scope_id = scope;
		memcpy(&sa.sin6.sin6_addr, addr, 16);
	}
	*out = sa;
	return 0;
}

void model_format_endpoint(char out[64], const union model_sockaddr *addr)
{
	char host[INET6_ADDRSTRLEN];

	if (addr->sa.sa_family == AF_INET && inet_ntop(AF_INET, &addr->sin.sin_addr, host, sizeof(host)))
		snprintf(out, 64, "%s:%u", host, ntohs(addr->sin.sin_port));
	else if (addr->sa.sa_family == AF_INET6 && inet_ntop(AF_INET6, &addr->sin6.sin6_addr, host, sizeof(host)) &&
		 addr->sin6.sin6_scope_id)
		/*
		 * The index, not the name: it reads back the same after a rename. inet_ntop
		 * writes at most 39 characters for an address that is not v4-mapped.
		 */
		snprintf(out, 64, "[%.39s%%%u]:%u", host, addr->sin6.sin6_scope_id, ntohs(addr->sin6.sin6_port));
	else if (addr->sa.sa_family == AF_INET6 && inet_ntop(AF_INET6, &addr->sin6.sin6_addr, host, sizeof(host)))
		snprintf(out, 64, "[%s]:%u", host, ntohs(addr->sin6.sin6_port));
	else
		snprintf(out, 64, "(none)");
}

const char *model_format_cidr(char out[64], const struct cidr *c)
{
	char host[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, c->addr, host, sizeof(host)))
		snprintf(host, sizeof(host), "?");
	snprintf(out, 64, "%s/%u", host, c->cidr);
	return out;
}
