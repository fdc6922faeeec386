// SPDX-License-Identifier: MIT
/*
 * TUN offloads: virtio_net_hdr parsing, TSO/USO segmentation, checksum
 * completion and GRO-style coalescing. See offload.h for the rules.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "offload.h"

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* USO, Linux 6.2; older uapi headers lack it */
#endif

/* How many of the newest super-packets a packet looks through for its flow's. */
#define GRO_LOOKBACK 32

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

/*
 * The sum of the big-endian 16-bit words (an odd last byte is the high half
 * of one), added to sum. Summed as 64-bit words in the host's order with the
 * carries folded back in: folded to 16 bits that is the same sum, byte
 * swapped on a little-endian host (RFC 1071, 2(B)), and swapped back here.
 */
uint64_t offload_csum_add(uint64_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = 0, v;
	uint32_t w;
	uint16_t h;

	while (len >= 8) {
		memcpy(&v, p, 8);
		acc += v;
		acc += acc < v;
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&w, p, 4);
		acc += w;
		acc += acc < w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		acc += h;
		acc += acc < h;
		p += 2;
		len -= 2;
	}
	if (len) {
		const uint8_t last[2] = { p[0], 0 };

		memcpy(&h, last, 2);
		acc += h;
		acc += acc < h;
	}
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	h = (uint16_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	h = __builtin_bswap16(h);
#endif
	return sum + h;
}

uint16_t offload_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint64_t offload_pseudo_sum(const uint8_t *ip, uint8_t proto, uint32_t l4_len)
{
	uint64_t sum = proto + (l4_len >> 16) + (l4_len & 0xffff);

	if ((ip[0] >> 4) == 6)
		return offload_csum_add(sum, ip + 8, 32);
	return offload_csum_add(sum, ip + 12, 8);
}

static uint16_t csum_l4(const uint8_t *ip, uint16_t ip_len, uint8_t proto, uint32_t len)
{
	uint64_t sum = offload_pseudo_sum(ip, proto, len - ip_len);

	return (uint16_t)~offload_csum_fold(offload_csum_add(sum, ip + ip_len, len - ip_len));
}

static void ip4_fix_csum(uint8_t *ip, uint16_t ip_len)
{
	offload_put16(ip + 10, 0);
	offload_put16(ip + 10, (uint16_t)~offload_csum_fold(offload_csum_add(0, ip, ip_len)));
}

/* ---- outbound ---- */

static int parse_gso_type(uint8_t type, const uint8_t *pkt, uint32_t len, enum offload_gso *gso)
{
	unsigned int version = len ? pkt[0] >> 4 : 0;

	switch (type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		*gso = OFFLOAD_GSO_NONE;
		return 0;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		*gso = OFFLOAD_GSO_TCP4;
		return version == 4 ? 0 : -EINVAL;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		*gso = OFFLOAD_GSO_TCP6;
		return version == 6 ? 0 : -EINVAL;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		*gso = version == 6 ? OFFLOAD_GSO_UDP6 : OFFLOAD_GSO_UDP4;
		return version == 4 || version == 6 ? 0 : -EINVAL;
	}
	return -EINVAL; /* UFO, ECN and anything unknown */
}

static bool gso_is_tcp(enum offload_gso gso)
{
	return gso == OFFLOAD_GSO_TCP4 || gso == OFFLOAD_GSO_TCP6;
}

/* The IP header of a GSO packet: its length, and that it covers all the bytes. */
static int parse_gso_ip(struct offload_frame *f, uint8_t proto)
{
	const uint8_t *p = f->pkt;

	if (f->gso == OFFLOAD_GSO_TCP6 || f->gso == OFFLOAD_GSO_UDP6) {
		/* No extension headers: the L4 header must follow directly. */
		if (f->pkt_len < 40 || offload_get16(p + 4) + 40u != f->pkt_len || p[6] != proto)
			return -EINVAL;
		f->ip_len = 40;
		return 0;
	}
	if (f->pkt_len < 20 || (p[0] & 15) < 5 || offload_get16(p + 2) != f->pkt_len || p[9] != proto)
		return -EINVAL;
	if (offload_get16(p + 6) & 0x3fff) /* MF or a fragment offset */
		return -EINVAL;
	f->ip_len = (uint16_t)((p[0] & 15) * 4);
	return f->ip_len <= f->pkt_len ? 0 : -EINVAL;
}

