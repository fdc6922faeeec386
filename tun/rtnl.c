// SPDX-License-Identifier: MIT
/*
 * rtnetlink for the TUN device: what `ip link/address/route/rule` would do
 * for wg-quick, as netlink requests of our own, so that nothing is run
 * through a shell and every failure comes back as an errno.
 */
#include "rtnl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cidr.h"

/*
 * The kernel sizes dump messages to the largest read it has seen, up to
 * 32 KiB; a smaller buffer would truncate them. Our own requests carry a
 * header and a few attributes.
 */
#define RTNL_RECV_SIZE 32768
#define RTNL_SEND_SIZE 512

struct link_reply {
	bool found;
	unsigned int ifindex;
	uint32_t mtu;
	unsigned int flags;
	uint64_t tx_dropped;
	char kind[16]; /* IFLA_INFO_KIND: "veth", "tun", ...; "" for none */
};

struct table_scan {
	uint32_t table;
	bool found;
};

struct link_watch {
	unsigned int ifindex;
	struct rtnl_link_events ev;
};

struct addr_list {
	unsigned int ifindex;
	struct cidr *out;
	size_t cap, n;
	bool overflow;
};

static int sock_open(struct rtnl *r, unsigned int groups, int flags)
{
	int ret;

	r->nl = mnl_socket_open2(NETLINK_ROUTE, flags);
	if (!r->nl)
		return -errno;
	if (mnl_socket_bind(r->nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto err_close;
	}
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = 1;
	return 0;

err_close:
	mnl_socket_close(r->nl);
	r->nl = NULL;
	return ret;
}

int rtnl_open(struct rtnl *r)
{
	return sock_open(r, 0, SOCK_CLOEXEC);
}

void rtnl_close(struct rtnl *r)
{
	if (r->nl)
		mnl_socket_close(r->nl);
	r->nl = NULL;
}

/*
 * Run one received buffer through cb. Answers to an earlier request that
 * was abandoned halfway (a failed recv) carry an older sequence number;
 * they are skipped rather than failing the request that follows.
 */
static int run(const struct rtnl *r, const void *buf, int len, mnl_cb_t cb, void *data)
{
	const struct nlmsghdr *nlh = buf;
	int ret = MNL_CB_OK;

	while (mnl_nlmsg_ok(nlh, len)) {
		if (nlh->nlmsg_seq == r->seq) {
			ret = mnl_cb_run(nlh, nlh->nlmsg_len, r->seq, r->portid, cb, data);
			if (ret <= MNL_CB_STOP)
				break;
		}
		nlh = mnl_nlmsg_next(nlh, &len);
	}
	if (ret == MNL_CB_ERROR)
		return errno ? -errno : -EIO;
	return ret;
}

static bool is_dump(const struct nlmsghdr *nlh)
{
	/* NLM_F_DUMP's bits mean REPLACE|EXCL on NEW requests: only GETs (type % 4 == 2) dump. */
	return (nlh->nlmsg_type & 3) == 2 && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
}

int rtnl_request(struct rtnl *r, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_RECV_SIZE];
	ssize_t n;
	int ret;

	/* Without an ACK to wait for, a request that succeeds would leave us blocked. */
	if (!is_dump(nlh))
		nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_flags |= NLM_F_REQUEST;
	if (++r->seq == 0)
		r->seq = 1;
	nlh->nlmsg_seq = r->seq;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(r->nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = run(r, buf, (int)n, cb, data);
		if (ret != MNL_CB_OK)
			return ret < 0 ? ret : 0;
	}
}

/* The address length for family, or -errno when prefixlen cannot belong to it. */
static int check_prefix(int family, uint8_t prefixlen)
{
	int len = cidr_addr_len(family);

	if (len < 0)
		return len;
	return prefixlen > len * 8 ? -EINVAL : len;
}

/* ifi_index and RTA_OIF are signed on the kernel side; 0 means "none". */
static int check_ifindex(unsigned int ifindex)
{
	return ifindex == 0 || ifindex > INT_MAX ? -ENODEV : 0;
}

