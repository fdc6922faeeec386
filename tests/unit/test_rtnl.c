// SPDX-License-Identifier: MIT
/*
 * rtnetlink configuration of the TUN device. Every test runs in a network
 * namespace of its own (unshare before each), so nothing reaches the
 * machine's namespace; needs root, as CI has. What the library set is read
 * back with dumps written here from raw netlink, and once more through
 * `ip` when it is installed, so a mistake shared by both halves of this
 * file would still show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtnl.h"
#include "tun.h"

#define TUN_NAME "wgudrt0"
#define FULL_TABLE 51820u
#define MAX_SEEN 64


/* One object of a dump, reduced to what the tests compare. */
struct seen {
	int family;
	uint8_t addr[16];
	uint8_t prefixlen;
	unsigned int ifindex;
	uint32_t table;
	uint8_t protocol;
	uint8_t scope;
	uint32_t flags;
	bool has_fwmark;
	uint32_t fwmark;
	bool has_suppress;
	uint32_t suppress;
	uint32_t priority;
};

struct dump {
	struct seen item[MAX_SEEN];
	int n;
};

struct fixture {
	struct rtnl r;
	struct tun_device tun;
	unsigned int ifindex;
	struct dump dump; /* here, not allocated per test: a failed assert longjmps past free */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (this test needs root)\n", strerror(errno));
		goto err;
	}
	if (rtnl_open(&f->r) != 0)
		goto err;
	if (tun_open(&f->tun, TUN_NAME, false) != 0)
		goto err_rtnl;
	f->ifindex = if_nametoindex(TUN_NAME);
	if (!f->ifindex)
		goto err_tun;
	*state = f;
	return 0;

err_tun:
	tun_close(&f->tun);
err_rtnl:
	rtnl_close(&f->r);
err:
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tun_close(&f->tun);
	rtnl_close(&f->r);
	free(f);
	return 0;
}

static struct seen *dump_next(struct dump *d)
{
	if (d->n == MAX_SEEN)
		return NULL;
	memset(&d->item[d->n], 0, sizeof(d->item[0]));
	return &d->item[d->n++];
}

static void copy_addr(struct seen *s, const struct nlattr *attr)
{
	size_t len = mnl_attr_get_payload_len(attr);

	if (len <= sizeof(s->addr))
		memcpy(s->addr, mnl_attr_get_payload(attr), len);
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	struct seen *s;

	if (nlh->nlmsg_type != RTM_NEWADDR || !(s = dump_next(data)))
		return MNL_CB_OK;
	s->family = ifa->ifa_family;
	s->prefixlen = ifa->ifa_prefixlen;
	s->ifindex = ifa->ifa_index;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		/* IFA_LOCAL is the address itself where both are present (IPv4). */
		if (mnl_attr_get_type(attr) == IFA_LOCAL ||
		    (mnl_attr_get_type(attr) == IFA_ADDRESS && ifa->ifa_family == AF_INET6))
			copy_addr(s, attr);
	}
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	struct seen *s;

	if (nlh->nlmsg_type != RTM_NEWROUTE || !(s = dump_next(data)))
		return MNL_CB_OK;
	s->family = rtm->rtm_family;
	s->prefixlen = rtm->rtm_dst_len;
	s->table = rtm->rtm_table;
	s->protocol = rtm->rtm_protocol;
	s->scope = rtm->rtm_scope;
	mnl_attr_for_each(attr, nlh, sizeof(*rtm)) {
		switch (mnl_attr_get_type(attr)) {
		case RTA_DST:
			copy_addr(s, attr);
			break;
		case RTA_OIF:
			s->ifindex = mnl_attr_get_u32(attr);
			break;
		case RTA_TABLE:
			s->table = mnl_attr_get_u32(attr);
			break;
		}
	}
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	struct seen *s;

	if (nlh->nlmsg_type != RTM_NEWRULE || !(s = dump_next(data)))
		return MNL_CB_OK;
	s->family = frh->family;
	s->table = frh->table;
	s->flags = frh->flags;
	mnl_attr_for_each(attr, nlh, sizeof(*frh)) {
		switch (mnl_attr_get_type(attr)) {
		case FRA_TABLE:
			s->table = mnl_attr_get_u32(attr);
			break;
		case FRA_FWMARK:
			s->has_fwmark = true;
			s->fwmark = mnl_attr_get_u32(attr);
			break;
		case FRA_SUPPRESS_PREFIXLEN:
			/* The kernel sends it on every rule; -1 means "not set". */
			s->suppress = mnl_attr_get_u32(attr);
			s->has_suppress = s->suppress != UINT32_MAX;
			break;
		case FRA_PRIORITY:
			s->priority = mnl_attr_get_u32(attr);
			break;
		}
	}
	return MNL_CB_OK;
}

/* Dump all objects of type (RTM_GETADDR/ROUTE/RULE) of family; header_len: its family header. */
static void dump(struct rtnl *r, uint16_t type, int family, size_t header_len, struct dump *d)
{
	_Alignas(struct nlmsghdr) char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	uint8_t *family_byte;
	mnl_cb_t cb;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	/* All three family headers start with the family byte. */
	family_byte = mnl_nlmsg_put_extra_header(nlh, header_len);
	*family_byte = (uint8_t)family;
	cb = type == RTM_GETADDR ? addr_cb : type == RTM_GETROUTE ? route_cb : rule_cb;
	d->n = 0;
	assert_int_equal(rtnl_request(r, nlh, cb, d), 0);
	assert_true(d->n < MAX_SEEN);
}

