// SPDX-License-Identifier: MIT
#include "publish.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netns.h"
#include "nft.h"

/* A port: 1 to 65535 in decimal digits only (strtoul alone would take " 80", "+80" and "-1"). */
static int parse_port(const char *s, char stop, const char **next, uint16_t *out)
{
	unsigned long n = 0;
	const char *c;

	for (c = s; *c >= '0' && *c <= '9' && c - s < 6; c++)
		n = n * 10 + (unsigned long)(*c - '0');
	if (c == s || *c != stop || !n || n > 65535)
		return -EINVAL;
	*next = c;
	*out = (uint16_t)n;
	return 0;
}

int publish_parse(const char *arg, struct daemon_publish *p)
{
	char text[96], *proto, *colon;
	const char *ports, *next;

	if (strlen(arg) >= sizeof(text))
		return -EINVAL;
	strcpy(text, arg);
	memset(p, 0, sizeof(*p));
	p->proto = IPPROTO_TCP;
	proto = strchr(text, '/');
	if (proto) {
		*proto++ = '\0';
		if (!strcmp(proto, "udp"))
			p->proto = IPPROTO_UDP;
		else if (strcmp(proto, "tcp"))
			return -EINVAL;
	}
	ports = text;
	if (text[0] == '[') {
		uint8_t a6[16];
		char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		*close = '\0';
		/* a real IPv6 address, but the veth into the namespace carries IPv4 only */
		return inet_pton(AF_INET6, text + 1, a6) == 1 ? -EAFNOSUPPORT : -EINVAL;
	}
	colon = strchr(text, ':');
	if (colon && strchr(colon + 1, ':')) {
		*colon = '\0';
		if (inet_pton(AF_INET, text, p->addr) != 1)
			return -EINVAL;
		p->family = AF_INET;
		ports = colon + 1;
	}
	if (parse_port(ports, ':', &next, &p->host_port) || parse_port(next + 1, '\0', &next, &p->port))
		return -EINVAL;
	return 0;
}

/* FNV-1a of the name: the same /30 for the same interface on every start, different ones for different names. */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

#define PUBLISH_MAX_ADDRS 1024 /* addresses looked at, on each side, when choosing the /30 */

/* An rtnetlink socket of home's (the thread is in the tunnel's namespace). */
static int home_rtnl(struct rtnl *home)
{
	int ret = netns_home_begin();

	if (ret)
		return ret;
	ret = rtnl_open(home);
	netns_home_end();
	return ret;
}

void publish_names(const char *ifname, char host[IFNAMSIZ], char ns[IFNAMSIZ])
{
	/* After the interface where it fits, so that two interfaces never share a pair's names */
	if (strlen(ifname) <= IFNAMSIZ - 4) {
		snprintf(host, IFNAMSIZ, "wgp%s", ifname);
		snprintf(ns, IFNAMSIZ, "wgq%s", ifname);
	} else {
		snprintf(host, IFNAMSIZ, "wgp%08x", name_hash(ifname));
		snprintf(ns, IFNAMSIZ, "wgq%08x", name_hash(ifname));
	}
}

static bool overlaps(const struct cidr *list, size_t n, const struct cidr *c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_contains(&list[i], c) || cidr_contains(c, &list[i]))
			return true;
	return false;
}

/*
 * The pair's /30 in 169.254/16: first the one the name's hash points at, then
 * others, until one overlaps no address on either side (another wgud's pair
 * among them). Never 169.254.0.x and 169.254.255.x (RFC 3927 reserves them)
 * nor 169.254.169.x (where clouds answer 169.254.169.254).
 */
static int choose_subnet(struct publish *p, const char *ifname, struct rtnl *ns, struct rtnl *home)
{
	struct cidr *addrs = calloc(2 * PUBLISH_MAX_ADDRS, sizeof(*addrs));
	uint32_t h = name_hash(ifname);
	size_t a = 0, b = 0, k;
	int ret = -EADDRNOTAVAIL;

	if (!addrs)
		return -ENOMEM;
	/* a side with more addresses than this is checked as far as they go */
	(void)rtnl_addr_list(ns, 0, addrs, PUBLISH_MAX_ADDRS, &a);
	(void)rtnl_addr_list(home, 0, addrs + a, PUBLISH_MAX_ADDRS, &b);
	for (k = 0; k < 4096; k++) {
		uint32_t x = h + (uint32_t)k * 2654435761u;
		struct cidr c = { .family = AF_INET, .cidr = 30, .addr = { 169, 254, (uint8_t)(x >> 8), (uint8_t)(x & 0xfc) } };

		if (c.addr[2] == 0 || c.addr[2] == 255 || c.addr[2] == 169 || overlaps(addrs, a + b, &c))
			continue;
		memcpy(p->host_addr, c.addr, 4);
		memcpy(p->ns_addr, c.addr, 4);
		p->host_addr[3] |= 1;
		p->ns_addr[3] |= 2;
		ret = 0;
		break;
	}
	free(addrs);
	return ret;
}

