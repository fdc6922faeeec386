/* SPDX-License-Identifier: MIT */
/*
 * The plumbing under nft.c: nftables messages built with libnftnl into one
 * batch buffer, rule expressions, and the round trip through libmnl.
 *
 * Building never fails half-way in a way a caller must check at each step:
 * the first failure (no room, no memory) sticks in the batch, every later
 * step does nothing, and nftb_result() reports it once. A rule being
 * assembled keeps its own failure until nftb_rule_put().
 *
 * Every match loads into register 1 and compares there, the way nft(8)
 * encodes its own rules, so that `nft list table` prints them back in the
 * words a person would have typed.
 */
#ifndef WGUD_NFT_BATCH_H
#define WGUD_NFT_BATCH_H

#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cidr.h"

/* One message is built here first, because libnftnl writes without bounds checks; our largest is under 1 KiB. */
#define NFTB_SCRATCH 8192
#define NFTB_TABLE_MAX 32 /* "wgud_" and an interface name */

struct nftnl_rule;

struct nftb {
	char *buf;
	size_t cap, len;
	uint32_t seq;
	int err; /* the first failure; every later step does nothing */
	char table[NFTB_TABLE_MAX];
	union {
		struct nlmsghdr align;
		char b[NFTB_SCRATCH];
	} scratch;
};

struct nftb_rule {
	struct nftnl_rule *nl;
	int err;
};

/* A batch for table (family inet) into buf; messages carry seq, seq + 1, ... */
void nftb_init(struct nftb *b, void *buf, size_t cap, uint32_t seq, const char *table);
void nftb_begin(struct nftb *b);
void nftb_end(struct nftb *b);
/* NFT_MSG_NEWTABLE or NFT_MSG_DELTABLE of the batch's table. */
void nftb_table(struct nftb *b, uint16_t type, uint16_t flags);
/* A base chain on hook at prio; with type NULL a regular chain (for jumps) and hook, prio, policy unused. */
void nftb_chain(struct nftb *b, const char *name, const char *type, uint32_t hook, int32_t prio, uint32_t policy);
/* The length of the batch, or the first failure (-ENOSPC, -ENOMEM). */
ssize_t nftb_result(const struct nftb *b);

void nftb_rule_begin(struct nftb *b, struct nftb_rule *r, const char *chain);
void nftb_rule_put(struct nftb *b, struct nftb_rule *r);

/* Expressions, appended to the rule in order. */
void nftb_meta(struct nftb_rule *r, enum nft_meta_keys key);                      /* reg1 = meta key */
void nftb_cmp(struct nftb_rule *r, enum nft_cmp_ops op, const void *data, uint32_t len); /* reg1 op data */
void nftb_payload(struct nftb_rule *r, enum nft_payload_bases base, uint32_t offset, uint32_t len);
void nftb_bitwise(struct nftb_rule *r, const void *mask, const void *xor_, uint32_t len); /* reg1 = reg1 & mask ^ xor */
/* reg1 = htonl(reg1): cmp compares bytes, so a host-order number is ordered only in network order */
void nftb_hton32(struct nftb_rule *r);
void nftb_ct(struct nftb_rule *r, enum nft_ct_keys key);     /* reg1 = ct key */
void nftb_ct_set(struct nftb_rule *r, enum nft_ct_keys key); /* ct key = reg1 */
void nftb_fib(struct nftb_rule *r, uint32_t flags, enum nft_fib_result result); /* reg1 = fib lookup */
void nftb_verdict(struct nftb_rule *r, int verdict);                  /* NF_ACCEPT, NF_DROP, NFT_RETURN */
void nftb_jump(struct nftb_rule *r, const char *chain);
void nftb_immediate(struct nftb_rule *r, enum nft_registers reg, const void *data, uint32_t len);
void nftb_dnat(struct nftb_rule *r, uint32_t nfproto, bool with_port); /* to reg1[:reg2] */
void nftb_masq(struct nftb_rule *r);

/* Matches made of those. */
void nftb_match_ifname(struct nftb_rule *r, enum nft_meta_keys key, enum nft_cmp_ops op, const char *name);
void nftb_match_meta_u8(struct nftb_rule *r, enum nft_meta_keys key, uint8_t value);
void nftb_match_dport(struct nftb_rule *r, uint16_t port);                   /* tcp or udp */
void nftb_match_ct_bits(struct nftb_rule *r, enum nft_ct_keys key, uint32_t bits); /* any of the bits */
void nftb_match_addr(struct nftb_rule *r, bool source, const struct cidr *c);   /* with the family */
uint8_t nftb_nfproto_of(int family);

/* Send a batch and drain every answer: 0 or -errno of the first message refused (then nothing changed). */
int nftb_send(const void *batch, size_t len);
/* One request of our own (a GET), len bytes at msg: 0 when the kernel answered without an error. */
int nftb_ask(const void *msg, size_t len);
/* A dump request (NLM_F_DUMP): cb sees each message of the answer; 0 or -errno. */
int nftb_dump(struct nlmsghdr *msg, mnl_cb_t cb, void *data);

#endif
