/* SPDX-License-Identifier: MIT */
/* Opening the TUN device. Link, address and route setup (rtnetlink) come alongside it. */
#ifndef WGUD_TUN_H
#define WGUD_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

struct tun_device {
	int fd;
	char name[IFNAMSIZ];
	bool vnet_hdr; /* frames carry a struct virtio_net_hdr (offloads) */
};

/*
 * The names wgud accepts for its interfaces, as wg-quick does: 1 to 15 of
 * A-Z a-z 0-9 _ = + . - and neither "." nor "..". Nothing in such a name
 * needs quoting in a path, a JSON string or an nftables table name.
 */
bool tun_ifname_valid(const char *name);

/*
 * Create or attach to the layer-3 TUN device called name (empty: the kernel
 * picks one) with IFF_NO_PI; with want_vnet_hdr, also IFF_VNET_HDR so the
 * kernel may hand over TCP/UDP super-packets. Returns 0 or -errno; the
 * device's actual name is in dev->name.
 */
int tun_open(struct tun_device *dev, const char *name, bool want_vnet_hdr);
/*
 * Serve a TUN descriptor opened by someone else (--tun-fd: a privileged
 * helper, a container runtime). It must be a layer-3 device with IFF_NO_PI;
 * IFF_VNET_HDR is taken as it was set (offloads only then). The descriptor
 * is made non-blocking and close-on-exec. 0, or -errno with the reason in err.
 */
int tun_adopt(struct tun_device *dev, int fd, char *err, size_t err_len);
void tun_close(struct tun_device *dev);

/* Whether the descriptor still has its device: false once it was deleted, true after a move to another namespace. */
bool tun_attached(const struct tun_device *dev);

/* What TUNSETOFFLOAD accepted. */
enum tun_offload {
	TUN_OFFLOAD_CSUM = 1, /* partial checksums both ways */
	TUN_OFFLOAD_TSO = 2,  /* TCP super-packets over IPv4 and IPv6 */
	TUN_OFFLOAD_USO = 4,  /* UDP super-packets (Linux 6.2) */
};

/*
 * On a device opened with the virtio-net header: ask for checksum, TSO and
 * USO offloads, then without USO where the kernel refuses it. Returns what
 * was accepted (0: none, the header stays and carries nothing).
 */
unsigned int tun_set_offload(struct tun_device *dev);

#endif
