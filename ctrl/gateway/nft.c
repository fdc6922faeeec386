// SPDX-License-Identifier: MIT
/*
 * The running and lockdown tables (nft.h has their shape), rule by rule.
 * Lists are unrolled into one rule per entry instead of sets: each rule
 * reads on its own in `nft list table`, and the batch needs no set
 * bookkeeping. nft_batch.c does the libnftnl and netlink work.
 */
#include "nft.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libnftnl/common.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>

#include "nft_batch.h"
#include "tun.h"

/* Hook priorities, as nft(8) names them: raw, srcnat, dstnat. */
#define PRIO_RAW (-300)
#define PRIO_SRCNAT 100
#define PRIO_DSTNAT (-100)

/* Where nft_replace stops doubling its buffer: the largest policy (every list full, IPv6) renders to about 1.5 MiB. */
#define NFT_BATCH_MAX (16U << 20)

struct render {
	struct nftb b;
	const struct nft_params *p;
	const struct policy *pol;
	const char *ifname;
};

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
 * the kernel sends it through the output hook. Real ND never leaves the
 * link (hop limit 255, RFC 4861) and is small: a message with its options
 * (link-layer address, nonce) is at most 40 bytes past the IPv6 header.
 * Anything bigger or routed is someone's payload in disguise.
 */
static const uint8_t nd_types[] = {
	133, /* router solicitation */
	135, /* neighbour solicitation */
	136, /* neighbour advertisement */
};
#define ND_MAX_LEN 128 /* IPv6 header and message, with room to spare */

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

