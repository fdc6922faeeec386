/* SPDX-License-Identifier: MIT */
/*
 * A peer: its handshake, up to three keypairs (previous, current, next, as
 * whitepaper 6.1 and the kernel keep them; rotation in keypair.c), timers,
 * endpoint, the bounded queue of packets staged while no session exists,
 * and counters. Life and configuration are in peer.c; the device (device.c)
 * holds it in its tables. Touched only from the event loop thread.
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

/*
 * The last error in sending to the peer: an ICMP error that came back on the
 * UDP socket (IP_RECVERR), or a send the kernel refused. Set by
 * device_send_error, read by ctrl/ (show, the log); loop thread only.
 */
enum wg_send_error_origin {
	WG_SEND_ERROR_LOCAL, /* the send itself failed (no route, a firewall's EPERM, ...) */
	WG_SEND_ERROR_ICMP,  /* an ICMP error for a datagram sent to the peer */
	WG_SEND_ERROR_ICMP6,
};

struct wg_send_error {
	int err; /* errno; 0: none since the peer was added */
	enum wg_send_error_origin origin;
	uint8_t icmp_type, icmp_code;
	union wg_sockaddr offender; /* who sent the ICMP error (sa_family 0: not known) */
	uint64_t at_ns;             /* monotonic, when last seen */
	int64_t at_sec;             /* wall clock, the same moment */
	bool said; /* an event told it since the last completed handshake: the same errno is not told again */
};

struct wg_staged {
	uint32_t id; /* pool buffer */
	uint32_t off, len;
};

struct wg_peer {
	struct wg_device *dev;
	struct wg_peer *hash_next; /* the device's by-public-key chain */
	size_t dev_slot;           /* where it sits in dev->peers */
	struct noise_handshake hs;
	struct cookie_maker maker;
	struct wg_index_entry hs_entry;
	uint32_t hs_index; /* registered while hs is in flight; 0 = none */
	bool hs_index_valid;

	struct keypairs keypairs;

	struct timers timers;
	uint64_t last_sent_initiation_ns;
	bool sent_initiation_ever;
	/*
	 * Initiations sent since the last completed handshake. Unlike the
	 * timers' attempts, which new traffic starts again from 0 (as the
	 * kernel's do), this says how long nobody has answered.
	 */
	uint32_t unanswered;

	union wg_sockaddr endpoint;
	bool has_endpoint;
	uint16_t persistent_keepalive;

	struct wg_staged staged[MAX_STAGED_PACKETS];
	unsigned int staged_head, staged_len;

	struct wg_send_error send_error;

	uint64_t rx_bytes, tx_bytes;
	int64_t last_handshake_sec, last_handshake_nsec; /* wall clock, for the UAPI */
	uint64_t deadline; /* cached timers_next_deadline() */
};

/* Life (device_add_peer / device_remove_peer call these; they put the peer in the device's tables). */
struct wg_peer *peer_new(struct wg_device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN]);
void peer_free(struct wg_peer *peer);
/* At device_uninit, after every peer was freed. */
void peer_slabs_free(struct wg_device *dev);

/* Configuration, from ctrl/ on the loop thread. */
void peer_set_psk(struct wg_peer *peer, const uint8_t *psk);
void peer_set_endpoint(struct wg_peer *peer, const union wg_sockaddr *addr);
void peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t interval, uint64_t now_ns);
void peer_clear_allowedips(struct wg_peer *peer);
int peer_add_allowedip(struct wg_peer *peer, int family, const uint8_t *addr, uint8_t cidr);

#endif
