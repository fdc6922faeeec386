/* SPDX-License-Identifier: MIT */
/*
 * What wg-quick would set up around the device in conf mode, through
 * rtnetlink: MTU, addresses, link up, a route per AllowedIPs prefix, and for
 * a full tunnel (0.0.0.0/0 or ::/0 with Table = auto) the fwmark, a table
 * with the default route, and the two policy rules:
 *
 *   NETSETUP_SUPPRESS_PRIORITY: lookup main suppress_prefixlength 0
 *   NETSETUP_FWMARK_PRIORITY:   not fwmark M lookup M
 *
 * The priorities are fixed (after the gateway's allow-lan rules) and each
 * table added is recorded in the state (state.h): a start removes the rules
 * a crashed run recorded before adding its own, a stop removes exactly its
 * own, and rules of other interfaces are never touched. Crashes never pile
 * rules up. In a namespace of the tunnel's own (confined) the UDP is
 * elsewhere, so a full tunnel is two half routes (0.0.0.0/1 and
 * 128.0.0.0/1, ::/1 and 8000::/1) over whatever default route the
 * namespace has, and no rule. Also the conf's PreUp/PostUp/PreDown/PostDown hooks (only with
 * --run-hooks).
 */
#ifndef WGUD_NETSETUP_H
#define WGUD_NETSETUP_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "model.h"
#include "rtnl.h"
#include "state.h"

#define NETSETUP_SUPPRESS_PRIORITY 5010
#define NETSETUP_FWMARK_PRIORITY 5020
#define NETSETUP_FULL_TUNNEL_TABLE 51820

struct netsetup {
	struct rtnl *rtnl;
	struct state *state;
	unsigned int ifindex;
	uint32_t rule_table[2]; /* the full tunnel's table per family (0 IPv4, 1 IPv6); 0 = none */
	bool confined; /* the namespace is the tunnel's (--netns, run): lo up, a full tunnel by two half routes, no rules */
	bool own_namespace; /* `wgud run`'s, made for it: COMMAND (without capabilities) may bind any port there */
	bool no_admin; /* --tun-fd without CAP_NET_ADMIN: the helper set the link up; nothing is changed around it */
};

/* MTU, then (with a conf) addresses, link up and routes as wg-quick does. */
int netsetup_up(struct netsetup *ns, struct wg_device *dev, const struct model_device *m);
/* The routes of a re-read conf; a full tunnel already set up stays as it is. */
int netsetup_routes(struct netsetup *ns, struct wg_device *dev, const struct model_device *m);
/* The policy rules this run added. */
void netsetup_down(struct netsetup *ns);
/* `wgud unlock`: the policy rules a dead run recorded; how many were removed, or -errno. */
int netsetup_unlock(struct rtnl *rtnl, struct state *state);

/* The conf's hooks of one kind, with %i expanded; only with run (else each is reported and skipped). */
void netsetup_run_hooks(const struct model_device *m, enum model_hook which, const char *ifname, bool run);

#endif
