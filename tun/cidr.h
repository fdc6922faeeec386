/* SPDX-License-Identifier: MIT */
/*
 * IP prefixes as bytes: the one CIDR type of the project and its bit
 * arithmetic, shared by the configuration model, the gateway's policy and
 * its nftables rendering, and rtnetlink. Text forms live with the parsers
 * (model_parse_cidr); nothing here allocates or prints.
 */
#ifndef WGUD_CIDR_H
#define WGUD_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* IPv4 in the first 4 bytes */
	uint8_t cidr;     /* prefix length */
};

/* 4 for AF_INET, 16 for AF_INET6, -EAFNOSUPPORT for anything else. */
int cidr_addr_len(int family);

/* A known family and a prefix length that fits it. */
bool cidr_valid(const struct cidr *c);

/* The netmask of a prefix length: cidr_addr_len(family) bytes of it, zero after. */
void cidr_netmask(uint8_t mask[16], int family, uint8_t cidr);

/*
 * Host bits cleared (and the bytes past an IPv4 address), as routes and
 * tables store prefixes; a prefix longer than the family is cut to it.
 */
void cidr_mask(struct cidr *c);

/* *out = addr/cidr with its host bits cleared; -EAFNOSUPPORT or -EINVAL (prefix too long) and *out untouched. */
int cidr_from(struct cidr *out, int family, const uint8_t *addr, uint8_t cidr);

/* Same family, prefix length and address bytes. */
bool cidr_equal(const struct cidr *a, const struct cidr *b);

/* x lies within net: same family, no shorter prefix, and the same network bits. */
bool cidr_contains(const struct cidr *net, const struct cidr *x);

/* The index of a prefix equal to x in list, or n when there is none. */
size_t cidr_find(const struct cidr *list, size_t n, const struct cidr *x);

/* Some prefix of list contains x. */
bool cidr_covered(const struct cidr *list, size_t n, const struct cidr *x);

/* The whole family (0.0.0.0/0 or ::/0). */
static inline bool cidr_is_default(const struct cidr *c)
{
	return c->cidr == 0;
}

#endif