static const struct seen *find_addr(const struct dump *d, int family, const uint8_t *addr,
				    uint8_t prefixlen, unsigned int ifindex)
{
	int i;

	for (i = 0; i < d->n; i++) {
		const struct seen *s = &d->item[i];

		if (s->family == family && s->prefixlen == prefixlen && s->ifindex == ifindex &&
		    !memcmp(s->addr, addr, family == AF_INET ? 4 : 16))
			return s;
	}
	return NULL;
}

static const struct seen *find_route(const struct dump *d, int family, const uint8_t *dst,
				     uint8_t cidr, unsigned int ifindex, uint32_t table)
{
	const struct seen *s = find_addr(d, family, dst, cidr, ifindex);

	return s && s->table == table ? s : NULL;
}

static int count_table(const struct dump *d, uint32_t table)
{
	int i, n = 0;

	for (i = 0; i < d->n; i++)
		n += d->item[i].table == table;
	return n;
}

static void parse(int family, const char *text, uint8_t *out)
{
	assert_int_equal(inet_pton(family, text, out), 1);
}

static int ioctl_ifreq(unsigned long req, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return -errno;
	strcpy(ifr->ifr_name, TUN_NAME);
	ret = ioctl(fd, req, ifr) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static void link_lookup(void **state)
{
	struct fixture *f = *state;
	unsigned int ifindex = 0, flags;
	uint32_t mtu;

	assert_int_equal(rtnl_link_index(&f->r, TUN_NAME, &ifindex), 0);
	assert_int_equal(ifindex, f->ifindex);
	assert_int_equal(rtnl_link_index(&f->r, "lo", &ifindex), 0);
	assert_int_equal(ifindex, if_nametoindex("lo"));
	assert_int_equal(rtnl_link_index(&f->r, "wgudnone0", &ifindex), -ENODEV);
	assert_int_equal(rtnl_link_index(&f->r, "a-name-far-too-long-for-linux", &ifindex),
			 -ENAMETOOLONG);
	/* A new TUN device starts at 1500 and down. */
	assert_int_equal(rtnl_link_info(&f->r, f->ifindex, &mtu, &flags), 0);
	assert_int_equal(mtu, 1500);
	assert_false(flags & IFF_UP);
	assert_true(flags & IFF_POINTOPOINT);
}

static void mtu_round_trip(void **state)
{
	static const uint32_t mtus[] = { 1420, 1280, 9000, 576 };
	struct fixture *f = *state;
	struct ifreq ifr;
	uint32_t mtu;
	size_t i;

	for (i = 0; i < sizeof(mtus) / sizeof(mtus[0]); i++) {
		assert_int_equal(rtnl_link_set_mtu(&f->r, f->ifindex, mtus[i]), 0);
		assert_int_equal(rtnl_link_info(&f->r, f->ifindex, &mtu, NULL), 0);
		assert_int_equal(mtu, mtus[i]);
		assert_int_equal(ioctl_ifreq(SIOCGIFMTU, &ifr), 0);
		assert_int_equal(ifr.ifr_mtu, (int)mtus[i]);
	}
	/* Below IPv4's minimum of 68: the kernel's refusal comes back unchanged. */
	assert_int_equal(rtnl_link_set_mtu(&f->r, f->ifindex, 10), -EINVAL);
	assert_int_equal(rtnl_link_info(&f->r, f->ifindex, &mtu, NULL), 0);
	assert_int_equal(mtu, 576);
}

static void up_and_down(void **state)
{
	struct fixture *f = *state;
	struct ifreq ifr;
	unsigned int flags;

	assert_int_equal(rtnl_link_set_up(&f->r, f->ifindex, true), 0);
	assert_int_equal(rtnl_link_info(&f->r, f->ifindex, NULL, &flags), 0);
	assert_true(flags & IFF_UP);
	assert_int_equal(ioctl_ifreq(SIOCGIFFLAGS, &ifr), 0);
	assert_true(ifr.ifr_flags & IFF_UP);
	/* Only IFF_UP moves. */
	assert_true(flags & IFF_POINTOPOINT);
	assert_true(flags & IFF_NOARP);

	assert_int_equal(rtnl_link_set_up(&f->r, f->ifindex, false), 0);
	assert_int_equal(rtnl_link_info(&f->r, f->ifindex, NULL, &flags), 0);
	assert_false(flags & IFF_UP);
	assert_true(flags & IFF_POINTOPOINT);
	assert_int_equal(ioctl_ifreq(SIOCGIFFLAGS, &ifr), 0);
	assert_false(ifr.ifr_flags & IFF_UP);
}

static void addresses(void **state)
{
	struct fixture *f = *state;
	uint8_t v4[4], v4b[4], v6[16];
	struct dump *d = &f->dump;

	parse(AF_INET, "10.9.0.1", v4);
	parse(AF_INET, "10.9.0.2", v4b);
	parse(AF_INET6, "fd00:9::1", v6);
	assert_int_equal(rtnl_addr_add(&f->r, f->ifindex, AF_INET, v4, 24), 0);
	assert_int_equal(rtnl_addr_add(&f->r, f->ifindex, AF_INET, v4b, 32), 0);
	assert_int_equal(rtnl_addr_add(&f->r, f->ifindex, AF_INET6, v6, 64), 0);

	dump(&f->r, RTM_GETADDR, AF_UNSPEC, sizeof(struct ifaddrmsg), d);
	assert_non_null(find_addr(d, AF_INET, v4, 24, f->ifindex));
	assert_non_null(find_addr(d, AF_INET, v4b, 32, f->ifindex));
	assert_non_null(find_addr(d, AF_INET6, v6, 64, f->ifindex));
	assert_null(find_addr(d, AF_INET, v4, 32, f->ifindex));

	assert_int_equal(rtnl_addr_add(&f->r, f->ifindex, AF_INET, v4, 24), -EEXIST);
	assert_int_equal(rtnl_addr_add(&f->r, f->ifindex, AF_INET6, v6, 64), -EEXIST);

	assert_int_equal(rtnl_addr_del(&f->r, f->ifindex, AF_INET, v4, 24), 0);
	assert_int_equal(rtnl_addr_del(&f->r, f->ifindex, AF_INET6, v6, 64), 0);
	dump(&f->r, RTM_GETADDR, AF_UNSPEC, sizeof(struct ifaddrmsg), d);
	assert_null(find_addr(d, AF_INET, v4, 24, f->ifindex));
	assert_null(find_addr(d, AF_INET6, v6, 64, f->ifindex));
	assert_non_null(find_addr(d, AF_INET, v4b, 32, f->ifindex));

	assert_int_equal(rtnl_addr_del(&f->r, f->ifindex, AF_INET, v4, 24), -EADDRNOTAVAIL);
	assert_int_equal(rtnl_addr_del(&f->r, f->ifindex, AF_INET6, v6, 64), -EADDRNOTAVAIL);
}

static void routes(void **state)
{
	struct fixture *f = *state;
	uint8_t net4[4], host4[4], masked4[4], any4[4] = { 0 }, net6[16], any6[16] = { 0 };
	struct dump *d = &f->dump;
	const struct seen *s;

	parse(AF_INET, "10.10.0.0", net4);
	parse(AF_INET, "10.11.5.7", host4);
	parse(AF_INET, "10.11.0.0", masked4);
	parse(AF_INET6, "fd00:10::", net6);
	/* Routes need the link up (-ENETDOWN otherwise). */
	assert_int_equal(rtnl_route_add(&f->r, AF_INET, net4, 16, f->ifindex, RT_TABLE_MAIN),
			 -ENETDOWN);
	assert_int_equal(rtnl_link_set_up(&f->r, f->ifindex, true), 0);

	assert_int_equal(rtnl_route_add(&f->r, AF_INET, net4, 16, f->ifindex, RT_TABLE_MAIN), 0);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET, host4, 16, f->ifindex, RT_TABLE_MAIN), 0);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET6, net6, 48, f->ifindex, RT_TABLE_MAIN), 0);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET, any4, 0, f->ifindex, FULL_TABLE), 0);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET6, any6, 0, f->ifindex, FULL_TABLE), 0);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET, net4, 16, f->ifindex, RT_TABLE_MAIN),
			 -EEXIST);

	dump(&f->r, RTM_GETROUTE, AF_INET, sizeof(struct rtmsg), d);
	s = find_route(d, AF_INET, net4, 16, f->ifindex, RT_TABLE_MAIN);
	assert_non_null(s);
	assert_int_equal(s->protocol, RTPROT_BOOT);
	assert_int_equal(s->scope, RT_SCOPE_LINK);
	assert_non_null(find_route(d, AF_INET, masked4, 16, f->ifindex, RT_TABLE_MAIN));
	assert_non_null(find_route(d, AF_INET, any4, 0, f->ifindex, FULL_TABLE));
	assert_null(find_route(d, AF_INET, any4, 0, f->ifindex, RT_TABLE_MAIN));
	assert_int_equal(count_table(d, FULL_TABLE), 1);

	dump(&f->r, RTM_GETROUTE, AF_INET6, sizeof(struct rtmsg), d);
	s = find_route(d, AF_INET6, net6, 48, f->ifindex, RT_TABLE_MAIN);
	assert_non_null(s);
	assert_int_equal(s->protocol, RTPROT_BOOT);
	assert_non_null(find_route(d, AF_INET6, any6, 0, f->ifindex, FULL_TABLE));
	assert_int_equal(count_table(d, FULL_TABLE), 1);

	assert_int_equal(rtnl_route_del(&f->r, AF_INET, net4, 16, f->ifindex, RT_TABLE_MAIN), 0);
	assert_int_equal(rtnl_route_del(&f->r, AF_INET, host4, 16, f->ifindex, RT_TABLE_MAIN), 0);
	assert_int_equal(rtnl_route_del(&f->r, AF_INET6, net6, 48, f->ifindex, RT_TABLE_MAIN), 0);
	assert_int_equal(rtnl_route_del(&f->r, AF_INET, any4, 0, f->ifindex, FULL_TABLE), 0);
	assert_int_equal(rtnl_route_del(&f->r, AF_INET6, any6, 0, f->ifindex, FULL_TABLE), 0);
	assert_int_equal(rtnl_route_del(&f->r, AF_INET, net4, 16, f->ifindex, RT_TABLE_MAIN),
			 -ESRCH);
	assert_int_equal(rtnl_route_del(&f->r, AF_INET6, net6, 48, f->ifindex, RT_TABLE_MAIN),
			 -ESRCH);

	dump(&f->r, RTM_GETROUTE, AF_INET, sizeof(struct rtmsg), d);
	assert_null(find_route(d, AF_INET, net4, 16, f->ifindex, RT_TABLE_MAIN));
	assert_null(find_route(d, AF_INET, masked4, 16, f->ifindex, RT_TABLE_MAIN));
	assert_int_equal(count_table(d, FULL_TABLE), 0);
	dump(&f->r, RTM_GETROUTE, AF_INET6, sizeof(struct rtmsg), d);
	assert_null(find_route(d, AF_INET6, net6, 48, f->ifindex, RT_TABLE_MAIN));
	assert_int_equal(count_table(d, FULL_TABLE), 0);
}