static uint16_t port_of(const union model_sockaddr *sa)
{
	return ntohs(sa->sa.sa_family == AF_INET ? sa->sin.sin_port : sa->sin6.sin6_port);
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

static uint16_t pf_target_port(const struct policy_port_forward *pf)
{
	return pf->target_port ? pf->target_port : pf->port;
}

/* ---- pieces of rules ---- */

static void begin(struct render *rd, struct nftb_rule *r, const char *chain)
{
	nftb_rule_begin(&rd->b, r, chain);
}

static void put(struct render *rd, struct nftb_rule *r, int verdict)
{
	nftb_verdict(r, verdict);
	nftb_rule_put(&rd->b, r);
}

static void match_l4(struct nftb_rule *r, uint8_t l4proto, uint16_t port)
{
	nftb_match_meta_u8(r, NFT_META_L4PROTO, l4proto);
	if (port)
		nftb_match_dport(r, port);
}

static void match_iif_tunnel(struct render *rd, struct nftb_rule *r, bool tunnel)
{
	nftb_match_ifname(r, NFT_META_IIFNAME, tunnel ? NFT_CMP_EQ : NFT_CMP_NEQ, rd->ifname);
}

static void match_oif(struct nftb_rule *r, const char *name)
{
	nftb_match_ifname(r, NFT_META_OIFNAME, NFT_CMP_EQ, name);
}

/*
 * Established or related, in the reply direction: answers and ICMP errors
 * to what went out. The original direction of a flow that came in is not
 * covered: its rule (open, port-forward) matches each of its packets, so
 * deleting the rule ends the flow too.
 */
static void match_replies(struct nftb_rule *r)
{
	static const uint8_t reply = IP_CT_DIR_REPLY;

	nftb_match_ct_bits(r, NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
	nftb_ct(r, NFT_CT_DIRECTION);
	nftb_cmp(r, NFT_CMP_EQ, &reply, sizeof(reply));
}

/* ct mark set ct mark | NFT_CTMARK_PASSED: the bit is ours, other bits stay as they are. */
static void set_passed(struct nftb_rule *r)
{
	const uint32_t keep = ~NFT_CTMARK_PASSED, bit = NFT_CTMARK_PASSED;

	nftb_ct(r, NFT_CT_MARK);
	nftb_bitwise(r, &keep, &bit, sizeof(bit));
	nftb_ct_set(r, NFT_CT_MARK);
}

static void accept_nd(struct render *rd, const char *chain)
{
	static const uint8_t hop_limit = 255;
	const uint32_t max_len = htonl(ND_MAX_LEN);
	struct nftb_rule r;
	size_t i;

	for (i = 0; i < sizeof(nd_types); i++) {
		begin(rd, &r, chain);
		nftb_match_meta_u8(&r, NFT_META_NFPROTO, NFPROTO_IPV6);
		nftb_match_meta_u8(&r, NFT_META_L4PROTO, IPPROTO_ICMPV6);
		nftb_payload(&r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
		nftb_cmp(&r, NFT_CMP_EQ, &nd_types[i], 1);
		nftb_payload(&r, NFT_PAYLOAD_NETWORK_HEADER, offsetof(struct ip6_hdr, ip6_hlim), 1);
		nftb_cmp(&r, NFT_CMP_EQ, &hop_limit, 1);
		nftb_meta(&r, NFT_META_LEN);
		nftb_hton32(&r);
		nftb_cmp(&r, NFT_CMP_LTE, &max_len, sizeof(max_len));
		put(rd, &r, NF_ACCEPT);
	}
}

/* What the person asked to reach directly: allow-lan prefixes and allow entries. */
static void accept_direct(struct render *rd, const char *chain)
{
	struct nftb_rule r;
	size_t i;

	for (i = 0; i < rd->pol->n_allow_lan; i++) {
		begin(rd, &r, chain);
		nftb_match_addr(&r, false, &rd->pol->allow_lan[i]);
		put(rd, &r, NF_ACCEPT);
	}
	for (i = 0; i < rd->pol->n_allow; i++) {
		const struct policy_allow *a = &rd->pol->allow[i];
		uint8_t l4 = l4proto_of(a->proto, a->addr.family);

		begin(rd, &r, chain);
		nftb_match_addr(&r, false, &a->addr);
		if (l4)
			match_l4(&r, l4, a->port);
		put(rd, &r, NF_ACCEPT);
	}
}

/*
 * DNS is confined when resolvers are listed, and under the kill switch even
 * when none are (wg-quick never tells wgud its DNS =): then it may go to any
 * resolver, but only through the tunnel.
 */
static bool confines_dns(const struct render *rd)
{
	return rd->pol->n_dns || (rd->p && rd->p->kill_switch);
}

/* DNS of every kind goes through the dns chain; forwarded: only what does not arrive from the tunnel. */
static void jump_dns(struct render *rd, const char *chain, bool forwarded)
{
	struct nftb_rule r;
	size_t s;

	if (!confines_dns(rd))
		return;
	for (s = 0; s < sizeof(dns_services) / sizeof(dns_services[0]); s++) {
		begin(rd, &r, chain);
		/* port forwards from the tunnel to a LAN resolver are not this host's clients' queries */
		if (forwarded)
			match_iif_tunnel(rd, &r, false);
		match_l4(&r, dns_services[s].proto, dns_services[s].port);
		nftb_jump(&r, "dns");
		nftb_rule_put(&rd->b, &r);
	}
}

/* ---- the running table ---- */

/* CVE-2019-14899: a host on the uplink must not learn the tunnel addresses from answers. */
static void render_preraw(struct render *rd)
{
	struct nftb_rule r;
	size_t i;

	for (i = 0; i < rd->p->n_addresses; i++) {
		struct cidr host = rd->p->addresses[i];

		host.cidr = (uint8_t)(8 * cidr_addr_len(host.family));
		begin(rd, &r, "preraw");
		match_iif_tunnel(rd, &r, false);
		nftb_match_ifname(&r, NFT_META_IIFNAME, NFT_CMP_NEQ, "lo");
		nftb_match_addr(&r, false, &host);
		put(rd, &r, NF_DROP);
	}
}

/* --publish: the veth from the host side lets in new flows to the published ports only, nothing else. */
static void publish_input(struct render *rd)
{
	const struct nft_params *p = rd->p;
	struct nftb_rule r;
	size_t i;

	if (!p->publish_ifname)
		return;
	for (i = 0; i < p->n_publish; i++) {
		begin(rd, &r, "input");
		nftb_match_ifname(&r, NFT_META_IIFNAME, NFT_CMP_EQ, p->publish_ifname);
		match_l4(&r, p->publish[i].proto, p->publish[i].port);
		put(rd, &r, NF_ACCEPT);
	}
	begin(rd, &r, "input");
	nftb_match_ifname(&r, NFT_META_IIFNAME, NFT_CMP_EQ, p->publish_ifname);
	put(rd, &r, NF_DROP);
}

static void render_input(struct render *rd)
{
	const struct policy *pol = rd->pol;
	struct nftb_rule r;
	size_t i;

	publish_input(rd);
	begin(rd, &r, "input");
	match_iif_tunnel(rd, &r, false);
	put(rd, &r, NF_ACCEPT);
	/* replies to this host's connections, and the ICMP errors about them (conntrack's related) */
	begin(rd, &r, "input");
	match_replies(&r);
	put(rd, &r, NF_ACCEPT);
	for (i = 0; i < pol->n_open; i++) {
		begin(rd, &r, "input");
		match_l4(&r, l4proto_of(pol->open[i].proto, AF_INET), pol->open[i].port);
		put(rd, &r, NF_ACCEPT);
	}
	for (i = 0; i < pol->n_port_forward; i++) {
		const struct policy_port_forward *pf = &pol->port_forward[i];

		begin(rd, &r, "input");
		if (pf->has_target) {
			/* translated to one of this host's addresses by prerouting */
			nftb_match_addr(&r, false, &pf->target);
			match_l4(&r, l4proto_of(pf->proto, pf->target.family), pf_target_port(pf));
			nftb_match_ct_bits(&r, NFT_CT_STATUS, IPS_DST_NAT);
		} else {
			match_l4(&r, l4proto_of(pf->proto, AF_INET), pf->port);
		}
		put(rd, &r, NF_ACCEPT);
	}
}

static void render_output(struct render *rd)
{
	uint32_t mark = rd->p->fwmark;
	struct nftb_rule r;
	size_t i;

	begin(rd, &r, "output");
	match_oif(&r, "lo");
	put(rd, &r, NF_ACCEPT);

	/* --publish: only the answers to what came in on the veth go back out on it */
	if (rd->p->publish_ifname) {
		begin(rd, &r, "output");
		match_oif(&r, rd->p->publish_ifname);
		match_replies(&r);
		put(rd, &r, NF_ACCEPT);
		begin(rd, &r, "output");
		match_oif(&r, rd->p->publish_ifname);
		put(rd, &r, NF_DROP);
	}

	/* wgud's own encrypted UDP, before DNS: an endpoint may well listen on port 53 (confined: none here) */
	if (mark) {
		begin(rd, &r, "output");
		nftb_meta(&r, NFT_META_MARK);
		nftb_cmp(&r, NFT_CMP_EQ, &mark, sizeof(mark));
		nftb_match_meta_u8(&r, NFT_META_L4PROTO, IPPROTO_UDP);
		put(rd, &r, NF_ACCEPT);
	}

	jump_dns(rd, "output", false);

	begin(rd, &r, "output");
	match_oif(&r, rd->ifname);
	put(rd, &r, NF_ACCEPT);

	/*
	 * The gateway's own clients: its answers to what they ask of it (DNS,
	 * a web UI, ping) and its ICMP errors about their forwarded packets (too
	 * big for the tunnel, ...), in the reply direction only.
	 */
	for (i = 0; i < rd->pol->n_forward_from; i++) {
		begin(rd, &r, "output");
		match_replies(&r);
		nftb_match_addr(&r, false, &rd->pol->forward_from[i]);
		put(rd, &r, NF_ACCEPT);
	}
	accept_nd(rd, "output");
	accept_direct(rd, "output");
}

static void render_forward(struct render *rd)
{
	const struct policy *pol = rd->pol;
	struct nftb_rule r;
	size_t i;

	/* replies to what went out through the tunnel below, and nothing that predates the table */
	begin(rd, &r, "forward");
	match_iif_tunnel(rd, &r, true);
	match_replies(&r);
	nftb_match_ct_bits(&r, NFT_CT_MARK, NFT_CTMARK_PASSED);
	put(rd, &r, NF_ACCEPT);

	jump_dns(rd, "forward", true);

	/* forward-from subnets leave through the tunnel and nowhere else */
	for (i = 0; i < pol->n_forward_from; i++) {
		begin(rd, &r, "forward");
		match_iif_tunnel(rd, &r, false);
		nftb_match_addr(&r, true, &pol->forward_from[i]);
		match_oif(&r, rd->ifname);
		set_passed(&r);
		put(rd, &r, NF_ACCEPT);
	}

	/* the new connections that prerouting translated to a forward-from host */
	for (i = 0; i < pol->n_port_forward; i++) {
		const struct policy_port_forward *pf = &pol->port_forward[i];

		if (!pf->has_target)
			continue;
		begin(rd, &r, "forward");
		match_iif_tunnel(rd, &r, true);
		nftb_match_addr(&r, false, &pf->target);
		match_l4(&r, l4proto_of(pf->proto, pf->target.family), pf_target_port(pf));
		nftb_match_ct_bits(&r, NFT_CT_STATUS, IPS_DST_NAT);
		set_passed(&r);
		put(rd, &r, NF_ACCEPT);
	}
}

/* DNS, whether or not the kill switch is on: a query elsewhere would leak what is looked up. */
static void render_dns(struct render *rd)
{
	struct nftb_rule r;
	struct cidr host;
	size_t i;

	for (i = 0; i < rd->pol->n_dns; i++) {
		host_of(&host, &rd->pol->dns[i]);
		begin(rd, &r, "dns");
		match_oif(&r, rd->ifname);
		nftb_match_addr(&r, false, &host);
		put(rd, &r, NFT_RETURN);
	}
	if (!rd->pol->n_dns) {
		begin(rd, &r, "dns");
		match_oif(&r, rd->ifname);
		put(rd, &r, NFT_RETURN);
	}
	begin(rd, &r, "dns");
	put(rd, &r, NF_DROP);
}

/* While wgud is stopped no DNS leaves at all, not even to a LAN that allow-lan lets through. */
static void drop_dns(struct render *rd, const char *chain)
{
	struct nftb_rule r;
	size_t s;

	for (s = 0; s < sizeof(dns_services) / sizeof(dns_services[0]); s++) {
		begin(rd, &r, chain);
		match_l4(&r, dns_services[s].proto, dns_services[s].port);
		put(rd, &r, NF_DROP);
	}
}

static void render_postrouting(struct render *rd)
{
	struct nftb_rule r;

	if (!rd->pol->masquerade)
		return;
	begin(rd, &r, "postrouting");
	match_oif(&r, rd->ifname);
	nftb_masq(&r);
	nftb_rule_put(&rd->b, &r);
}

static void dnat_to(struct nftb_rule *r, const struct cidr *addr, uint16_t port)
{
	uint16_t be = htons(port);

	nftb_immediate(r, NFT_REG_1, addr->addr, (uint32_t)cidr_addr_len(addr->family));
	if (port)
		nftb_immediate(r, NFT_REG_2, &be, sizeof(be));
	nftb_dnat(r, nftb_nfproto_of(addr->family), port != 0);
}

static const union model_sockaddr *first_resolver(const struct policy *pol, int family)
{
	size_t i;

	for (i = 0; i < pol->n_dns; i++)
		if (pol->dns[i].sa.sa_family == family)
			return &pol->dns[i];
	return NULL;
}

/* Queries from forward-from subnets to any address of this host go to the first resolver of their family. */
static void render_dns_forward(struct render *rd)
{
	static const uint32_t local = RTN_LOCAL;
	const struct policy *pol = rd->pol;
	struct nftb_rule r;
	size_t i, s;

	for (i = 0; pol->dns_forward && i < pol->n_forward_from; i++) {
		const union model_sockaddr *sa = first_resolver(pol, pol->forward_from[i].family);
		struct cidr resolver;

		if (!sa)
			continue;
		host_of(&resolver, sa);
		for (s = 0; s < 2; s++) { /* 53/udp, 53/tcp */
			begin(rd, &r, "prerouting");
			match_iif_tunnel(rd, &r, false);
			nftb_match_addr(&r, true, &pol->forward_from[i]);
			nftb_fib(&r, NFTA_FIB_F_DADDR, NFT_FIB_RESULT_ADDRTYPE);
			nftb_cmp(&r, NFT_CMP_EQ, &local, sizeof(local));
			match_l4(&r, dns_services[s].proto, dns_services[s].port);
			dnat_to(&r, &resolver, 0);
			nftb_rule_put(&rd->b, &r);
		}
	}
}

static void render_prerouting(struct render *rd)
{
	const struct policy *pol = rd->pol;
	struct nftb_rule r;
	size_t i;

	for (i = 0; i < pol->n_port_forward; i++) {
		const struct policy_port_forward *pf = &pol->port_forward[i];

		if (!pf->has_target)
			continue; /* for this host on its own port: the input chain opens it */
		begin(rd, &r, "prerouting");
		match_iif_tunnel(rd, &r, true);
		nftb_match_meta_u8(&r, NFT_META_NFPROTO, nftb_nfproto_of(pf->target.family));
		match_l4(&r, l4proto_of(pf->proto, pf->target.family), pf->port);
		dnat_to(&r, &pf->target, pf->target_port);
		nftb_rule_put(&rd->b, &r);
	}
	render_dns_forward(rd);
}

/* ---- validation: everything nftables would be asked to express ---- */

static bool resolver_ok(const union model_sockaddr *sa)
{
	return sa->sa.sa_family == AF_INET || sa->sa.sa_family == AF_INET6;
}

static bool lists_ok(const struct policy *pol)
{
	size_t i;

	if (pol->n_allow_lan > POLICY_MAX_ENTRIES || pol->n_allow > POLICY_MAX_ENTRIES ||
	    pol->n_forward_from > POLICY_MAX_ENTRIES || pol->n_port_forward > POLICY_MAX_ENTRIES ||
	    pol->n_open > POLICY_MAX_ENTRIES || pol->n_dns > POLICY_MAX_ENTRIES)
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
	for (i = 0; i < pol->n_open; i++)
		if ((pol->open[i].proto != POLICY_PROTO_TCP && pol->open[i].proto != POLICY_PROTO_UDP) ||
		    !pol->open[i].port)
			return false;
	for (i = 0; i < pol->n_dns; i++)
		if (!resolver_ok(&pol->dns[i]))
			return false;
	return true;
}

static bool params_ok(const struct nft_params *p)
{
	size_t i;

	if (!p || !p->policy || !p->ifname || !tun_ifname_valid(p->ifname) || (!p->fwmark && !p->udp_elsewhere) ||
	    (p->fwmark && p->udp_elsewhere) || !lists_ok(p->policy) ||
	    p->n_addresses > NFT_MAX_ADDRESSES || (p->n_addresses && !p->addresses))
		return false;
	for (i = 0; i < p->n_addresses; i++)
		if (cidr_addr_len(p->addresses[i].family) < 0)
			return false;
	return true;
}

static void table_name(char out[NFTB_TABLE_MAX], const char *ifname)
{
	memcpy(out, NFT_TABLE_PREFIX, sizeof(NFT_TABLE_PREFIX) - 1);
	memcpy(out + sizeof(NFT_TABLE_PREFIX) - 1, ifname, strlen(ifname) + 1);
}

/*
 * BEGIN, and the table prefix + ifname created (so that deleting it cannot
 * fail on a first start), deleted and created anew.
 */
static void start_replace(struct nftb *b, void *buf, size_t cap, uint32_t seq, const char *prefix, const char *ifname)
{
	char table[NFTB_TABLE_MAX];

	snprintf(table, sizeof(table), "%s%s", prefix, ifname);
	nftb_init(b, buf, cap, seq, table);
	nftb_begin(b);
	nftb_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK);
	nftb_table(b, NFT_MSG_DELTABLE, NLM_F_ACK);
	nftb_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
}

/* A rendering of pol for ifname into buf, its batch begun with the table replaced; NULL without memory. */
static struct render *render_new(void *buf, size_t cap, uint32_t seq, const struct nft_params *p,
				 const struct policy *pol, const char *ifname)
{
	struct render *rd = malloc(sizeof(*rd));

	if (!rd)
		return NULL;
	rd->p = p;
	rd->pol = pol;
	rd->ifname = ifname;
	start_replace(&rd->b, buf, cap, seq, NFT_TABLE_PREFIX, ifname);
	return rd;
}

static ssize_t finish(struct render *rd)
{
	ssize_t ret;

	nftb_end(&rd->b);
	ret = nftb_result(&rd->b);
	free(rd);
	return ret;
}

ssize_t nft_build_replace(void *buf, size_t cap, const struct nft_params *p, uint32_t seq)
{
	struct render *rd;
	bool forwarding_closed;

	if (!params_ok(p))
		return -EINVAL;
	rd = render_new(buf, cap, seq, p, p->policy, p->ifname);
	if (!rd)
		return -ENOMEM;
	forwarding_closed = p->kill_switch || p->policy->n_forward_from;
	if (p->n_addresses)
		nftb_chain(&rd->b, "preraw", "filter", NF_INET_PRE_ROUTING, PRIO_RAW, NF_ACCEPT);
	if (p->filter_inbound)
		nftb_chain(&rd->b, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);
	nftb_chain(&rd->b, "output", "filter", NF_INET_LOCAL_OUT, 0, p->kill_switch ? NF_DROP : NF_ACCEPT);
	nftb_chain(&rd->b, "forward", "filter", NF_INET_FORWARD, 0, forwarding_closed ? NF_DROP : NF_ACCEPT);
	if (confines_dns(rd))
		nftb_chain(&rd->b, "dns", NULL, 0, 0, 0);
	nftb_chain(&rd->b, "postrouting", "nat", NF_INET_POST_ROUTING, PRIO_SRCNAT, NF_ACCEPT);
	nftb_chain(&rd->b, "prerouting", "nat", NF_INET_PRE_ROUTING, PRIO_DSTNAT, NF_ACCEPT);
	render_preraw(rd);
	if (p->filter_inbound)
		render_input(rd);
	render_output(rd);
	render_forward(rd);
	if (confines_dns(rd))
		render_dns(rd);
	render_postrouting(rd);
	render_prerouting(rd);
	return finish(rd);
}

ssize_t nft_build_lockdown(void *buf, size_t cap, const struct nft_lockdown *l, uint32_t seq)
{
	struct nftb_rule r;
	struct render *rd;
	struct cidr host;
	size_t i;

	if (!l || !l->policy || !l->ifname || !tun_ifname_valid(l->ifname) || !lists_ok(l->policy) ||
	    (l->n_endpoints && !l->endpoints))
		return -EINVAL;
	for (i = 0; i < l->n_endpoints; i++)
		if (!resolver_ok(&l->endpoints[i]))
			return -EINVAL;
	rd = render_new(buf, cap, seq, NULL, l->policy, l->ifname);
	if (!rd)
		return -ENOMEM;
	nftb_chain(&rd->b, "output", "filter", NF_INET_LOCAL_OUT, 0, NF_DROP);
	nftb_chain(&rd->b, "forward", "filter", NF_INET_FORWARD, 0, NF_DROP);
	begin(rd, &r, "output");
	match_oif(&r, "lo");
	put(rd, &r, NF_ACCEPT);
	accept_nd(rd, "output");
	/* the next start's handshake, and only that: it carries the mark, which needs CAP_NET_ADMIN to set */
	for (i = 0; l->fwmark && i < l->n_endpoints; i++) {
		host_of(&host, &l->endpoints[i]);
		begin(rd, &r, "output");
		nftb_meta(&r, NFT_META_MARK);
		nftb_cmp(&r, NFT_CMP_EQ, &l->fwmark, sizeof(l->fwmark));
		nftb_match_addr(&r, false, &host);
		match_l4(&r, IPPROTO_UDP, port_of(&l->endpoints[i]));
		put(rd, &r, NF_ACCEPT);
	}
	drop_dns(rd, "output");
	accept_direct(rd, "output");
	return finish(rd);
}

/* BEGIN, DELTABLE of the table named prefix + ifname, END. */
static ssize_t build_delete_table(void *buf, size_t cap, const char *prefix, const char *ifname, uint32_t seq)
{
	char table[NFTB_TABLE_MAX];
	struct nftb *b;
	ssize_t ret;

	if (!ifname || !tun_ifname_valid(ifname))
		return -EINVAL;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	snprintf(table, sizeof(table), "%s%s", prefix, ifname);
	nftb_init(b, buf, cap, seq, table);
	nftb_begin(b);
	nftb_table(b, NFT_MSG_DELTABLE, NLM_F_ACK);
	nftb_end(b);
	ret = nftb_result(b);
	free(b);
	return ret;
}

ssize_t nft_build_delete(void *buf, size_t cap, const char *ifname, uint32_t seq)
{
	return build_delete_table(buf, cap, NFT_TABLE_PREFIX, ifname, seq);
}

/* ---- talking to the kernel ---- */

int nft_send(const void *batch, size_t len)
{
	return nftb_send(batch, len);
}

/* Build with a buffer doubled until the batch fits, then send. */
static int build_and_send(ssize_t (*build)(void *, size_t, const void *, uint32_t), const void *arg)
{
	size_t cap = 64 * 1024;
	ssize_t len;
	void *buf;
	int ret;

	for (;;) {
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
		len = build(buf, cap, arg, (uint32_t)time(NULL));
		if (len != -ENOSPC || cap >= NFT_BATCH_MAX)
			break;
		free(buf);
		cap *= 2;
	}
	ret = len < 0 ? (int)len : nftb_send(buf, (size_t)len);
	free(buf);
	return ret;
}

static ssize_t build_replace(void *buf, size_t cap, const void *arg, uint32_t seq)
{
	return nft_build_replace(buf, cap, arg, seq);
}

static ssize_t build_lockdown(void *buf, size_t cap, const void *arg, uint32_t seq)
{
	return nft_build_lockdown(buf, cap, arg, seq);
}

int nft_replace(const struct nft_params *p)
{
	return build_and_send(build_replace, p);
}

int nft_lock(const struct nft_lockdown *l)
{
	return build_and_send(build_lockdown, l);
}

int nft_delete(const char *ifname)
{
	union {
		struct nlmsghdr align;
		char b[1024];
	} buf;
	ssize_t len = nft_build_delete(buf.b, sizeof(buf.b), ifname, (uint32_t)time(NULL));

	return len < 0 ? (int)len : nftb_send(buf.b, (size_t)len);
}

int nft_table_exists(const char *ifname)
{
	union {
		struct nlmsghdr align;
		char b[512];
	} buf;
	char table[NFTB_TABLE_MAX];
	struct nftnl_table *t;
	struct nlmsghdr *nlh;
	int ret;

	if (!ifname || !tun_ifname_valid(ifname))
		return -EINVAL;
	table_name(table, ifname);
	t = nftnl_table_alloc();
	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, table) < 0) {
		if (t)
			nftnl_table_free(t);
		return -ENOMEM;
	}
	memset(buf.b, 0, sizeof(buf.b));
	nlh = nftnl_nlmsg_build_hdr(buf.b, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, (uint32_t)time(NULL));
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	ret = nftb_ask(nlh, nlh->nlmsg_len);
	if (ret == -ENOENT)
		return 0;
	return ret < 0 ? ret : 1;
}

