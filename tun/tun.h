/* SPDX-License-Identifier: MIT */
/* Opening the TUN device. Link, address and route setup (rtnetlink) come alongside it. */
#ifndef WGUD_TUN_H
#define WGUD_TUN_H

#include <net/if.h>
#include <stdbool.h>

struct tun_device {
	int fd;
	char name[IFNAMSIZ];
	bool vnet_hdr; /* frames carry a struct virtio_net_hdr (offloads) */
};

/*
 * Create or attach to the layer-3 TUN device called name (empty: the kernel
 * picks one) with IFF_NO_PI; with want_vnet_hdr, also IFF_VNET_HDR so the
 * kernel may hand over TCP/UDP super-packets. Returns 0 or -errno; the
 * device's actual name is in dev->name.
 */
int tun_open(struct tun_device *dev, const char *name, bool want_vnet_hdr);
void tun_close(struct tun_device *dev);

#endif