static void table_in_use(void **state)
{
	struct fixture *f = *state;
	uint8_t any4[4] = { 0 }, net6[16];
	bool used = true;

	parse(AF_INET6, "fd00:51::", net6);
	assert_int_equal(rtnl_link_set_up(&f->r, f->ifindex, true), 0);
	assert_int_equal(rtnl_table_in_use(&f->r, AF_UNSPEC, FULL_TABLE, &used), 0);
	assert_false(used);

	assert_int_equal(rtnl_route_add(&f->r, AF_INET, any4, 0, f->ifindex, FULL_TABLE), 0);
	assert_int_equal(rtnl_table_in_use(&f->r, AF_INET, FULL_TABLE, &used), 0);
	assert_true(used);
	assert_int_equal(rtnl_table_in_use(&f->r, AF_UNSPEC, FULL_TABLE, &used), 0);
	assert_true(used);
	assert_int_equal(rtnl_table_in_use(&f->r, AF_INET6, FULL_TABLE, &used), 0);
	assert_false(used);
	assert_int_equal(rtnl_table_in_use(&f->r, AF_UNSPEC, FULL_TABLE + 1, &used), 0);
	assert_false(used);

	/* An IPv6 route alone makes the table taken too, as wg-quick checks both families. */
	assert_int_equal(rtnl_route_del(&f->r, AF_INET, any4, 0, f->ifindex, FULL_TABLE), 0);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET6, net6, 64, f->ifindex, FULL_TABLE + 1), 0);
	assert_int_equal(rtnl_table_in_use(&f->r, AF_UNSPEC, FULL_TABLE + 1, &used), 0);
	assert_true(used);
	assert_int_equal(rtnl_table_in_use(&f->r, AF_UNSPEC, FULL_TABLE, &used), 0);
	assert_false(used);
	/* The local table always has routes once lo is up. */
	assert_int_equal(rtnl_link_set_up(&f->r, if_nametoindex("lo"), true), 0);
	assert_int_equal(rtnl_table_in_use(&f->r, AF_INET, RT_TABLE_LOCAL, &used), 0);
	assert_true(used);
	assert_int_equal(rtnl_table_in_use(&f->r, AF_INET, 0, &used), -EINVAL);
	assert_int_equal(rtnl_table_in_use(&f->r, AF_PACKET, FULL_TABLE, &used), -EAFNOSUPPORT);
}

