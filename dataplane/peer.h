/* SPDX-License-Identifier: MIT */
/*
 * A peer: its handshake, up to three keypairs (previous, current, next, as
 * whitepaper 6.1 and the kernel keep them), timers, endpoint, the bounded
 * queue of packets staged while no session exists, and counters.
 * Owned by the device; touched only from the event loop thread.
 */
#ifndef WGUD_PEER_H
#define WGUD_PEER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cookie.h"
#include "keypair.h"
#include "noise.h"
#include "timers.h"

struct wg_device;
struct wg_peer;

union wg_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

/* What a receiver index names: a handshake in progress or a keypair. */
enum wg_index_kind { WG_INDEX_HANDSHAKE = 1, WG_INDEX_KEYPAIR = 2 };

struct wg_index_entry {
	enum wg_index_kind kind;
	struct wg_peer *peer;
	struct keypair *kp; /* WG_INDEX_KEYPAIR only */
};

struct wg_keyslot {
	struct keypair kp;
	struct wg_index_entry entry;
	bool used;
};

struct wg_staged {
	uint32_t id; /* pool buffer */
	uint32_t off, len;
};

struct wg_peer {
	struct wg_device *dev;
	struct noise_handshake hs;
	struct cookie_maker maker;
	struct wg_index_entry hs_entry;
	uint32_t hs_index; /* registered while hs is in flight; 0 = none */
	bool hs_index_valid;

	struct wg_keyslot slots[3];
	struct wg_keyslot *current, *previous, *next;

	struct timers timers;
	uint64_t last_sent_initiation_ns;
	bool sent_initiation_ever;

	union wg_sockaddr endpoint;
	bool has_endpoint;
	uint16_t persistent_keepalive;

	struct wg_staged staged[MAX_STAGED_PACKETS];
	unsigned int staged_head, staged_len;

	uint64_t rx_bytes, tx_bytes;
	int64_t last_handshake_sec, last_handshake_nsec; /* wall clock, for the UAPI */
	uint64_t deadline; /* cached timers_next_deadline() */
};

#endif
