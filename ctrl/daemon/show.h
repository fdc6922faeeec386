/* SPDX-License-Identifier: MIT */
/*
 * `wgud ctl IFACE show [--json]` and `help`: the control socket's view of
 * an interface, put together from the gateway (policy, kill switch, table),
 * the device (peers, counters) and the loop. Keys never appear in it.
 */
#ifndef WGUD_SHOW_H
#define WGUD_SHOW_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"
#include "device.h"
#include "gateway.h"
#include "loop.h"

/* Drops that happen in the kernel, before wgud sees a packet; -1: not known. */
struct show_kernel_drops {
	int64_t tun_queue_full; /* the TUN device's queue to wgud was full (the link's tx_dropped) */
};

/* Where the device is and what wgud may change around it. */
struct show_env {
	const char *netns;    /* --netns NAME|PATH; NULL: here */
	bool run;             /* `wgud run`: a namespace of its own */
	bool manages_network; /* false: --tun-fd without CAP_NET_ADMIN, the helper's addresses and routes */
	int table_present;    /* nft_table_exists() for the interface's table: 1, 0, <0 not known */
};

int show_format(struct ctl_buf *out, const struct gateway *gw, struct wg_device *dev, struct loop *loop,
		const struct show_kernel_drops *kernel, const struct show_env *env, bool json);
int show_help(struct ctl_buf *out);

#endif