struct table_names {
	const char *ours;
	void (*each)(const char *ifname, void *ctx);
	void *ctx;
};

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_names *tn = data;
	struct nftnl_table *t = nftnl_table_alloc();
	const char *name;

	if (!t)
		return MNL_CB_ERROR;
	if (nftnl_table_nlmsg_parse(nlh, t) == 0 && (name = nftnl_table_get_str(t, NFTNL_TABLE_NAME)) &&
	    !strncmp(name, NFT_TABLE_PREFIX, sizeof(NFT_TABLE_PREFIX) - 1) &&
	    strcmp(name + sizeof(NFT_TABLE_PREFIX) - 1, tn->ours))
		tn->each(name + sizeof(NFT_TABLE_PREFIX) - 1, tn->ctx);
	nftnl_table_free(t);
	return MNL_CB_OK;
}

int nft_other_tables(const char *ifname, void (*each)(const char *other, void *ctx), void *ctx)
{
	union {
		struct nlmsghdr align;
		char b[256];
	} buf;
	struct table_names tn = { .ours = ifname, .each = each, .ctx = ctx };
	struct nlmsghdr *nlh;

	memset(buf.b, 0, sizeof(buf.b));
	nlh = nftnl_nlmsg_build_hdr(buf.b, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_DUMP, (uint32_t)time(NULL));
	return nftb_dump(nlh, table_cb, &tn);
}

