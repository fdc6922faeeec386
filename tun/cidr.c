// SPDX-License-Identifier: MIT
#include "cidr.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int cidr_addr_len(int family)
{
	if (family == AF_INET)
		return 4;
	if (family == AF_INET6)
		return 16;
	return -EAFNOSUPPORT;
}

bool cidr_valid(const struct cidr *c)
{
	int len = cidr_addr_len(c->family);

	return len > 0 && c->cidr <= 8 * len;
}

void cidr_netmask(uint8_t mask[16], int family, uint8_t cidr)
{
	int len = cidr_addr_len(family), i;

	memset(mask, 0, 16);
	for (i = 0; i < len; i++) {
		int bits = (int)cidr - 8 * i;

		mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

void cidr_mask(struct cidr *c)
{
	int len = cidr_addr_len(c->family);
	uint8_t mask[16];
	size_t i;

	if (len > 0 && c->cidr > 8 * len)
		c->cidr = (uint8_t)(8 * len);
	cidr_netmask(mask, c->family, c->cidr);
	for (i = 0; i < sizeof(c->addr); i++)
		c->addr[i] &= mask[i];
}

int cidr_from(struct cidr *out, int family, const uint8_t *addr, uint8_t cidr)
{
	struct cidr c = { .family = family, .cidr = cidr };
	int len = cidr_addr_len(family);

	if (len < 0)
		return len;
	if (cidr > 8 * len)
		return -EINVAL;
	memcpy(c.addr, addr, (size_t)len);
	cidr_mask(&c);
	*out = c;
	return 0;
}

bool cidr_equal(const struct cidr *a, const struct cidr *b)
{
	return a->family == b->family && a->cidr == b->cidr && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

bool cidr_contains(const struct cidr *net, const struct cidr *x)
{
	uint8_t mask[16];
	size_t i;

	if (net->family != x->family || x->cidr < net->cidr || !cidr_valid(net))
		return false;
	cidr_netmask(mask, net->family, net->cidr);
	for (i = 0; i < sizeof(mask); i++)
		if ((net->addr[i] ^ x->addr[i]) & mask[i])
			return false;
	return true;
}

size_t cidr_find(const struct cidr *list, size_t n, const struct cidr *x)
{
	size_t i;

	for (i = 0; i < n && !cidr_equal(&list[i], x); i++)
		;
	return i;
}

bool cidr_covered(const struct cidr *list, size_t n, const struct cidr *x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_contains(&list[i], x))
			return true;
	return false;
}
