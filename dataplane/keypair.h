/* SPDX-License-Identifier: MIT */
/*
 * A transport session (whitepaper section 5.4.4 onwards): the two keys a
 * handshake derived, the send nonce, the receive replay window, and the
 * clock and limits that decide when the keys are too old to use or should be
 * replaced. Times are nanoseconds of one monotonic clock, supplied by the
 * caller.
 *
 * Concurrency: none inside. The send side (send_counter) and the receive side
 * (replay) may be driven by different threads only if the caller locks each
 * side; keypair_init and keypair_wipe need both.
 */
#ifndef WGUD_KEYPAIR_H
#define WGUD_KEYPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "indextable.h"
#include "messages.h"
#include "replay.h"

struct wg_peer;

struct keypair {
	uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN];	/* secret: wiped by keypair_wipe */
	uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN];	/* secret: wiped by keypair_wipe */
	uint64_t send_counter;	/* next nonce; the send path assigns nonces in order */
	struct replay_window replay;
	uint64_t birth_ns;	/* when the keys were derived */
	uint32_t local_index, remote_index;
	bool initiator;		/* we sent the initiation that made it */
	bool live;		/* false once wiped or expired */
};

void keypair_init(struct keypair *kp, const uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN],
		  const uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN], uint32_t local_index,
		  uint32_t remote_index, bool initiator, uint64_t now_ns);
/* Zeroes all of it, keys included; live is false afterwards. */
void keypair_wipe(struct keypair *kp);

/* live, younger than REJECT_AFTER_TIME, and send_counter < REJECT_AFTER_MESSAGES. */
bool keypair_can_send(const struct keypair *kp, uint64_t now_ns);
/*
 * live, younger than REJECT_AFTER_TIME, and the replay window has not yet
 * accepted counter REJECT_AFTER_MESSAGES - 1 (after which the Linux driver's
 * decrypt_packet refuses the key: nothing newer could be accepted).
 */
bool keypair_can_receive(const struct keypair *kp, uint64_t now_ns);

/*
 * Whether to start a new handshake, as the Linux driver's keep_key_fresh in
 * send.c and receive.c decides. Call after sending / after receiving data on
 * the current keypair. Remembering that the receive-side handshake was
 * already sent (the driver's sent_lastminute_handshake) is the peer's job.
 */
bool keypair_should_rekey_on_send(const struct keypair *kp, uint64_t now_ns);
bool keypair_should_rekey_on_receive(const struct keypair *kp, uint64_t now_ns);

/* What a receiver index names: a handshake in progress or a keypair. */
enum wg_index_kind { WG_INDEX_HANDSHAKE = 1, WG_INDEX_KEYPAIR = 2 };

struct wg_index_entry {
	enum wg_index_kind kind;
	struct wg_peer *peer; /* opaque here: the owner the receive path hands the packet to */
	struct keypair *kp;   /* WG_INDEX_KEYPAIR only */
};

struct keypair_slot {
	struct keypair kp;
	struct wg_index_entry entry; /* registered under kp.local_index while used */
	bool used;
};

/*
 * A peer's keypairs (whitepaper 6.1; the kernel's noise_keypairs): at most
 * three, in fixed storage. current sends; previous still receives what was
 * in flight when current took over; next is the responder's new keypair,
 * waiting for the initiator's first packet. Every live keypair's local index
 * is registered in `indices`, and no other. All rotation rules are in
 * keypair.c.
 *
 * Touched only by the thread that owns the peer (the event loop).
 */
struct keypairs {
	struct keypair_slot slot[3];
	struct keypair_slot *current, *previous, *next;
	struct indextable *indices; /* not owned */
};

void keypairs_init(struct keypairs *k, struct indextable *indices, struct wg_peer *owner);
/*
 * A handshake finished: install its keys. As initiator the new keypair is
 * current at once; as responder it waits as next. The caller has already
 * released local_index from the handshake that held it. 0, or -EEXIST /
 * -ENOSPC from the index table: the rotation has then happened without the
 * new keypair (as initiator, nothing is current until the next handshake).
 */
int keypairs_install(struct keypairs *k, const uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN],
		     const uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN], uint32_t local_index, uint32_t remote_index,
		     bool initiator, uint64_t now_ns);
/* Data arrived under kp: if it is next, it becomes current (the responder's handshake is complete). */
bool keypairs_confirm(struct keypairs *k, const struct keypair *kp);
/* Retire every keypair older than REJECT_AFTER_TIME: it can neither send nor receive. */
void keypairs_expire(struct keypairs *k, uint64_t now_ns);
/* Wipe all three (new identity, peer removed, keys zeroed by the timers). */
void keypairs_clear(struct keypairs *k);
/* The keypair that may send now, or NULL. */
struct keypair *keypairs_sending(struct keypairs *k, uint64_t now_ns);

#endif
