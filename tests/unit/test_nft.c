// SPDX-License-Identifier: MIT
/*
 * The nftables rendering of the policy: build -> parse round trips with
 * libnftnl and no kernel; then, in a private network namespace, the real
 * kernel: what nft(8) lists back, whole-table replacement, a refused batch
 * changing nothing, deletion, and packets that the rules drop or pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft.h"

#define FWMARK 0xca6c
#define MAX_CHAINS 8
#define MAX_RULES 2048
#define BIG (4U << 20)

/* ---- policies ---- */

static void cidr(struct cidr *c, int family, const char *addr, uint8_t len)
{
	memset(c, 0, sizeof(*c));
	c->family = family;
	assert_int_equal(inet_pton(family, addr, c->addr), 1);
	c->cidr = len;
}

static void resolver(union model_sockaddr *sa, int family, const char *addr)
{
	memset(sa, 0, sizeof(*sa));
	sa->sa.sa_family = (sa_family_t)family;
	assert_int_equal(inet_pton(family, addr, family == AF_INET ? (void *)&sa->sin.sin_addr
								   : (void *)&sa->sin6.sin6_addr),
			 1);
}

static struct policy *empty_policy(void)
{
	struct policy *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	return p;
}

static void add_allow(struct policy *p, enum policy_proto proto, int family, const char *addr, uint8_t len,
		      uint16_t port)
{
	struct policy_allow *a = &p->allow[p->n_allow++];

	a->proto = proto;
	cidr(&a->addr, family, addr, len);
	a->port = port;
}

static void add_port_forward(struct policy *p, enum policy_proto proto, uint16_t port, int family,
			     const char *target, uint16_t target_port)
{
	struct policy_port_forward *pf = &p->port_forward[p->n_port_forward++];

	pf->proto = proto;
	pf->port = port;
	pf->has_target = target != NULL;
	if (target)
		cidr(&pf->target, family, target, family == AF_INET ? 32 : 128);
	pf->target_port = target_port;
}

/* Everything at once, v4 and v6: the gateway of issue 4. */
static struct policy *gateway_policy(void)
{
	struct policy *p = empty_policy();

	cidr(&p->allow_lan[p->n_allow_lan++], AF_INET, "192.168.1.0", 24);
	cidr(&p->allow_lan[p->n_allow_lan++], AF_INET6, "fd00:1::", 64);
	add_allow(p, POLICY_PROTO_TCP, AF_INET, "198.51.100.7", 32, 443);
	add_allow(p, POLICY_PROTO_ICMP, AF_INET6, "2001:db8::1", 128, 0);
	add_allow(p, POLICY_PROTO_ANY, AF_INET, "203.0.113.0", 25, 0);
	cidr(&p->forward_from[p->n_forward_from++], AF_INET, "172.20.0.0", 24);
	cidr(&p->forward_from[p->n_forward_from++], AF_INET6, "fd20::", 64);
	p->masquerade = true;
	add_port_forward(p, POLICY_PROTO_TCP, 8080, AF_INET, "10.0.0.5", 80);
	add_port_forward(p, POLICY_PROTO_UDP, 5000, AF_INET, NULL, 0);
	add_port_forward(p, POLICY_PROTO_UDP, 5001, AF_INET6, "fd20::5", 0);
	p->open[p->n_open++] = (struct policy_open){ POLICY_PROTO_TCP, 51413 };
	p->open[p->n_open++] = (struct policy_open){ POLICY_PROTO_UDP, 51413 };
	resolver(&p->dns[p->n_dns++], AF_INET, "10.64.0.1");
	resolver(&p->dns[p->n_dns++], AF_INET6, "fd64::1");
	p->dns_forward = true;
	return p;
}

/* Every list at its limit: the largest batch wgud can send. */
static struct policy *full_policy(void)
{
	struct policy *p = empty_policy();
	size_t i;

	for (i = 0; i < POLICY_MAX_ENTRIES; i++) {
		uint8_t a = (uint8_t)i;

		cidr(&p->allow_lan[i], AF_INET, "10.1.0.0", 24);
		p->allow_lan[i].addr[2] = a;
		p->allow[i].proto = POLICY_PROTO_UDP;
		cidr(&p->allow[i].addr, AF_INET6, "fd01::", 128);
		p->allow[i].addr.addr[15] = a;
		p->allow[i].port = (uint16_t)(1000 + i);
		cidr(&p->forward_from[i], AF_INET, "10.2.0.0", 24);
		p->forward_from[i].addr[2] = a;
		p->port_forward[i].proto = POLICY_PROTO_TCP;
		p->port_forward[i].port = (uint16_t)(2000 + i);
		p->port_forward[i].has_target = true;
		cidr(&p->port_forward[i].target, AF_INET, "10.3.0.0", 32);
		p->port_forward[i].target.addr[3] = a;
		p->port_forward[i].target_port = 80;
		resolver(&p->dns[i], AF_INET, "10.4.0.0");
		p->dns[i].sin.sin_addr.s_addr = htonl(0x0a040000 | i);
		p->open[i] = (struct policy_open){ POLICY_PROTO_UDP, (uint16_t)(3000 + i) };
	}
	p->n_allow_lan = p->n_allow = p->n_forward_from = p->n_port_forward = p->n_dns = p->n_open =
		POLICY_MAX_ENTRIES;
	p->masquerade = true;
	p->dns_forward = true;
	return p;
}

/* ---- parsing a batch back ---- */

struct parsed_chain {
	char name[32], type[16];
	uint32_t hook, policy;
	int32_t prio;
	char *rules[MAX_RULES]; /* nftnl_rule_snprintf of each */
	size_t n_rules;
};

struct parsed {
	uint16_t table_ops[4];
	uint16_t table_flags[4];
	size_t n_table_ops;
	struct parsed_chain chains[MAX_CHAINS];
	size_t n_chains;
	size_t n_msgs;
};

static struct parsed_chain *chain_by_name(struct parsed *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->n_chains; i++)
		if (!strcmp(ps->chains[i].name, name))
			return &ps->chains[i];
	fail_msg("no chain %s", name);
	return NULL;
}

static void parse_table(struct parsed *ps, const struct nlmsghdr *nlh, const char *want_table)
{
	struct nftnl_table *t = nftnl_table_alloc();

	assert_non_null(t);
	assert_int_equal(nftnl_table_nlmsg_parse(nlh, t), 0);
	assert_string_equal(nftnl_table_get_str(t, NFTNL_TABLE_NAME), want_table);
	assert_int_equal(nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY), NFPROTO_INET);
	assert_true(ps->n_table_ops < 4);
	ps->table_flags[ps->n_table_ops] = nlh->nlmsg_flags;
	ps->table_ops[ps->n_table_ops++] = NFNL_MSG_TYPE(nlh->nlmsg_type);
	nftnl_table_free(t);
}

static void parse_chain(struct parsed *ps, const struct nlmsghdr *nlh, const char *want_table)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct parsed_chain *pc;

	assert_non_null(c);
	assert_int_equal(nftnl_chain_nlmsg_parse(nlh, c), 0);
	assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), want_table);
	assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY), NFPROTO_INET);
	assert_true(ps->n_chains < MAX_CHAINS);
	pc = &ps->chains[ps->n_chains++];
	snprintf(pc->name, sizeof(pc->name), "%s", nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
	/* a regular chain (for jumps) has no type, hook or priority */
	snprintf(pc->type, sizeof(pc->type), "%s",
		 nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE) ? nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE) : "");
	pc->hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
	pc->prio = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
	pc->policy = nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY);
	nftnl_chain_free(c);
}

static void parse_rule(struct parsed *ps, const struct nlmsghdr *nlh, const char *want_table)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct parsed_chain *pc;
	char text[4096];

	assert_non_null(r);
	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
	assert_string_equal(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), want_table);
	assert_int_equal(nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), NFPROTO_INET);
	/* chains come first in the batch: a rule never names a chain not yet created */
	pc = chain_by_name(ps, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	assert_true(pc->n_rules < MAX_RULES);
	assert_true(nftnl_rule_snprintf(text, sizeof(text), r, NFTNL_OUTPUT_DEFAULT, 0) > 0);
	pc->rules[pc->n_rules] = strdup(text);
	assert_non_null(pc->rules[pc->n_rules]);
	pc->n_rules++;
	nftnl_rule_free(r);
}

