/* SPDX-License-Identifier: MIT */
/*
 * TUN offloads (IFF_VNET_HDR, TUNSETOFFLOAD): the kernel hands wgud TCP and
 * UDP super-packets of up to 64 KiB and takes them back the same way.
 *
 * Outbound, a frame read from TUN is a struct virtio_net_hdr then an IP
 * packet. offload_parse() checks the two against each other; a frame without
 * GSO may still carry a partial checksum (offload_complete_csum()), a GSO
 * frame is cut into MTU-sized segments, each a packet of its own with correct
 * headers and checksums (offload_segment()).
 *
 * Inbound, decrypted packets of one receive batch are coalesced as the
 * kernel's GRO would (offload_gro_*): same peer, same flow and IP header
 * fields, in-order TCP sequence, same options, equal segment sizes (the last
 * may be shorter), only ACK/PSH flags, valid checksums. Each super-packet is
 * written to TUN in one write: its virtio_net_hdr, the first packet whole
 * (headers rewritten for the total), then the payloads of the others.
 *
 * Pure functions over bytes: no allocation, no system calls, no globals.
 * Everything here parses bytes from the local kernel (outbound) or from an
 * authenticated peer (inbound) and must hold for any bytes at all: it is
 * fuzzed (tests/fuzz/fuzz_offload.c).
 *
 * The virtio_net_hdr fields are in the host's byte order (legacy virtio, the
 * TUN default on a little-endian host).
 */
#ifndef WGUD_OFFLOAD_H
#define WGUD_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFFLOAD_VNET_HDR_LEN 10 /* sizeof(struct virtio_net_hdr) */
#define OFFLOAD_MAX_SEGS 64     /* segments per coalesced super-packet, and per UDP GSO send */
/* Segments of one super-packet from TUN: a 64 KiB one at a 576-byte MTU has about 120. */
#define OFFLOAD_MAX_TSO_SEGS 1400 /* 64 KiB at the smallest MSS Linux uses, 48 */
#define OFFLOAD_MAX_PACKET 65535

/* ---- header fields in network order, and checksums (RFC 1071), shared by the paths and the tests ---- */

static inline uint16_t offload_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void offload_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t offload_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void offload_put32(uint8_t *p, uint32_t v)
{
	offload_put16(p, (uint16_t)(v >> 16));
	offload_put16(p + 2, (uint16_t)v);
}

/* Ones' complement sum of len bytes added to sum, not folded. */
uint64_t offload_csum_add(uint64_t sum, const void *data, size_t len);
/* Folded to 16 bits, not complemented. */
uint16_t offload_csum_fold(uint64_t sum);
/* The pseudo-header sum for an L4 checksum: addresses of the IP packet at ip (4 or 6), proto and L4 length. */
uint64_t offload_pseudo_sum(const uint8_t *ip, uint8_t proto, uint32_t l4_len);

/* ---- outbound: frames read from TUN ---- */

enum offload_gso { OFFLOAD_GSO_NONE, OFFLOAD_GSO_TCP4, OFFLOAD_GSO_TCP6, OFFLOAD_GSO_UDP4, OFFLOAD_GSO_UDP6 };

struct offload_frame {
	uint8_t *pkt; /* the IP packet, right after the virtio_net_hdr */
	uint32_t pkt_len;
	enum offload_gso gso;
	bool needs_csum;      /* VIRTIO_NET_HDR_F_NEEDS_CSUM: the L4 checksum holds only the pseudo-header sum */
	uint16_t csum_start;  /* from pkt */
	uint16_t csum_offset; /* from csum_start */
	uint16_t ip_len;      /* IP header bytes (IPv4 with options, IPv6 40) */
	uint16_t hdr_len;     /* IP + TCP/UDP header bytes, from the packet itself (never from the vnet header) */
	uint16_t gso_size;    /* payload bytes per segment; 0 without GSO */
	uint16_t n_segs;      /* 1 without GSO */
};

/*
 * Checks a frame of frame_len bytes: a virtio_net_hdr the kernel would
 * write, and a packet it describes. 0, or -EINVAL for: a frame shorter than
 * the header; unknown gso_type or the ECN bit; GSO without NEEDS_CSUM;
 * csum_start/csum_offset outside the packet; for GSO, a packet that is not
 * IPv4/IPv6 + TCP/UDP as gso_type says (IPv6 extension headers refused),
 * IP lengths that disagree with the bytes, csum_start other than the IP
 * header length, gso_size 0, no payload, or more than
 * OFFLOAD_MAX_TSO_SEGS segments. A frame without GSO and without NEEDS_CSUM
 * is any bytes (the packet path checks them as it checks any packet).
 */
