// SPDX-License-Identifier: MIT
/*
 * The policy rendered into table inet wgud_IFACE (nft.h has its shape).
 *
 * Every match loads into register 1 and compares there, the way nft(8)
 * encodes its own rules, so that `nft list table inet wgud_IFACE` prints
 * them back in the words a person would have typed. Lists are unrolled into
 * one rule per entry instead of sets: each rule reads on its own, and the
 * batch needs no set bookkeeping.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft.h"
#include "tun.h"

/* One message is built here first, because libnftnl writes without bounds checks; our largest is 712 bytes. */
#define NFT_SCRATCH 8192
/* Where nft_replace stops doubling its buffer: the largest policy (every list full, IPv6) renders to 1.1 MiB. */
#define NFT_BATCH_MAX (16U << 20)
/* Receive room per expected answer: an ack is one small skb, but the socket is charged its truesize. */
#define NFT_ACK_ROOM 1024

struct batch {
	char *buf;
	size_t cap, len;
	uint32_t seq;
	int err; /* the first failure; every later step does nothing */
	union {
		struct nlmsghdr align;
		char b[NFT_SCRATCH];
	} scratch;
};

struct render {
	struct batch b;
	const struct nft_params *p;
	char table[sizeof(NFT_TABLE_PREFIX) + IFNAMSIZ];
};

/* A rule being assembled; an allocation failure is kept and reported when the rule is put. */
struct rule {
	struct nftnl_rule *nl;
	int err;
};

static void batch_fail(struct batch *b, int err)
{
	if (!b->err)
		b->err = err;
}

static struct nlmsghdr *msg_start(struct batch *b, uint16_t type, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(b->scratch.b, type, NFPROTO_INET, flags, b->seq++);
}

static void msg_finish(struct batch *b, const struct nlmsghdr *nlh)
{
	uint32_t len = nlh->nlmsg_len;

	if (!b->err && len > b->cap - b->len)
		b->err = -ENOSPC;
	if (!b->err) {
		memcpy(b->buf + b->len, nlh, len);
		b->len += len;
	}
	memset(b->scratch.b, 0, len);
}

static void put_batch_begin(struct batch *b)
{
	msg_finish(b, nftnl_batch_begin(b->scratch.b, b->seq++));
}

static void put_batch_end(struct batch *b)
{
	msg_finish(b, nftnl_batch_end(b->scratch.b, b->seq++));
}

static void put_table(struct batch *b, const char *name, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, name) < 0) {
		batch_fail(b, -ENOMEM);
	} else {
		struct nlmsghdr *nlh = msg_start(b, type, flags);

		nftnl_table_nlmsg_build_payload(nlh, t);
		msg_finish(b, nlh);
	}
	if (t)
		nftnl_table_free(t);
}

static void put_chain(struct render *rd, const char *name, const char *type, uint32_t hook, int32_t prio,
		      uint32_t policy)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, rd->table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0 || nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type) < 0) {
		batch_fail(&rd->b, -ENOMEM);
	} else {
		struct nlmsghdr *nlh;

		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, policy);
		nlh = msg_start(&rd->b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_ACK);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		msg_finish(&rd->b, nlh);
	}
	if (c)
		nftnl_chain_free(c);
}

static void rule_begin(struct render *rd, struct rule *r, const char *chain)
{
	r->err = 0;
	r->nl = nftnl_rule_alloc();
	if (!r->nl || nftnl_rule_set_str(r->nl, NFTNL_RULE_TABLE, rd->table) < 0 ||
	    nftnl_rule_set_str(r->nl, NFTNL_RULE_CHAIN, chain) < 0)
		r->err = -ENOMEM;
}

static void rule_put(struct render *rd, struct rule *r)
{
	if (r->err) {
		batch_fail(&rd->b, r->err);
	} else {
		struct nlmsghdr *nlh = msg_start(&rd->b, NFT_MSG_NEWRULE, NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK);

		nftnl_rule_nlmsg_build_payload(nlh, r->nl);
		msg_finish(&rd->b, nlh);
	}
	if (r->nl)
		nftnl_rule_free(r->nl);
	r->nl = NULL;
}

