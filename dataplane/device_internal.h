/* SPDX-License-Identifier: MIT */
/*
 * Shared by device.c, peer.c, send.c and receive.c; not for ctrl/.
 * Who calls whom: device.c -> peer.c -> send.c; receive.c -> peer.c,
 * send.c, device.c; send.c -> peer.c; peer.c -> device.c only to seal what
 * is queued before a keypair changes (device_seal_pending). device.c never
 * calls send.c and send.c never calls device.c (the inline helpers below
 * and the output queue aside).
 */
#ifndef WGUD_DEVICE_INTERNAL_H
#define WGUD_DEVICE_INTERNAL_H

#include <string.h>

#include "device.h"

/* The address bytes (ip then port) that cookies are bound to; out holds 18. */
static inline size_t device_cookie_source(uint8_t out[18], const union wg_sockaddr *a)
{
	if (a->sa.sa_family == AF_INET6) {
		memcpy(out, &a->sin6.sin6_addr, 16);
		memcpy(out + 16, &a->sin6.sin6_port, 2);
		return 18;
	}
	memcpy(out, &a->sin.sin_addr, 4);
	memcpy(out + 4, &a->sin.sin_port, 2);
	return 6;
}

static inline void device_drop(struct wg_device *dev, enum wg_drop_reason why)
{
	dev->drops[why]++;
}

/* Re-read a peer's earliest timer after an event changed it. */
static inline void device_note_deadline(struct wg_device *dev, struct wg_peer *peer)
{
	peer->deadline = timers_next_deadline(&peer->timers);
	if (peer->deadline < dev->next_deadline)
		dev->next_deadline = peer->deadline;
}

/* peer.c: the peer's handshake index, its keypairs, its staged queue, its timers' effects. */
void peer_zero_keys(struct wg_peer *peer);
void peer_forget_handshake(struct wg_peer *peer);
int peer_register_handshake_index(struct wg_peer *peer, uint32_t *index);
void peer_install_session(struct wg_peer *peer, const struct noise_session_keys *keys, uint64_t now_ns);
bool peer_confirm_keypair(struct wg_peer *peer, struct keypair *kp);
void peer_drop_staged(struct wg_peer *peer, enum wg_drop_reason why);
void peer_tick(struct wg_peer *peer, uint64_t now_ns);

/* send.c: everything that leaves towards a peer. */
void peer_send_initiation(struct wg_peer *peer, uint64_t now_ns, bool is_retry);
void peer_send_keepalive(struct wg_peer *peer, uint64_t now_ns);
void peer_send_staged(struct wg_peer *peer, uint64_t now_ns);
/* Queue a handshake message (already in pool buffer id) to the peer's endpoint, with the timer hooks of a send. */
void peer_send_handshake_message(struct wg_peer *peer, uint32_t id, uint32_t len, uint64_t now_ns);
/*
 * Answer the initiation the peer's handshake just consumed: the response goes
 * into pool buffer id (consumed on success), the session is installed as
 * next. 0, or -errno with id still the caller's and the handshake forgotten.
 */
int peer_send_response(struct wg_peer *peer, uint32_t id, uint64_t now_ns);
/* Under load: answer a handshake message from src with a cookie (whitepaper 5.4.7). */
void device_send_cookie_reply(struct wg_device *dev, const uint8_t *msg, size_t len, const union wg_sockaddr *src,
			      uint64_t now_ns);

uint64_t device_wall_ns(void);

#endif
