// SPDX-License-Identifier: MIT
#include "publish.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
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

/* The host end of the pair, made and configured from home with an rtnetlink socket of home's. */
static int host_side(struct publish *p)
{
	struct rtnl home;
	unsigned int idx;
	int ret = netns_home_begin();

	if (ret)
		return ret;
	ret = rtnl_open(&home);
	netns_home_end();
	if (ret)
		return ret;
	ret = rtnl_link_index(&home, p->host_ifname, &idx);
	if (!ret)
		ret = rtnl_addr_add(&home, idx, AF_INET, p->host_addr, 30);
	if (!ret)
		ret = rtnl_link_set_up(&home, idx, true);
	rtnl_close(&home);
	return ret;
}

/* The table on the host side: nftables sockets are made where the thread is, so at home. */
static int host_table(struct publish *p, const char *ifname, const struct daemon_publish *list, size_t n)
{
	struct nft_publish m[GATEWAY_MAX_PUBLISH];
	size_t i;
	int ret;

	memset(m, 0, sizeof(m));
	for (i = 0; i < n && i < GATEWAY_MAX_PUBLISH; i++) {
		m[i].proto = list[i].proto;
		m[i].port = list[i].port;
		m[i].host_port = list[i].host_port;
		m[i].has_addr = list[i].family == AF_INET;
		memcpy(m[i].addr, list[i].addr, 4);
	}
	ret = netns_home_begin();
	if (ret)
		return ret;
	ret = nft_publish_replace(ifname, p->host_ifname, p->ns_addr, m, i);
	netns_home_end();
	return ret;
}

int publish_up(struct publish *p, const char *ifname, struct rtnl *rtnl, const struct daemon_publish *list,
	       size_t n)
{
	uint32_t h = name_hash(ifname);
	unsigned int idx;
	size_t i;
	int ret;

	memset(p, 0, sizeof(*p));
	if (!n)
		return 0;
	snprintf(p->host_ifname, sizeof(p->host_ifname), "wgp%08x", h);
	snprintf(p->ns_ifname, sizeof(p->ns_ifname), "wgq%08x", h);
	p->host_addr[0] = p->ns_addr[0] = 169;
	p->host_addr[1] = p->ns_addr[1] = 254;
	p->host_addr[2] = p->ns_addr[2] = (uint8_t)(h >> 8);
	p->host_addr[3] = (uint8_t)((h & 0x3f) << 2 | 1);
	p->ns_addr[3] = (uint8_t)((h & 0x3f) << 2 | 2);
	if (!netns_away()) {
		log_error("--publish needs --netns or wgud run");
		return -EINVAL;
	}
	ret = rtnl_veth_add(rtnl, p->ns_ifname, p->host_ifname, netns_home_fd());
	if (ret == -EEXIST) {
		log_error("--publish: %s or %s exists already (left by a wgud of %s that was killed?); delete it with "
			  "`ip link del`",
			  p->host_ifname, p->ns_ifname, ifname);
		return ret;
	}
	if (ret) {
		log_error("--publish: making the veth pair %s/%s: %s", p->host_ifname, p->ns_ifname, strerror(-ret));
		return ret;
	}
	p->veth = true;
	ret = rtnl_link_index(rtnl, p->ns_ifname, &idx);
	if (!ret)
		ret = rtnl_addr_add(rtnl, idx, AF_INET, p->ns_addr, 30);
	if (!ret)
		ret = rtnl_link_set_up(rtnl, idx, true);
	if (!ret)
		ret = host_side(p);
	if (ret) {
		log_error("--publish: setting up the veth pair: %s", strerror(-ret));
		return ret;
	}
	ret = host_table(p, ifname, list, n);
	if (ret) {
		log_error("--publish: table inet wgudp_%s on the host side: %s", ifname, strerror(-ret));
		return ret;
	}
	p->table = true;
	for (i = 0; i < n; i++) {
		char addr[16] = "*";

		if (list[i].family == AF_INET)
			snprintf(addr, sizeof(addr), "%u.%u.%u.%u", list[i].addr[0], list[i].addr[1], list[i].addr[2],
				 list[i].addr[3]);
		log_info("published %s:%u/%s on the host side to port %u in the namespace (over %s)", addr,
			 list[i].host_port, list[i].proto == IPPROTO_UDP ? "udp" : "tcp", list[i].port, p->host_ifname);
	}
	return 0;
}

void publish_facts(const struct publish *p, const struct daemon_publish *list, size_t n, struct gateway_facts *f)
{
	size_t i;

	if (!p->veth)
		return;
	snprintf(f->publish_ifname, sizeof(f->publish_ifname), "%s", p->ns_ifname);
	for (i = 0; i < n && i < GATEWAY_MAX_PUBLISH; i++) {
		f->publish[i].proto = list[i].proto;
		f->publish[i].port = list[i].port;
		f->publish[i].host_port = list[i].host_port;
	}
	f->n_publish = i;
}

void publish_down(struct publish *p, const char *ifname)
{
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
	if (p->veth) {
		struct rtnl home;
		unsigned int idx;

		/* One end gone takes the other; the host end, in case the namespace is gone already. */
		if (!netns_home_begin()) {
			if (!rtnl_open(&home)) {
				if (!rtnl_link_index(&home, p->host_ifname, &idx))
					(void)rtnl_link_delete(&home, idx);
				rtnl_close(&home);
			}
			netns_home_end();
		}
		p->veth = false;
	}
}
