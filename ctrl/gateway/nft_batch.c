// SPDX-License-Identifier: MIT
#include "nft_batch.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nfnetlink.h>

/* Receive room per expected answer: an ack is one small skb, but the socket is charged its truesize. */
#define NFTB_ACK_ROOM 1024

/* ---- the batch ---- */

static void fail(struct nftb *b, int err)
{
	if (!b->err)
		b->err = err;
}

static struct nlmsghdr *msg_start(struct nftb *b, uint16_t type, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(b->scratch.b, type, NFPROTO_INET, flags, b->seq++);
}

static void msg_finish(struct nftb *b, const struct nlmsghdr *nlh)
{
	uint32_t len = nlh->nlmsg_len;

	if (!b->err && len > b->cap - b->len)
		b->err = -ENOSPC;
	if (!b->err) {
		memcpy(b->buf + b->len, nlh, len);
		b->len += len;
	}
	memset(b->scratch.b, 0, len);
}

void nftb_init(struct nftb *b, void *buf, size_t cap, uint32_t seq, const char *table)
{
	/*
	 * libmnl 1.0.4 does not zero the alignment padding of attributes, and
	 * every message is built in the same scratch space: keep it zeroed, so a
	 * batch is the same bytes every time and carries no stale contents.
	 */
	memset(b->scratch.b, 0, sizeof(b->scratch.b));
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->seq = seq;
	b->err = 0;
	if ((size_t)snprintf(b->table, sizeof(b->table), "%s", table) >= sizeof(b->table))
		b->err = -EINVAL;
}

void nftb_begin(struct nftb *b)
{
	msg_finish(b, nftnl_batch_begin(b->scratch.b, b->seq++));
}

void nftb_end(struct nftb *b)
{
	msg_finish(b, nftnl_batch_end(b->scratch.b, b->seq++));
}

ssize_t nftb_result(const struct nftb *b)
{
	return b->err ? b->err : (ssize_t)b->len;
}

void nftb_table(struct nftb *b, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->table) < 0) {
		fail(b, -ENOMEM);
	} else {
		struct nlmsghdr *nlh = msg_start(b, type, flags);

		nftnl_table_nlmsg_build_payload(nlh, t);
		msg_finish(b, nlh);
	}
	if (t)
		nftnl_table_free(t);
}

void nftb_chain(struct nftb *b, const char *name, const char *type, uint32_t hook, int32_t prio, uint32_t policy)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, b->table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0 ||
	    (type && nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type) < 0)) {
		fail(b, -ENOMEM);
	} else {
		struct nlmsghdr *nlh;

		if (type) {
			nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
			nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
			nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, policy);
		}
		nlh = msg_start(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_ACK);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		msg_finish(b, nlh);
	}
	if (c)
		nftnl_chain_free(c);
}

void nftb_rule_begin(struct nftb *b, struct nftb_rule *r, const char *chain)
{
	r->err = 0;
	r->nl = nftnl_rule_alloc();
	if (!r->nl || nftnl_rule_set_str(r->nl, NFTNL_RULE_TABLE, b->table) < 0 ||
	    nftnl_rule_set_str(r->nl, NFTNL_RULE_CHAIN, chain) < 0)
		r->err = -ENOMEM;
}

void nftb_rule_put(struct nftb *b, struct nftb_rule *r)
{
	if (r->err) {
		fail(b, r->err);
	} else {
		struct nlmsghdr *nlh = msg_start(b, NFT_MSG_NEWRULE, NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK);

		nftnl_rule_nlmsg_build_payload(nlh, r->nl);
		msg_finish(b, nlh);
	}
	if (r->nl)
		nftnl_rule_free(r->nl);
	r->nl = NULL;
}

/* ---- expressions ---- */

/* The rule owns what this returns; NULL after any failure in this rule. */
static struct nftnl_expr *expr_new(struct nftb_rule *r, const char *kind)
{
	struct nftnl_expr *e;

	if (r->err)
		return NULL;
	e = nftnl_expr_alloc(kind);
	if (!e)
		r->err = -ENOMEM;
	else
		nftnl_rule_add_expr(r->nl, e);
	return e;
}

static void set_data(struct nftb_rule *r, struct nftnl_expr *e, uint16_t attr, const void *data, uint32_t len)
{
	if (nftnl_expr_set(e, attr, data, len) < 0)
		r->err = -ENOMEM;
}