static int parse_gso(struct offload_frame *f)
{
	bool tcp = gso_is_tcp(f->gso);
	uint32_t l4_hdr, payload, segs;

	if (!f->needs_csum || parse_gso_ip(f, tcp ? IPPROTO_TCP : IPPROTO_UDP))
		return -EINVAL;
	if (f->csum_start != f->ip_len || f->csum_offset != (tcp ? 16 : 6))
		return -EINVAL;
	if (tcp) {
		if (f->ip_len + 20u > f->pkt_len)
			return -EINVAL;
		l4_hdr = (f->pkt[f->ip_len + 12] >> 4) * 4u;
		if (l4_hdr < 20)
			return -EINVAL;
	} else {
		l4_hdr = 8;
	}
	if (f->ip_len + l4_hdr >= f->pkt_len || !f->gso_size)
		return -EINVAL; /* no payload */
	f->hdr_len = (uint16_t)(f->ip_len + l4_hdr);
	payload = f->pkt_len - f->hdr_len;
	segs = (payload + f->gso_size - 1) / f->gso_size;
	if (segs > OFFLOAD_MAX_TSO_SEGS)
		return -EINVAL;
	f->n_segs = (uint16_t)segs;
	return 0;
}

int offload_parse(uint8_t *frame, size_t frame_len, struct offload_frame *f)
{
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
	uint8_t flags, type;

	memset(f, 0, sizeof(*f));
	if (frame_len < OFFLOAD_VNET_HDR_LEN || frame_len - OFFLOAD_VNET_HDR_LEN > UINT32_MAX)
		return -EINVAL;
	flags = frame[0];
	type = frame[1];
	memcpy(&hdr_len, frame + 2, 2);
	memcpy(&gso_size, frame + 4, 2);
	memcpy(&csum_start, frame + 6, 2);
	memcpy(&csum_offset, frame + 8, 2);
	(void)hdr_len; /* computed from the packet instead */

	f->pkt = frame + OFFLOAD_VNET_HDR_LEN;
	f->pkt_len = (uint32_t)(frame_len - OFFLOAD_VNET_HDR_LEN);
	f->needs_csum = flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	f->n_segs = 1;
	if (parse_gso_type(type, f->pkt, f->pkt_len, &f->gso))
		return -EINVAL;
	if (f->needs_csum) {
		if ((uint32_t)csum_start + csum_offset + 2 > f->pkt_len)
			return -EINVAL;
		f->csum_start = csum_start;
		f->csum_offset = csum_offset;
	}
	if (f->gso == OFFLOAD_GSO_NONE)
		return 0;
	f->gso_size = gso_size;
	return parse_gso(f);
}

void offload_complete_csum(const struct offload_frame *f)
{
	uint8_t *field;
	uint16_t c;

	if (!f->needs_csum || (uint32_t)f->csum_start + f->csum_offset + 2 > f->pkt_len)
		return;
	field = f->pkt + f->csum_start + f->csum_offset;
	c = (uint16_t)~offload_csum_fold(offload_csum_add(0, f->pkt + f->csum_start, f->pkt_len - f->csum_start));
	/* 0 and 0xffff are the same sum; only 0xffff is a valid UDP checksum. */
	offload_put16(field, c ? c : 0xffff);
}