/* Walks the batch as the kernel would: framing, sequence numbers, acks, then each message by type. */
static void parse_batch(struct parsed *ps, const void *buf, ssize_t len, uint32_t seq, const char *want_table)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)len;

	memset(ps, 0, sizeof(*ps));
	assert_true(len > 0);
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left), ps->n_msgs++) {
		assert_int_equal(nlh->nlmsg_seq, seq + ps->n_msgs);
		assert_true(nlh->nlmsg_flags & NLM_F_REQUEST);
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN || nlh->nlmsg_type == NFNL_MSG_BATCH_END) {
			/* only the first and the last */
			assert_true((nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) == (ps->n_msgs == 0));
			continue;
		}
		assert_int_equal(NFNL_SUBSYS_ID(nlh->nlmsg_type), NFNL_SUBSYS_NFTABLES);
		assert_true(nlh->nlmsg_flags & NLM_F_ACK);
		switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
		case NFT_MSG_NEWTABLE:
		case NFT_MSG_DELTABLE:
			parse_table(ps, nlh, want_table);
			break;
		case NFT_MSG_NEWCHAIN:
			parse_chain(ps, nlh, want_table);
			break;
		case NFT_MSG_NEWRULE:
			assert_true(nlh->nlmsg_flags & NLM_F_APPEND);
			parse_rule(ps, nlh, want_table);
			break;
		default:
			fail_msg("unexpected message type %u", nlh->nlmsg_type);
		}
	}
	assert_int_equal(left, 0);
	nlh = (const struct nlmsghdr *)((const char *)buf + len - mnl_nlmsg_size(sizeof(struct nfgenmsg)));
	assert_int_equal(nlh->nlmsg_type, NFNL_MSG_BATCH_END);
}

static void parsed_free(struct parsed *ps)
{
	size_t i, j;

	for (i = 0; i < ps->n_chains; i++)
		for (j = 0; j < ps->chains[i].n_rules; j++)
			free(ps->chains[i].rules[j]);
}

static void build_and_parse(struct parsed *ps, const struct nft_params *np, const char *table)
{
	void *buf = malloc(BIG);
	ssize_t len;

	assert_non_null(buf);
	len = nft_build_replace(buf, BIG, np, 1000);
	assert_true(len > 0);
	parse_batch(ps, buf, len, 1000, table);
	free(buf);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' not in:\n%s", needle, hay);
}

static void assert_chain(struct parsed *ps, const char *name, const char *type, uint32_t hook, int32_t prio,
			 uint32_t policy, size_t n_rules)
{
	struct parsed_chain *pc = chain_by_name(ps, name);

	assert_string_equal(pc->type, type);
	assert_int_equal(pc->hook, hook);
	assert_int_equal(pc->prio, prio);
	assert_int_equal(pc->policy, policy);
	assert_int_equal(pc->n_rules, n_rules);
}

/* ---- without a kernel ---- */

/* lo, wgud's marked UDP, the tunnel, three IPv6 neighbour discovery types */
#define BASE_OUTPUT_RULES 6
/* iifname != tunnel, replies (and the ICMP errors about this host's traffic) */
#define BASE_INPUT_RULES 2

static struct cidr tunnel_addrs[2];

static void set_tunnel_addrs(struct nft_params *np)
{
	cidr(&tunnel_addrs[0], AF_INET, "192.0.2.1", 24);
	cidr(&tunnel_addrs[1], AF_INET6, "fd00:2::1", 64);
	np->addresses = tunnel_addrs;
	np->n_addresses = 2;
}

static void build_empty_policy(void **state)
{
	struct policy *pol = empty_policy();
	struct nft_params np = { .ifname = "wg0", .fwmark = FWMARK, .kill_switch = false, .policy = pol };
	struct parsed_chain *out;
	struct parsed ps;

	(void)state;
	build_and_parse(&ps, &np, "wgud_wg0");
	assert_int_equal(ps.n_table_ops, 3);
	assert_int_equal(ps.table_ops[0], NFT_MSG_NEWTABLE);
	assert_false(ps.table_flags[0] & NLM_F_EXCL); /* an existing table is fine: it goes next */
	assert_int_equal(ps.table_ops[1], NFT_MSG_DELTABLE);
	assert_int_equal(ps.table_ops[2], NFT_MSG_NEWTABLE);
	/* no addresses, no inbound filter, no resolvers: no preraw, input or dns chain */
	assert_int_equal(ps.n_chains, 4);
	assert_chain(&ps, "output", "filter", NF_INET_LOCAL_OUT, 0, NF_ACCEPT, BASE_OUTPUT_RULES);
	assert_chain(&ps, "forward", "filter", NF_INET_FORWARD, 0, NF_ACCEPT, 1);
	assert_chain(&ps, "postrouting", "nat", NF_INET_POST_ROUTING, 100, NF_ACCEPT, 0);
	assert_chain(&ps, "prerouting", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT, 0);

	out = chain_by_name(&ps, "output");
	/* oifname "lo" accept: the name zero padded to IFNAMSIZ */
	assert_contains(out->rules[0], "[ meta load oifname => reg 1 ]");
	assert_contains(out->rules[0], "[ cmp eq reg 1 0x00006f6c 0x00000000 0x00000000 0x00000000 ]");
	assert_contains(out->rules[0], "[ immediate reg 0 accept ]");
	/* meta mark 0xca6c meta l4proto udp accept: wgud's own UDP, second, before anything could drop it */
	assert_contains(out->rules[1], "[ meta load mark => reg 1 ]");
	assert_contains(out->rules[1], "[ cmp eq reg 1 0x0000ca6c ]");
	assert_contains(out->rules[1], "[ meta load l4proto => reg 1 ]");
	assert_contains(out->rules[1], "[ cmp eq reg 1 0x00000011 ]");
	/* oifname "wg0" accept */
	assert_contains(out->rules[2], "[ cmp eq reg 1 0x00306777 0x00000000 0x00000000 0x00000000 ]");
	/* icmpv6 type nd-neighbor-solicit ip6 hoplimit 255 meta length <= 128 accept: on-link, small */
	assert_contains(out->rules[4], "[ cmp eq reg 1 0x0000000a ]");
	assert_contains(out->rules[4], "[ cmp eq reg 1 0x0000003a ]");
	assert_contains(out->rules[4], "[ cmp eq reg 1 0x00000087 ]");
	assert_contains(out->rules[4], "[ payload load 1b @ network header + 7 => reg 1 ]");
	assert_contains(out->rules[4], "[ cmp eq reg 1 0x000000ff ]");
	assert_contains(out->rules[4], "[ meta load len => reg 1 ]");
	/* compared in network order, as cmp compares bytes */
	assert_contains(out->rules[4], "[ byteorder reg 1 = hton(reg 1, 4, 4) ]");
	assert_contains(out->rules[4], "[ cmp lte reg 1 0x80000000 ]");
	/* no rule in output accepts by conntrack state alone: an old flow matches nothing */
	for (size_t i = 0; i < out->n_rules; i++)
		assert_null(strstr(out->rules[i], "[ ct load state"));
	/* forward: replies only from the tunnel, only for flows marked on the way out */
	out = chain_by_name(&ps, "forward");
	assert_contains(out->rules[0], "[ meta load iifname => reg 1 ]");
	assert_contains(out->rules[0], "[ cmp eq reg 1 0x00306777 0x00000000 0x00000000 0x00000000 ]");
	assert_contains(out->rules[0], "[ ct load state => reg 1 ]");
	assert_contains(out->rules[0], "[ ct load direction => reg 1 ]");
	assert_contains(out->rules[0], "[ cmp eq reg 1 0x00000001 ]");
	assert_contains(out->rules[0], "[ ct load mark => reg 1 ]");
	assert_contains(out->rules[0], "( reg 1 & 0x01000000 )");
	parsed_free(&ps);
	free(pol);
}