static const struct seen *find_rule(const struct dump *d, int family, uint32_t table,
				    bool fwmark_rule)
{
	int i;

	for (i = 0; i < d->n; i++) {
		const struct seen *s = &d->item[i];

		if (s->family == family && s->table == table &&
		    (fwmark_rule ? s->has_fwmark : s->has_suppress))
			return s;
	}
	return NULL;
}

static void check_full_tunnel_rules(const struct dump *d, int family, uint32_t fwmark)
{
	const struct seen *s;

	s = find_rule(d, family, FULL_TABLE, true);
	assert_non_null(s);
	assert_int_equal(s->fwmark, fwmark);
	assert_true(s->flags & FIB_RULE_INVERT);
	assert_false(s->has_suppress);
	s = find_rule(d, family, RT_TABLE_MAIN, false);
	assert_non_null(s);
	assert_int_equal(s->suppress, 0);
	assert_false(s->flags & FIB_RULE_INVERT);
	assert_false(s->has_fwmark);
}

static void rules(void **state)
{
	struct fixture *f = *state;
	static const int families[] = { AF_INET, AF_INET6 };
	struct dump *d = &f->dump;
	const struct seen *s;
	size_t i;
	int fam;

	for (i = 0; i < 2; i++) {
		fam = families[i];
		assert_int_equal(rtnl_rule_add_not_fwmark(&f->r, fam, FULL_TABLE, FULL_TABLE, 0), 0);
		assert_int_equal(rtnl_rule_add_suppress_main(&f->r, fam, 0), 0);
		dump(&f->r, RTM_GETRULE, fam, sizeof(struct fib_rule_hdr), d);
		check_full_tunnel_rules(d, fam, FULL_TABLE);
		/* The kernel placed them just before "lookup main" (32766), suppress first. */
		assert_int_equal(find_rule(d, fam, FULL_TABLE, true)->priority, 32765);
		assert_int_equal(find_rule(d, fam, RT_TABLE_MAIN, false)->priority, 32764);

		/*
		 * Without a priority the kernel sees no duplicate (it gives the
		 * copy the next free priority), as with `ip rule add`; each
		 * delete then takes one away.
		 */
		assert_int_equal(rtnl_rule_add_not_fwmark(&f->r, fam, FULL_TABLE, FULL_TABLE, 0), 0);
		assert_int_equal(rtnl_rule_add_suppress_main(&f->r, fam, 0), 0);
		dump(&f->r, RTM_GETRULE, fam, sizeof(struct fib_rule_hdr), d);
		assert_int_equal(count_table(d, FULL_TABLE), 2);
		assert_int_equal(count_table(d, RT_TABLE_MAIN), 3);
		assert_int_equal(rtnl_rule_del_not_fwmark(&f->r, fam, FULL_TABLE, FULL_TABLE, 0), 0);
		assert_int_equal(rtnl_rule_del_suppress_main(&f->r, fam, 0), 0);
		assert_int_equal(rtnl_rule_del_not_fwmark(&f->r, fam, FULL_TABLE, FULL_TABLE, 0), 0);
		assert_int_equal(rtnl_rule_del_suppress_main(&f->r, fam, 0), 0);
		dump(&f->r, RTM_GETRULE, fam, sizeof(struct fib_rule_hdr), d);
		assert_null(find_rule(d, fam, FULL_TABLE, true));
		assert_null(find_rule(d, fam, RT_TABLE_MAIN, false));
		/* The kernel's own "lookup main" rule is still there. */
		assert_int_equal(count_table(d, RT_TABLE_MAIN), 1);
		assert_int_equal(rtnl_rule_del_not_fwmark(&f->r, fam, FULL_TABLE, FULL_TABLE, 0),
				 -ENOENT);
		assert_int_equal(rtnl_rule_del_suppress_main(&f->r, fam, 0), -ENOENT);
	}

	/* An explicit priority and a mark that is not the table id. */
	assert_int_equal(rtnl_rule_add_not_fwmark(&f->r, AF_INET, 0x1234, 300, 100), 0);
	assert_int_equal(rtnl_rule_add_suppress_main(&f->r, AF_INET, 99), 0);
	dump(&f->r, RTM_GETRULE, AF_INET, sizeof(struct fib_rule_hdr), d);
	s = find_rule(d, AF_INET, 300, true);
	assert_non_null(s);
	assert_int_equal(s->fwmark, 0x1234);
	assert_int_equal(s->priority, 100);
	assert_int_equal(find_rule(d, AF_INET, RT_TABLE_MAIN, false)->priority, 99);
	/* With the priority given, the same rule again is a duplicate. */
	assert_int_equal(rtnl_rule_add_not_fwmark(&f->r, AF_INET, 0x1234, 300, 100), -EEXIST);
	assert_int_equal(rtnl_rule_add_suppress_main(&f->r, AF_INET, 99), -EEXIST);
	/* Deleting by the wrong priority finds nothing; by the right one, the rule. */
	assert_int_equal(rtnl_rule_del_not_fwmark(&f->r, AF_INET, 0x1234, 300, 101), -ENOENT);
	assert_int_equal(rtnl_rule_del_not_fwmark(&f->r, AF_INET, 0x1234, 300, 100), 0);
	assert_int_equal(rtnl_rule_del_suppress_main(&f->r, AF_INET, 0), 0);
}