int nft_probe(void)
{
	union {
		struct nlmsghdr align;
		char b[256];
	} buf;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf.b, NFT_MSG_GETGEN, AF_UNSPEC, 0, (uint32_t)time(NULL));

	/* The answer is NEWGEN, or an error when nf_tables is missing here. */
	return nftb_ask(nlh, nlh->nlmsg_len);
}

/* ---- --publish, the host side ---- */

#define NFT_PUBLISH_PREFIX "wgudp_"

struct publish_table {
	const char *ifname, *host_ifname;
	const uint8_t *ns_addr;
	const struct nft_publish *list;
	size_t n;
};

/* The host's own addresses only: a connection through this host to elsewhere on HOST_PORT is not taken. */
static void match_local_daddr(struct nftb_rule *r)
{
	const uint32_t local = RTN_LOCAL;

	nftb_fib(r, NFTA_FIB_F_DADDR, NFT_FIB_RESULT_ADDRTYPE);
	nftb_cmp(r, NFT_CMP_EQ, &local, sizeof(local));
}

static void publish_dnat(struct nftb *b, const char *chain, const struct publish_table *t)
{
	struct cidr to = { .family = AF_INET, .cidr = 32 };
	size_t i;

	memcpy(to.addr, t->ns_addr, 4);
	for (i = 0; i < t->n; i++) {
		const struct nft_publish *m = &t->list[i];
		struct nftb_rule r;

		nftb_rule_begin(b, &r, chain);
		if (m->has_addr) {
			struct cidr host = { .family = AF_INET, .cidr = 32 };

			memcpy(host.addr, m->addr, 4);
			nftb_match_addr(&r, false, &host);
		} else {
			nftb_match_meta_u8(&r, NFT_META_NFPROTO, NFPROTO_IPV4);
		}
		/* never what is forwarded through this host to elsewhere, ADDR given or not */
		match_local_daddr(&r);
		match_l4(&r, m->proto, m->host_port);
		dnat_to(&r, &to, m->port);
		nftb_rule_put(b, &r);
	}
}