static void build_kill_switch(void **state)
{
	struct policy *pol = empty_policy();
	struct nft_params np = {
		.ifname = "wg0", .fwmark = FWMARK, .kill_switch = true, .filter_inbound = true, .policy = pol
	};
	struct parsed_chain *in, *raw;
	struct parsed ps;

	(void)state;
	set_tunnel_addrs(&np);
	build_and_parse(&ps, &np, "wgud_wg0");
	assert_int_equal(ps.n_chains, 7);
	assert_chain(&ps, "preraw", "filter", NF_INET_PRE_ROUTING, -300, NF_ACCEPT, 2);
	assert_chain(&ps, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP, BASE_INPUT_RULES);
	/* no resolvers listed, but the kill switch: DNS to any resolver, only through the tunnel */
	assert_chain(&ps, "output", "filter", NF_INET_LOCAL_OUT, 0, NF_DROP, BASE_OUTPUT_RULES + 3);
	assert_chain(&ps, "forward", "filter", NF_INET_FORWARD, 0, NF_DROP, 1 + 3);
	assert_chain(&ps, "dns", "", 0, 0, 0, 2);
	assert_contains(chain_by_name(&ps, "dns")->rules[0], "[ cmp eq reg 1 0x00306777 0x00000000 0x00000000 0x00000000 ]");
	assert_null(strstr(chain_by_name(&ps, "dns")->rules[0], "payload"));
	assert_contains(chain_by_name(&ps, "dns")->rules[0], "return");
	assert_contains(chain_by_name(&ps, "dns")->rules[1], "drop");
	assert_chain(&ps, "postrouting", "nat", NF_INET_POST_ROUTING, 100, NF_ACCEPT, 0);
	assert_chain(&ps, "prerouting", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT, 0);

	raw = chain_by_name(&ps, "preraw");
	/* iifname != "wg0" iifname != "lo" ip daddr 192.0.2.1 drop: the host, not its /24 */
	assert_contains(raw->rules[0], "[ cmp neq reg 1 0x00306777 0x00000000 0x00000000 0x00000000 ]");
	assert_contains(raw->rules[0], "[ cmp neq reg 1 0x00006f6c 0x00000000 0x00000000 0x00000000 ]");
	assert_contains(raw->rules[0], "[ payload load 4b @ network header + 16 => reg 1 ]");
	assert_contains(raw->rules[0], "[ cmp eq reg 1 0x010200c0 ]");
	assert_null(strstr(raw->rules[0], "bitwise"));
	assert_contains(raw->rules[0], "[ immediate reg 0 drop ]");
	assert_contains(raw->rules[1], "[ payload load 16b @ network header + 24 => reg 1 ]");

	in = chain_by_name(&ps, "input");
	/* only the tunnel is filtered */
	assert_contains(in->rules[0], "[ cmp neq reg 1 0x00306777 0x00000000 0x00000000 0x00000000 ]");
	assert_contains(in->rules[0], "accept");
	assert_contains(in->rules[1], "[ ct load state => reg 1 ]");
	/* ct state established,related ct direction reply accept: nothing that came in on its own */
	assert_contains(in->rules[1], "[ ct load direction => reg 1 ]");
	assert_contains(in->rules[1], "[ cmp eq reg 1 0x00000001 ]");
	parsed_free(&ps);
	free(pol);
}

static void build_gateway(void **state)
{
	struct policy *pol = gateway_policy();
	struct nft_params np = {
		.ifname = "wg0", .fwmark = FWMARK, .kill_switch = false, .filter_inbound = true, .policy = pol
	};
	struct parsed_chain *out, *fwd, *post, *pre, *dns, *in;
	struct parsed ps;

	(void)state;
	build_and_parse(&ps, &np, "wgud_wg0");
	/* 3 DNS jumps, 2 ICMP-errors-to-clients (one per forward-from), 2 allow-lan, 3 allow */
	assert_chain(&ps, "output", "filter", NF_INET_LOCAL_OUT, 0, NF_ACCEPT, BASE_OUTPUT_RULES + 3 + 2 + 2 + 3);
	/* forward-from alone closes forwarding, kill switch or not: replies, 3 DNS jumps, 2 subnets, 2 forwards */
	assert_chain(&ps, "forward", "filter", NF_INET_FORWARD, 0, NF_DROP, 1 + 3 + 2 + 2);
	assert_chain(&ps, "dns", "", 0, 0, 0, 2 + 1);
	/* 2 open ports, 3 port forwards */
	assert_chain(&ps, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP, BASE_INPUT_RULES + 2 + 3);
	assert_chain(&ps, "postrouting", "nat", NF_INET_POST_ROUTING, 100, NF_ACCEPT, 1);
	/* 2 targeted forwards; dns-forward: udp and tcp for each forward-from with a resolver of its family */
	assert_chain(&ps, "prerouting", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT, 2 + 4);

	out = chain_by_name(&ps, "output");
	assert_contains(out->rules[0], "0x00006f6c"); /* lo still first */
	assert_contains(out->rules[1], "[ meta load mark => reg 1 ]");
	/* udp dport 53 jump dns */
	assert_contains(out->rules[2], "[ cmp eq reg 1 0x00000011 ]");
	assert_contains(out->rules[2], "[ payload load 2b @ transport header + 2 => reg 1 ]");
	assert_contains(out->rules[2], "[ cmp eq reg 1 0x00003500 ]");
	assert_contains(out->rules[2], "[ immediate reg 0 jump -> dns ]");
	assert_contains(out->rules[3], "[ cmp eq reg 1 0x00000006 ]");
	assert_contains(out->rules[4], "[ cmp eq reg 1 0x00005503 ]");
	assert_contains(out->rules[5], "0x00306777"); /* then the tunnel */
	/* ct state established,related ct direction reply ip daddr 172.20.0.0/24 accept: the gateway's answers */
	assert_contains(out->rules[6], "[ ct load state => reg 1 ]");
	assert_contains(out->rules[6], "( reg 1 & 0x00000006 )");
	assert_contains(out->rules[6], "[ ct load direction => reg 1 ]");
	assert_contains(out->rules[6], "[ cmp eq reg 1 0x000014ac ]");
	/* ip daddr 192.168.1.0/24 accept */
	assert_contains(out->rules[11], "( reg 1 & 0x00ffffff )");
	assert_contains(out->rules[11], "[ cmp eq reg 1 0x0001a8c0 ]");
	/* ip6 daddr fd00:1::/64 accept */
	assert_contains(out->rules[12], "( reg 1 & 0xffffffff 0xffffffff 0x00000000 0x00000000 )");
	/* ip daddr 198.51.100.7 tcp dport 443 accept */
	assert_contains(out->rules[13], "[ cmp eq reg 1 0x076433c6 ]");
	assert_contains(out->rules[13], "[ cmp eq reg 1 0x00000006 ]");
	assert_contains(out->rules[13], "[ cmp eq reg 1 0x0000bb01 ]");
	/* ip6 daddr 2001:db8::1 meta l4proto icmpv6 accept: icmp means icmpv6 for v6 */
	assert_contains(out->rules[14], "[ cmp eq reg 1 0x0000003a ]");
	/* ip daddr 203.0.113.0/25 accept: any protocol */
	assert_contains(out->rules[15], "( reg 1 & 0x80ffffff )");
	assert_null(strstr(out->rules[15], "l4proto"));

	dns = chain_by_name(&ps, "dns");
	/* oifname "wg0" ip daddr 10.64.0.1 return; the same for fd64::1; drop */
	assert_contains(dns->rules[0], "[ cmp eq reg 1 0x00306777 0x00000000 0x00000000 0x00000000 ]");
	assert_contains(dns->rules[0], "[ cmp eq reg 1 0x0100400a ]");
	assert_contains(dns->rules[0], "[ immediate reg 0 return ]");
	assert_contains(dns->rules[1], "0x000064fd 0x00000000 0x00000000 0x01000000");
	assert_contains(dns->rules[2], "[ immediate reg 0 drop ]");

	fwd = chain_by_name(&ps, "forward");
	/* iifname != "wg0" udp dport 53 jump dns: not what the tunnel sends to a port forward */
	assert_contains(fwd->rules[1], "[ cmp neq reg 1 0x00306777 0x00000000 0x00000000 0x00000000 ]");
	assert_contains(fwd->rules[1], "jump -> dns");
	/* iifname != "wg0" ip saddr 172.20.0.0/24 oifname "wg0" ct mark set ct mark | 0x01000000 accept */
	assert_contains(fwd->rules[4], "[ cmp neq reg 1 0x00306777 0x00000000 0x00000000 0x00000000 ]");
	assert_contains(fwd->rules[4], "[ payload load 4b @ network header + 12 => reg 1 ]");
	assert_contains(fwd->rules[4], "[ cmp eq reg 1 0x000014ac ]");
	assert_contains(fwd->rules[4], "[ bitwise reg 1 = ( reg 1 & 0xfeffffff ) ^ 0x01000000 ]");
	assert_contains(fwd->rules[4], "[ ct set mark with reg 1 ]");
	assert_contains(fwd->rules[5], "[ payload load 16b @ network header + 8 => reg 1 ]");
	/* iifname "wg0" ip daddr 10.0.0.5 tcp dport 80 ct status dnat (marked) accept */
	assert_contains(fwd->rules[6], "[ cmp eq reg 1 0x0500000a ]");
	assert_contains(fwd->rules[6], "[ cmp eq reg 1 0x00005000 ]");
	assert_contains(fwd->rules[6], "[ ct load status => reg 1 ]");
	assert_contains(fwd->rules[6], "( reg 1 & 0x00000020 )");
	assert_contains(fwd->rules[6], "[ ct set mark with reg 1 ]");
	/* the v6 forward keeps its port: udp dport 5001 */
	assert_contains(fwd->rules[7], "[ cmp eq reg 1 0x00008913 ]");

	in = chain_by_name(&ps, "input");
	/* open tcp 51413, udp 51413: every packet of the flow, no state */
	assert_contains(in->rules[2], "[ cmp eq reg 1 0x0000d5c8 ]");
	assert_null(strstr(in->rules[2], "[ ct load"));
	assert_contains(in->rules[3], "[ cmp eq reg 1 0x00000011 ]");
	/* the targetless forward opens its port on this host: udp dport 5000 */
	assert_contains(in->rules[5], "[ cmp eq reg 1 0x00008813 ]");
	assert_null(strstr(in->rules[5], "ct load status"));

	post = chain_by_name(&ps, "postrouting");
	assert_contains(post->rules[0], "[ cmp eq reg 1 0x00306777 0x00000000 0x00000000 0x00000000 ]");
	assert_contains(post->rules[0], "[ masq ]");

	pre = chain_by_name(&ps, "prerouting");
	/* iifname "wg0" meta nfproto ipv4 tcp dport 8080 dnat ip to 10.0.0.5:80 */
	assert_contains(pre->rules[0], "[ meta load iifname => reg 1 ]");
	assert_contains(pre->rules[0], "[ cmp eq reg 1 0x0000901f ]");
	assert_contains(pre->rules[0], "[ immediate reg 1 0x0500000a ]");
	assert_contains(pre->rules[0], "[ immediate reg 2 0x00005000 ]");
	assert_contains(pre->rules[0], "[ nat dnat ip addr_min reg 1 proto_min reg 2");
	/* dnat ip6 to fd20::5, same port */
	assert_contains(pre->rules[1], "[ nat dnat ip6 addr_min reg 1 ]");
	assert_contains(pre->rules[1], "[ immediate reg 1 0x000020fd 0x00000000 0x00000000 0x05000000 ]");
	/* dns-forward: iifname != "wg0" ip saddr 172.20.0.0/24 fib daddr type local udp dport 53 dnat to 10.64.0.1 */
	assert_contains(pre->rules[2], "[ cmp neq reg 1 0x00306777 0x00000000 0x00000000 0x00000000 ]");
	assert_contains(pre->rules[2], "[ fib daddr type => reg 1 ]");
	assert_contains(pre->rules[2], "[ cmp eq reg 1 0x00000002 ]");
	assert_contains(pre->rules[2], "[ cmp eq reg 1 0x00003500 ]");
	assert_contains(pre->rules[2], "[ immediate reg 1 0x0100400a ]");
	assert_contains(pre->rules[3], "[ cmp eq reg 1 0x00000006 ]");
	assert_contains(pre->rules[4], "[ immediate reg 1 0x000064fd 0x00000000 0x00000000 0x01000000 ]");
	parsed_free(&ps);
	free(pol);
}