/* A pair of this interface's names left by a killed wgud (no live one serves the interface: daemon.c checked). */
static int remove_stale(struct rtnl *home, const char *name)
{
	char kind[16] = "";
	unsigned int idx;
	int ret = rtnl_link_index(home, name, &idx);

	/* only a veth by that name: someone's own link that happens to be called so is left alone */
	if (!ret)
		ret = rtnl_link_kind(home, idx, kind);
	if (!ret && strcmp(kind, "veth")) {
		log_error("--publish: %s exists and is not a veth wgud made; rename it or give the interface another name",
			  name);
		return -EEXIST;
	}
	if (!ret)
		ret = rtnl_link_delete(home, idx);
	if (!ret)
		log_info("--publish: removed %s, left by a wgud that is gone", name);
	return ret;
}

/* The host end of the pair: its address, up. */
static int host_side(struct publish *p, struct rtnl *home)
{
	unsigned int idx;
	int ret = rtnl_link_index(home, p->host_ifname, &idx);

	if (!ret)
		ret = rtnl_addr_add(home, idx, AF_INET, p->host_addr, 30);
	if (!ret)
		ret = rtnl_link_set_up(home, idx, true);
	return ret;
}

/* The table on the host side: nftables sockets are made where the thread is, so at home. */
/* The mappings as nftables takes them, zeroed first (the wall's facts compare them byte for byte); how many. */
static size_t to_nft(const struct daemon_publish *list, size_t n, struct nft_publish out[GATEWAY_MAX_PUBLISH])
{
	size_t i;

	memset(out, 0, GATEWAY_MAX_PUBLISH * sizeof(out[0]));
	for (i = 0; i < n && i < GATEWAY_MAX_PUBLISH; i++) {
		out[i].proto = list[i].proto;
		out[i].port = list[i].port;
		out[i].host_port = list[i].host_port;
		out[i].has_addr = list[i].family == AF_INET;
		memcpy(out[i].addr, list[i].addr, 4);
	}
	return i;
}

static int host_table(struct publish *p, const char *ifname, const struct daemon_publish *list, size_t n)
{
	struct nft_publish m[GATEWAY_MAX_PUBLISH];
	size_t count = to_nft(list, n, m);
	int ret;

	ret = netns_home_begin();
	if (ret)
		return ret;
	ret = nft_publish_replace(ifname, p->host_ifname, p->ns_addr, m, count);
	netns_home_end();
	return ret;
}

/* disable_ipv6 on a link of the namespace this thread is in. */
static int no_ipv6(const char *ifname)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	return rtnl_sysctl_write(path, "1");
}

static int make_pair(struct publish *p, const char *ifname, struct rtnl *rtnl, struct rtnl *home)
{
	unsigned int idx;
	int ret;

	publish_names(ifname, p->host_ifname, p->ns_ifname);
	ret = choose_subnet(p, ifname, rtnl, home);
	if (ret) {
		log_error("--publish: no free /30 in 169.254.0.0/16 for the veth pair: %s", strerror(-ret));
		return ret;
	}
	ret = rtnl_veth_add(rtnl, p->ns_ifname, p->host_ifname, netns_home_fd());
	if (ret == -EEXIST && !remove_stale(home, p->host_ifname))
		ret = rtnl_veth_add(rtnl, p->ns_ifname, p->host_ifname, netns_home_fd());
	if (ret) {
		log_error("--publish: making the veth pair %s/%s: %s", p->host_ifname, p->ns_ifname, strerror(-ret));
		return ret;
	}
	p->veth = true;
	/* IPv4 only, and no IPv6 at all before the link is up: no router advertisement, no MLD, before the wall */
	ret = no_ipv6(p->ns_ifname);
	if (!ret && !netns_home_begin()) {
		ret = no_ipv6(p->host_ifname);
		netns_home_end();
	}
	if (!ret)
		ret = rtnl_link_index(rtnl, p->ns_ifname, &idx);
	if (!ret)
		ret = rtnl_addr_add(rtnl, idx, AF_INET, p->ns_addr, 30);
	if (!ret)
		ret = rtnl_link_set_up(rtnl, idx, true);
	if (!ret)
		ret = host_side(p, home);
	if (ret)
		log_error("--publish: setting up the veth pair: %s", strerror(-ret));
	return ret;
}