static struct nlmsghdr *put_header(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

static struct nlmsghdr *put_ifinfo(char *buf, uint16_t type, unsigned int ifindex)
{
	struct nlmsghdr *nlh = put_header(buf, type, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	return nlh;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_reply *reply = data;
	const struct nlattr *attr;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return MNL_CB_OK;
	reply->found = true;
	reply->ifindex = (unsigned int)ifi->ifi_index;
	reply->flags = ifi->ifi_flags;
	mnl_attr_for_each(attr, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(attr) == IFLA_MTU && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			reply->mtu = mnl_attr_get_u32(attr);
		if (mnl_attr_get_type(attr) == IFLA_LINKINFO) {
			const struct nlattr *in;

			mnl_attr_for_each_nested(in, attr)
				if (mnl_attr_get_type(in) == IFLA_INFO_KIND && mnl_attr_validate(in, MNL_TYPE_STRING) == 0)
					snprintf(reply->kind, sizeof(reply->kind), "%s", mnl_attr_get_str(in));
		}
		if (mnl_attr_get_type(attr) == IFLA_STATS64 &&
		    mnl_attr_get_payload_len(attr) >= sizeof(struct rtnl_link_stats64)) {
			struct rtnl_link_stats64 st;

			memcpy(&st, mnl_attr_get_payload(attr), sizeof(st)); /* netlink aligns to 4 only */
			reply->tx_dropped = st.tx_dropped;
		}
	}
	return MNL_CB_OK;
}

static int link_get(struct rtnl *r, struct nlmsghdr *nlh, struct link_reply *reply)
{
	int ret;

	memset(reply, 0, sizeof(*reply));
	ret = rtnl_request(r, nlh, link_cb, reply);
	if (ret == 0 && !reply->found)
		ret = -ENODEV;
	return ret;
}

int rtnl_link_index(struct rtnl *r, const char *name, unsigned int *ifindex)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_SEND_SIZE];
	struct link_reply reply;
	struct nlmsghdr *nlh;
	int ret;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	nlh = put_ifinfo(buf, RTM_GETLINK, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	ret = link_get(r, nlh, &reply);
	if (ret == 0)
		*ifindex = reply.ifindex;
	return ret;
}

static int link_query(struct rtnl *r, unsigned int ifindex, struct link_reply *reply)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_SEND_SIZE];
	int ret = check_ifindex(ifindex);

	return ret ? ret : link_get(r, put_ifinfo(buf, RTM_GETLINK, ifindex), reply);
}

int rtnl_link_info(struct rtnl *r, unsigned int ifindex, uint32_t *mtu, unsigned int *flags)
{
	struct link_reply reply;
	int ret = link_query(r, ifindex, &reply);

	if (ret)
		return ret;
	if (mtu)
		*mtu = reply.mtu;
	if (flags)
		*flags = reply.flags;
	return 0;
}

int rtnl_link_kind(struct rtnl *r, unsigned int ifindex, char kind[16])
{
	struct link_reply reply;
	int ret = link_query(r, ifindex, &reply);

	if (!ret)
		memcpy(kind, reply.kind, sizeof(reply.kind));
	return ret;
}

int rtnl_link_tx_dropped(struct rtnl *r, unsigned int ifindex, uint64_t *tx_dropped)
{
	struct link_reply reply;
	int ret = link_query(r, ifindex, &reply);

	if (!ret)
		*tx_dropped = reply.tx_dropped;
	return ret;
}

int rtnl_link_set_up(struct rtnl *r, unsigned int ifindex, bool up)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_SEND_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int ret;

	ret = check_ifindex(ifindex);
	if (ret)
		return ret;
	nlh = put_ifinfo(buf, RTM_NEWLINK, ifindex);
	ifi = mnl_nlmsg_get_payload(nlh);
	/* ifi_change limits the update to IFF_UP; the other flags stay as they are. */
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return rtnl_request(r, nlh, NULL, NULL);
}

int rtnl_link_set_mtu(struct rtnl *r, unsigned int ifindex, uint32_t mtu)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_SEND_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	ret = check_ifindex(ifindex);
	if (ret)
		return ret;
	nlh = put_ifinfo(buf, RTM_NEWLINK, ifindex);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return rtnl_request(r, nlh, NULL, NULL);
}

int rtnl_link_delete(struct rtnl *r, unsigned int ifindex)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_SEND_SIZE];
	int ret;

	ret = check_ifindex(ifindex);
	if (ret)
		return ret;
	return rtnl_request(r, put_ifinfo(buf, RTM_DELLINK, ifindex), NULL, NULL);
}