uint32_t offload_segment(const struct offload_frame *f, unsigned int i, uint8_t *out)
{
	uint32_t off, plen, len;
	uint8_t *l4 = out + f->ip_len;
	uint16_t c;

	if (f->gso == OFFLOAD_GSO_NONE || i >= f->n_segs)
		return 0;
	off = f->hdr_len + i * (uint32_t)f->gso_size;
	if (off >= f->pkt_len)
		return 0;
	plen = f->pkt_len - off < f->gso_size ? f->pkt_len - off : f->gso_size;
	len = f->hdr_len + plen;
	memcpy(out, f->pkt, f->hdr_len);
	memcpy(out + f->hdr_len, f->pkt + off, plen);

	if (f->gso == OFFLOAD_GSO_TCP6 || f->gso == OFFLOAD_GSO_UDP6) {
		offload_put16(out + 4, (uint16_t)(len - 40));
	} else {
		offload_put16(out + 2, (uint16_t)len);
		offload_put16(out + 4, (uint16_t)(offload_get16(out + 4) + i));
		ip4_fix_csum(out, f->ip_len);
	}
	if (gso_is_tcp(f->gso)) {
		offload_put32(l4 + 4, offload_get32(l4 + 4) + i * (uint32_t)f->gso_size);
		if (i + 1u < f->n_segs)
			l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i)
			l4[13] &= (uint8_t)~TCP_CWR;
		offload_put16(l4 + 16, 0);
		offload_put16(l4 + 16, csum_l4(out, f->ip_len, IPPROTO_TCP, len));
	} else {
		offload_put16(l4 + 4, (uint16_t)(len - f->ip_len));
		offload_put16(l4 + 6, 0);
		c = csum_l4(out, f->ip_len, IPPROTO_UDP, len);
		offload_put16(l4 + 6, c ? c : 0xffff);
	}
	return len;
}

/* ---- inbound ---- */

/* What offload_gro_add learns of one packet. */
struct gro_pkt {
	uint8_t *p;
	uint32_t len;
	uint32_t seq;
	uint16_t ip_len, hdr_len, payload;
	uint8_t proto, flags;
	bool v6;
	bool flow;      /* a TCP/UDP flow that offload coalesces */
	bool coalesces; /* and this packet may be part of a super-packet */
};

static bool gro_ip(struct gro_pkt *k)
{
	const uint8_t *p = k->p;

	if (k->len >= 40 && (p[0] >> 4) == 6) {
		if (offload_get16(p + 4) + 40u != k->len)
			return false;
		k->v6 = true;
		k->proto = p[6];
		k->ip_len = 40;
		return true;
	}
	/* Options and fragments are not coalesced. */
	if (k->len < 20 || p[0] != 0x45 || offload_get16(p + 2) != k->len || (offload_get16(p + 6) & 0x3fff))
		return false;
	/* The header is rewritten at finish: a bad checksum must not be hidden. */
	if (offload_csum_fold(offload_csum_add(0, p, 20)) != 0xffff)
		return false;
	k->proto = p[9];
	k->ip_len = 20;
	return true;
}

static void gro_classify(const struct offload_gro *g, struct gro_pkt *k)
{
	const uint8_t *l4;
	uint32_t l4_hdr;

	if (!gro_ip(k))
		return;
	l4 = k->p + k->ip_len;
	if (k->proto == IPPROTO_TCP && g->tcp && k->len >= k->ip_len + 20u) {
		l4_hdr = (l4[12] >> 4) * 4u;
		if (l4_hdr < 20 || k->len < k->ip_len + l4_hdr)
			return;
		k->flags = l4[13];
		k->seq = offload_get32(l4 + 4);
	} else if (k->proto == IPPROTO_UDP && g->udp && k->len >= k->ip_len + 8u) {
		l4_hdr = 8;
		if (offload_get16(l4 + 4) != k->len - k->ip_len)
			return;
	} else {
		return;
	}
	k->hdr_len = (uint16_t)(k->ip_len + l4_hdr);
	k->payload = (uint16_t)(k->len - k->hdr_len);
	k->flow = true;
	if (!k->payload)
		return;
	if (k->proto == IPPROTO_TCP && (k->flags & ~TCP_PSH) != TCP_ACK)
		return;
	if (k->proto == IPPROTO_UDP && !offload_get16(l4 + 6))
		return;
	/* A bad checksum stays on its packet, for the kernel to drop. */
	k->coalesces = csum_l4(k->p, k->ip_len, k->proto, k->len) == 0;
}