static void build_full_policy(void **state)
{
	struct policy *pol = full_policy();
	struct nft_params np = {
		.ifname = "wg0", .fwmark = FWMARK, .kill_switch = true, .filter_inbound = true, .policy = pol
	};
	const size_t n = POLICY_MAX_ENTRIES;
	struct parsed ps;

	(void)state;
	build_and_parse(&ps, &np, "wgud_wg0");
	assert_chain(&ps, "output", "filter", NF_INET_LOCAL_OUT, 0, NF_DROP, BASE_OUTPUT_RULES + 3 + n + 2 * n);
	assert_chain(&ps, "forward", "filter", NF_INET_FORWARD, 0, NF_DROP, 1 + 3 + 2 * n);
	assert_chain(&ps, "dns", "", 0, 0, 0, n + 1);
	assert_chain(&ps, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP, BASE_INPUT_RULES + 2 * n);
	assert_chain(&ps, "postrouting", "nat", NF_INET_POST_ROUTING, 100, NF_ACCEPT, 1);
	assert_chain(&ps, "prerouting", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT, n + 2 * n);
	parsed_free(&ps);
	free(pol);
}

/* What stays after a stop in lockdown: nothing out but loopback, ND, the endpoints' UDP and the exceptions. */
static void build_lockdown(void **state)
{
	struct policy *pol = gateway_policy();
	union model_sockaddr eps[2];
	struct nft_lockdown l = { .ifname = "wg0", .policy = pol, .fwmark = FWMARK, .endpoints = eps, .n_endpoints = 2 };
	struct parsed_chain *out;
	struct parsed ps;
	void *buf = malloc(BIG);
	ssize_t len;

	(void)state;
	assert_non_null(buf);
	resolver(&eps[0], AF_INET, "198.51.100.2");
	eps[0].sin.sin_port = htons(51820);
	resolver(&eps[1], AF_INET6, "2001:db8::2");
	eps[1].sin6.sin6_port = htons(53);
	len = nft_build_lockdown(buf, BIG, &l, 77);
	parse_batch(&ps, buf, len, 77, "wgud_wg0");
	assert_int_equal(ps.n_table_ops, 3); /* replaces whatever is there, in one go */
	assert_int_equal(ps.n_chains, 2);
	/* lo, 3 ND, 2 endpoints, 3 DNS drops, 2 allow-lan, 3 allow */
	assert_chain(&ps, "output", "filter", NF_INET_LOCAL_OUT, 0, NF_DROP, 1 + 3 + 2 + 3 + 2 + 3);
	assert_chain(&ps, "forward", "filter", NF_INET_FORWARD, 0, NF_DROP, 0);
	out = chain_by_name(&ps, "output");
	/* meta mark 0xca6c ip daddr 198.51.100.2 udp dport 51820 accept */
	assert_contains(out->rules[4], "[ meta load mark => reg 1 ]");
	assert_contains(out->rules[4], "[ cmp eq reg 1 0x0000ca6c ]");
	assert_contains(out->rules[4], "[ cmp eq reg 1 0x026433c6 ]");
	assert_contains(out->rules[4], "[ cmp eq reg 1 0x00000011 ]");
	assert_contains(out->rules[4], "[ cmp eq reg 1 0x00006cca ]");
	assert_contains(out->rules[5], "[ cmp eq reg 1 0x00003500 ]");
	/* then no DNS at all, before the LAN could take it */
	assert_contains(out->rules[6], "[ cmp eq reg 1 0x00003500 ]");
	assert_contains(out->rules[6], "[ immediate reg 0 drop ]");
	assert_contains(out->rules[8], "[ cmp eq reg 1 0x00005503 ]");
	assert_contains(out->rules[9], "( reg 1 & 0x00ffffff )");
	for (size_t i = 0; i < out->n_rules; i++)
		assert_null(strstr(out->rules[i], "0x00306777")); /* no tunnel */
	parsed_free(&ps);

	/* without a mark, no endpoint exception at all */
	l.fwmark = 0;
	len = nft_build_lockdown(buf, BIG, &l, 77);
	parse_batch(&ps, buf, len, 77, "wgud_wg0");
	assert_chain(&ps, "output", "filter", NF_INET_LOCAL_OUT, 0, NF_DROP, 1 + 3 + 3 + 2 + 3);
	parsed_free(&ps);
	l.fwmark = FWMARK;

	/* bad parameters */
	l.ifname = "bad/name";
	assert_int_equal(nft_build_lockdown(buf, BIG, &l, 1), -EINVAL);
	l.ifname = "wg0";
	eps[1].sa.sa_family = AF_UNIX;
	assert_int_equal(nft_build_lockdown(buf, BIG, &l, 1), -EINVAL);
	l.endpoints = NULL;
	assert_int_equal(nft_build_lockdown(buf, BIG, &l, 1), -EINVAL);
	l.n_endpoints = 0;
	assert_true(nft_build_lockdown(buf, BIG, &l, 1) > 0);
	assert_int_equal(nft_build_lockdown(buf, 100, &l, 1), -ENOSPC);
	free(buf);
	free(pol);
}

