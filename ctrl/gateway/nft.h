/* SPDX-License-Identifier: MIT */
/*
 * The gateway and kill-switch policy (policy.h) rendered into one nftables
 * table per interface, `inet wgud_IFACE`, with libnftnl, and sent through
 * libmnl as one batch: the kernel applies all of it or, when any message is
 * refused, none of it. The table is replaced as a whole, never edited, so
 * what is loaded always equals one rendering of one policy.
 *
 * Chains (all in the table, all base chains):
 *   output      filter, hook output, priority 0; policy drop with the kill switch
 *   forward     filter, hook forward, priority 0; policy drop with the kill switch or forward-from
 *   postrouting nat, priority srcnat (100): masquerade out of the tunnel
 *   prerouting  nat, priority dstnat (-100): port forwards arriving on the tunnel
 * There is no input chain: what reaches this host is not wgud's to filter,
 * so a port forward without a target (to wgud's host itself) needs no rule.
 */
#ifndef WGUD_NFT_H
#define WGUD_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

#define NFT_TABLE_PREFIX "wgud_"

struct nft_params {
	const char *ifname;          /* tunnel device; the table is "wgud_<ifname>" in family inet */
	uint32_t fwmark;             /* wgud's UDP sockets carry this mark (SO_MARK); nonzero */
	bool kill_switch;            /* resolved by the caller (no AUTO here) */
	const struct policy *policy; /* everything but policy->kill_switch is rendered */
};

/*
 * Build the whole transaction into buf: BEGIN, NEWTABLE (so that DELTABLE
 * cannot fail on a first start), DELTABLE, NEWTABLE, the chains, the rules,
 * END; messages carry seq, seq + 1, ... Returns the length, -EINVAL for
 * parameters nftables cannot express, -ENOSPC when cap is too small,
 * -ENOMEM. No kernel needed.
 */
ssize_t nft_build_replace(void *buf, size_t cap, const struct nft_params *p, uint32_t seq);

/* BEGIN, DELTABLE, END for the table of ifname. */
ssize_t nft_build_delete(void *buf, size_t cap, const char *ifname, uint32_t seq);

/*
 * Send a batch built above and drain the answers. 0, or -errno of the first
 * message the kernel refused; the kernel then aborted the whole batch, so
 * nothing changed.
 */
int nft_send(const void *batch, size_t len);

/* Build and send: the table of p->ifname now holds exactly p's rule set, or is as it was. */
int nft_replace(const struct nft_params *p);

/* Delete table inet wgud_<ifname>; -ENOENT if absent. */
int nft_delete(const char *ifname);

/* 0 when nf_tables answers on this host (else -errno): decides whether wgud can run with a firewall. */
int nft_probe(void);

#endif
