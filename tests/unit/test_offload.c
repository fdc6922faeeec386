// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "offload.h"

/* The case tables leave trailing fields zero on purpose. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define MAXBUF (OFFLOAD_VNET_HDR_LEN + 65536)
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10
#define F_CWR 0x80

/* RFC 1071 the slow way: 16-bit words, carries folded at every step. */
static uint16_t naive_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i < len; i += 2) {
		s += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
		s = (s & 0xffff) + (s >> 16);
	}
	return (uint16_t)s;
}

struct spec {
	bool v6;
	uint8_t proto;
	uint8_t opt_len; /* TCP option bytes, a multiple of 4 */
	uint8_t ip_opt;  /* IPv4 option bytes, a multiple of 4 */
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t id;
	uint16_t sport, dport;
	uint8_t src_last;
};

static uint16_t hdr_bytes(const struct spec *s)
{
	uint16_t ip = s->v6 ? 40 : 20 + s->ip_opt;

	return (uint16_t)(ip + (s->proto == IPPROTO_TCP ? 20 + s->opt_len : 8));
}

/* An IP packet with correct lengths; L4 checksum full (partial=false) or the pseudo-header sum (partial). */
static uint32_t build(uint8_t *b, const struct spec *s, const uint8_t *payload, uint32_t plen, bool partial)
{
	uint16_t ip_len = s->v6 ? 40 : 20 + s->ip_opt, hl = hdr_bytes(s);
	uint32_t len = hl + plen, l4_len = len - ip_len;
	uint8_t *l4 = b + ip_len;
	uint16_t c;
	int i;

	memset(b, 0, hl);
	if (s->v6) {
		b[0] = 0x60;
		b[1] = 0x0a; /* traffic class / flow label bits */
		offload_put16(b + 4, (uint16_t)(len - 40));
		b[6] = s->proto;
		b[7] = 64;
		b[8] = 0xfd;
		b[23] = s->src_last;
		b[24] = 0xfd;
		b[39] = 2;
	} else {
		b[0] = (uint8_t)(0x40 | (ip_len / 4));
		offload_put16(b + 2, (uint16_t)len);
		offload_put16(b + 4, s->id);
		b[6] = 0x40; /* DF */
		b[8] = 64;
		b[9] = s->proto;
		b[12] = 10;
		b[15] = s->src_last;
		b[16] = 10;
		b[19] = 2;
		for (i = 20; i < ip_len; i++)
			b[i] = 1; /* NOPs */
		offload_put16(b + 10, (uint16_t)~naive_csum(b, ip_len));
	}
	offload_put16(l4, s->sport);
	offload_put16(l4 + 2, s->dport);
	if (s->proto == IPPROTO_TCP) {
		offload_put32(l4 + 4, s->seq);
		offload_put32(l4 + 8, s->ack);
		l4[12] = (uint8_t)((20 + s->opt_len) / 4) << 4;
		l4[13] = s->flags;
		offload_put16(l4 + 14, 512);
		for (i = 0; i < s->opt_len; i++)
			l4[20 + i] = (uint8_t)(i < 2 ? 1 : i == 2 ? 8 : i == 3 ? 10 : 0x30 + i);
	} else {
		offload_put16(l4 + 4, (uint16_t)l4_len);
	}
	memcpy(b + hl, payload, plen);
	c = offload_csum_fold(offload_pseudo_sum(b, s->proto, l4_len));
	if (!partial) {
		c = (uint16_t)~offload_csum_fold(offload_csum_add(c, l4, l4_len));
		if (!c && s->proto == IPPROTO_UDP)
			c = 0xffff;
	}
	offload_put16(l4 + (s->proto == IPPROTO_TCP ? 16 : 6), c);
	return len;
}

static void vnet_put(uint8_t *v, uint8_t flags, uint8_t type, uint16_t hl, uint16_t gso, uint16_t cs, uint16_t co)
{
	v[0] = flags;
	v[1] = type;
	memcpy(v + 2, &hl, 2);
	memcpy(v + 4, &gso, 2);
	memcpy(v + 6, &cs, 2);
	memcpy(v + 8, &co, 2);
}

