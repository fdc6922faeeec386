/* SPDX-License-Identifier: MIT */
/*
 * Configuring the TUN device through rtnetlink (libmnl): link state and MTU,
 * addresses, routes, the two policy rules of a full tunnel (wg-quick's
 * Table=auto), and a watch for the link being deleted under us.
 *
 * Every call sends one request and waits for the kernel's answer: 0 on its
 * ACK, or the -errno its NLMSG_ERROR carried (-EEXIST, -ENODEV, -ESRCH ...).
 * Arguments the kernel would refuse anyway are refused before sending with
 * -EINVAL (prefix lengths, table 0), -ENODEV (ifindex 0) or -EAFNOSUPPORT.
 *
 * A struct rtnl is not thread-safe: one thread owns it.
 */
#ifndef WGUD_RTNL_H
#define WGUD_RTNL_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

struct rtnl {
	struct mnl_socket *nl;
	unsigned int seq;    /* of the last request sent; never 0 */
	unsigned int portid;
};

int rtnl_open(struct rtnl *r);
void rtnl_close(struct rtnl *r);

/*
 * Send nlh (its sequence number is filled in here) and pass every message of
 * the answer to cb (may be NULL) until the ACK or, for a dump, NLMSG_DONE.
 * The building block of everything below, and the way to make a request
 * this file has no helper for.
 */
int rtnl_request(struct rtnl *r, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

int rtnl_link_index(struct rtnl *r, const char *name, unsigned int *ifindex);
/* The MTU and the IFF_* flags (IFF_UP, IFF_RUNNING ...); either may be NULL. */
int rtnl_link_info(struct rtnl *r, unsigned int ifindex, uint32_t *mtu, unsigned int *flags);
/*
 * What the kernel dropped on its way to the reader of a TUN device: its
 * queue was full (the link's tx_dropped; TUN transmits to its reader).
 */
int rtnl_link_tx_dropped(struct rtnl *r, unsigned int ifindex, uint64_t *tx_dropped);
/* The link's kind (IFLA_INFO_KIND: "veth", "tun", ...; "" for none). */
int rtnl_link_kind(struct rtnl *r, unsigned int ifindex, char kind[16]);
int rtnl_link_set_up(struct rtnl *r, unsigned int ifindex, bool up);
int rtnl_link_set_mtu(struct rtnl *r, unsigned int ifindex, uint32_t mtu);
int rtnl_link_delete(struct rtnl *r, unsigned int ifindex);
/* A veth pair: name here, peer in the network namespace peer_netns_fd (-1: here too). 0 or -errno. */
int rtnl_veth_add(struct rtnl *r, const char *name, const char *peer, int peer_netns_fd);

/*
 * addr is 4 bytes for AF_INET and 16 for AF_INET6. Adding an address the
 * link already has gives -EEXIST, so a caller can tell "already there" apart.
 */
int rtnl_addr_add(struct rtnl *r, unsigned int ifindex, int family, const uint8_t *addr,
		  uint8_t prefixlen);
int rtnl_addr_del(struct rtnl *r, unsigned int ifindex, int family, const uint8_t *addr,
		  uint8_t prefixlen);

/*
 * A route to dst/cidr out of the link, no gateway, in table (RT_TABLE_MAIN
 * is 254; ids above 255 are fine). Host bits of dst are cleared first, as
 * AllowedIPs may carry them. Added as `ip route add` does (proto boot); the
 * link must be up.
 */
int rtnl_route_add(struct rtnl *r, int family, const uint8_t *dst, uint8_t cidr,
		   unsigned int ifindex, uint32_t table);
int rtnl_route_del(struct rtnl *r, int family, const uint8_t *dst, uint8_t cidr,
		   unsigned int ifindex, uint32_t table);

/*
 * The policy rules of a full tunnel: "not fwmark M lookup T" sends everything
 * except the tunnel's own marked UDP to table T, and "lookup main
 * suppress_prefixlength 0" lets main's specific routes win over T's default.
 * priority 0 lets the kernel choose when adding and matches any when
 * deleting. The kernel reports a duplicate (-EEXIST) only when the priority
 * is given: with 0, the same rule again is added once more at the next free
 * priority, as with `ip rule add`, and each delete removes one copy.
 * Deleting a missing rule gives -ENOENT.
 */
int rtnl_rule_add_not_fwmark(struct rtnl *r, int family, uint32_t fwmark, uint32_t table,
			     uint32_t priority);
int rtnl_rule_del_not_fwmark(struct rtnl *r, int family, uint32_t fwmark, uint32_t table,
			     uint32_t priority);
int rtnl_rule_add_suppress_main(struct rtnl *r, int family, uint32_t priority);
int rtnl_rule_del_suppress_main(struct rtnl *r, int family, uint32_t priority);

/*
 * Whether table holds any route of family (AF_UNSPEC: of any family), so a
 * free table id can be picked for the full-tunnel rules.
 */
/*
 * "to DST/CIDR lookup TABLE priority P" (priority required: these must sort
 * before the full tunnel's rules). -EEXIST for an identical rule.
 */
int rtnl_rule_add_to(struct rtnl *r, int family, const uint8_t *dst, uint8_t cidr, uint32_t table, uint32_t priority);
int rtnl_rule_del_to(struct rtnl *r, int family, const uint8_t *dst, uint8_t cidr, uint32_t table, uint32_t priority);

int rtnl_table_in_use(struct rtnl *r, int family, uint32_t table, bool *in_use);

/*
 * A second, non-blocking socket that hears link and address events, so the
 * daemon can stop when someone deletes its interface (`ip link del`) and
 * follow the addresses put on it (wg-quick adds them after wgud started).
 * Close it with rtnl_close. rtnl_monitor_read reads everything pending and
 * reports what happened to ifindex: gone when it was deleted or moved out
 * of this namespace, addresses when an address was added or removed, link
 * when its attributes changed (`ip link set IFACE mtu N`, as wg-quick does),
 * with mtu the last MTU an event told (0: none told). It never blocks, so
 * call it when rtnl_monitor_fd is readable. Events lost to a socket overrun
 * count as every check being due: gone is then asked of the kernel
 * directly, addresses and link are set, and mtu is 0 (ask the kernel).
 */
struct rtnl_link_events {
	bool gone;
	bool addresses;
	bool link;
	uint32_t mtu;
};

int rtnl_monitor_open(struct rtnl *mon);
int rtnl_monitor_fd(const struct rtnl *mon);
int rtnl_monitor_read(struct rtnl *mon, unsigned int ifindex, struct rtnl_link_events *ev);

/*
 * The addresses of a link (ifindex 0: of every link in this namespace),
 * each with its prefix length, into out. -E2BIG when there are more than
 * cap (out then holds the first cap of them).
 */
int rtnl_addr_list(struct rtnl *r, unsigned int ifindex, struct cidr *out, size_t cap, size_t *n);

/*
 * sysctls of the current network namespace, by path under /proc/sys/ (e.g.
 * /proc/sys/net/ipv4/conf/all/src_valid_mark); other paths give -EINVAL.
 * rtnl_sysctl_read strips the trailing newline.
 */
int rtnl_sysctl_write(const char *path, const char *value);
int rtnl_sysctl_read(const char *path, char *buf, size_t len);

#endif