static bool gro_same_flow(const struct offload_gro_item *it, const struct gro_pkt *k, const void *owner)
{
	const uint8_t *h = it->head;

	if (!it->proto || it->owner != owner || it->v6 != k->v6 || it->proto != k->proto)
		return false;
	if (k->v6 ? memcmp(h + 8, k->p + 8, 32) : memcmp(h + 12, k->p + 12, 8))
		return false;
	return !memcmp(h + it->ip_len, k->p + k->ip_len, 4); /* ports */
}

static bool gro_can_join(const struct offload_gro_item *it, const struct gro_pkt *k)
{
	const uint8_t *h = it->head, *p = k->p;
	const uint8_t *ht = h + it->ip_len, *pt = p + k->ip_len;

	if (it->closed || !k->coalesces || it->n_members >= OFFLOAD_MAX_SEGS || it->hdr_len != k->hdr_len)
		return false;
	if (it->total_len + k->payload > OFFLOAD_MAX_PACKET || k->payload > it->seg_size)
		return false;
	if (k->v6) {
		if (memcmp(h, p, 4) || h[7] != p[7]) /* traffic class, flow label, hop limit */
			return false;
	} else if (h[1] != p[1] || h[8] != p[8] || (h[6] & 0x40) != (p[6] & 0x40) ||
		   offload_get16(p + 4) != it->next_ip_id) {
		return false;
	}
	if (k->proto == IPPROTO_UDP)
		return true;
	/* ACK number, data offset, window (a change is news the kernel must see) and option bytes. */
	return k->seq == it->next_seq && !memcmp(ht + 8, pt + 8, 5) && !memcmp(ht + 14, pt + 14, 2) &&
	       !memcmp(ht + 20, pt + 20, it->hdr_len - it->ip_len - 20u);
}

static void gro_join(struct offload_gro *g, struct offload_gro_item *it, const struct gro_pkt *k, uint16_t m)
{
	g->members[it->last].next = m;
	g->members[m].skip = k->hdr_len;
	it->last = m;
	it->n_members++;
	it->total_len += k->payload;
	it->next_seq += k->payload;
	it->next_ip_id++;
	if (k->payload < it->seg_size || (k->flags & TCP_PSH))
		it->closed = true;
	it->psh = k->flags & TCP_PSH;
}

static void gro_start(struct offload_gro *g, const struct gro_pkt *k, const void *owner, uint16_t m)
{
	struct offload_gro_item *it = &g->items[g->n_items++];

	memset(it, 0, sizeof(*it));
	it->head = k->p;
	it->owner = owner;
	it->total_len = k->len;
	it->first = it->last = m;
	it->n_members = 1;
	if (!k->coalesces)
		return; /* proto 0: passed alone */
	it->next_seq = k->seq + k->payload;
	it->seg_size = k->payload;
	it->hdr_len = k->hdr_len;
	it->ip_len = k->ip_len;
	it->next_ip_id = k->v6 ? 0 : (uint16_t)(offload_get16(k->p + 4) + 1);
	it->proto = k->proto;
	it->v6 = k->v6;
	it->closed = k->flags & TCP_PSH;
	it->psh = it->closed;
}

void offload_gro_init(struct offload_gro *g, bool tcp, bool udp)
{
	g->tcp = tcp;
	g->udp = udp;
	offload_gro_reset(g);
}

void offload_gro_reset(struct offload_gro *g)
{
	g->n_members = 0;
	g->n_items = 0;
}

/*
 * A packet that cannot be told apart by flow (a fragment, IP options, an
 * extension header, another protocol) closes every open item between the
 * same two hosts of its peer: nothing that came after it may be written
 * before it.
 */