int rtnl_veth_add(struct rtnl *r, const char *name, const char *peer, int peer_netns_fd)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_SEND_SIZE];
	struct nlattr *info, *data, *end;
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	if (strlen(name) >= IFNAMSIZ || strlen(peer) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	nlh = put_header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	end = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* the peer's own ifinfomsg, then its attributes */
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, end);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return rtnl_request(r, nlh, NULL, NULL);
}

static int addr_request(struct rtnl *r, uint16_t type, uint16_t flags, unsigned int ifindex,
			int family, const uint8_t *addr, uint8_t prefixlen)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_SEND_SIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int len, ret;

	len = check_prefix(family, prefixlen);
	if (len < 0)
		return len;
	ret = check_ifindex(ifindex);
	if (ret)
		return ret;
	nlh = put_header(buf, type, flags);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	/*
	 * On a point-to-point link such as TUN, IFA_ADDRESS names the peer;
	 * the local address in both says there is none, and the kernel then
	 * makes the prefix route from it.
	 */
	mnl_attr_put(nlh, IFA_LOCAL, (size_t)len, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, (size_t)len, addr);
	return rtnl_request(r, nlh, NULL, NULL);
}

int rtnl_addr_add(struct rtnl *r, unsigned int ifindex, int family, const uint8_t *addr,
		  uint8_t prefixlen)
{
	return addr_request(r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, family, addr,
			    prefixlen);
}

int rtnl_addr_del(struct rtnl *r, unsigned int ifindex, int family, const uint8_t *addr,
		  uint8_t prefixlen)
{
	return addr_request(r, RTM_DELADDR, 0, ifindex, family, addr, prefixlen);
}

static int route_request(struct rtnl *r, uint16_t type, uint16_t flags, int family,
			 const uint8_t *dst, uint8_t cidr, unsigned int ifindex, uint32_t table)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_SEND_SIZE];
	struct nlmsghdr *nlh;
	struct cidr masked;
	struct rtmsg *rtm;
	int ret;

	/* The kernel refuses IPv4 prefixes with host bits set. */
	ret = cidr_from(&masked, family, dst, cidr);
	if (!ret)
		ret = check_ifindex(ifindex);
	if (ret)
		return ret;
	if (table == RT_TABLE_UNSPEC)
		return -EINVAL;
	nlh = put_header(buf, type, flags);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = cidr;
	/* Ids past 8 bits live only in RTA_TABLE. */
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	if (type == RTM_NEWROUTE) {
		rtm->rtm_protocol = RTPROT_BOOT;
		rtm->rtm_type = RTN_UNICAST;
		/*
		 * A route straight out of a link, without gateway, is
		 * link-scoped in IPv4; IPv6 has no route scopes.
		 */
		rtm->rtm_scope = family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	} else {
		/* Protocol and type 0 match any; so does scope "nowhere" in IPv4. */
		rtm->rtm_scope = family == AF_INET ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
	}
	if (cidr)
		mnl_attr_put(nlh, RTA_DST, (size_t)cidr_addr_len(family), masked.addr);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	return rtnl_request(r, nlh, NULL, NULL);
}

int rtnl_route_add(struct rtnl *r, int family, const uint8_t *dst, uint8_t cidr,
		   unsigned int ifindex, uint32_t table)
{
	return route_request(r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, family, dst, cidr,
			     ifindex, table);
}

int rtnl_route_del(struct rtnl *r, int family, const uint8_t *dst, uint8_t cidr,
		   unsigned int ifindex, uint32_t table)
{
	return route_request(r, RTM_DELROUTE, 0, family, dst, cidr, ifindex, table);
}

/*
 * One "lookup table" rule; fwmark != 0 makes it "not fwmark", suppress
 * adds "suppress_prefixlength 0".
 */
static int rule_request(struct rtnl *r, uint16_t type, uint16_t flags, int family,
			uint32_t fwmark, bool suppress, uint32_t table, uint32_t priority)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_SEND_SIZE];
	struct fib_rule_hdr *frh;
	struct nlmsghdr *nlh;
	int ret;

	ret = cidr_addr_len(family);
	if (ret < 0)
		return ret;
	if (table == RT_TABLE_UNSPEC)
		return -EINVAL;
	nlh = put_header(buf, type, flags);
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	if (fwmark) {
		/* No FRA_FWMASK: the kernel then compares all 32 bits, as `ip rule` does. */
		frh->flags = FIB_RULE_INVERT;
		mnl_attr_put_u32(nlh, FRA_FWMARK, fwmark);
	}
	if (suppress)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, 0);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	if (priority)
		mnl_attr_put_u32(nlh, FRA_PRIORITY, priority);
	return rtnl_request(r, nlh, NULL, NULL);
}