/* A super-packet as the kernel writes it: vnet header, NEEDS_CSUM, partial checksum. */
static size_t build_frame(uint8_t *fr, const struct spec *s, const uint8_t *payload, uint32_t plen, uint16_t gso)
{
	uint16_t ip_len = s->v6 ? 40 : 20 + s->ip_opt;
	uint8_t type = s->proto == IPPROTO_UDP ? 5 : s->v6 ? 4 : 1;
	uint32_t len = build(fr + OFFLOAD_VNET_HDR_LEN, s, payload, plen, true);

	vnet_put(fr, 1, type, hdr_bytes(s), gso, ip_len, s->proto == IPPROTO_TCP ? 16 : 6);
	return OFFLOAD_VNET_HDR_LEN + len;
}

static bool ip_valid(const uint8_t *p, uint32_t len)
{
	uint16_t ip_len = (p[0] >> 4) == 6 ? 40 : (uint16_t)((p[0] & 15) * 4);
	uint8_t proto = (p[0] >> 4) == 6 ? p[6] : p[9];
	uint64_t sum;

	if ((p[0] >> 4) == 4 && (naive_csum(p, ip_len) != 0xffff || offload_get16(p + 2) != len))
		return false;
	if ((p[0] >> 4) == 6 && offload_get16(p + 4) + 40u != len)
		return false;
	if (proto == IPPROTO_UDP && (offload_get16(p + ip_len + 4) != len - ip_len || !offload_get16(p + ip_len + 6)))
		return false;
	sum = offload_pseudo_sum(p, proto, len - ip_len);
	return offload_csum_fold(offload_csum_add(sum, p + ip_len, len - ip_len)) == 0xffff;
}

static uint8_t payload_buf[65536];

static void fill_payload(uint32_t seed)
{
	size_t i;

	for (i = 0; i < sizeof(payload_buf); i++) {
		seed = seed * 1103515245 + 12345;
		payload_buf[i] = (uint8_t)(seed >> 16);
	}
}

/* ---- checksums ---- */

static void test_csum_vectors(void **state)
{
	/* RFC 1071 section 3 example; the sum folds to 0xddf2. */
	static const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	/* A classic IPv4 header whose checksum is 0xb861. */
	uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	static const uint8_t odd[] = { 0x01 };

	(void)state;
	assert_int_equal(offload_csum_fold(offload_csum_add(0, rfc, sizeof(rfc))), 0xddf2);
	assert_int_equal((uint16_t)~offload_csum_fold(offload_csum_add(0, ip, 20)), 0xb861);
	offload_put16(ip + 10, 0xb861);
	assert_int_equal(offload_csum_fold(offload_csum_add(0, ip, 20)), 0xffff);
	assert_int_equal(offload_csum_fold(offload_csum_add(0, odd, 1)), 0x0100);
	assert_int_equal(offload_csum_fold(0x1ffffffffULL), 0x0001); /* 2^33 - 1 mod 0xffff */
}

static void test_csum_random(void **state)
{
	static uint8_t buf[4096 + 16];
	uint32_t seed = 7;
	int n;

	(void)state;
	fill_payload(99);
	memcpy(buf, payload_buf, sizeof(buf));
	for (n = 0; n < 2000; n++) {
		size_t off, len;

		seed = seed * 1664525 + 1013904223;
		off = (seed >> 8) % 16;
		seed = seed * 1664525 + 1013904223;
		len = (seed >> 8) % 4097;
		if (n < 64)
			memset(buf + off, 0xff, len); /* carries on every word */
		assert_int_equal(offload_csum_fold(offload_csum_add(0, buf + off, len)), naive_csum(buf + off, len));
		if (n < 64)
			memcpy(buf, payload_buf, sizeof(buf));
	}
}

/* ---- parse ---- */

