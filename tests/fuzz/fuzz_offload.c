// SPDX-License-Identifier: MIT
/*
 * TUN offloads: a frame as the kernel would hand it over (virtio_net_hdr and
 * packet) is parsed, its checksum completed or its segments cut, each into a
 * buffer of exactly the promised size; the segments, and the input cut into
 * packets, are then coalesced and every super-packet checked for sane
 * lengths and members.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (OFFLOAD_VNET_HDR_LEN + OFFLOAD_MAX_PACKET + 64)
#define MAX_SPLIT 16

static uint16_t ip_total(const uint8_t *p)
{
	if ((p[0] >> 4) == 6)
		return (uint16_t)(40 + (p[4] << 8 | p[5]));
	return (uint16_t)(p[2] << 8 | p[3]);
}

/* Finishes every super-packet and checks it against the packets put in. */
static void check_gro(struct offload_gro *g, uint8_t **pkts, const uint32_t *lens, unsigned int n)
{
	struct offload_gro_member out[OFFLOAD_MAX_SEGS];
	uint8_t vnet[OFFLOAD_VNET_HDR_LEN];
	bool seen[OFFLOAD_GRO_MAX] = { false };
	unsigned int k, j, members = 0;

	if (offload_gro_count(g) > n || g->n_members != n)
		abort();
	for (k = 0; k < offload_gro_count(g); k++) {
		uint32_t total = 0;
		unsigned int m = offload_gro_finish(g, k, vnet, out);

		if (!m || m > OFFLOAD_MAX_SEGS || out[0].skip)
			abort();
		for (j = 0; j < m; j++) {
			if (out[j].user >= n || seen[out[j].user] || out[j].skip > lens[out[j].user])
				abort();
			seen[out[j].user] = true;
			total += lens[out[j].user] - out[j].skip;
		}
		members += m;
		if (m == 1) {
			for (j = 0; j < OFFLOAD_VNET_HDR_LEN; j++)
				if (vnet[j])
					abort();
			continue;
		}
		if (vnet[0] != 1 || total > OFFLOAD_MAX_PACKET || total != g->items[k].total_len ||
		    ip_total(pkts[out[0].user]) != total)
			abort();
	}
	if (members != n)
		abort();
}

/* Cuts the bytes after the frame into packets: two bytes of length and one of owner each. */
static void gro_split(const uint8_t *data, size_t size)
{
	static struct offload_gro g;
	uint8_t *pkts[MAX_SPLIT] = { NULL };
	uint32_t lens[MAX_SPLIT] = { 0 };
	static int owners[2];
	unsigned int n = 0, i;
	size_t pos = 1;

	if (!size)
		return;
	offload_gro_init(&g, data[0] & 1, data[0] & 2);
	while (n < MAX_SPLIT && pos + 3 <= size) {
		size_t len = (size_t)(data[pos] | data[pos + 1] << 8), owner = data[pos + 2] & 1;

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		/* An exact-size copy, so that any read past the end is caught. */
		pkts[n] = malloc(len ? len : 1);
		if (!pkts[n])
			abort();
		memcpy(pkts[n], data + pos, len);
		lens[n] = (uint32_t)len;
		if (offload_gro_add(&g, pkts[n], lens[n], &owners[owner], n))
			abort();
		n++;
		pos += len;
	}
	check_gro(&g, pkts, lens, n);
	for (i = 0; i < n; i++)
		free(pkts[i]);
}

static void segment_all(const struct offload_frame *f, bool udp)
{
	static struct offload_gro g;
	static uint8_t *segs[OFFLOAD_MAX_TSO_SEGS];
	static uint32_t lens[OFFLOAD_MAX_TSO_SEGS];
	size_t room = (size_t)f->hdr_len + f->gso_size;
	unsigned int i, fed = 0;

	if (!f->n_segs || f->n_segs > OFFLOAD_MAX_TSO_SEGS)
		abort();
	offload_gro_init(&g, !udp, udp);
	for (i = 0; i < f->n_segs; i++) {
		segs[i] = malloc(room);
		if (!segs[i])
			abort();
		lens[i] = offload_segment(f, i, segs[i]);
		if (lens[i] > room || lens[i] <= f->hdr_len)
			abort();
		/* A receive batch holds OFFLOAD_GRO_MAX packets: the rest is refused, not lost. */
		if (i < OFFLOAD_GRO_MAX) {
			if (offload_gro_add(&g, segs[i], lens[i], NULL, i))
				abort();
			fed++;
		} else if (offload_gro_add(&g, segs[i], lens[i], NULL, i) != -ENOSPC) {
			abort();
		}
	}
	check_gro(&g, segs, lens, fed);
	for (i = 0; i < f->n_segs; i++)
		free(segs[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[MAX_INPUT];
	struct offload_frame f;

	if (size > MAX_INPUT)
		return 0;
	memcpy(frame, data, size);
	if (!offload_parse(frame, size, &f)) {
		if (f.pkt != frame + OFFLOAD_VNET_HDR_LEN || f.pkt_len != size - OFFLOAD_VNET_HDR_LEN)
			abort();
		if (f.gso == OFFLOAD_GSO_NONE)
			offload_complete_csum(&f);
		else
			segment_all(&f, f.gso == OFFLOAD_GSO_UDP4 || f.gso == OFFLOAD_GSO_UDP6);
	}
	gro_split(data, size);
	return 0;
}