static void build_refuses_bad_params(void **state)
{
	static char buf[65536];
	struct policy *pol = empty_policy();
	struct nft_params np = { .ifname = "wg0", .fwmark = FWMARK, .policy = pol };
	const char *const bad_names[] = { NULL, "", "sixteen-chars-xx" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		np.ifname = bad_names[i];
		assert_int_equal(nft_build_replace(buf, sizeof(buf), &np, 1), -EINVAL);
		assert_int_equal(nft_build_delete(buf, sizeof(buf), bad_names[i], 1), -EINVAL);
	}
	np.ifname = "fifteen-chars-x"; /* IFNAMSIZ - 1 */
	assert_true(nft_build_replace(buf, sizeof(buf), &np, 1) > 0);
	np.fwmark = 0;
	assert_int_equal(nft_build_replace(buf, sizeof(buf), &np, 1), -EINVAL);
	np.fwmark = FWMARK;
	np.policy = NULL;
	assert_int_equal(nft_build_replace(buf, sizeof(buf), &np, 1), -EINVAL);
	assert_int_equal(nft_build_replace(buf, sizeof(buf), NULL, 1), -EINVAL);
	np.policy = pol;

	cidr(&pol->allow_lan[0], AF_INET, "10.0.0.0", 33);
	pol->n_allow_lan = 1;
	assert_int_equal(nft_build_replace(buf, sizeof(buf), &np, 1), -EINVAL);
	pol->n_allow_lan = 0;
	add_allow(pol, POLICY_PROTO_ICMP, AF_INET, "10.0.0.1", 32, 7); /* a port means tcp or udp */
	assert_int_equal(nft_build_replace(buf, sizeof(buf), &np, 1), -EINVAL);
	pol->n_allow = 0;
	add_port_forward(pol, POLICY_PROTO_ANY, 80, AF_INET, "10.0.0.1", 0);
	assert_int_equal(nft_build_replace(buf, sizeof(buf), &np, 1), -EINVAL);
	pol->n_port_forward = 0;
	pol->dns[0].sa.sa_family = AF_UNIX;
	pol->n_dns = 1;
	assert_int_equal(nft_build_replace(buf, sizeof(buf), &np, 1), -EINVAL);
	pol->n_dns = POLICY_MAX_ENTRIES + 1;
	assert_int_equal(nft_build_replace(buf, sizeof(buf), &np, 1), -EINVAL);
	free(pol);
}

/* The batch is written whole or not at all: exactly its length fits, one byte less does not. */
static void build_needs_room(void **state)
{
	struct policy *pol = gateway_policy();
	struct nft_params np = { .ifname = "wg0", .fwmark = FWMARK, .kill_switch = true, .policy = pol };
	char *a = malloc(BIG), *b = malloc(BIG);
	ssize_t len;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	len = nft_build_replace(a, BIG, &np, 7);
	assert_true(len > 0);
	assert_int_equal(nft_build_replace(b, (size_t)len, &np, 7), len);
	assert_memory_equal(a, b, (size_t)len); /* and the same policy gives the same bytes */
	assert_int_equal(nft_build_replace(b, (size_t)len - 1, &np, 7), -ENOSPC);
	assert_int_equal(nft_build_replace(b, 0, &np, 7), -ENOSPC);
	free(a);
	free(b);
	free(pol);
}

/* A policy file a reload refuses leaves the rendering byte for byte as it was (the daemon sends nothing new). */
static void build_refused_file_same_bytes(void **state)
{
	static const char *const bad[] = {
		"forward-from add 10.0.0.0/8\nforward-from add 10.1.0.0/33\n",
		"open add tcp 1\nallow add any 0.0.0.0/0\n",
		"kill-switch lockdown\ndns-forward maybe\n",
		"masquerade on\nport-forward add tcp 80 10.0.0.5\nport-forward add tcp 80 10.0.0.6\n",
	};
	struct policy *pol = gateway_policy();
	struct nft_params np = { .ifname = "wg0", .fwmark = FWMARK, .kill_switch = true, .policy = pol };
	char *a = malloc(BIG), *b = malloc(BIG), err[256];
	ssize_t len_a, len_b;
	size_t i;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	len_a = nft_build_replace(a, BIG, &np, 9);
	assert_true(len_a > 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(policy_apply_file(pol, "t.policy", bad[i], strlen(bad[i]), err, sizeof(err)), 0);
		len_b = nft_build_replace(b, BIG, &np, 9);
		assert_int_equal(len_b, len_a);
		assert_memory_equal(a, b, (size_t)len_a);
	}
	free(a);
	free(b);
	free(pol);
}

static void build_delete(void **state)
{
	char buf[1024];
	ssize_t len = nft_build_delete(buf, sizeof(buf), "wg0", 40);
	struct parsed ps;

	(void)state;
	parse_batch(&ps, buf, len, 40, "wgud_wg0");
	assert_int_equal(ps.n_msgs, 3);
	assert_int_equal(ps.n_table_ops, 1);
	assert_int_equal(ps.table_ops[0], NFT_MSG_DELTABLE);
	assert_int_equal(ps.n_chains, 0);
	assert_int_equal(nft_build_delete(buf, 20, "wg0", 40), -ENOSPC);
}

/* ---- with the kernel, in a private network namespace ---- */

static bool have_kernel;

static int run(const char *cmd)
{
	int status = system(cmd);

	return status == -1 || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
}

/* Output of cmd in a malloc'ed string; its exit status in *status. */
static char *capture(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	size_t len = 0, cap = 65536;
	char *out = malloc(cap);
	int st;

	assert_non_null(f);
	assert_non_null(out);
	for (;;) {
		size_t n = fread(out + len, 1, cap - len - 1, f);

		len += n;
		if (len + 1 < cap)
			break;
		cap *= 2;
		out = realloc(out, cap);
		assert_non_null(out);
	}
	out[len] = 0;
	st = pclose(f);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

static char *list_table(const char *ifname, bool json)
{
	char cmd[128];
	char *out;
	int status;

	snprintf(cmd, sizeof(cmd), "nft %s list table inet wgud_%s 2>/dev/null", json ? "-j" : "", ifname);
	out = capture(cmd, &status);
	assert_int_equal(status, 0);
	return out;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
		n++;
	return n;
}

/* In nft -j output a chain object names itself with "name"; rules name their chain with "chain". */
static void assert_json_chain(const char *json, const char *chain, const char *policy, size_t n_rules)
{
	char key[64], rule_key[64], want[64];
	const char *p, *end;

	snprintf(key, sizeof(key), "\"name\": \"%s\"", chain);
	snprintf(want, sizeof(want), "\"policy\": \"%s\"", policy);
	snprintf(rule_key, sizeof(rule_key), "\"chain\": \"%s\"", chain);
	p = strstr(json, key);
	assert_non_null(p);
	end = strchr(p, '}');
	assert_non_null(end);
	p = strstr(p, want);
	assert_true(p && p < end);
	assert_int_equal(count(json, rule_key), n_rules);
}

static int netns_setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNET)) {
		print_message("no private network namespace (%s): kernel tests skipped\n", strerror(errno));
		return 0;
	}
	if (run("ip link set lo up && ip link add v0 type veth peer name v1 && "
		"ip addr add 10.9.0.1/24 dev v0 && ip -6 addr add fd09::1/64 dev v0 nodad && "
		"ip link set v0 up && ip link set v1 up") != 0) {
		print_message("cannot set up the namespace's links: kernel tests skipped\n");
		return 0;
	}
	if (nft_probe()) {
		print_message("nf_tables not usable here: kernel tests skipped\n");
		return 0;
	}
	have_kernel = true;
	return 0;
}

static void forget_tables(void)
{
	(void)nft_delete("v0");
	(void)nft_delete("wgx");
}