static void test_parse_refusals(void **state)
{
	static uint8_t fr[MAXBUF];
	struct spec t4 = { .proto = IPPROTO_TCP, .flags = F_ACK, .seq = 1 };
	struct spec t6 = { .v6 = true, .proto = IPPROTO_TCP, .flags = F_ACK };
	struct offload_frame f;
	size_t n;
	uint16_t v;

	(void)state;
	fill_payload(1);
	/* Valid frames first. */
	n = build_frame(fr, &t4, payload_buf, 3000, 1000);
	assert_int_equal(offload_parse(fr, n, &f), 0);
	assert_int_equal(f.gso, OFFLOAD_GSO_TCP4);
	assert_int_equal(f.hdr_len, 40);
	assert_int_equal(f.n_segs, 3);
	assert_int_equal(offload_parse(fr, 5, &f), -EINVAL); /* shorter than the vnet header */
	assert_int_equal(offload_parse(fr, n - 1, &f), -EINVAL); /* truncated: IP length disagrees */
	fr[1] = 3; /* UFO */
	assert_int_equal(offload_parse(fr, n, &f), -EINVAL);
	fr[1] = 1 | 0x80; /* ECN */
	assert_int_equal(offload_parse(fr, n, &f), -EINVAL);
	fr[1] = 9;
	assert_int_equal(offload_parse(fr, n, &f), -EINVAL);
	fr[1] = 4; /* TCPV6 on an IPv4 packet */
	assert_int_equal(offload_parse(fr, n, &f), -EINVAL);
	fr[1] = 1;
	fr[0] = 0; /* GSO without NEEDS_CSUM */
	assert_int_equal(offload_parse(fr, n, &f), -EINVAL);
	fr[0] = 1;
	v = 21;
	memcpy(fr + 6, &v, 2); /* csum_start not the IP header length */
	assert_int_equal(offload_parse(fr, n, &f), -EINVAL);
	v = 20;
	memcpy(fr + 6, &v, 2);
	v = 6;
	memcpy(fr + 8, &v, 2); /* csum_offset of UDP on TCP */
	assert_int_equal(offload_parse(fr, n, &f), -EINVAL);
	v = 16;
	memcpy(fr + 8, &v, 2);
	v = 0;
	memcpy(fr + 4, &v, 2); /* gso_size 0 */
	assert_int_equal(offload_parse(fr, n, &f), -EINVAL);
	v = 2;
	memcpy(fr + 4, &v, 2); /* 1500 segments */
	assert_int_equal(offload_parse(fr, n, &f), -EINVAL);
	v = 10;
	memcpy(fr + 4, &v, 2); /* 300 segments: a small MTU */
	assert_int_equal(offload_parse(fr, n, &f), 0);
	assert_int_equal(f.n_segs, 300);
	v = 3000 / OFFLOAD_MAX_SEGS + 1;
	memcpy(fr + 4, &v, 2);
	assert_int_equal(offload_parse(fr, n, &f), 0);
	fr[OFFLOAD_VNET_HDR_LEN + 6] |= 0x20; /* MF */
	assert_int_equal(offload_parse(fr, n, &f), -EINVAL);

	/* No payload. */
	n = build_frame(fr, &t4, payload_buf, 0, 1000);
	assert_int_equal(offload_parse(fr, n, &f), -EINVAL);

	/* IPv6 with an extension header (hop-by-hop) in front of TCP. */
	n = build_frame(fr, &t6, payload_buf, 2000, 1000);
	assert_int_equal(offload_parse(fr, n, &f), 0);
	assert_int_equal(f.gso, OFFLOAD_GSO_TCP6);
	fr[OFFLOAD_VNET_HDR_LEN + 6] = 0;
	assert_int_equal(offload_parse(fr, n, &f), -EINVAL);

	/* Without GSO: any bytes, but the checksum place must be inside. */
	vnet_put(fr, 0, 0, 0, 0, 0, 0);
	assert_int_equal(offload_parse(fr, 10, &f), 0);
	assert_int_equal(f.pkt_len, 0);
	vnet_put(fr, 1, 0, 0, 0, 20, 16);
	assert_int_equal(offload_parse(fr, 10 + 38, &f), 0);
	assert_int_equal(offload_parse(fr, 10 + 37, &f), -EINVAL);
	vnet_put(fr, 1, 0, 0, 0, 0xffff, 0xffff);
	assert_int_equal(offload_parse(fr, 200, &f), -EINVAL);
}

static void test_complete_csum(void **state)
{
	static uint8_t fr[MAXBUF];
	struct spec specs[] = {
		{ .proto = IPPROTO_TCP, .flags = F_ACK | F_PSH, .opt_len = 12 },
		{ .proto = IPPROTO_UDP },
		{ .v6 = true, .proto = IPPROTO_UDP },
		{ .v6 = true, .proto = IPPROTO_TCP, .flags = F_SYN },
	};
	struct offload_frame f;
	size_t i, n;

	(void)state;
	fill_payload(2);
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		n = build_frame(fr, &specs[i], payload_buf, 1 + 333 * (uint32_t)i, 0);
		fr[1] = 0;
		assert_int_equal(offload_parse(fr, n, &f), 0);
		assert_false(ip_valid(f.pkt, f.pkt_len));
		offload_complete_csum(&f);
		assert_true(ip_valid(f.pkt, f.pkt_len));
	}
}

