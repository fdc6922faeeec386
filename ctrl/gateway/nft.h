/* SPDX-License-Identifier: MIT */
/*
 * The wall: the gateway's policy (policy.h) rendered into one nftables table
 * per interface, `inet wgud_IFACE`, and sent as one batch, so the kernel
 * applies all of it or, when any message is refused, none of it. The table
 * is replaced as a whole, never edited: what is loaded always equals one
 * rendering of one policy.
 *
 * The running table (nft_replace), its chains in order of a packet's way:
 *   preraw      filter, prerouting, priority raw: the tunnel's own addresses
 *               are silent on every other interface (no answer, no RST)
 *   input       filter, input, policy drop; only while the kill switch is on:
 *               from the tunnel only replies, ICMP errors, open ports and
 *               port forwards; other interfaces are not filtered
 *   output      filter, output; policy drop with the kill switch
 *   forward     filter, forward; policy drop with the kill switch or forward-from
 *   dns         a regular chain output and forward jump to for DNS (53/udp,
 *               53/tcp, 853/tcp): only to the resolvers, only through the
 *               tunnel; with the kill switch and no resolvers listed, to any
 *               resolver but only through the tunnel
 *   postrouting nat, srcnat: masquerade out of the tunnel
 *   prerouting  nat, dstnat: port forwards arriving on the tunnel, and
 *               dns-forward's queries to this host
 *
 * Replies pass only for flows the wall itself let through: connections
 * through the tunnel, to allow-lan and allow entries and wgud's own UDP
 * are accepted packet by packet; forwarded flows and port forwards carry
 * the ct mark bit NFT_CTMARK_PASSED, and only their replies (arriving from
 * the tunnel) and related ICMP errors come back. A flow that predates the
 * table, or outlives the tunnel device, matches nothing and is dropped.
 *
 * The lockdown table (nft_lock) is what stays while wgud is stopped in
 * lockdown: output lets out loopback, neighbour discovery, wgud's marked
 * UDP to the configured endpoints, and allow-lan and allow entries but no
 * DNS to them; forward drops all.
 */
#ifndef WGUD_NFT_H
#define WGUD_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cidr.h"
#include "policy.h"

#define NFT_TABLE_PREFIX "wgud_"
#define NFT_CTMARK_PASSED 0x01000000U /* a forwarded flow or port forward the wall let through */
#define NFT_MAX_ADDRESSES 256

/* One --publish mapping: HOST_PORT on the host side reaches PORT inside the tunnel's namespace. */
struct nft_publish {
	uint8_t proto;      /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;      /* inside */
	uint16_t host_port; /* outside */
	bool has_addr;      /* only to this host address; else any local address */
	uint8_t addr[4];
};

struct nft_params {
	const char *ifname;           /* tunnel device; the table is "wgud_<ifname>" in family inet */
	uint32_t fwmark;              /* wgud's UDP sockets carry this mark (SO_MARK); nonzero unless udp_elsewhere */
	bool udp_elsewhere;           /* --netns, run: wgud's UDP is in another namespace; no mark is let out */
	bool kill_switch;             /* output drops what the policy does not let out; forward too */
	bool filter_inbound;          /* the input chain */
	const struct policy *policy;  /* its resolvers filled in; policy->kill_switch is not read */
	const struct cidr *addresses; /* the tunnel's own addresses (any prefix length: the host is meant) */
	size_t n_addresses;
	/* --publish: in on publish_ifname only to these ports, out on it only their replies; nothing else either way */
	const char *publish_ifname;
	const struct nft_publish *publish;
	size_t n_publish;
};

struct nft_lockdown {
	const char *ifname;
	const struct policy *policy;           /* its allow-lan and allow entries stay reachable, but not for DNS */
	uint32_t fwmark;                       /* wgud's mark: only UDP carrying it may go to the endpoints; 0: none */
	const union model_sockaddr *endpoints; /* the endpoints' addresses and ports */
	size_t n_endpoints;
};

/*
 * Build the whole transaction into buf: BEGIN, NEWTABLE (so that DELTABLE
 * cannot fail on a first start), DELTABLE, NEWTABLE, the chains, the rules,
 * END; messages carry seq, seq + 1, ... Returns the length, -EINVAL for
 * parameters nftables cannot express, -ENOSPC when cap is too small,
 * -ENOMEM. No kernel needed.
 */
ssize_t nft_build_replace(void *buf, size_t cap, const struct nft_params *p, uint32_t seq);
ssize_t nft_build_lockdown(void *buf, size_t cap, const struct nft_lockdown *l, uint32_t seq);

/* BEGIN, DELTABLE, END for the table of ifname. */
ssize_t nft_build_delete(void *buf, size_t cap, const char *ifname, uint32_t seq);

/*
 * Send a batch built above and drain the answers. 0, or -errno of the first
 * message the kernel refused; the kernel then aborted the whole batch, so
 * nothing changed.
 */
int nft_send(const void *batch, size_t len);

/* Build and send: the table of the interface now holds exactly this rule set, or is as it was. */
int nft_replace(const struct nft_params *p);
int nft_lock(const struct nft_lockdown *l);

/* Delete table inet wgud_<ifname>; -ENOENT if absent. */
int nft_delete(const char *ifname);

/* 1 when table inet wgud_<ifname> exists, 0 when not, else -errno. */
int nft_table_exists(const char *ifname);

/* each() for every table inet wgud_OTHER but ifname's, with OTHER: another wgud's wall in this namespace. */
int nft_other_tables(const char *ifname, void (*each)(const char *other, void *ctx), void *ctx);

/* 0 when nf_tables answers on this host (else -errno): decides whether wgud can run with a firewall. */
int nft_probe(void);

/*
 * The host side of --publish, in the namespace the call is made in: table
 * inet wgudp_IFACE translates each HOST_PORT on a local address (or the one
 * given) to ns_addr:PORT and masquerades what leaves through host_ifname,
 * so that the namespace answers over the veth, not the tunnel. Replaced as
 * a whole, like the wall; nft_publish_delete() removes it (none: 0).
 */
int nft_publish_replace(const char *ifname, const char *host_ifname, const uint8_t ns_addr[4],
			const struct nft_publish *list, size_t n);
int nft_publish_delete(const char *ifname);

#endif