static void kernel_probe(void **state)
{
	(void)state;
	if (!have_kernel)
		skip();
	assert_int_equal(nft_probe(), 0);
}

static void kernel_replace_lists_back(void **state)
{
	struct policy *pol = gateway_policy();
	struct nft_params np = {
		.ifname = "v0", .fwmark = FWMARK, .kill_switch = true, .filter_inbound = true, .policy = pol
	};
	char *json, *text;

	(void)state;
	if (!have_kernel)
		skip();
	forget_tables();
	set_tunnel_addrs(&np);
	/* a stale table, as an older wgud or a person left it: replaced, not merged */
	assert_int_equal(run("nft add table inet wgud_v0 && nft add chain inet wgud_v0 stale"), 0);
	assert_int_equal(nft_replace(&np), 0);

	json = list_table("v0", true);
	assert_json_chain(json, "preraw", "accept", 2);
	assert_json_chain(json, "input", "drop", BASE_INPUT_RULES + 2 + 3);
	assert_json_chain(json, "output", "drop", BASE_OUTPUT_RULES + 3 + 2 + 2 + 3);
	assert_json_chain(json, "forward", "drop", 1 + 3 + 2 + 2);
	assert_int_equal(count(json, "\"chain\": \"dns\""), 3);
	assert_json_chain(json, "postrouting", "accept", 1);
	assert_json_chain(json, "prerouting", "accept", 2 + 4);
	assert_null(strstr(json, "stale"));
	free(json);

	/* nft reads our bytecode back as the rules a person would write */
	text = list_table("v0", false);
	assert_contains(text, "type filter hook prerouting priority raw; policy accept;");
	assert_contains(text, "iifname != \"v0\" iifname != \"lo\" ip daddr 192.0.2.1 drop");
	assert_contains(text, "iifname != \"v0\" iifname != \"lo\" ip6 daddr fd00:2::1 drop");
	assert_contains(text, "type filter hook input priority filter; policy drop;");
	assert_contains(text, "iifname != \"v0\" accept");
	assert_contains(text, "ct state established,related ct direction reply accept");
	assert_contains(text, "tcp dport 51413 accept");
	assert_contains(text, "udp dport 5000 accept");
	assert_contains(text, "type filter hook output priority filter; policy drop;");
	assert_contains(text, "type nat hook postrouting priority srcnat; policy accept;");
	assert_contains(text, "type nat hook prerouting priority dstnat; policy accept;");
	assert_contains(text, "oifname \"lo\" accept");
	assert_contains(text, "meta mark 0x0000ca6c meta l4proto udp accept");
	assert_contains(text, "udp dport 53 jump dns");
	assert_contains(text, "tcp dport 853 jump dns");
	assert_contains(text, "chain dns {");
	assert_contains(text, "oifname \"v0\" ip daddr 10.64.0.1 return");
	assert_contains(text, "oifname \"v0\" ip6 daddr fd64::1 return");
	assert_contains(text, "ct state established,related ct direction reply ip daddr 172.20.0.0/24 accept");
	assert_contains(text, "icmpv6 type nd-neighbor-solicit ip6 hoplimit 255 meta length <= 128 accept");
	assert_contains(text, "ip daddr 192.168.1.0/24 accept");
	assert_contains(text, "ip6 daddr fd00:1::/64 accept");
	assert_contains(text, "ip daddr 198.51.100.7 tcp dport 443 accept");
	assert_contains(text, "ip daddr 203.0.113.0/25 accept");
	assert_contains(text, "iifname \"v0\" ct state established,related ct direction reply ct mark & 0x01000000 != 0x00000000 accept");
	assert_contains(text, "iifname != \"v0\" udp dport 53 jump dns");
	assert_contains(text,
			"iifname != \"v0\" ip saddr 172.20.0.0/24 oifname \"v0\" ct mark set ct mark | 0x01000000 accept");
	assert_contains(text, "iifname != \"v0\" ip6 saddr fd20::/64 oifname \"v0\" ct mark set ct mark | 0x01000000 accept");
	assert_contains(text, "iifname \"v0\" ip daddr 10.0.0.5 tcp dport 80 ct status dnat ct mark set ct mark | 0x01000000 accept");
	assert_contains(text, "oifname \"v0\" masquerade");
	assert_contains(text, "tcp dport 8080 dnat ip to 10.0.0.5:80");
	assert_contains(text, "udp dport 5001 dnat ip6 to fd20::5");
	assert_contains(text, "iifname != \"v0\" ip saddr 172.20.0.0/24 fib daddr type local udp dport 53 dnat ip to 10.64.0.1");
	assert_contains(text, "iifname != \"v0\" ip6 saddr fd20::/64 fib daddr type local tcp dport 53 dnat ip6 to fd64::1");
	/* nothing accepts by state alone */
	assert_int_equal(count(text, "\t\tct state established,related accept"), 0);
	free(text);

	assert_int_equal(nft_table_exists("v0"), 1);
	assert_int_equal(nft_delete("v0"), 0);
	assert_int_equal(nft_table_exists("v0"), 0);
	assert_int_equal(nft_table_exists("bad/name"), -EINVAL);
	free(pol);
}

static void kernel_replace_is_whole(void **state)
{
	struct policy *gw = gateway_policy(), *none = empty_policy();
	struct nft_params np = { .ifname = "v0", .fwmark = FWMARK, .kill_switch = false, .policy = gw };
	char *json;

	(void)state;
	if (!have_kernel)
		skip();
	forget_tables();
	assert_int_equal(nft_replace(&np), 0);
	np.policy = none;
	assert_int_equal(nft_replace(&np), 0);
	json = list_table("v0", true);
	assert_json_chain(json, "output", "accept", BASE_OUTPUT_RULES);
	assert_json_chain(json, "forward", "accept", 1);
	assert_json_chain(json, "postrouting", "accept", 0);
	assert_json_chain(json, "prerouting", "accept", 0);
	assert_null(strstr(json, "masquerade"));
	assert_null(strstr(json, "10.64.0.1"));
	free(json);
	assert_int_equal(nft_delete("v0"), 0);
	free(gw);
	free(none);
}

/* One message past the table's deletion names a chain that does not exist: the kernel undoes everything. */
static void kernel_refused_batch_changes_nothing(void **state)
{
	struct policy *gw = gateway_policy(), *none = empty_policy();
	struct nft_params np = { .ifname = "v0", .fwmark = FWMARK, .kill_switch = true, .policy = gw };
	char *buf = malloc(BIG), *spliced = malloc(BIG), *before, *after;
	union {
		struct nlmsghdr align;
		char b[1024];
	} bogus;
	const struct nlmsghdr *nlh, *last = NULL;
	struct nftnl_rule *r;
	struct nftnl_expr *e;
	ssize_t len;
	size_t head;
	int left;

	(void)state;
	if (!have_kernel)
		skip();
	assert_non_null(buf);
	assert_non_null(spliced);
	forget_tables();
	assert_int_equal(nft_replace(&np), 0);
	before = list_table("v0", false);

	np.policy = none;
	np.kill_switch = false;
	len = nft_build_replace(buf, BIG, &np, 500);
	assert_true(len > 0);
	for (nlh = (void *)buf, left = (int)len; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		last = nlh;
	assert_non_null(last);
	head = (size_t)((const char *)last - buf);

	r = nftnl_rule_alloc();
	e = nftnl_expr_alloc("immediate");
	assert_non_null(r);
	assert_non_null(e);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "wgud_v0");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "nope");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	nftnl_rule_add_expr(r, e);
	nlh = nftnl_rule_nlmsg_build_hdr(bogus.b, NFT_MSG_NEWRULE, NFPROTO_INET,
					 NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, last->nlmsg_seq);
	nftnl_rule_nlmsg_build_payload((struct nlmsghdr *)nlh, r);
	nftnl_rule_free(r);

	memcpy(spliced, buf, head);
	memcpy(spliced + head, nlh, nlh->nlmsg_len);
	memcpy(spliced + head + nlh->nlmsg_len, last, last->nlmsg_len);
	((struct nlmsghdr *)(spliced + head + nlh->nlmsg_len))->nlmsg_seq++;
	assert_int_equal(nft_send(spliced, (size_t)len + nlh->nlmsg_len), -ENOENT);

	after = list_table("v0", false);
	assert_string_equal(before, after);
	/* and the same batch without the bogus message goes through */
	assert_int_equal(nft_send(buf, (size_t)len), 0);
	free(after);
	after = list_table("v0", false);
	assert_string_not_equal(before, after);

	assert_int_equal(nft_delete("v0"), 0);
	free(before);
	free(after);
	free(buf);
	free(spliced);
	free(gw);
	free(none);
}