/* ---- segmentation ---- */

static const struct {
	struct spec s;
	uint32_t plen;
	uint16_t gso;
} seg_cases[] = {
	{ { .proto = IPPROTO_TCP, .flags = F_ACK | F_PSH | F_FIN | F_CWR, .seq = 0xfffff000, .id = 0xfffe }, 4000, 1448 },
	{ { .proto = IPPROTO_TCP, .flags = F_ACK, .opt_len = 12, .ip_opt = 8, .id = 7 }, 2896, 1448 },
	{ { .v6 = true, .proto = IPPROTO_TCP, .flags = F_ACK | F_PSH, .opt_len = 12, .seq = 5 }, 10000, 1208 },
	{ { .proto = IPPROTO_UDP, .id = 1 }, 3001, 1000 },
	{ { .v6 = true, .proto = IPPROTO_UDP }, 999, 1000 },
	{ { .proto = IPPROTO_TCP, .flags = F_ACK, .seq = 9 }, 64, 1 },
};

static void test_segment_table(void **state)
{
	static uint8_t fr[MAXBUF], out[65536];
	size_t c;

	(void)state;
	fill_payload(3);
	for (c = 0; c < sizeof(seg_cases) / sizeof(seg_cases[0]); c++) {
		const struct spec *s = &seg_cases[c].s;
		uint32_t plen = seg_cases[c].plen, gso = seg_cases[c].gso, off = 0;
		struct offload_frame f;
		size_t n = build_frame(fr, s, payload_buf, plen, (uint16_t)gso);
		unsigned int i;

		assert_int_equal(offload_parse(fr, n, &f), 0);
		assert_int_equal(f.hdr_len, hdr_bytes(s));
		assert_int_equal(f.n_segs, (plen + gso - 1) / gso);
		for (i = 0; i < f.n_segs; i++) {
			uint32_t len = offload_segment(&f, i, out), want = plen - off < gso ? plen - off : gso;
			const uint8_t *l4 = out + (f.hdr_len - (s->proto == IPPROTO_TCP ? 20 + s->opt_len : 8));
			bool last = i + 1 == f.n_segs;

			assert_int_equal(len, f.hdr_len + want);
			if (!ip_valid(out, len))
				fail_msg("case %zu segment %u: bad checksum or length", c, i);
			assert_memory_equal(out + f.hdr_len, payload_buf + off, want);
			if (!s->v6)
				assert_int_equal(offload_get16(out + 4), (uint16_t)(s->id + i));
			if (s->proto == IPPROTO_TCP) {
				assert_int_equal(offload_get32(l4 + 4), s->seq + off);
				assert_int_equal(l4[13] & (F_PSH | F_FIN), last ? s->flags & (F_PSH | F_FIN) : 0);
				assert_int_equal(l4[13] & F_CWR, i ? 0 : s->flags & F_CWR);
				assert_int_equal(l4[13] & F_ACK, s->flags & F_ACK);
				assert_memory_equal(l4 + 20, fr + OFFLOAD_VNET_HDR_LEN + (l4 - out) + 20, s->opt_len);
			}
			off += want;
		}
		assert_int_equal(off, plen);
		assert_int_equal(offload_segment(&f, f.n_segs, out), 0);
	}
}

/* ---- GRO ---- */

struct gro_case {
	const char *what;
	bool udp;
	unsigned int n;
	struct {
		uint32_t seq; /* TCP; for UDP only the payload size matters */
		uint16_t plen, id;
		uint8_t flags, owner, src_last;
		bool bad_csum;
	} p[6];
	unsigned int want_items;
	uint8_t want_members[6];
};