int rtnl_rule_add_not_fwmark(struct rtnl *r, int family, uint32_t fwmark, uint32_t table,
			     uint32_t priority)
{
	/* "not fwmark 0" would match nothing: mark 0 with a full mask is every unmarked packet. */
	if (!fwmark)
		return -EINVAL;
	return rule_request(r, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, family, fwmark, false,
			    table, priority);
}

int rtnl_rule_del_not_fwmark(struct rtnl *r, int family, uint32_t fwmark, uint32_t table,
			     uint32_t priority)
{
	if (!fwmark)
		return -EINVAL;
	return rule_request(r, RTM_DELRULE, 0, family, fwmark, false, table, priority);
}

int rtnl_rule_add_suppress_main(struct rtnl *r, int family, uint32_t priority)
{
	return rule_request(r, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, family, 0, true,
			    RT_TABLE_MAIN, priority);
}

int rtnl_rule_del_suppress_main(struct rtnl *r, int family, uint32_t priority)
{
	return rule_request(r, RTM_DELRULE, 0, family, 0, true, RT_TABLE_MAIN, priority);
}

static int route_table_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct table_scan *scan = data;
	const struct nlattr *attr;
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)))
		return MNL_CB_OK;
	table = rtm->rtm_table;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(attr) == RTA_TABLE && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			table = mnl_attr_get_u32(attr);
	}
	if (table == scan->table)
		scan->found = true;
	return MNL_CB_OK;
}

int rtnl_table_in_use(struct rtnl *r, int family, uint32_t table, bool *in_use)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_SEND_SIZE];
	struct table_scan scan = { .table = table };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int ret;

	if (family != AF_UNSPEC && cidr_addr_len(family) < 0)
		return -EAFNOSUPPORT;
	if (table == RT_TABLE_UNSPEC)
		return -EINVAL;
	/* Filtered here: kernel-side filters need strict checking, which older kernels lack. */
	nlh = put_header(buf, RTM_GETROUTE, NLM_F_DUMP);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	ret = rtnl_request(r, nlh, route_table_cb, &scan);
	if (ret == 0)
		*in_use = scan.found;
	return ret;
}

int rtnl_monitor_open(struct rtnl *mon)
{
	return sock_open(mon, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

int rtnl_monitor_fd(const struct rtnl *mon)
{
	return mnl_socket_get_fd(mon->nl);
}

/* A link's news (ip link set ... mtu N, up, down): its MTU, if the message carries one. */
static void link_news(const struct nlmsghdr *nlh, struct link_watch *watch)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;

	if (ifi->ifi_family == AF_BRIDGE || (unsigned int)ifi->ifi_index != watch->ifindex)
		return;
	watch->ev.link = true;
	mnl_attr_for_each(attr, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(attr) == IFLA_MTU && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			watch->ev.mtu = mnl_attr_get_u32(attr);
	}
}

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_watch *watch = data;

	if (nlh->nlmsg_type == RTM_NEWLINK && nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(struct ifinfomsg))) {
		link_news(nlh, watch);
	} else if (nlh->nlmsg_type == RTM_DELLINK && nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(struct ifinfomsg))) {
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

		/* AF_BRIDGE DELLINKs only say a port left its bridge. */
		if (ifi->ifi_family != AF_BRIDGE && (unsigned int)ifi->ifi_index == watch->ifindex)
			watch->ev.gone = true;
	} else if ((nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR) &&
		   nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(struct ifaddrmsg))) {
		const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);

		if (ifa->ifa_index == watch->ifindex)
			watch->ev.addresses = true;
	}
	return MNL_CB_OK;
}