static void kernel_delete(void **state)
{
	struct policy *pol = empty_policy();
	struct nft_params np = { .ifname = "v0", .fwmark = FWMARK, .kill_switch = true, .policy = pol };
	char *out;
	int status;

	(void)state;
	if (!have_kernel)
		skip();
	forget_tables();
	assert_int_equal(nft_delete("v0"), -ENOENT);
	assert_int_equal(nft_replace(&np), 0);
	assert_int_equal(nft_delete("v0"), 0);
	out = capture("nft list table inet wgud_v0 2>/dev/null", &status);
	assert_int_not_equal(status, 0);
	free(out);
	assert_int_equal(nft_delete("v0"), -ENOENT);
	assert_int_equal(nft_delete("sixteen-chars-xx"), -EINVAL);
	free(pol);
}

/* --publish: the wall in the namespace, and the host side's table of translations. */
static void kernel_publish(void **state)
{
	static const uint8_t ns_addr[4] = { 169, 254, 1, 2 };
	struct nft_publish pub[2] = {
		{ .proto = IPPROTO_TCP, .port = 80, .host_port = 8080 },
		{ .proto = IPPROTO_UDP, .port = 53, .host_port = 5353, .has_addr = true, .addr = { 10, 1, 2, 3 } },
	};
	struct policy *pol = empty_policy();
	struct nft_params np = { .ifname = "v0", .fwmark = FWMARK, .kill_switch = true, .filter_inbound = true,
				 .policy = pol, .publish_ifname = "wgq1", .publish = pub, .n_publish = 2 };
	char *text;
	int status;

	(void)state;
	if (!have_kernel)
		skip();
	forget_tables();
	assert_int_equal(nft_replace(&np), 0);
	text = list_table("v0", false);
	/* in from the veth only to the published ports; out on it only their replies */
	assert_contains(text, "iifname \"wgq1\" tcp dport 80 accept");
	assert_contains(text, "iifname \"wgq1\" udp dport 53 accept");
	assert_contains(text, "iifname \"wgq1\" drop");
	assert_contains(text, "oifname \"wgq1\" ct state established,related ct direction reply accept");
	assert_contains(text, "oifname \"wgq1\" drop");
	/* and before the rule that lets every other interface's input through */
	assert_true(strstr(text, "iifname \"wgq1\" drop") < strstr(text, "iifname != \"v0\" accept"));
	free(text);

	assert_int_equal(nft_publish_replace("v0", "wgp1", ns_addr, pub, 2), 0);
	text = capture("nft list table inet wgudp_v0 2>/dev/null", &status);
	assert_int_equal(status, 0);
	assert_contains(text, "type nat hook prerouting priority dstnat; policy accept;");
	assert_contains(text, "type nat hook output priority -100; policy accept;");
	assert_contains(text, "meta nfproto ipv4 fib daddr type local tcp dport 8080 dnat ip to 169.254.1.2:80");
	assert_contains(text, "ip daddr 10.1.2.3 fib daddr type local udp dport 5353 dnat ip to 169.254.1.2:53");
	assert_contains(text, "oifname \"wgp1\" masquerade");
	assert_int_equal(count(text, "dnat ip to"), 4); /* prerouting and output, two each */
	free(text);
	/* replaced as a whole */
	assert_int_equal(nft_publish_replace("v0", "wgp1", ns_addr, pub, 1), 0);
	text = capture("nft list table inet wgudp_v0 2>/dev/null", &status);
	assert_int_equal(count(text, "dnat ip to"), 2);
	free(text);
	assert_int_equal(nft_publish_delete("v0"), 0);
	text = capture("nft list table inet wgudp_v0 2>/dev/null", &status);
	assert_int_not_equal(status, 0);
	free(text);
	assert_int_equal(nft_publish_delete("v0"), 0);
	assert_int_equal(nft_publish_replace("v0", "bad name!", ns_addr, pub, 1), -EINVAL);
	assert_int_equal(nft_delete("v0"), 0);
	free(pol);
}

/* The largest batch: one datagram of about 1 MiB and some 2000 acks, all accounted for. */
static void kernel_full_policy(void **state)
{
	struct policy *pol = full_policy();
	struct nft_params np = {
		.ifname = "v0", .fwmark = FWMARK, .kill_switch = true, .filter_inbound = true, .policy = pol
	};
	const size_t n = POLICY_MAX_ENTRIES;
	char *json;

	(void)state;
	if (!have_kernel)
		skip();
	forget_tables();
	assert_int_equal(nft_replace(&np), 0);
	json = list_table("v0", true);
	assert_json_chain(json, "output", "drop", BASE_OUTPUT_RULES + 3 + n + 2 * n);
	assert_json_chain(json, "forward", "drop", 1 + 3 + 2 * n);
	assert_json_chain(json, "input", "drop", BASE_INPUT_RULES + 2 * n);
	assert_json_chain(json, "prerouting", "accept", 3 * n);
	free(json);
	assert_int_equal(nft_delete("v0"), 0);
	free(pol);
}

/* 0 or -errno of a one-byte UDP datagram; a drop in the output hook is EPERM, synchronously. */
static int udp_send(int family, const char *addr, uint16_t port, uint32_t mark)
{
	union model_sockaddr sa;
	int fd, ret = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa.sa_family = (sa_family_t)family;
	if (family == AF_INET) {
		sa.sin.sin_port = htons(port);
		assert_int_equal(inet_pton(family, addr, &sa.sin.sin_addr), 1);
	} else {
		sa.sin6.sin6_port = htons(port);
		assert_int_equal(inet_pton(family, addr, &sa.sin6.sin6_addr), 1);
	}
	fd = socket(family, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	if (mark)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)), 0);
	if (sendto(fd, "x", 1, 0, &sa.sa, family == AF_INET ? sizeof(sa.sin) : sizeof(sa.sin6)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void kernel_packets_kill_switch(void **state)
{
	struct policy *pol = empty_policy();
	/* the tunnel is "wgx", absent: everything on v0 is "outside" */
	struct nft_params np = { .ifname = "wgx", .fwmark = FWMARK, .kill_switch = true, .policy = pol };

	(void)state;
	if (!have_kernel)
		skip();
	forget_tables();
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 9, 0), 0);
	assert_int_equal(nft_replace(&np), 0);
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 9, 0), -EPERM);
	assert_int_equal(udp_send(AF_INET6, "fd09::2", 9, 0), -EPERM);
	assert_int_equal(udp_send(AF_INET, "127.0.0.1", 9, 0), 0);
	/* wgud's own sockets, by their mark */
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 9, FWMARK), 0);
	assert_int_equal(udp_send(AF_INET6, "fd09::2", 9, FWMARK), 0);
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 9, FWMARK + 1), -EPERM);

	add_allow(pol, POLICY_PROTO_UDP, AF_INET, "10.9.0.2", 32, 9);
	cidr(&pol->allow_lan[pol->n_allow_lan++], AF_INET6, "fd09::", 64);
	assert_int_equal(nft_replace(&np), 0);
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 9, 0), 0);
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 10, 0), -EPERM);
	assert_int_equal(udp_send(AF_INET, "10.9.0.3", 9, 0), -EPERM);
	assert_int_equal(udp_send(AF_INET6, "fd09::77", 1234, 0), 0);

	np.kill_switch = false;
	pol->n_allow = pol->n_allow_lan = 0;
	assert_int_equal(nft_replace(&np), 0);
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 9, 0), 0);
	assert_int_equal(udp_send(AF_INET6, "fd09::2", 9, 0), 0);
	assert_int_equal(nft_delete("wgx"), 0);
	free(pol);
}

