/* SPDX-License-Identifier: MIT */
/*
 * Is the tunnel healthy? The one judgement behind `wgud ctl IFACE health`,
 * the tunnel states of `show` and the metrics' wgud_tunnel_up and
 * wgud_kill_switch_enforced, so that all three always agree.
 *
 * Healthy: every peer with an endpoint had a handshake within
 * REJECT_AFTER_TIME (its session can still carry data), and the kill switch
 * enforces what the policy says (with it on, wgud's nftables table is in
 * force and still in the kernel). Time comes in as an argument: the
 * judgement is a function of the peers' timers and now, nothing else.
 */
#ifndef WGUD_HEALTH_H
#define WGUD_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "policy.h"

enum health_tunnel {
	HEALTH_UP,         /* a session that may still send */
	HEALTH_CONNECTING, /* a handshake is out and being retried */
	HEALTH_DOWN,
};

/* The tunnel to one peer (NULL: not in the device), with why when it is not up ("" when up). */
enum health_tunnel health_peer_state(const struct wg_peer *p, uint64_t now_ns, char *why, size_t len);
const char *health_tunnel_name(enum health_tunnel t);

/* Whether p's latest handshake is younger than REJECT_AFTER_TIME at now_ns. */
bool health_peer_fresh(const struct wg_peer *p, uint64_t now_ns);

/* What the wall is, as the gateway and the kernel say. */
struct health_wall {
	enum policy_kill_switch mode; /* in force */
	bool table_installed;         /* the gateway put its table in */
	int table_present;            /* nft_table_exists(): 1, 0 (gone from the kernel), <0 not known */
};

/* Whether the kill switch is in force as the policy says; when not, why (one line). */
bool health_wall_enforced(const struct health_wall *w, const char *ifname, char *why, size_t len);

/*
 * The verdict: 0 healthy (summary says how many peers are up), 1 not (summary
 * is the first reason, naming the peer by its endpoint). One line, no key.
 */
int health_judge(const struct wg_device *dev, const struct health_wall *w, const char *ifname, uint64_t now_ns,
		 char *summary, size_t len);

#endif
