/* SPDX-License-Identifier: MIT */
/*
 * Per-peer timers (whitepaper section 6) as a pure state machine: the event
 * loop reports what happened through the hooks below, calls timers_tick() no
 * later than timers_next_deadline(), and carries out the returned actions.
 * Nothing here sleeps, reads a clock or sends: every function takes the
 * monotonic time in nanoseconds, and any value, 0 included, is a valid "now".
 *
 * Where the hooks go (the reference implementations' call sites):
 *   sending an initiation:  _traversal, _any_authenticated_packet_sent,
 *                           then _handshake_initiated
 *   sending a response:     _session_derived, _traversal, _any_..._sent
 *   sending data/keepalive: _traversal, _any_..._sent, then _data_sent if at
 *                           least one packet was not a keepalive
 *   receiving a response:   _session_derived, _handshake_complete, then
 *                           send a keepalive (or the staged packets)
 *   receiving a valid initiation, response or data packet (keepalives
 *   included; cookie replies are not authenticated and touch no timer):
 *                           _any_..._received, _traversal
 *   first data on a new keypair (key confirmation): _handshake_complete
 *   receiving data that is not a keepalive: _data_received
 *   asking for a handshake for any reason but the retransmit timer (staged
 *   packets without a keypair, rekey after time or messages):
 *                           _handshake_requested
 *
 * Threading: a struct timers belongs to the thread that runs its peer's
 * event loop; nothing here locks.
 */
#ifndef WGUD_TIMERS_H
#define WGUD_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

/* A deadline that is never reached: the timer is not armed. */
#define TIMERS_NEVER UINT64_MAX

enum timers_id {
	TIMERS_RETRANSMIT_HANDSHAKE,
	TIMERS_PASSIVE_KEEPALIVE,	/* whitepaper 6.5 */
	TIMERS_NEW_HANDSHAKE,
	TIMERS_ZERO_KEY_MATERIAL,
	TIMERS_PERSISTENT_KEEPALIVE,
	TIMERS_COUNT
};

/*
 * What timers_tick() asks the event loop to do; several may be set at once.
 * An initiation asked for here is already accounted for: send it without
 * calling timers_handshake_requested() (the sender's REKEY_TIMEOUT rate limit
 * still applies). A keepalive with no usable keypair is staged and starts a
 * handshake, as any staged packet does.
 */
enum timers_action {
	TIMERS_SEND_INITIATION = 1 << 0,
	TIMERS_SEND_KEEPALIVE = 1 << 1,
	TIMERS_DROP_STAGED = 1 << 2,	/* gave up on the handshake: purge staged packets */
	TIMERS_ZERO_KEYS = 1 << 3,	/* wipe all keypairs and the handshake state */
	TIMERS_CLEAR_SRC = 1 << 4,	/* forget the endpoint's cached source address */
};

struct timers {
	uint64_t deadline[TIMERS_COUNT];	/* TIMERS_NEVER when not armed */
	/* Retries of the current handshake; reset by completion and by a fresh request. */
	unsigned int handshake_attempts;
	uint16_t persistent_keepalive_interval;	/* seconds, 0 = off */
	/* Data arrived while the keepalive timer was pending: send one more after it. */
	bool need_another_keepalive;
	/*
	 * The receive path's "rekey before REJECT_AFTER_TIME" initiation was sent
	 * for the current keypair. Owned by that path; reset here on completion.
	 */
	bool sent_lastminute_handshake;
	/* Monotonic time of the last completed handshake, valid if have_last_handshake. */
	bool have_last_handshake;
	uint64_t last_handshake_ns;
	/* False after timers_stop(): hooks arm nothing (device down or peer removed). */
	bool running;
	uint64_t (*jitter_ns)(void *ctx);
	void *jitter_ctx;
};

/*
 * All timers idle, running, persistent keepalive off. jitter_ns returns the
 * random part of the handshake timeouts; its value is reduced modulo
 * REKEY_TIMEOUT_JITTER_MAX_NS, so a raw 64-bit generator will do. NULL means
 * libsodium's randombytes_uniform (sodium_init() must have run).
 */
void timers_init(struct timers *t, uint64_t (*jitter_ns)(void *ctx), void *jitter_ctx);

/*
 * Cancels every timer and stops the hooks from arming any until
 * timers_start(); counters and the last-handshake time are kept. Call it when
 * the device goes down or the peer is removed. It is also timers_init()'s
 * counterpart: the struct holds no resources.
 */
void timers_stop(struct timers *t);
void timers_start(struct timers *t);

/*
 * UAPI/config change of PersistentKeepalive. Turning it on from off while
 * running returns TIMERS_SEND_KEEPALIVE, as the reference implementations send
 * one at once (a new peer starts with it off, so configuring one does too).
 * Turning it off cancels the timer; a change between two non-zero values
 * takes effect from the next authenticated packet.
 */
unsigned int timers_set_persistent_keepalive(struct timers *t, uint16_t interval_s);

void timers_data_sent(struct timers *t, uint64_t now_ns);
void timers_data_received(struct timers *t, uint64_t now_ns);
void timers_any_authenticated_packet_sent(struct timers *t, uint64_t now_ns);
void timers_any_authenticated_packet_received(struct timers *t, uint64_t now_ns);
void timers_any_authenticated_packet_traversal(struct timers *t, uint64_t now_ns);
void timers_handshake_initiated(struct timers *t, uint64_t now_ns);
void timers_handshake_complete(struct timers *t, uint64_t now_ns);
void timers_session_derived(struct timers *t, uint64_t now_ns);
void timers_handshake_requested(struct timers *t);

/*
 * Fires every timer whose deadline is at or before now_ns, earliest first,
 * and returns the OR of their actions. Timers they re-arm land after now_ns.
 */
unsigned int timers_tick(struct timers *t, uint64_t now_ns);

/* The earliest armed deadline, or TIMERS_NEVER. */
uint64_t timers_next_deadline(const struct timers *t);

static inline bool timers_armed(const struct timers *t, enum timers_id id)
{
	return t->deadline[id] != TIMERS_NEVER;
}

#endif