static const struct gro_case gro_cases[] = {
	{ "in order", false, 4, { { 0, 100, 1, F_ACK }, { 100, 100, 2, F_ACK }, { 200, 100, 3, F_ACK },
				  { 300, 50, 4, F_ACK | F_PSH } }, 1, { 4 } },
	{ "shorter closes", false, 3, { { 0, 100, 1, F_ACK }, { 100, 50, 2, F_ACK }, { 150, 100, 3, F_ACK } },
	  2, { 2, 1 } },
	{ "PSH closes", false, 3, { { 0, 100, 1, F_ACK }, { 100, 100, 2, F_ACK | F_PSH }, { 200, 100, 3, F_ACK } },
	  2, { 2, 1 } },
	{ "out of order", false, 3, { { 0, 100, 1, F_ACK }, { 200, 100, 2, F_ACK }, { 100, 100, 3, F_ACK } },
	  3, { 1, 1, 1 } },
	{ "ID gap", false, 2, { { 0, 100, 1, F_ACK }, { 100, 100, 3, F_ACK } }, 2, { 1, 1 } },
	{ "bad checksum", false, 3, { { 0, 100, 1, F_ACK }, { 100, 100, 2, F_ACK, 0, 0, true }, { 200, 100, 3, F_ACK } },
	  3, { 1, 1, 1 } },
	{ "SYN alone", false, 2, { { 0, 100, 1, F_SYN | F_ACK }, { 100, 100, 2, F_ACK } }, 2, { 1, 1 } },
	{ "RST alone", false, 2, { { 0, 100, 1, F_ACK }, { 100, 100, 2, F_RST | F_ACK } }, 2, { 1, 1 } },
	{ "FIN alone", false, 2, { { 0, 100, 1, F_ACK }, { 100, 100, 2, F_FIN | F_ACK } }, 2, { 1, 1 } },
	{ "owners", false, 4, { { 0, 100, 1, F_ACK }, { 100, 100, 2, F_ACK, 1 }, { 100, 100, 2, F_ACK },
				{ 200, 100, 3, F_ACK } }, 2, { 3, 1 } },
	{ "flows interleaved", false, 4, { { 0, 100, 1, F_ACK }, { 0, 100, 1, F_ACK, 0, 9 }, { 100, 100, 2, F_ACK },
					   { 100, 100, 2, F_ACK, 0, 9 } }, 2, { 2, 2 } },
	{ "larger joins not", false, 2, { { 0, 100, 1, F_ACK }, { 100, 101, 2, F_ACK } }, 2, { 1, 1 } },
	{ "empty", false, 2, { { 0, 0, 1, F_ACK }, { 0, 0, 2, F_ACK } }, 2, { 1, 1 } },
	{ "udp", true, 4, { { 0, 200, 1 }, { 0, 200, 2 }, { 0, 100, 3 }, { 0, 200, 4 } }, 2, { 3, 1 } },
	{ "udp larger", true, 2, { { 0, 200, 1 }, { 0, 300, 2 } }, 2, { 1, 1 } },
	{ "udp bad checksum", true, 2, { { 0, 200, 1 }, { 0, 200, 2, 0, 0, 0, true } }, 2, { 1, 1 } },
};

static void test_gro_table(void **state)
{
	static uint8_t pkts[6][2048];
	struct offload_gro_member out[OFFLOAD_MAX_SEGS];
	static struct offload_gro g;
	uint8_t vnet[OFFLOAD_VNET_HDR_LEN];
	int owners[2];
	size_t c;
	int v6;

	(void)state;
	fill_payload(4);
	for (v6 = 0; v6 < 2; v6++) {
		for (c = 0; c < sizeof(gro_cases) / sizeof(gro_cases[0]); c++) {
			const struct gro_case *gc = &gro_cases[c];
			unsigned int i, k;

			offload_gro_init(&g, true, gc->udp);
			for (i = 0; i < gc->n; i++) {
				struct spec s = { .v6 = v6, .proto = gc->udp ? IPPROTO_UDP : IPPROTO_TCP,
						  .flags = gc->p[i].flags, .seq = gc->p[i].seq, .ack = 77,
						  .id = v6 ? 0 : gc->p[i].id, .sport = 1000, .dport = 2000,
						  .src_last = (uint8_t)(1 + gc->p[i].src_last), .opt_len = 12 };
				uint32_t len = build(pkts[i], &s, payload_buf + gc->p[i].seq, gc->p[i].plen, false);

				if (gc->p[i].bad_csum)
					pkts[i][len - 1] ^= 1;
				assert_int_equal(offload_gro_add(&g, pkts[i], len, &owners[gc->p[i].owner], i), 0);
			}
			if (v6 && !strcmp(gc->what, "ID gap"))
				continue; /* IPv6 has no IDs */
			if (offload_gro_count(&g) != gc->want_items)
				fail_msg("%s (v6 %d): %u items, want %u", gc->what, v6, offload_gro_count(&g),
					 gc->want_items);
			for (k = 0; k < gc->want_items; k++) {
				unsigned int n = offload_gro_finish(&g, k, vnet, out);

				if (n != gc->want_members[k])
					fail_msg("%s (v6 %d): item %u has %u members, want %u", gc->what, v6, k, n,
						 gc->want_members[k]);
				assert_int_equal(vnet[0], n > 1 ? 1 : 0);
			}
		}
	}
}