/* The rule owns what this returns; NULL after any failure in this rule. */
static struct nftnl_expr *expr_new(struct rule *r, const char *kind)
{
	struct nftnl_expr *e;

	if (r->err)
		return NULL;
	e = nftnl_expr_alloc(kind);
	if (!e)
		r->err = -ENOMEM;
	else
		nftnl_rule_add_expr(r->nl, e);
	return e;
}

static void expr_meta(struct rule *r, enum nft_meta_keys key)
{
	struct nftnl_expr *e = expr_new(r, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

static void expr_cmp(struct rule *r, enum nft_cmp_ops op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_new(r, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	if (nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0)
		r->err = -ENOMEM;
}

static void expr_payload(struct rule *r, enum nft_payload_bases base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = expr_new(r, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
}

/* reg1 = reg1 & mask */
static void expr_bitwise(struct rule *r, const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = expr_new(r, "bitwise");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	if (nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len) < 0 ||
	    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len) < 0)
		r->err = -ENOMEM;
}

static void expr_ct(struct rule *r, enum nft_ct_keys key)
{
	struct nftnl_expr *e = expr_new(r, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
}

static void expr_verdict(struct rule *r, int verdict)
{
	struct nftnl_expr *e = expr_new(r, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
}

static void expr_immediate(struct rule *r, enum nft_registers reg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_new(r, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	if (nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len) < 0)
		r->err = -ENOMEM;
}

/* DNAT to the address in reg1 and, with_port, the port in reg2. */
static void expr_dnat(struct rule *r, uint32_t nfproto, bool with_port)
{
	struct nftnl_expr *e = expr_new(r, "nat");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, nfproto);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	if (with_port) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
	}
}

static void expr_masq(struct rule *r)
{
	expr_new(r, "masq");
}

/* Interface names compare over all of IFNAMSIZ, zero padded, so "wg0" does not match "wg01". */
static void match_ifname(struct rule *r, enum nft_meta_keys key, enum nft_cmp_ops op, const char *name)
{
	char padded[IFNAMSIZ] = { 0 };

	memcpy(padded, name, strnlen(name, IFNAMSIZ - 1));
	expr_meta(r, key);
	expr_cmp(r, op, padded, sizeof(padded));
}

static void match_meta_u8(struct rule *r, enum nft_meta_keys key, uint8_t value)
{
	expr_meta(r, key);
	expr_cmp(r, NFT_CMP_EQ, &value, sizeof(value));
}

static void match_dport(struct rule *r, uint16_t port)
{
	uint16_t be = htons(port);

	/* tcp and udp both keep the destination port at offset 2 */
	expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof(be));
	expr_cmp(r, NFT_CMP_EQ, &be, sizeof(be));
}

/* ct KEY & bits != 0: any of the bits */
static void match_ct_bits(struct rule *r, enum nft_ct_keys key, uint32_t bits)
{
	static const uint32_t zero;

	expr_ct(r, key);
	expr_bitwise(r, &bits, sizeof(bits));
	expr_cmp(r, NFT_CMP_NEQ, &zero, sizeof(zero));
}

static uint8_t nfproto_of(int family)
{
	return family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

/*
 * ip/ip6 saddr/daddr in a prefix. In an inet table the family has to be
 * matched first: the address is read at a fixed header offset.
 */
static void match_addr(struct rule *r, bool source, const struct cidr *c)
{
	bool v4 = c->family == AF_INET;
	uint32_t len = v4 ? 4 : 16;
	uint32_t offset;
	uint8_t mask[16], net[16];
	uint32_t i;

	if (v4)
		offset = source ? offsetof(struct iphdr, saddr) : offsetof(struct iphdr, daddr);
	else
		offset = source ? offsetof(struct ip6_hdr, ip6_src) : offsetof(struct ip6_hdr, ip6_dst);
	match_meta_u8(r, NFT_META_NFPROTO, nfproto_of(c->family));
	if (c->cidr == 0)
		return; /* the family alone: every address */
	cidr_netmask(mask, c->family, c->cidr);
	for (i = 0; i < len; i++)
		net[i] = c->addr[i] & mask[i];
	expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, offset, len);
	if (c->cidr < 8 * len)
		expr_bitwise(r, mask, len);
	expr_cmp(r, NFT_CMP_EQ, net, len);
}

static void host_of(struct cidr *c, const union model_sockaddr *sa)
{
	memset(c, 0, sizeof(*c));
	c->family = sa->sa.sa_family;
	if (c->family == AF_INET) {
		memcpy(c->addr, &sa->sin.sin_addr, 4);
		c->cidr = 32;
	} else {
		memcpy(c->addr, &sa->sin6.sin6_addr, 16);
		c->cidr = 128;
	}
}

/* The IP protocol number for proto in family; 0 for any. */
static uint8_t l4proto_of(enum policy_proto proto, int family)
{
	switch (proto) {
	case POLICY_PROTO_TCP:
		return IPPROTO_TCP;
	case POLICY_PROTO_UDP:
		return IPPROTO_UDP;
	case POLICY_PROTO_ICMP:
		return family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	default:
		return 0;
	}
}

/* ---- the chains ---- */

static const struct {
	uint8_t proto;
	uint16_t port;
} dns_services[] = {
	{ IPPROTO_UDP, 53 },
	{ IPPROTO_TCP, 53 },
	{ IPPROTO_TCP, 853 }, /* DNS over TLS */
};

/*
 * IPv6 needs neighbour discovery to reach even the peers' endpoints, and
 * the kernel sends it through the output hook; it carries no payload and
 * never leaves the link.
 */
static const uint8_t nd_types[] = {
	133, /* router solicitation */
	135, /* neighbour solicitation */
	136, /* neighbour advertisement */
};

static void accept_oifname(struct render *rd, const char *name)
{
	struct rule r;

	rule_begin(rd, &r, "output");
	match_ifname(&r, NFT_META_OIFNAME, NFT_CMP_EQ, name);
	expr_verdict(&r, NF_ACCEPT);
	rule_put(rd, &r);
}

static void accept_established(struct render *rd, const char *chain)
{
	struct rule r;

	rule_begin(rd, &r, chain);
	match_ct_bits(&r, NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
	expr_verdict(&r, NF_ACCEPT);
	rule_put(rd, &r);
}

/*
 * DNS only to the resolvers and only through the tunnel, whether or not
 * the kill switch is on: a query elsewhere would leak what is looked up.
 */
static void render_dns(struct render *rd)
{
	const struct policy *pol = rd->p->policy;
	struct cidr host;
	struct rule r;
	size_t s, i;

	if (!pol->n_dns)
		return;
	for (s = 0; s < sizeof(dns_services) / sizeof(dns_services[0]); s++) {
		for (i = 0; i < pol->n_dns; i++) {
			host_of(&host, &pol->dns[i]);
			rule_begin(rd, &r, "output");
			match_meta_u8(&r, NFT_META_L4PROTO, dns_services[s].proto);
			match_dport(&r, dns_services[s].port);
			match_ifname(&r, NFT_META_OIFNAME, NFT_CMP_EQ, rd->p->ifname);
			match_addr(&r, false, &host);
			expr_verdict(&r, NF_ACCEPT);
			rule_put(rd, &r);
		}
		rule_begin(rd, &r, "output");
		match_meta_u8(&r, NFT_META_L4PROTO, dns_services[s].proto);
		match_dport(&r, dns_services[s].port);
		expr_verdict(&r, NF_DROP);
		rule_put(rd, &r);
	}
}

static void render_output(struct render *rd)
{
	const struct policy *pol = rd->p->policy;
	uint32_t mark = rd->p->fwmark;
	struct rule r;
	size_t i;

	accept_oifname(rd, "lo");
	render_dns(rd);
	accept_oifname(rd, rd->p->ifname);

	/* wgud's own encrypted UDP to its peers */
	rule_begin(rd, &r, "output");
	expr_meta(&r, NFT_META_MARK);
	expr_cmp(&r, NFT_CMP_EQ, &mark, sizeof(mark));
	match_meta_u8(&r, NFT_META_L4PROTO, IPPROTO_UDP);
	expr_verdict(&r, NF_ACCEPT);
	rule_put(rd, &r);

	accept_established(rd, "output");

	for (i = 0; i < sizeof(nd_types); i++) {
		rule_begin(rd, &r, "output");
		match_meta_u8(&r, NFT_META_L4PROTO, IPPROTO_ICMPV6);
		expr_payload(&r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
		expr_cmp(&r, NFT_CMP_EQ, &nd_types[i], 1);
		expr_verdict(&r, NF_ACCEPT);
		rule_put(rd, &r);
	}

	for (i = 0; i < pol->n_allow_lan; i++) {
		rule_begin(rd, &r, "output");
		match_addr(&r, false, &pol->allow_lan[i]);
		expr_verdict(&r, NF_ACCEPT);
		rule_put(rd, &r);
	}

	for (i = 0; i < pol->n_allow; i++) {
		const struct policy_allow *a = &pol->allow[i];
		uint8_t l4 = l4proto_of(a->proto, a->addr.family);

		rule_begin(rd, &r, "output");
		match_addr(&r, false, &a->addr);
		if (l4)
			match_meta_u8(&r, NFT_META_L4PROTO, l4);
		if (a->port)
			match_dport(&r, a->port);
		expr_verdict(&r, NF_ACCEPT);
		rule_put(rd, &r);
	}
}

static uint16_t pf_target_port(const struct policy_port_forward *pf)
{
	return pf->target_port ? pf->target_port : pf->port;
}

static void render_forward(struct render *rd)
{
	const struct policy *pol = rd->p->policy;
	const char *ifname = rd->p->ifname;
	struct rule r;
	size_t i;

	accept_established(rd, "forward");

	/* forward-from subnets leave through the tunnel and nowhere else */
	for (i = 0; i < pol->n_forward_from; i++) {
		rule_begin(rd, &r, "forward");
		match_ifname(&r, NFT_META_IIFNAME, NFT_CMP_NEQ, ifname);
		match_addr(&r, true, &pol->forward_from[i]);
		match_ifname(&r, NFT_META_OIFNAME, NFT_CMP_EQ, ifname);
		expr_verdict(&r, NF_ACCEPT);
		rule_put(rd, &r);
	}

	/* the new connections that prerouting translated; their replies are established */
	for (i = 0; i < pol->n_port_forward; i++) {
		const struct policy_port_forward *pf = &pol->port_forward[i];

		if (!pf->has_target)
			continue;
		rule_begin(rd, &r, "forward");
		match_ifname(&r, NFT_META_IIFNAME, NFT_CMP_EQ, ifname);
		match_addr(&r, false, &pf->target);
		match_meta_u8(&r, NFT_META_L4PROTO, l4proto_of(pf->proto, pf->target.family));
		match_dport(&r, pf_target_port(pf));
		match_ct_bits(&r, NFT_CT_STATUS, IPS_DST_NAT);
		expr_verdict(&r, NF_ACCEPT);
		rule_put(rd, &r);
	}
}

static void render_postrouting(struct render *rd)
{
	struct rule r;

	if (!rd->p->policy->masquerade)
		return;
	rule_begin(rd, &r, "postrouting");
	match_ifname(&r, NFT_META_OIFNAME, NFT_CMP_EQ, rd->p->ifname);
	expr_masq(&r);
	rule_put(rd, &r);
}

/* A port forward without a target is for this host: no input chain filters it, so it needs no rule. */
static void render_prerouting(struct render *rd)
{
	const struct policy *pol = rd->p->policy;
	struct rule r;
	size_t i;

	for (i = 0; i < pol->n_port_forward; i++) {
		const struct policy_port_forward *pf = &pol->port_forward[i];
		uint32_t len = pf->target.family == AF_INET ? 4 : 16;
		uint16_t port = htons(pf->target_port);

		if (!pf->has_target)
			continue;
		rule_begin(rd, &r, "prerouting");
		match_ifname(&r, NFT_META_IIFNAME, NFT_CMP_EQ, rd->p->ifname);
		match_meta_u8(&r, NFT_META_NFPROTO, nfproto_of(pf->target.family));
		match_meta_u8(&r, NFT_META_L4PROTO, l4proto_of(pf->proto, pf->target.family));
		match_dport(&r, pf->port);
		expr_immediate(&r, NFT_REG_1, pf->target.addr, len);
		if (pf->target_port)
			expr_immediate(&r, NFT_REG_2, &port, sizeof(port));
		expr_dnat(&r, nfproto_of(pf->target.family), pf->target_port != 0);
		rule_put(rd, &r);
	}
}

/* ---- validation: everything nftables would be asked to express ---- */

static bool lists_ok(const struct policy *pol)
{
	size_t i;

	if (pol->n_allow_lan > POLICY_MAX_ENTRIES || pol->n_allow > POLICY_MAX_ENTRIES ||
	    pol->n_forward_from > POLICY_MAX_ENTRIES || pol->n_port_forward > POLICY_MAX_ENTRIES ||
	    pol->n_dns > POLICY_MAX_ENTRIES)
		return false;
	for (i = 0; i < pol->n_allow_lan; i++)
		if (!cidr_valid(&pol->allow_lan[i]))
			return false;
	for (i = 0; i < pol->n_forward_from; i++)
		if (!cidr_valid(&pol->forward_from[i]))
			return false;
	for (i = 0; i < pol->n_allow; i++) {
		const struct policy_allow *a = &pol->allow[i];
		bool ported = a->proto == POLICY_PROTO_TCP || a->proto == POLICY_PROTO_UDP;

		if (!cidr_valid(&a->addr) || a->proto > POLICY_PROTO_ICMP || (a->port && !ported))
			return false;
	}
	for (i = 0; i < pol->n_port_forward; i++) {
		const struct policy_port_forward *pf = &pol->port_forward[i];

		if ((pf->proto != POLICY_PROTO_TCP && pf->proto != POLICY_PROTO_UDP) || !pf->port)
			return false;
		if (pf->has_target && !cidr_valid(&pf->target))
			return false;
	}
	for (i = 0; i < pol->n_dns; i++)
		if (pol->dns[i].sa.sa_family != AF_INET && pol->dns[i].sa.sa_family != AF_INET6)
			return false;
	return true;
}

static void batch_init(struct batch *b, void *buf, size_t cap, uint32_t seq)
{
	/*
	 * libmnl 1.0.4 does not zero the alignment padding of attributes, and
	 * every message is built in the same scratch space: keep it zeroed, so a
	 * batch is the same bytes every time and carries no stale contents.
	 */
	memset(b->scratch.b, 0, sizeof(b->scratch.b));
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->seq = seq;
	b->err = 0;
}

ssize_t nft_build_replace(void *buf, size_t cap, const struct nft_params *p, uint32_t seq)
{
	struct render *rd;
	uint32_t out_policy, fwd_policy;
	ssize_t ret;

	if (!p || !p->policy || !p->ifname || !tun_ifname_valid(p->ifname) || !p->fwmark || !lists_ok(p->policy))
		return -EINVAL;
	rd = malloc(sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	batch_init(&rd->b, buf, cap, seq);
	rd->p = p;
	snprintf(rd->table, sizeof(rd->table), NFT_TABLE_PREFIX "%s", p->ifname);
	out_policy = p->kill_switch ? NF_DROP : NF_ACCEPT;
	fwd_policy = p->kill_switch || p->policy->n_forward_from ? NF_DROP : NF_ACCEPT;

	put_batch_begin(&rd->b);
	put_table(&rd->b, rd->table, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
	put_table(&rd->b, rd->table, NFT_MSG_DELTABLE, NLM_F_ACK);
	put_table(&rd->b, rd->table, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	put_chain(rd, "output", "filter", NF_INET_LOCAL_OUT, 0, out_policy);
	put_chain(rd, "forward", "filter", NF_INET_FORWARD, 0, fwd_policy);
	put_chain(rd, "postrouting", "nat", NF_INET_POST_ROUTING, 100, NF_ACCEPT);
	put_chain(rd, "prerouting", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	render_output(rd);
	render_forward(rd);
	render_postrouting(rd);
	render_prerouting(rd);
	put_batch_end(&rd->b);

	ret = rd->b.err ? rd->b.err : (ssize_t)rd->b.len;
	free(rd);
	return ret;
}

ssize_t nft_build_delete(void *buf, size_t cap, const char *ifname, uint32_t seq)
{
	char table[sizeof(NFT_TABLE_PREFIX) + IFNAMSIZ];
	struct batch *b;
	ssize_t ret;

	if (!ifname || !tun_ifname_valid(ifname))
		return -EINVAL;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	batch_init(b, buf, cap, seq);
	snprintf(table, sizeof(table), NFT_TABLE_PREFIX "%s", ifname);
	put_batch_begin(b);
	put_table(b, table, NFT_MSG_DELTABLE, NLM_F_ACK);
	put_batch_end(b);
	ret = b->err ? b->err : (ssize_t)b->len;
	free(b);
	return ret;
}

/* ---- talking to the kernel ---- */

static size_t count_acked(const void *batch, size_t len)
{
	const struct nlmsghdr *nlh = batch;
	int left = len > INT_MAX ? INT_MAX : (int)len;
	size_t n = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		if (nlh->nlmsg_flags & NLM_F_ACK)
			n++;
	return n;
}

/*
 * A batch goes out as one datagram and each message earns an answer:
 * room for both, or sendmsg() fails with EMSGSIZE and answers are lost to
 * ENOBUFS. The FORCE variants pass the sysctl caps (we hold CAP_NET_ADMIN
 * anyway to touch nftables); if they fail the plain ones still help, and
 * what does not fit is then reported, not lost silently.
 */
static void size_buffers(int fd, size_t len, size_t answers)
{
	size_t want_snd = len + 65536, want_rcv = answers * NFT_ACK_ROOM + 65536;
	int snd = want_snd > INT_MAX / 2 ? INT_MAX / 2 : (int)want_snd;
	int rcv = want_rcv > INT_MAX / 2 ? INT_MAX / 2 : (int)want_rcv;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)))
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)))
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
}

/*
 * nfnetlink handles a request inside our sendmsg() and has queued every
 * answer when it returns, so reading until the socket is empty sees them
 * all: no timeout to guess. The answers come in message order; the first
 * error names the message that failed.
 */
static int drain(int fd, size_t expected)
{
	union {
		struct nlmsghdr align;
		char b[16384];
	} buf;
	size_t answered = 0;
	int first = 0;

	for (;;) {
		ssize_t n = recv(fd, buf.b, sizeof(buf.b), MSG_DONTWAIT);
		const struct nlmsghdr *nlh = &buf.align;
		int left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return first ? first : -errno;
		}
		for (left = (int)n; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			answered++;
			if (nlh->nlmsg_type != NLMSG_ERROR || first)
				continue;
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				first = -EPROTO;
			else
				first = e->error;
		}
	}
	if (first)
		return first;
	return answered < expected ? -EPROTO : 0;
}