/* DNS goes to the resolvers through the tunnel or nowhere, kill switch or not. */
static void kernel_packets_dns(void **state)
{
	struct policy *pol = empty_policy();
	struct nft_params np = { .ifname = "wgx", .fwmark = FWMARK, .kill_switch = false, .policy = pol };

	(void)state;
	if (!have_kernel)
		skip();
	forget_tables();
	resolver(&pol->dns[pol->n_dns++], AF_INET, "10.9.0.53");
	assert_int_equal(nft_replace(&np), 0);
	/* the right server, but not through the tunnel */
	assert_int_equal(udp_send(AF_INET, "10.9.0.53", 53, 0), -EPERM);
	assert_int_equal(udp_send(AF_INET, "10.9.0.54", 53, 0), -EPERM);
	assert_int_equal(udp_send(AF_INET, "10.9.0.54", 54, 0), 0);
	assert_int_equal(nft_delete("wgx"), 0);

	/* now v0 plays the tunnel */
	np.ifname = "v0";
	assert_int_equal(nft_replace(&np), 0);
	assert_int_equal(udp_send(AF_INET, "10.9.0.53", 53, 0), 0);
	assert_int_equal(udp_send(AF_INET, "10.9.0.54", 53, 0), -EPERM);
	assert_int_equal(udp_send(AF_INET6, "fd09::53", 53, 0), -EPERM);
	assert_int_equal(nft_delete("v0"), 0);
	free(pol);
}

static void collect_other(const char *other, void *ctx)
{
	char *seen = ctx;

	strcat(seen, other);
	strcat(seen, " ");
}

/* Another wgud's table in the same namespace is found, this one's and others' are not. */
static void kernel_other_tables(void **state)
{
	char seen[256] = "";

	(void)state;
	if (!have_kernel)
		skip();
	forget_tables();
	assert_int_equal(run("nft add table inet wgud_v0 && nft add table inet wgud_wgy && nft add table inet other && "
			     "nft add table ip wgud_wgz"),
			 0);
	assert_int_equal(nft_other_tables("v0", collect_other, seen), 0);
	assert_string_equal(seen, "wgy ");
	seen[0] = '\0';
	assert_int_equal(nft_other_tables("wgy", collect_other, seen), 0);
	assert_string_equal(seen, "v0 ");
	assert_int_equal(run("nft delete table inet wgud_v0 && nft delete table inet wgud_wgy && nft delete table inet "
			     "other && nft delete table ip wgud_wgz"),
			 0);
	seen[0] = '\0';
	assert_int_equal(nft_other_tables("v0", collect_other, seen), 0);
	assert_string_equal(seen, "");
}

/* 0 or -errno of an ICMPv6 message of type with len bytes, sent with hop limit hops. */
static int icmp6_send(const char *addr, uint8_t type, size_t len, int hops)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	uint8_t msg[512] = { 0 };
	int fd, ret = 0;

	assert_true(len <= sizeof(msg));
	assert_int_equal(inet_pton(AF_INET6, addr, &sa.sin6_addr), 1);
	msg[0] = type;
	fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)), 0);
	if (sendto(fd, msg, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Neighbour discovery passes the kill switch only as it really is: hop limit 255 and small. */
static void kernel_packets_nd(void **state)
{
	struct policy *pol = empty_policy();
	struct nft_params np = { .ifname = "wgx", .fwmark = FWMARK, .kill_switch = true, .policy = pol };

	(void)state;
	if (!have_kernel)
		skip();
	forget_tables();
	assert_int_equal(nft_replace(&np), 0);
	assert_int_equal(icmp6_send("fd09::2", 135, 32, 255), 0);
	assert_int_equal(icmp6_send("fd09::2", 136, 32, 255), 0);
	/* routed, or carrying a payload: someone's data, not ND */
	assert_int_equal(icmp6_send("fd09::2", 135, 32, 64), -EPERM);
	assert_int_equal(icmp6_send("fd09::2", 135, 300, 255), -EPERM);
	/* other ICMPv6 stays in */
	assert_int_equal(icmp6_send("fd09::2", 128, 32, 255), -EPERM);
	assert_int_equal(nft_delete("wgx"), 0);
	free(pol);
}

/* A VPN endpoint on UDP 53 with DNS confined: wgud's own handshake passes before the DNS rules see it. */
static void kernel_packets_endpoint_on_53(void **state)
{
	struct policy *pol = empty_policy();
	struct nft_params np = { .ifname = "wgx", .fwmark = FWMARK, .kill_switch = true, .policy = pol };

	(void)state;
	if (!have_kernel)
		skip();
	forget_tables();
	resolver(&pol->dns[pol->n_dns++], AF_INET, "10.9.0.53");
	assert_int_equal(nft_replace(&np), 0);
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 53, FWMARK), 0);
	assert_int_equal(udp_send(AF_INET6, "fd09::2", 53, FWMARK), 0);
	/* anyone else's DNS there is still dropped */
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 53, 0), -EPERM);
	assert_int_equal(udp_send(AF_INET, "10.9.0.53", 53, 0), -EPERM);
	assert_int_equal(nft_delete("wgx"), 0);
	free(pol);
}

/* The table a stopped wgud leaves in lockdown. */
static void kernel_packets_lockdown(void **state)
{
	struct policy *pol = empty_policy();
	union model_sockaddr ep;
	struct nft_lockdown l = { .ifname = "wgx", .policy = pol, .fwmark = FWMARK, .endpoints = &ep, .n_endpoints = 1 };

	(void)state;
	if (!have_kernel)
		skip();
	forget_tables();
	resolver(&ep, AF_INET, "10.9.0.2");
	ep.sin.sin_port = htons(51820);
	cidr(&pol->allow_lan[pol->n_allow_lan++], AF_INET6, "fd09::", 64);
	assert_int_equal(nft_lock(&l), 0);
	assert_int_equal(nft_table_exists("wgx"), 1);
	/* the endpoint, for wgud's marked UDP only (setting a mark takes CAP_NET_ADMIN) */
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 51820, FWMARK), 0);
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 51820, 0), -EPERM);
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 51821, FWMARK), -EPERM);
	assert_int_equal(udp_send(AF_INET, "10.9.0.3", 51820, FWMARK), -EPERM);
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 9, FWMARK), -EPERM);
	assert_int_equal(udp_send(AF_INET, "10.9.0.53", 53, 0), -EPERM);
	assert_int_equal(udp_send(AF_INET, "127.0.0.1", 9, 0), 0);
	/* the LAN, but not its resolver */
	assert_int_equal(udp_send(AF_INET6, "fd09::77", 9, 0), 0);
	assert_int_equal(udp_send(AF_INET6, "fd09::53", 53, 0), -EPERM);

	/* a running table replaces it in one batch, and the lockdown one comes back the same way */
	{
		struct nft_params np = { .ifname = "wgx", .fwmark = FWMARK, .kill_switch = true, .policy = pol };

		assert_int_equal(nft_replace(&np), 0);
		assert_int_equal(udp_send(AF_INET, "10.9.0.2", 9, FWMARK), 0);
		assert_int_equal(nft_lock(&l), 0);
		assert_int_equal(udp_send(AF_INET, "10.9.0.2", 9, FWMARK), -EPERM);
	}
	assert_int_equal(nft_delete("wgx"), 0);
	assert_int_equal(udp_send(AF_INET, "10.9.0.2", 9, 0), 0);
	free(pol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(build_empty_policy),
		cmocka_unit_test(build_kill_switch),
		cmocka_unit_test(build_gateway),
		cmocka_unit_test(build_full_policy),
		cmocka_unit_test(build_lockdown),
		cmocka_unit_test(build_refuses_bad_params),
		cmocka_unit_test(build_needs_room),
		cmocka_unit_test(build_refused_file_same_bytes),
		cmocka_unit_test(build_delete),
		cmocka_unit_test(kernel_probe),
		cmocka_unit_test(kernel_replace_lists_back),
		cmocka_unit_test(kernel_replace_is_whole),
		cmocka_unit_test(kernel_refused_batch_changes_nothing),
		cmocka_unit_test(kernel_delete),
		cmocka_unit_test(kernel_publish),
		cmocka_unit_test(kernel_full_policy),
		cmocka_unit_test(kernel_packets_kill_switch),
		cmocka_unit_test(kernel_packets_dns),
		cmocka_unit_test(kernel_packets_endpoint_on_53),
		cmocka_unit_test(kernel_packets_nd),
		cmocka_unit_test(kernel_other_tables),
		cmocka_unit_test(kernel_packets_lockdown),
	};

	return cmocka_run_group_tests(tests, netns_setup, NULL);
}