void nftb_meta(struct nftb_rule *r, enum nft_meta_keys key)
{
	struct nftnl_expr *e = expr_new(r, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

void nftb_cmp(struct nftb_rule *r, enum nft_cmp_ops op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_new(r, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	set_data(r, e, NFTNL_EXPR_CMP_DATA, data, len);
}

void nftb_payload(struct nftb_rule *r, enum nft_payload_bases base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = expr_new(r, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
}

void nftb_bitwise(struct nftb_rule *r, const void *mask, const void *xor_, uint32_t len)
{
	struct nftnl_expr *e = expr_new(r, "bitwise");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	set_data(r, e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	set_data(r, e, NFTNL_EXPR_BITWISE_XOR, xor_, len);
}

void nftb_hton32(struct nftb_rule *r)
{
	struct nftnl_expr *e = expr_new(r, "byteorder");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 4);
}

void nftb_ct(struct nftb_rule *r, enum nft_ct_keys key)
{
	struct nftnl_expr *e = expr_new(r, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
}

void nftb_ct_set(struct nftb_rule *r, enum nft_ct_keys key)
{
	struct nftnl_expr *e = expr_new(r, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
}

void nftb_fib(struct nftb_rule *r, uint32_t flags, enum nft_fib_result result)
{
	struct nftnl_expr *e = expr_new(r, "fib");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, flags);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, result);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
}

void nftb_verdict(struct nftb_rule *r, int verdict)
{
	struct nftnl_expr *e = expr_new(r, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
}

void nftb_jump(struct nftb_rule *r, const char *chain)
{
	struct nftnl_expr *e = expr_new(r, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NFT_JUMP);
	if (nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain) < 0)
		r->err = -ENOMEM;
}

void nftb_immediate(struct nftb_rule *r, enum nft_registers reg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_new(r, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	set_data(r, e, NFTNL_EXPR_IMM_DATA, data, len);
}

void nftb_dnat(struct nftb_rule *r, uint32_t nfproto, bool with_port)
{
	struct nftnl_expr *e = expr_new(r, "nat");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, nfproto);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	if (with_port) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
	}
}

void nftb_masq(struct nftb_rule *r)
{
	expr_new(r, "masq");
}

/* ---- matches ---- */

/* Interface names compare over all of IFNAMSIZ, zero padded, so "wg0" does not match "wg01". */
void nftb_match_ifname(struct nftb_rule *r, enum nft_meta_keys key, enum nft_cmp_ops op, const char *name)
{
	char padded[IFNAMSIZ] = { 0 };

	memcpy(padded, name, strnlen(name, IFNAMSIZ - 1));
	nftb_meta(r, key);
	nftb_cmp(r, op, padded, sizeof(padded));
}

void nftb_match_meta_u8(struct nftb_rule *r, enum nft_meta_keys key, uint8_t value)
{
	nftb_meta(r, key);
	nftb_cmp(r, NFT_CMP_EQ, &value, sizeof(value));
}

void nftb_match_dport(struct nftb_rule *r, uint16_t port)
{
	uint16_t be = htons(port);

	/* tcp and udp both keep the destination port at offset 2 */
	nftb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof(be));
	nftb_cmp(r, NFT_CMP_EQ, &be, sizeof(be));
}

void nftb_match_ct_bits(struct nftb_rule *r, enum nft_ct_keys key, uint32_t bits)
{
	static const uint32_t zero;

	nftb_ct(r, key);
	nftb_bitwise(r, &bits, &zero, sizeof(bits));
	nftb_cmp(r, NFT_CMP_NEQ, &zero, sizeof(zero));
}

uint8_t nftb_nfproto_of(int family)
{
	return family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

/*
 * ip/ip6 saddr/daddr in a prefix. In an inet table the family has to be
 * matched first: the address is read at a fixed header offset.
 */
void nftb_match_addr(struct nftb_rule *r, bool source, const struct cidr *c)
{
	static const uint8_t zero[16];
	bool v4 = c->family == AF_INET;
	uint32_t len = v4 ? 4 : 16, offset, i;
	uint8_t mask[16], net[16];

	if (v4)
		offset = source ? offsetof(struct iphdr, saddr) : offsetof(struct iphdr, daddr);
	else
		offset = source ? offsetof(struct ip6_hdr, ip6_src) : offsetof(struct ip6_hdr, ip6_dst);
	nftb_match_meta_u8(r, NFT_META_NFPROTO, nftb_nfproto_of(c->family));
	if (c->cidr == 0)
		return; /* the family alone: every address */
	cidr_netmask(mask, c->family, c->cidr);
	for (i = 0; i < len; i++)
		net[i] = c->addr[i] & mask[i];
	nftb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, offset, len);
	if (c->cidr < 8 * len)
		nftb_bitwise(r, mask, zero, len);
	nftb_cmp(r, NFT_CMP_EQ, net, len);
}

/* ---- talking to the kernel ---- */

static size_t count_acked(const void *batch, size_t len)
{
	const struct nlmsghdr *nlh = batch;
	int left = len > INT_MAX ? INT_MAX : (int)len;
	size_t n = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		if (nlh->nlmsg_flags & NLM_F_ACK)
			n++;
	return n;
}

/*
 * A batch goes out as one datagram and each message earns an answer:
 * room for both, or sendmsg() fails with EMSGSIZE and answers are lost to
 * ENOBUFS. The FORCE variants pass the sysctl caps (we hold CAP_NET_ADMIN
 * anyway to touch nftables); if they fail the plain ones still help, and
 * what does not fit is then reported, not lost silently.
 */
static void size_buffers(int fd, size_t len, size_t answers)
{
	size_t want_snd = len + 65536, want_rcv = answers * NFTB_ACK_ROOM + 65536;
	int snd = want_snd > INT_MAX / 2 ? INT_MAX / 2 : (int)want_snd;
	int rcv = want_rcv > INT_MAX / 2 ? INT_MAX / 2 : (int)want_rcv;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)))
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)))
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
}