static void fix_csums(uint8_t *p, uint32_t len, bool ip_too)
{
	bool v6 = (p[0] >> 4) == 6;
	uint16_t ip_len = v6 ? 40 : 20, c;
	uint8_t proto = v6 ? p[6] : p[9];
	uint8_t *field = p + ip_len + (proto == IPPROTO_TCP ? 16 : 6);

	if (!v6 && ip_too) {
		offload_put16(p + 10, 0);
		offload_put16(p + 10, (uint16_t)~naive_csum(p, 20));
	}
	offload_put16(field, 0);
	c = (uint16_t)~offload_csum_fold(offload_csum_add(offload_pseudo_sum(p, proto, len - ip_len), p + ip_len,
							  len - ip_len));
	offload_put16(field, c ? c : 0xffff);
}

/* One header field of the second packet differs: the two stay apart. */
static void test_gro_fields(void **state)
{
	static const struct {
		const char *what;
		bool v6;
		uint8_t proto;
		uint16_t at; /* byte offset in the packet */
		uint8_t xor;
		bool keep_ip_csum; /* leave the IPv4 header checksum wrong */
	} cases[] = {
		{ "none", false, IPPROTO_TCP, 0, 0 },
		{ "none v6", true, IPPROTO_TCP, 0, 0 },
		{ "none udp", false, IPPROTO_UDP, 0, 0 },
		{ "tos", false, IPPROTO_TCP, 1, 4 },
		{ "df", false, IPPROTO_TCP, 6, 0x40 },
		{ "ttl", false, IPPROTO_TCP, 8, 1 },
		{ "ip csum", false, IPPROTO_TCP, 8, 1, true },
		{ "src", false, IPPROTO_TCP, 13, 1 },
		{ "dst port", false, IPPROTO_TCP, 23, 1 },
		{ "ack", false, IPPROTO_TCP, 31, 1 },
		{ "urg", false, IPPROTO_TCP, 33, 0x20 },
		{ "ece", false, IPPROTO_TCP, 33, 0x40 },
		{ "option", false, IPPROTO_TCP, 45, 1 },
		{ "window", false, IPPROTO_TCP, 35, 1 },
		{ "window v6", true, IPPROTO_TCP, 55, 1 },
		{ "tclass", true, IPPROTO_TCP, 1, 0x10 },
		{ "flow label", true, IPPROTO_TCP, 3, 1 },
		{ "hop limit", true, IPPROTO_TCP, 7, 1 },
		{ "src port udp", false, IPPROTO_UDP, 20, 1 },
		{ "ttl udp", false, IPPROTO_UDP, 8, 1 },
	};
	static uint8_t a[512], b[512];
	static struct offload_gro g;
	size_t c;

	(void)state;
	fill_payload(6);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct spec s = { .v6 = cases[c].v6, .proto = cases[c].proto, .flags = F_ACK, .id = 1,
				  .opt_len = 12, .ack = 5 };
		uint32_t la = build(a, &s, payload_buf, 100, false), lb;

		s.seq = 100;
		s.id = 2;
		lb = build(b, &s, payload_buf + 100, 100, false);
		b[cases[c].at] ^= cases[c].xor;
		fix_csums(b, lb, !cases[c].keep_ip_csum);
		offload_gro_init(&g, true, true);
		assert_int_equal(offload_gro_add(&g, a, la, NULL, 0), 0);
		assert_int_equal(offload_gro_add(&g, b, lb, NULL, 1), 0);
		if (offload_gro_count(&g) != (cases[c].xor ? 2u : 1u))
			fail_msg("%s: %u items", cases[c].what, offload_gro_count(&g));
	}
}

/*
 * A packet of the same two hosts that cannot be told apart by flow (here an
 * IPv4 fragment) closes the open super-packet: the segment after it must not
 * be written before it.
 */