int offload_parse(uint8_t *frame, size_t frame_len, struct offload_frame *f);

/*
 * A frame without GSO but with NEEDS_CSUM: completes its L4 checksum in
 * place (the sum from csum_start to the end, stored complemented at
 * csum_start + csum_offset; a UDP checksum of 0 becomes 0xffff).
 */
void offload_complete_csum(const struct offload_frame *f);

/*
 * Segment i (0 <= i < n_segs) of a GSO frame, written to out (room for
 * hdr_len + gso_size bytes): the headers with this segment's IP total or
 * payload length, IPv4 ID + i and header checksum, TCP sequence + i *
 * gso_size, FIN and PSH only on the last segment and CWR only on the first,
 * the UDP length, and the full TCP/UDP checksum. Returns its length; the
 * last segment may be shorter.
 */
uint32_t offload_segment(const struct offload_frame *f, unsigned int i, uint8_t *out);

/* ---- inbound: coalescing decrypted packets (GRO) ---- */

#define OFFLOAD_GRO_MAX 256 /* packets per batch */

struct offload_gro_member {
	uint32_t user; /* the caller's handle for the packet */
	uint16_t skip; /* bytes of this packet before what goes into the super-packet: 0 for the first */
	uint16_t next; /* internal: the next member, or OFFLOAD_GRO_MAX */
};

struct offload_gro_item {
	uint8_t *head; /* the first packet; its headers are rewritten at finish */
	const void *owner;
	uint32_t total_len; /* IP packet length of the super-packet so far */
	uint32_t next_seq;  /* TCP: the sequence number the next member must have */
	uint16_t first, last; /* members */
	uint16_t n_members;
	uint16_t seg_size; /* payload bytes of the first member */
	uint16_t hdr_len, ip_len;
	uint16_t next_ip_id; /* IPv4: the ID the next member must have */
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP; 0: a packet passed alone */
	bool v6;
	bool closed; /* a shorter segment or PSH came: nothing more joins */
	bool psh;    /* TCP: the last member had PSH (set again on the head at finish) */
};

struct offload_gro {
	bool tcp, udp; /* what may be coalesced: TCP with TSO accepted, UDP with USO */
	uint16_t n_members, n_items;
	struct offload_gro_member members[OFFLOAD_GRO_MAX];
	struct offload_gro_item items[OFFLOAD_GRO_MAX];
};

/* Empty, coalescing TCP and/or UDP. */
void offload_gro_init(struct offload_gro *g, bool tcp, bool udp);
/* Empty again, same settings, for the next batch. */
void offload_gro_reset(struct offload_gro *g);

/*
 * Adds a decrypted IP packet of exactly len bytes (its IP length), owned by
 * owner (a peer: packets of different owners never merge), with the
 * caller's handle user. It joins an open super-packet of its flow where the
 * rules allow, else starts one (or stands alone when it cannot be
 * coalesced at all). Bytes are not modified here. 0, or -ENOSPC when the
 * batch already holds OFFLOAD_GRO_MAX packets (finish and reset first).
 */
int offload_gro_add(struct offload_gro *g, uint8_t *pkt, uint32_t len, const void *owner, uint32_t user);

/* The super-packets of the batch (single packets count as one each), in the order their first packets came. */
static inline unsigned int offload_gro_count(const struct offload_gro *g)
{
	return g->n_items;
}

/*
 * Finishes super-packet k: for more than one member, rewrites the first
 * packet's IP length (and IPv4 header checksum), its TCP flags (PSH if the
 * last member had it) or UDP length, and its L4 checksum to the
 * pseudo-header sum over the total length, and fills vnet with NEEDS_CSUM,
 * the GSO type and size, hdr_len, csum_start and csum_offset; for one
 * member, vnet is all zero and the packet untouched. Writes the members in
 * order to out (room for OFFLOAD_MAX_SEGS) and returns how many there are.
 */
unsigned int offload_gro_finish(struct offload_gro *g, unsigned int k, uint8_t vnet[OFFLOAD_VNET_HDR_LEN],
				struct offload_gro_member *out);

#endif