/*
 * nfnetlink handles a request inside our sendmsg() and has queued every
 * answer when it returns, so reading until the socket is empty sees them
 * all: no timeout to guess. The answers come in message order; the first
 * error names the message that failed.
 */
static int drain(int fd, size_t expected)
{
	union {
		struct nlmsghdr align;
		char b[16384];
	} buf;
	size_t answered = 0;
	int first = 0;

	for (;;) {
		ssize_t n = recv(fd, buf.b, sizeof(buf.b), MSG_DONTWAIT);
		const struct nlmsghdr *nlh = &buf.align;
		int left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return first ? first : -errno;
		}
		for (left = (int)n; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			answered++;
			if (nlh->nlmsg_type != NLMSG_ERROR || first)
				continue;
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				first = -EPROTO;
			else
				first = e->error;
		}
	}
	if (first)
		return first;
	return answered < expected ? -EPROTO : 0;
}

static int talk(const void *msgs, size_t len, size_t expected)
{
	struct mnl_socket *nl;
	int one = 1, ret;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	/* An error answer would otherwise echo the whole refused message. */
	(void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	size_buffers(mnl_socket_get_fd(nl), len, expected);
	if (mnl_socket_sendto(nl, msgs, len) < 0) {
		ret = -errno;
		goto out;
	}
	ret = drain(mnl_socket_get_fd(nl), expected);
out:
	mnl_socket_close(nl);
	return ret;
}

int nftb_send(const void *batch, size_t len)
{
	return talk(batch, len, count_acked(batch, len));
}

int nftb_ask(const void *msg, size_t len)
{
	return talk(msg, len, 1);
}

/* The kernel fills a dump as we read it (netlink_recvmsg continues it), so read until NLMSG_DONE. */
static int read_dump(struct mnl_socket *nl, uint32_t seq, mnl_cb_t cb, void *data)
{
	union {
		struct nlmsghdr align;
		char b[16384];
	} buf;
	int ret;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf.b, sizeof(buf.b));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf.b, (size_t)n, seq, mnl_socket_get_portid(nl), cb, data);
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? (errno ? -errno : -EIO) : 0;
	}
}

int nftb_dump(struct nlmsghdr *msg, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	int ret;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		ret = -errno;
	else if (mnl_socket_sendto(nl, msg, msg->nlmsg_len) < 0)
		ret = -errno;
	else
		ret = read_dump(nl, msg->nlmsg_seq, cb, data);
	mnl_socket_close(nl);
	return ret;
}
