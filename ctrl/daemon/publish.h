/* SPDX-License-Identifier: MIT */
/*
 * --publish [ADDR:]HOSTPORT:PORT[/tcp|udp]: ports of the host side (where
 * wgud's UDP is) mapped into the tunnel's namespace over a veth pair wgud
 * makes and removes. The pair gets a link-local /30 that no address on
 * either side overlaps (169.254.X.Y, the host end .1, the namespace end .2);
 * table inet wgudp_IFACE on the host side translates HOSTPORT to the
 * namespace's end and masquerades it, so the answers go back over the veth
 * and never into the tunnel; the kill switch in the namespace (nft.h) lets
 * in only those ports from the veth and out only their replies.
 */
#ifndef WGUD_PUBLISH_H
#define WGUD_PUBLISH_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "gateway.h"
#include "rtnl.h"

struct publish {
	char host_ifname[IFNAMSIZ], ns_ifname[IFNAMSIZ];
	uint8_t host_addr[4], ns_addr[4];
	bool veth, table;
};

/*
 * One --publish argument, [ADDR:]HOSTPORT:PORT[/tcp|udp] with ADDR an IPv4
 * address, ports 1 to 65535, tcp unless said. 0; -EAFNOSUPPORT for an
 * [IPv6] address (the veth carries IPv4 only); -EINVAL for anything else.
 */
int publish_parse(const char *arg, struct daemon_publish *p);

/*
 * Called in the tunnel's namespace (netns.h: away from home), after the
 * device is up: the pair, its addresses, the host side's table. rtnl is the
 * namespace's; udp_port is wgud's own, which no mapping may take. 0 or -errno, logged; what was made is undone by publish_down.
 */
int publish_up(struct publish *p, const char *ifname, struct rtnl *rtnl, const struct daemon_publish *list,
	       size_t n, uint16_t udp_port);
/* The pair's names: wgpIFACE on the host side, wgqIFACE inside (a hash for names past 12 characters). */
void publish_names(const char *ifname, char host[IFNAMSIZ], char ns[IFNAMSIZ]);

/* The namespace end and the ports, for the kill switch. */
void publish_facts(const struct publish *p, const struct daemon_publish *list, size_t n, struct gateway_facts *f);
/* The pair, from the namespace's side (before the wall goes at stop: never a moment unfiltered). */
void publish_unlink(struct publish *p, struct rtnl *rtnl);
/* All of it: the host side's table and whatever is left of the pair. */
void publish_down(struct publish *p, const char *ifname);
/* `wgud unlock IFACE`: what a killed wgud's --publish left in this namespace (its veth only, and its table). */
void publish_unlock(const char *ifname, struct rtnl *rtnl);

#endif