static ssize_t build_publish(void *buf, size_t cap, const void *arg, uint32_t seq)
{
	const struct publish_table *t = arg;
	struct nftb_rule r;
	struct nftb *b;
	ssize_t ret;

	if (!tun_ifname_valid(t->ifname) || !tun_ifname_valid(t->host_ifname))
		return -EINVAL;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	start_replace(b, buf, cap, seq, NFT_PUBLISH_PREFIX, t->ifname);
	nftb_chain(b, "prerouting", "nat", NF_INET_PRE_ROUTING, PRIO_DSTNAT, NF_ACCEPT);
	nftb_chain(b, "output", "nat", NF_INET_LOCAL_OUT, PRIO_DSTNAT, NF_ACCEPT);
	nftb_chain(b, "postrouting", "nat", NF_INET_POST_ROUTING, PRIO_SRCNAT, NF_ACCEPT);
	publish_dnat(b, "prerouting", t);
	publish_dnat(b, "output", t);
	nftb_rule_begin(b, &r, "postrouting");
	match_oif(&r, t->host_ifname);
	nftb_masq(&r);
	nftb_rule_put(b, &r);
	nftb_end(b);
	ret = nftb_result(b);
	free(b);
	return ret;
}

static ssize_t build_publish_delete(void *buf, size_t cap, const void *arg, uint32_t seq)
{
	return build_delete_table(buf, cap, NFT_PUBLISH_PREFIX, arg, seq);
}

int nft_publish_replace(const char *ifname, const char *host_ifname, const uint8_t ns_addr[4],
			const struct nft_publish *list, size_t n)
{
	const struct publish_table t = { ifname, host_ifname, ns_addr, list, n };

	return build_and_send(build_publish, &t);
}

int nft_publish_delete(const char *ifname)
{
	int ret = build_and_send(build_publish_delete, ifname);

	return ret == -ENOENT ? 0 : ret;
}