static int link_create(struct rtnl *r, const char *name, const char *kind)
{
	_Alignas(struct nlmsghdr) char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	struct nlattr *nest;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	nest = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	mnl_attr_nest_end(nlh, nest);
	return rtnl_request(r, nlh, NULL, NULL);
}

/* A throwaway link: dummy where the kernel has it, else another kind that needs no options. */
static unsigned int make_link(struct rtnl *r, const char *name)
{
	static const char *const kinds[] = { "dummy", "ifb", "bridge" };
	unsigned int ifindex = 0;
	size_t i;
	int ret = -EOPNOTSUPP;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && ret == -EOPNOTSUPP; i++)
		ret = link_create(r, name, kinds[i]);
	assert_int_equal(ret, 0);
	assert_int_equal(rtnl_link_index(r, name, &ifindex), 0);
	return ifindex;
}

static void wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, 5000), 1);
}

static void monitor_sees_deletion(void **state)
{
	struct fixture *f = *state;
	struct rtnl_link_events ev = { true, true, true, 1 };
	struct rtnl mon;
	unsigned int a, b;

	a = make_link(&f->r, "wgudmon0");
	b = make_link(&f->r, "wgudmon1");
	assert_int_equal(rtnl_monitor_open(&mon), 0);
	assert_int_equal(rtnl_monitor_read(&mon, a, &ev), 0);
	assert_false(ev.gone);
	assert_false(ev.addresses);

	/* Other links' events go by without a false alarm. */
	assert_int_equal(rtnl_link_delete(&f->r, a), 0);
	wait_readable(rtnl_monitor_fd(&mon));
	assert_int_equal(rtnl_monitor_read(&mon, b, &ev), 0);
	assert_false(ev.gone);

	assert_int_equal(rtnl_link_set_up(&f->r, b, true), 0);
	assert_int_equal(rtnl_link_delete(&f->r, b), 0);
	wait_readable(rtnl_monitor_fd(&mon));
	assert_int_equal(rtnl_monitor_read(&mon, b, &ev), 0);
	assert_true(ev.gone);
	assert_int_equal(if_nametoindex("wgudmon1"), 0);

	/* The real case: `ip link del` on the TUN device while we hold its fd. */
	assert_int_equal(rtnl_link_delete(&f->r, f->ifindex), 0);
	wait_readable(rtnl_monitor_fd(&mon));
	assert_int_equal(rtnl_monitor_read(&mon, f->ifindex, &ev), 0);
	assert_true(ev.gone);
	assert_int_equal(rtnl_link_delete(&f->r, f->ifindex), -ENODEV);

	/* Nothing pending: no block, no report. */
	assert_int_equal(rtnl_monitor_read(&mon, f->ifindex, &ev), 0);
	assert_false(ev.gone);
	assert_false(ev.addresses);
	rtnl_close(&mon);
}

