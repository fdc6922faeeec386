/* SPDX-License-Identifier: MIT */
/*
 * The gateway: the policy in force and everything that enforces it outside
 * the data plane. The nftables table (nft.c), IP forwarding in this
 * namespace, and the routing rules that let allow-lan destinations bypass a
 * full tunnel. A change is validated into a copy, rendered and sent as one
 * nftables batch, and becomes the policy only when the kernel took it.
 */
#ifndef WGUD_GATEWAY_H
#define WGUD_GATEWAY_H

#include <stdbool.h>

#include "ctl.h"
#include "device.h"
#include "loop.h"
#include "model.h"
#include "policy.h"
#include "rtnl.h"

#define GATEWAY_LAN_RULE_PRIORITY 5000

struct gateway {
	struct policy policy; /* in force */
	const char *ifname;
	struct wg_device *dev;
	struct rtnl *rtnl;
	struct loop *loop;
	const struct model_device *conf; /* the conf's DNS and peers; NULL in wireguard-go mode */
	bool no_firewall;                /* --no-firewall: never touch nftables */
	bool table_installed;
	bool kill_switch_active;
	/* allow-lan rules installed, to remove the stale ones on change and all at stop */
	struct cidr lan_rules[POLICY_MAX_ENTRIES];
	size_t n_lan_rules;
	/* forwarding sysctls as found, restored at stop if wgud changed them */
	char saved_forward4[8], saved_forward6[8];
	bool changed_forward4, changed_forward6;
};

/*
 * Install the start-up policy. Refuses (-EPROTONOSUPPORT, with a message)
 * when the policy needs a firewall that nftables cannot provide, unless
 * --no-firewall. With nothing to enforce, removes a table an earlier run left.
 */
int gateway_start(struct gateway *gw, const struct policy *initial);
/* Re-render after the device changed (UAPI set: peers, fwmark). */
void gateway_refresh(struct gateway *gw);
/* Clean stop: table deleted, rules removed, sysctls restored. */
void gateway_stop(struct gateway *gw);
/* The control socket's handler. */
int gateway_ctl(void *ctx, char *const words[], size_t n_words, struct ctl_buf *out, char *err, size_t err_len);

#endif
