/* SPDX-License-Identifier: MIT */
/*
 * Transport data messages (whitepaper section 5.4.6, type 4):
 *
 *   type 4, 3 zero bytes | le32 receiver index | le64 counter |
 *   ChaCha20-Poly1305(send key, nonce = 4 zero bytes || le64 counter, no AD)
 *   of the inner packet zero-padded to a multiple of 16, but not past the MTU.
 *
 * A keepalive is an empty inner packet: 32 bytes on the wire.
 *
 * Nothing here allocates or keeps state of its own; the keypair carries the
 * nonce and the replay window, with the locking rules keypair.h states.
 */
#ifndef WGUD_TRANSPORT_H
#define WGUD_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keypair.h"

/*
 * The inner length after padding, as the Linux driver's calculate_skb_padding:
 * round up to MESSAGE_PADDING_MULTIPLE but not beyond mtu; a packet longer
 * than mtu pads its last mtu-sized unit the same way; mtu 0 means "unknown"
 * and pads to 16 unconditionally.
 */
size_t transport_padded_len(size_t plain_len, size_t mtu);
/* sizeof(struct message_data) + padded + NOISE_AUTHTAG_LEN. */
size_t transport_sealed_len(size_t plain_len, size_t mtu);

/*
 * Seals one inner packet (at most MESSAGE_MAX_INNER_LEN bytes) with the next
 * nonce from kp->send_counter. plain may be out + 16 (in place). Returns the
 * bytes written, -EKEYEXPIRED when !keypair_can_send, -EMSGSIZE when out_cap
 * is too small or plain too long; on error nothing is written and no nonce is
 * used. Without a keypair that can send there is no output: the data plane's
 * half of the kill switch.
 */
ssize_t transport_seal(struct keypair *kp, uint8_t *out, size_t out_cap, const uint8_t *plain,
		       size_t plain_len, size_t mtu, uint64_t now_ns);

/*
 * Opens one data message whose receiver index the caller already used to find
 * kp. out (not overlapping msg) needs len - 32 bytes. The counter is checked
 * against the replay window before decrypting and recorded in it only after
 * the tag verified. Returns the inner length, padding included, or
 * -EBADMSG (short, not a data message for kp, or tag mismatch),
 * -EKEYEXPIRED (!keypair_can_receive), -EALREADY (counter replayed, behind
 * the window or >= REJECT_AFTER_MESSAGES), -EMSGSIZE (out_cap < len - 32).
 * On any error the first min(out_cap, len - 32) bytes of out are zeroed, so
 * neither plaintext nor a stale packet is left there.
 */
ssize_t transport_open(struct keypair *kp, uint8_t *out, size_t out_cap, const uint8_t *msg,
		       size_t len, uint64_t now_ns);

/*
 * The two steps of each, for spreading the crypto over cores: the first
 * and the last in packet order on the thread that owns the keypair, the
 * middle one on any thread (it reads the keypair and writes only out).
 * transport_seal = prepare (checks, nonce, header; returns the sealed
 * length) then encrypt. transport_open = decrypt (every check against the
 * window as it is; returns what a single call would) then commit (checks
 * again in order and records the counter; wipes out on any error).
 */
ssize_t transport_seal_prepare(struct keypair *kp, uint8_t *out, size_t out_cap, size_t plain_len, size_t mtu,
			       uint64_t now_ns);
ssize_t transport_seal_encrypt(const struct keypair *kp, uint8_t *out, const uint8_t *plain, size_t plain_len,
			       size_t sealed);
ssize_t transport_open_decrypt(const struct keypair *kp, uint8_t *out, size_t out_cap, const uint8_t *msg, size_t len,
			       uint64_t now_ns);
ssize_t transport_open_commit(struct keypair *kp, uint8_t *out, size_t out_cap, const uint8_t *msg, size_t len,
			      ssize_t decrypted, uint64_t now_ns);

/*
 * Batches: each packet gets the result the single call would give in the same
 * order. Both run in two phases so that the middle one can be spread over
 * cores: seal assigns every nonce in order, then encrypts; open decrypts
 * every packet, then updates the replay window in order.
 */
struct transport_pkt {
	const uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t out_cap;
	ssize_t result;
};

void transport_seal_batch(struct keypair *kp, struct transport_pkt *pkts, size_t n, size_t mtu,
			  uint64_t now_ns);
void transport_open_batch(struct keypair *kp, struct transport_pkt *pkts, size_t n, uint64_t now_ns);

#endif