/* wg-quick puts the addresses on after wgud started: the monitor says so, the list shows them. */
static void monitor_and_list_addresses(void **state)
{
	struct fixture *f = *state;
	uint8_t v4[16] = { 192, 0, 2, 77 }, v6[16] = { 0xfd, 0, 0, 2, [15] = 0x77 };
	struct rtnl_link_events ev;
	struct cidr got[8];
	struct rtnl mon;
	unsigned int other = make_link(&f->r, "wgudmon2");
	size_t n, i;
	bool seen4 = false, seen6 = false;

	/* down: no link-local address comes and goes behind the test's back */
	assert_int_equal(rtnl_monitor_open(&mon), 0);
	assert_int_equal(rtnl_addr_list(&f->r, f->ifindex, got, 8, &n), 0);
	assert_int_equal(n, 0);

	assert_int_equal(rtnl_addr_add(&f->r, other, AF_INET, v4, 24), 0);
	wait_readable(rtnl_monitor_fd(&mon));
	assert_int_equal(rtnl_monitor_read(&mon, f->ifindex, &ev), 0);
	assert_false(ev.addresses); /* another link's */
	assert_int_equal(rtnl_addr_del(&f->r, other, AF_INET, v4, 24), 0);

	assert_int_equal(rtnl_addr_add(&f->r, f->ifindex, AF_INET, v4, 24), 0);
	assert_int_equal(rtnl_addr_add(&f->r, f->ifindex, AF_INET6, v6, 64), 0);
	wait_readable(rtnl_monitor_fd(&mon));
	assert_int_equal(rtnl_monitor_read(&mon, f->ifindex, &ev), 0);
	assert_true(ev.addresses);
	assert_false(ev.gone);

	assert_int_equal(rtnl_addr_list(&f->r, f->ifindex, got, 8, &n), 0);
	for (i = 0; i < n; i++) {
		if (got[i].family == AF_INET && got[i].cidr == 24 && !memcmp(got[i].addr, v4, 4))
			seen4 = true;
		if (got[i].family == AF_INET6 && got[i].cidr == 64 && !memcmp(got[i].addr, v6, 16))
			seen6 = true;
	}
	assert_true(seen4);
	assert_true(seen6);
	/* every link (lo is down here: no 127.0.0.1); and too little room says so */
	assert_int_equal(rtnl_addr_list(&f->r, 0, got, 8, &n), 0);
	assert_true(n >= 2);
	assert_int_equal(rtnl_addr_list(&f->r, f->ifindex, got, 1, &n), -E2BIG);
	assert_int_equal(n, 1);

	assert_int_equal(rtnl_addr_del(&f->r, f->ifindex, AF_INET, v4, 24), 0);
	wait_readable(rtnl_monitor_fd(&mon));
	assert_int_equal(rtnl_monitor_read(&mon, f->ifindex, &ev), 0);
	assert_true(ev.addresses);
	assert_int_equal(rtnl_link_delete(&f->r, other), 0);
	rtnl_close(&mon);
}

/* wg-quick raises the MTU with `ip link set` after wgud started: the monitor tells the new one. */
static void monitor_sees_mtu(void **state)
{
	struct fixture *f = *state;
	unsigned int other = make_link(&f->r, "wgudmon3");
	struct rtnl_link_events ev;
	struct rtnl mon;
	uint32_t mtu = 0;

	assert_int_equal(rtnl_monitor_open(&mon), 0);
	assert_int_equal(rtnl_monitor_read(&mon, f->ifindex, &ev), 0);
	assert_false(ev.link);
	assert_int_equal(ev.mtu, 0);

	assert_int_equal(rtnl_link_set_mtu(&f->r, other, 1300), 0);
	wait_readable(rtnl_monitor_fd(&mon));
	assert_int_equal(rtnl_monitor_read(&mon, f->ifindex, &ev), 0);
	assert_false(ev.link); /* another link's */

	assert_int_equal(rtnl_link_set_mtu(&f->r, f->ifindex, 8920), 0);
	wait_readable(rtnl_monitor_fd(&mon));
	assert_int_equal(rtnl_monitor_read(&mon, f->ifindex, &ev), 0);
	assert_true(ev.link);
	assert_int_equal(ev.mtu, 8920);
	assert_false(ev.gone);
	assert_int_equal(rtnl_link_info(&f->r, f->ifindex, &mtu, NULL), 0);
	assert_int_equal(mtu, 8920);

	/* Two changes before a read: the last one is what the link has. */
	assert_int_equal(rtnl_link_set_mtu(&f->r, f->ifindex, 1500), 0);
	assert_int_equal(rtnl_link_set_mtu(&f->r, f->ifindex, 1420), 0);
	wait_readable(rtnl_monitor_fd(&mon));
	assert_int_equal(rtnl_monitor_read(&mon, f->ifindex, &ev), 0);
	assert_true(ev.link);
	assert_int_equal(ev.mtu, 1420);
	assert_int_equal(rtnl_link_delete(&f->r, other), 0);
	rtnl_close(&mon);
}