static void test_gro_unclassified_closes(void **state)
{
	static uint8_t a[3][512];
	struct spec s = { .proto = IPPROTO_TCP, .flags = F_ACK, .id = 1, .ack = 5 };
	static struct offload_gro g;
	uint8_t vnet[OFFLOAD_VNET_HDR_LEN];
	struct offload_gro_member out[OFFLOAD_MAX_SEGS];
	uint32_t l[3];

	(void)state;
	fill_payload(8);
	l[0] = build(a[0], &s, payload_buf, 100, false);
	s.id = 2;
	l[1] = build(a[1], &s, payload_buf, 100, false);
	a[1][6] |= 0x20; /* more fragments */
	fix_csums(a[1], l[1], true);
	s.id = 3;
	s.seq = 100;
	l[2] = build(a[2], &s, payload_buf + 100, 100, false);
	offload_gro_init(&g, true, true);
	assert_int_equal(offload_gro_add(&g, a[0], l[0], NULL, 0), 0);
	assert_int_equal(offload_gro_add(&g, a[1], l[1], NULL, 1), 0);
	assert_int_equal(offload_gro_add(&g, a[2], l[2], NULL, 2), 0);
	assert_int_equal(offload_gro_count(&g), 3);
	assert_int_equal(offload_gro_finish(&g, 0, vnet, out), 1);
	assert_int_equal(out[0].user, 0);
	assert_int_equal(offload_gro_finish(&g, 1, vnet, out), 1);
	assert_int_equal(out[0].user, 1);
	assert_int_equal(offload_gro_finish(&g, 2, vnet, out), 1);
	assert_int_equal(out[0].user, 2);
}

/* UDP is left alone unless asked for, and so is TCP. */
static void test_gro_disabled(void **state)
{
	static uint8_t a[2][512];
	struct spec s = { .proto = IPPROTO_UDP, .id = 1 };
	static struct offload_gro g;
	uint32_t la, lb;

	(void)state;
	la = build(a[0], &s, payload_buf, 100, false);
	s.id = 2;
	lb = build(a[1], &s, payload_buf, 100, false);
	offload_gro_init(&g, true, false);
	offload_gro_add(&g, a[0], la, NULL, 0);
	offload_gro_add(&g, a[1], lb, NULL, 1);
	assert_int_equal(offload_gro_count(&g), 2);
	offload_gro_init(&g, false, true);
	offload_gro_add(&g, a[0], la, NULL, 0);
	offload_gro_add(&g, a[1], lb, NULL, 1);
	assert_int_equal(offload_gro_count(&g), 1);
	offload_gro_reset(&g);
	assert_int_equal(offload_gro_count(&g), 0);
}

static void test_gro_full(void **state)
{
	static uint8_t junk[4];
	static struct offload_gro g;
	int i;

	(void)state;
	offload_gro_init(&g, true, true);
	for (i = 0; i < OFFLOAD_GRO_MAX; i++)
		assert_int_equal(offload_gro_add(&g, junk, sizeof(junk), NULL, (uint32_t)i), 0);
	assert_int_equal(offload_gro_add(&g, junk, sizeof(junk), NULL, 0), -ENOSPC);
}

/*
 * The round trip: a kernel super-packet segmented, each segment valid, then
 * coalesced again and written out as TUN would read it: same bytes, a
 * partial checksum that completes to a valid one.
 */