static int talk(const void *msgs, size_t len, size_t expected)
{
	struct mnl_socket *nl;
	int one = 1, ret;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	/* An error answer would otherwise echo the whole refused message. */
	(void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	size_buffers(mnl_socket_get_fd(nl), len, expected);
	if (mnl_socket_sendto(nl, msgs, len) < 0) {
		ret = -errno;
		goto out;
	}
	ret = drain(mnl_socket_get_fd(nl), expected);
out:
	mnl_socket_close(nl);
	return ret;
}

int nft_send(const void *batch, size_t len)
{
	return talk(batch, len, count_acked(batch, len));
}

int nft_replace(const struct nft_params *p)
{
	size_t cap = 64 * 1024;
	ssize_t len;
	void *buf;
	int ret;

	for (;;) {
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
		len = nft_build_replace(buf, cap, p, (uint32_t)time(NULL));
		if (len != -ENOSPC || cap >= NFT_BATCH_MAX)
			break;
		free(buf);
		cap *= 2;
	}
	ret = len < 0 ? (int)len : nft_send(buf, (size_t)len);
	free(buf);
	return ret;
}

int nft_delete(const char *ifname)
{
	union {
		struct nlmsghdr align;
		char b[1024];
	} buf;
	ssize_t len = nft_build_delete(buf.b, sizeof(buf.b), ifname, (uint32_t)time(NULL));

	return len < 0 ? (int)len : nft_send(buf.b, (size_t)len);
}

int nft_probe(void)
{
	union {
		struct nlmsghdr align;
		char b[256];
	} buf;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf.b, NFT_MSG_GETGEN, AF_UNSPEC, 0, (uint32_t)time(NULL));

	/* The answer is NEWGEN, or an error when nf_tables is missing here. */
	return talk(nlh, nlh->nlmsg_len, 1);
}