static void refused_before_sending(void **state)
{
	struct fixture *f = *state;
	uint8_t addr[16] = { 10, 0, 0, 1 };
	unsigned int seq = f->r.seq, idx = f->ifindex;
	bool used;

	assert_int_equal(rtnl_addr_add(&f->r, idx, AF_INET, addr, 33), -EINVAL);
	assert_int_equal(rtnl_addr_add(&f->r, idx, AF_INET6, addr, 129), -EINVAL);
	assert_int_equal(rtnl_addr_del(&f->r, idx, AF_INET, addr, 33), -EINVAL);
	assert_int_equal(rtnl_addr_add(&f->r, idx, AF_PACKET, addr, 8), -EAFNOSUPPORT);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET, addr, 33, idx, FULL_TABLE), -EINVAL);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET6, addr, 200, idx, FULL_TABLE), -EINVAL);
	assert_int_equal(rtnl_route_del(&f->r, AF_INET, addr, 33, idx, FULL_TABLE), -EINVAL);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET, addr, 8, idx, 0), -EINVAL);
	assert_int_equal(rtnl_route_add(&f->r, AF_UNSPEC, addr, 8, idx, FULL_TABLE),
			 -EAFNOSUPPORT);
	assert_int_equal(rtnl_rule_add_not_fwmark(&f->r, AF_INET, 0, FULL_TABLE, 0), -EINVAL);
	assert_int_equal(rtnl_rule_add_not_fwmark(&f->r, AF_INET, 1, 0, 0), -EINVAL);
	assert_int_equal(rtnl_rule_add_suppress_main(&f->r, AF_UNSPEC, 0), -EAFNOSUPPORT);
	assert_int_equal(rtnl_table_in_use(&f->r, AF_INET, 0, &used), -EINVAL);
	/* ifindex 0 is "no link", and the kernel's index is a signed int. */
	assert_int_equal(rtnl_link_set_up(&f->r, 0, true), -ENODEV);
	assert_int_equal(rtnl_link_set_mtu(&f->r, 0, 1420), -ENODEV);
	assert_int_equal(rtnl_link_delete(&f->r, 0), -ENODEV);
	assert_int_equal(rtnl_link_info(&f->r, 0, NULL, NULL), -ENODEV);
	assert_int_equal(rtnl_addr_add(&f->r, 0, AF_INET, addr, 8), -ENODEV);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET, addr, 8, 0x80000000u, FULL_TABLE), -ENODEV);
	assert_int_equal(f->r.seq, seq);
}

static void kernel_errors_pass_through(void **state)
{
	struct fixture *f = *state;
	uint8_t v4[4] = { 10, 0, 0, 1 }, v6[16] = { 0xfd };
	const unsigned int bad = 999999;
	unsigned int flags = 0;

	assert_int_equal(rtnl_link_set_up(&f->r, bad, true), -ENODEV);
	assert_int_equal(rtnl_link_set_mtu(&f->r, bad, 1420), -ENODEV);
	assert_int_equal(rtnl_link_delete(&f->r, bad), -ENODEV);
	assert_int_equal(rtnl_link_info(&f->r, bad, NULL, NULL), -ENODEV);
	assert_int_equal(rtnl_addr_add(&f->r, bad, AF_INET, v4, 24), -ENODEV);
	assert_int_equal(rtnl_addr_add(&f->r, bad, AF_INET6, v6, 64), -ENODEV);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET, v4, 8, bad, FULL_TABLE), -ENODEV);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET6, v6, 8, bad, FULL_TABLE), -ENODEV);
	/* After all those errors the socket still answers in step. */
	assert_int_equal(rtnl_link_set_up(&f->r, f->ifindex, true), 0);
	assert_int_equal(rtnl_link_info(&f->r, f->ifindex, NULL, &flags), 0);
	assert_true(flags & IFF_UP);
}

static void sysctl_in_namespace(void **state)
{
	static const char path[] = "/proc/sys/net/ipv4/conf/all/src_valid_mark";
	char value[16], tiny[1];

	(void)state;
	/* A fresh namespace starts at the default, whatever the host has. */
	assert_int_equal(rtnl_sysctl_read(path, value, sizeof(value)), 0);
	assert_string_equal(value, "0");
	assert_int_equal(rtnl_sysctl_write(path, "1"), 0);
	assert_int_equal(rtnl_sysctl_read(path, value, sizeof(value)), 0);
	assert_string_equal(value, "1");
	assert_int_equal(rtnl_sysctl_read(path, tiny, sizeof(tiny)), -EOVERFLOW);

	assert_int_equal(rtnl_sysctl_write("/etc/hostname", "x"), -EINVAL);
	assert_int_equal(rtnl_sysctl_write("/proc/sys/../self/comm", "x"), -EINVAL);
	assert_int_equal(rtnl_sysctl_read("/proc/sys/net/ipv4/none", value, sizeof(value)), -ENOENT);
	assert_int_equal(rtnl_sysctl_write(path, "nonsense"), -EINVAL);
}

static bool ip_output_has(const char *cmd, const char *want)
{
	char line[512];
	bool found = false;
	FILE *p = popen(cmd, "r");

	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		found |= strstr(line, want) != NULL;
	pclose(p);
	return found;
}