int rtnl_monitor_read(struct rtnl *mon, unsigned int ifindex, struct rtnl_link_events *ev)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_RECV_SIZE];
	struct link_watch watch = { .ifindex = ifindex };
	char name[IF_NAMESIZE];
	ssize_t n;

	for (;;) {
		n = mnl_socket_recvfrom(mon->nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			/* Events were dropped (socket overrun) or cut short: ask directly, look again. */
			if (errno == ENOBUFS || errno == ENOSPC) {
				if (!if_indextoname(ifindex, name) && (errno == ENXIO || errno == ENODEV))
					watch.ev.gone = true;
				watch.ev.addresses = true;
				watch.ev.link = true;
				watch.ev.mtu = 0;
				continue;
			}
			return -errno;
		}
		/* Sequence and port 0: events answer no request of ours. */
		mnl_cb_run(buf, (size_t)n, 0, 0, event_cb, &watch);
	}
	*ev = watch.ev;
	return 0;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_list *list = data;
	const struct nlattr *attr, *local = NULL, *address = NULL, *use;
	struct cidr c = { 0 };
	int len;

	if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)))
		return MNL_CB_OK;
	if (list->ifindex && ifa->ifa_index != list->ifindex)
		return MNL_CB_OK;
	len = cidr_addr_len(ifa->ifa_family);
	if (len < 0)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_payload_len(attr) != (uint16_t)len)
			continue;
		if (mnl_attr_get_type(attr) == IFA_LOCAL)
			local = attr;
		else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
			address = attr;
	}
	/* On a point-to-point link IFA_ADDRESS may name the peer; IFA_LOCAL is ours when present. */
	use = local ? local : address;
	if (!use)
		return MNL_CB_OK;
	if (list->n == list->cap) {
		list->overflow = true;
		return MNL_CB_OK;
	}
	c.family = ifa->ifa_family;
	c.cidr = ifa->ifa_prefixlen;
	memcpy(c.addr, mnl_attr_get_payload(use), (size_t)len);
	list->out[list->n++] = c;
	return MNL_CB_OK;
}

int rtnl_addr_list(struct rtnl *r, unsigned int ifindex, struct cidr *out, size_t cap, size_t *n)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_SEND_SIZE];
	struct addr_list list = { .ifindex = ifindex, .out = out, .cap = cap };
	struct nlmsghdr *nlh = put_header(buf, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	int ret;

	ifa->ifa_family = AF_UNSPEC;
	ret = rtnl_request(r, nlh, addr_cb, &list);
	*n = list.n;
	if (ret)
		return ret;
	return list.overflow ? -E2BIG : 0;
}

/* Only sysctls: this is not a general file writer for whatever path reaches it. */
static bool sysctl_path_ok(const char *path)
{
	return strncmp(path, "/proc/sys/", 10) == 0 && !strstr(path, "..");
}

int rtnl_sysctl_write(const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd, ret = 0;

	if (!sysctl_path_ok(path))
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

int rtnl_sysctl_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, ret = 0;

	if (!sysctl_path_ok(path) || len == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	if (n < 0) {
		ret = -errno;
	} else if ((size_t)n == len) {
		/* No room left for the terminator: the value may be cut short. */
		ret = -EOVERFLOW;
	} else {
		if (n > 0 && buf[n - 1] == '\n')
			n--;
		buf[n] = '\0';
	}
	close(fd);
	return ret;
}

/* "to DST/CIDR lookup TABLE priority P": destinations that bypass a full tunnel (allow-lan). */
static int to_rule_request(struct rtnl *r, uint16_t type, uint16_t flags, int family, const uint8_t *dst,
			   uint8_t cidr, uint32_t table, uint32_t priority)
{
	_Alignas(struct nlmsghdr) char buf[RTNL_SEND_SIZE];
	struct fib_rule_hdr *frh;
	struct nlmsghdr *nlh;
	struct cidr masked;
	int ret = cidr_from(&masked, family, dst, cidr);

	if (ret)
		return ret;
	if (table == RT_TABLE_UNSPEC || !priority)
		return -EINVAL;
	nlh = put_header(buf, type, flags);
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)family;
	frh->action = FR_ACT_TO_TBL;
	frh->dst_len = cidr;
	frh->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	if (cidr)
		mnl_attr_put(nlh, FRA_DST, (size_t)cidr_addr_len(family), masked.addr);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, priority);
	return rtnl_request(r, nlh, NULL, NULL);
}

int rtnl_rule_add_to(struct rtnl *r, int family, const uint8_t *dst, uint8_t cidr, uint32_t table, uint32_t priority)
{
	return to_rule_request(r, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, family, dst, cidr, table, priority);
}

int rtnl_rule_del_to(struct rtnl *r, int family, const uint8_t *dst, uint8_t cidr, uint32_t table, uint32_t priority)
{
	return to_rule_request(r, RTM_DELRULE, 0, family, dst, cidr, table, priority);
}