static void test_roundtrip_random(void **state)
{
	static uint8_t fr[MAXBUF], segs[OFFLOAD_MAX_SEGS][65536 / 8 + 200], whole[MAXBUF];
	struct offload_gro_member out[OFFLOAD_MAX_SEGS];
	static struct offload_gro g;
	uint32_t seed = 12345;
	int owner, iter, merged = 0;

	(void)state;
	fill_payload(5);
#define RND() (seed = seed * 1664525 + 1013904223, seed >> 8)
	for (iter = 0; iter < 600; iter++) {
		struct spec s = { .v6 = RND() & 1, .proto = RND() & 1 ? IPPROTO_UDP : IPPROTO_TCP,
				  .flags = F_ACK | (RND() & 1 ? F_PSH : 0), .seq = RND() * 4099, .ack = RND(),
				  .id = (uint16_t)RND(), .sport = (uint16_t)RND(), .dport = 53 };
		uint16_t gso = (uint16_t)(1 + RND() % 8000);
		uint32_t plen, i, n, off = 0, total = 0, cap;
		struct offload_frame f;
		unsigned int k, members;
		size_t flen;
		uint32_t poff = RND() % 1000;
		uint8_t vnet[OFFLOAD_VNET_HDR_LEN];
		uint16_t cs, co, hl, gs;
		uint64_t sum;

		if (s.proto == IPPROTO_TCP)
			s.opt_len = (uint8_t)(4 * (RND() % 11));
		if (!s.v6)
			s.ip_opt = (uint8_t)(4 * (RND() % 3));
		cap = 65535 - (s.v6 ? 0 : hdr_bytes(&s)) - 200;
		if ((uint32_t)gso * OFFLOAD_MAX_SEGS < cap)
			cap = (uint32_t)gso * OFFLOAD_MAX_SEGS;
		if (cap > 8000 + gso * 8u)
			cap = 8000 + gso * 8u;
		plen = 1 + RND() % cap;
		if (gso > sizeof(segs[0]) - 200)
			gso = sizeof(segs[0]) - 200;
		if ((plen + gso - 1) / gso > OFFLOAD_MAX_SEGS)
			plen = gso * OFFLOAD_MAX_SEGS;
		flen = build_frame(fr, &s, payload_buf + poff, plen, gso);
		assert_int_equal(offload_parse(fr, flen, &f), 0);
		n = f.n_segs;
		offload_gro_init(&g, true, true);
		for (i = 0; i < n; i++) {
			uint32_t len = offload_segment(&f, i, segs[i]);

			assert_true(len <= (uint32_t)f.hdr_len + f.gso_size);
			if (!ip_valid(segs[i], len))
				fail_msg("iter %d segment %u: invalid", iter, i);
			assert_int_equal(offload_gro_add(&g, segs[i], len, &owner, i), 0);
		}
		/* IPv4 with options is never coalesced; all else comes back as one. */
		if (!s.v6 && s.ip_opt) {
			assert_int_equal(offload_gro_count(&g), n);
			continue;
		}
		/* TCP with PSH: only the last segment had it, so one item still. */
		assert_int_equal(offload_gro_count(&g), 1);
		members = offload_gro_finish(&g, 0, vnet, out);
		assert_int_equal(members, n);
		for (k = 0; k < members; k++) {
			uint32_t l;
			uint8_t *p = segs[out[k].user];

			if (k == 0) {
				/* The head's own length before the rewrite: hdr + first payload. */
				l = f.hdr_len + (plen < gso ? plen : gso);
			} else {
				l = (s.v6 ? 40 + offload_get16(p + 4) : offload_get16(p + 2));
				assert_int_equal(out[k].skip, f.hdr_len);
			}
			assert_int_equal(out[k].user, k);
			memcpy(whole + off, p + out[k].skip, l - out[k].skip);
			off += l - out[k].skip;
		}
		total = off;
		assert_int_equal(total, f.pkt_len);
		assert_memory_equal(whole + f.hdr_len, payload_buf + poff, plen);
		if (members == 1) {
			assert_true(ip_valid(whole, total));
			continue;
		}
		merged++;
		memcpy(&hl, vnet + 2, 2);
		memcpy(&gs, vnet + 4, 2);
		memcpy(&cs, vnet + 6, 2);
		memcpy(&co, vnet + 8, 2);
		assert_int_equal(vnet[0], 1);
		assert_int_equal(vnet[1], s.proto == IPPROTO_UDP ? 5 : s.v6 ? 4 : 1);
		assert_int_equal(hl, f.hdr_len);
		assert_int_equal(gs, gso);
		assert_int_equal(cs, f.ip_len);
		assert_int_equal(co, s.proto == IPPROTO_TCP ? 16 : 6);
		if (s.proto == IPPROTO_TCP)
			assert_int_equal(whole[f.ip_len + 13], s.flags);
		/* What the kernel does with CHECKSUM_PARTIAL. */
		sum = offload_csum_add(0, whole + cs, total - cs);
		offload_put16(whole + cs + co, (uint16_t)~offload_csum_fold(sum));
		if (!ip_valid(whole, total))
			fail_msg("iter %d: coalesced packet invalid", iter);
		/* And it is the original super-packet, checksum aside. */
		memcpy(whole + cs + co, fr + OFFLOAD_VNET_HDR_LEN + cs + co, 2);
		assert_memory_equal(whole, fr + OFFLOAD_VNET_HDR_LEN, total);
	}
#undef RND
	assert_true(merged > 200); /* the loop did test coalescing */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_vectors),
		cmocka_unit_test(test_csum_random),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_complete_csum),
		cmocka_unit_test(test_segment_table),
		cmocka_unit_test(test_gro_table),
		cmocka_unit_test(test_gro_fields),
		cmocka_unit_test(test_gro_disabled),
		cmocka_unit_test(test_gro_unclassified_closes),
		cmocka_unit_test(test_gro_full),
		cmocka_unit_test(test_roundtrip_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