/* The whole of a wg-quick full tunnel, as `ip` shows it. */
static void ip_tool_agrees(void **state)
{
	struct fixture *f = *state;
	uint8_t any4[4] = { 0 }, any6[16] = { 0 }, v4[4], v6[16];

	if (system("ip -V >/dev/null 2>&1") != 0)
		skip();
	parse(AF_INET, "10.77.0.2", v4);
	parse(AF_INET6, "fd00:77::2", v6);
	assert_int_equal(rtnl_link_set_mtu(&f->r, f->ifindex, 1420), 0);
	assert_int_equal(rtnl_link_set_up(&f->r, f->ifindex, true), 0);
	assert_int_equal(rtnl_addr_add(&f->r, f->ifindex, AF_INET, v4, 32), 0);
	assert_int_equal(rtnl_addr_add(&f->r, f->ifindex, AF_INET6, v6, 128), 0);
	assert_int_equal(rtnl_rule_add_not_fwmark(&f->r, AF_INET, FULL_TABLE, FULL_TABLE, 0), 0);
	assert_int_equal(rtnl_rule_add_suppress_main(&f->r, AF_INET, 0), 0);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET, any4, 0, f->ifindex, FULL_TABLE), 0);
	assert_int_equal(rtnl_rule_add_not_fwmark(&f->r, AF_INET6, FULL_TABLE, FULL_TABLE, 0), 0);
	assert_int_equal(rtnl_rule_add_suppress_main(&f->r, AF_INET6, 0), 0);
	assert_int_equal(rtnl_route_add(&f->r, AF_INET6, any6, 0, f->ifindex, FULL_TABLE), 0);

	assert_true(ip_output_has("ip link show dev " TUN_NAME, "mtu 1420"));
	assert_true(ip_output_has("ip link show dev " TUN_NAME, ",UP"));
	assert_true(ip_output_has("ip -4 address show dev " TUN_NAME, "inet 10.77.0.2/32"));
	assert_true(ip_output_has("ip -6 address show dev " TUN_NAME, "inet6 fd00:77::2/128"));
	assert_true(ip_output_has("ip -4 -d rule show",
				  "32765:\tnot from all fwmark 0xca6c lookup 51820"));
	assert_true(ip_output_has("ip -4 -d rule show",
				  "32764:\tfrom all lookup main suppress_prefixlength 0"));
	assert_true(ip_output_has("ip -6 -d rule show", "not from all fwmark 0xca6c lookup 51820"));
	assert_true(ip_output_has("ip -6 -d rule show", "from all lookup main suppress_prefixlength 0"));
	assert_true(ip_output_has("ip -4 route show table all",
				  "default dev " TUN_NAME " table 51820 scope link"));
	assert_true(ip_output_has("ip -6 route show table all",
				  "default dev " TUN_NAME " table 51820 metric 1024"));
	/* What the full tunnel is for: traffic goes to the TUN, the tunnel's own marked packets do not. */
	assert_true(ip_output_has("ip -4 route get 192.0.2.1", "dev " TUN_NAME " table 51820"));
	assert_false(ip_output_has("ip -4 route get 192.0.2.1 mark 51820 2>/dev/null", "dev " TUN_NAME));
}

/* allow-lan's bypass rules: "to CIDR lookup main", at a fixed priority, host bits masked. */
static void to_rules(void **state)
{
	struct fixture *f = *state;
	uint8_t v4[4], v6[16];

	parse(AF_INET, "198.18.5.5", v4);
	parse(AF_INET6, "2001:db8:1::9", v6);
	assert_int_equal(rtnl_rule_add_to(&f->r, AF_INET, v4, 15, 254, 5000), 0);
	assert_int_equal(rtnl_rule_add_to(&f->r, AF_INET6, v6, 48, 254, 5000), 0);
	assert_true(ip_output_has("ip -4 rule show", "5000:\tfrom all to 198.18.0.0/15 lookup main"));
	assert_true(ip_output_has("ip -6 rule show", "5000:\tfrom all to 2001:db8:1::/48 lookup main"));
	assert_int_equal(rtnl_rule_add_to(&f->r, AF_INET, v4, 15, 254, 5000), -EEXIST);
	assert_int_equal(rtnl_rule_add_to(&f->r, AF_INET, v4, 33, 254, 5000), -EINVAL);
	assert_int_equal(rtnl_rule_add_to(&f->r, AF_INET, v4, 15, 254, 0), -EINVAL);
	assert_int_equal(rtnl_rule_del_to(&f->r, AF_INET, v4, 15, 254, 5000), 0);
	assert_int_equal(rtnl_rule_del_to(&f->r, AF_INET6, v6, 48, 254, 5000), 0);
	assert_false(ip_output_has("ip -4 rule show", "198.18.0.0/15"));
	assert_false(ip_output_has("ip -6 rule show", "2001:db8:1::/48"));
	assert_int_equal(rtnl_rule_del_to(&f->r, AF_INET, v4, 15, 254, 5000), -ENOENT);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(link_lookup),
		T(mtu_round_trip),
		T(up_and_down),
		T(addresses),
		T(routes),
		T(table_in_use),
		T(rules),
		T(monitor_sees_deletion),
		T(monitor_and_list_addresses),
		T(monitor_sees_mtu),
		T(refused_before_sending),
		T(kernel_errors_pass_through),
		T(sysctl_in_namespace),
		T(ip_tool_agrees),
		T(to_rules),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