int publish_up(struct publish *p, const char *ifname, struct rtnl *rtnl, const struct daemon_publish *list,
	       size_t n, uint16_t udp_port)
{
	struct rtnl home;
	size_t i;
	int ret;

	memset(p, 0, sizeof(*p));
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		if (list[i].proto == IPPROTO_UDP && list[i].host_port == udp_port) {
			log_error("--publish %u/udp is wgud's own UDP port: the tunnel's handshakes would go into the "
				  "namespace",
				  udp_port);
			return -EADDRINUSE;
		}
	}
	if (!netns_away()) {
		log_error("--publish needs --netns or wgud run");
		return -EINVAL;
	}
	ret = home_rtnl(&home);
	if (ret) {
		log_error("--publish: rtnetlink on the host side: %s", strerror(-ret));
		return ret;
	}
	ret = make_pair(p, ifname, rtnl, &home);
	rtnl_close(&home);
	if (ret)
		return ret;
	ret = host_table(p, ifname, list, n);
	if (ret) {
		log_error("--publish: table inet wgudp_%s on the host side: %s", ifname,
			  ret == -EOPNOTSUPP ? "this build has no nftables (-DWGUD_NFTABLES=OFF)" : strerror(-ret));
		return ret;
	}
	p->table = true;
	for (i = 0; i < n; i++) {
		char addr[16] = "*";

		if (list[i].family == AF_INET)
			snprintf(addr, sizeof(addr), "%u.%u.%u.%u", list[i].addr[0], list[i].addr[1], list[i].addr[2],
				 list[i].addr[3]);
		log_info("published %s:%u/%s on the host side to port %u in the namespace (over %s, %u.%u.%u.%u)", addr,
			 list[i].host_port, list[i].proto == IPPROTO_UDP ? "udp" : "tcp", list[i].port, p->host_ifname,
			 p->ns_addr[0], p->ns_addr[1], p->ns_addr[2], p->ns_addr[3]);
	}
	return 0;
}

void publish_facts(const struct publish *p, const struct daemon_publish *list, size_t n, struct gateway_facts *f)
{
	if (!p->veth)
		return;
	snprintf(f->publish_ifname, sizeof(f->publish_ifname), "%s", p->ns_ifname);
	f->n_publish = to_nft(list, n, f->publish);
}

void publish_unlink(struct publish *p, struct rtnl *rtnl)
{
	unsigned int idx;

	/* The namespace's end, which takes the host's: CAP_NET_ADMIN here is enough, even after --user */
	if (p->veth && !rtnl_link_index(rtnl, p->ns_ifname, &idx) && !rtnl_link_delete(rtnl, idx))
		p->veth = false;
}

void publish_down(struct publish *p, const char *ifname)
{
	struct rtnl home;
	unsigned int idx;

	if (p->table) {
		int ret = netns_home_begin();

		if (!ret) {
			ret = nft_publish_delete(ifname);
			netns_home_end();
		}
		if (ret)
			log_warn("removing table inet wgudp_%s: %s; `nft delete table inet wgudp_%s`", ifname,
				 strerror(-ret), ifname);
		p->table = false;
	}
	/* One end gone takes the other; the host end, in case the namespace is gone already. */
	if (p->veth && !home_rtnl(&home)) {
		if (!rtnl_link_index(&home, p->host_ifname, &idx))
			(void)rtnl_link_delete(&home, idx);
		rtnl_close(&home);
	}
	p->veth = false;
}

void publish_unlock(const char *ifname, struct rtnl *rtnl)
{
	char host[IFNAMSIZ], ns[IFNAMSIZ];
	unsigned int idx;
	int ret;

	publish_names(ifname, host, ns);
	if (!rtnl_link_index(rtnl, host, &idx))
		(void)remove_stale(rtnl, host);
	ret = nft_publish_delete(ifname);
	if (ret && ret != -EOPNOTSUPP)
		log_error("removing table inet wgudp_%s: %s", ifname, strerror(-ret));
}