static void gro_close_hosts(struct offload_gro *g, const uint8_t *p, uint32_t len, const void *owner)
{
	bool v6 = len >= 40 && p[0] >> 4 == 6;
	unsigned int i;

	if (!v6 && !(len >= 20 && p[0] >> 4 == 4))
		return;
	for (i = 0; i < g->n_items; i++) {
		struct offload_gro_item *it = &g->items[i];

		if (!it->proto || it->closed || it->owner != owner || it->v6 != v6)
			continue;
		if (v6 ? !memcmp(it->head + 8, p + 8, 32) : !memcmp(it->head + 12, p + 12, 8))
			it->closed = true;
	}
}

int offload_gro_add(struct offload_gro *g, uint8_t *pkt, uint32_t len, const void *owner, uint32_t user)
{
	struct gro_pkt k = { .p = pkt, .len = len };
	struct offload_gro_item *open = NULL;
	uint16_t m;
	int i;

	if (g->n_members >= OFFLOAD_GRO_MAX || g->n_items >= OFFLOAD_GRO_MAX)
		return -ENOSPC;
	m = g->n_members++;
	g->members[m] = (struct offload_gro_member){ .user = user, .skip = 0, .next = OFFLOAD_GRO_MAX };
	if (len <= OFFLOAD_MAX_PACKET)
		gro_classify(g, &k);
	if (k.flow) {
		/*
		 * The newest item of the flow: the only one that may still be
		 * open. Looked for among the last few only: one further back
		 * is left as it is, and what follows joins the newer one.
		 */
		for (i = g->n_items - 1; i >= 0 && i >= (int)g->n_items - GRO_LOOKBACK && !open; i--)
			if (gro_same_flow(&g->items[i], &k, owner))
				open = &g->items[i];
	} else {
		gro_close_hosts(g, pkt, len, owner);
	}
	if (open && gro_can_join(open, &k)) {
		gro_join(g, open, &k, m);
		return 0;
	}
	/* Whatever comes next of this flow must not pass this packet. */
	if (open)
		open->closed = true;
	gro_start(g, &k, owner, m);
	return 0;
}

/* Rewrites the head of a super-packet of more than one member, and fills vnet. */
static void gro_rewrite(const struct offload_gro_item *it, uint8_t vnet[OFFLOAD_VNET_HDR_LEN])
{
	bool tcp = it->proto == IPPROTO_TCP;
	uint8_t *h = it->head, *l4 = h + it->ip_len;
	uint32_t l4_len = it->total_len - it->ip_len;
	uint16_t v;

	if (it->v6) {
		offload_put16(h + 4, (uint16_t)l4_len);
	} else {
		offload_put16(h + 2, (uint16_t)it->total_len);
		ip4_fix_csum(h, it->ip_len);
	}
	/* CHECKSUM_PARTIAL: the field holds the pseudo-header sum, uncomplemented. */
	v = offload_csum_fold(offload_pseudo_sum(h, it->proto, l4_len));
	if (tcp) {
		if (it->psh)
			l4[13] |= TCP_PSH;
		offload_put16(l4 + 16, v);
	} else {
		offload_put16(l4 + 4, (uint16_t)l4_len);
		offload_put16(l4 + 6, v);
	}
	vnet[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vnet[1] = !tcp ? VIRTIO_NET_HDR_GSO_UDP_L4 : it->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	memcpy(vnet + 2, &it->hdr_len, 2);
	memcpy(vnet + 4, &it->seg_size, 2);
	memcpy(vnet + 6, &it->ip_len, 2);
	v = tcp ? 16 : 6;
	memcpy(vnet + 8, &v, 2);
}

unsigned int offload_gro_finish(struct offload_gro *g, unsigned int k, uint8_t vnet[OFFLOAD_VNET_HDR_LEN],
				struct offload_gro_member *out)
{
	const struct offload_gro_item *it;
	unsigned int n = 0;
	uint16_t m;

	memset(vnet, 0, OFFLOAD_VNET_HDR_LEN);
	if (k >= g->n_items)
		return 0;
	it = &g->items[k];
	for (m = it->first; m < OFFLOAD_GRO_MAX && n < OFFLOAD_MAX_SEGS; m = g->members[m].next)
		out[n++] = g->members[m];
	if (n > 1)
		gro_rewrite(it, vnet);
	return n;
}
