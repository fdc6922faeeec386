// SPDX-License-Identifier: MIT
/*
 * Seal and open are each split in two: a phase that touches the keypair's
 * counters in packet order, and one that only does crypto on a packet. The
 * batch forms run all of one phase, then all of the other, which is the shape
 * the packet paths use to spread the crypto over cores (workers.h).
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "transport.h"

_Static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == NOISE_SYMMETRIC_KEY_LEN, "key size");
_Static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == NOISE_AUTHTAG_LEN, "tag size");
_Static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12, "nonce size");

enum {
	HEADER_LEN = sizeof(struct message_data),
	OVERHEAD = HEADER_LEN + NOISE_AUTHTAG_LEN,
};

static size_t round_up16(size_t len)
{
	return len + (MESSAGE_PADDING_MULTIPLE - len % MESSAGE_PADDING_MULTIPLE) % MESSAGE_PADDING_MULTIPLE;
}

size_t transport_padded_len(size_t plain_len, size_t mtu)
{
	size_t last = plain_len, padded;

	if (!mtu)
		return round_up16(plain_len);
	/* Only the final mtu-sized unit of an oversized packet is padded. */
	if (last > mtu)
		last %= mtu;
	padded = round_up16(last);
	if (padded > mtu)
		padded = mtu;
	return plain_len + (padded - last);
}

size_t transport_sealed_len(size_t plain_len, size_t mtu)
{
	return OVERHEAD + transport_padded_len(plain_len, mtu);
}

/* Whitepaper 5.4.6: the 96-bit nonce is 32 zero bits then the le64 counter. */
static void make_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES], uint64_t counter)
{
	memset(nonce, 0, 4);
	message_le64_store(nonce + 4, counter);
}

/* Phase one of sealing, in packet order: checks, takes a nonce, writes the header. */
ssize_t transport_seal_prepare(struct keypair *kp, uint8_t *out, size_t out_cap, size_t plain_len,
			    size_t mtu, uint64_t now_ns)
{
	size_t sealed;

	if (!keypair_can_send(kp, now_ns))
		return -EKEYEXPIRED;
	if (plain_len > MESSAGE_MAX_INNER_LEN)
		return -EMSGSIZE;
	sealed = transport_sealed_len(plain_len, mtu);
	if (out_cap < sealed)
		return -EMSGSIZE;
	out[0] = MESSAGE_DATA;
	memset(out + 1, 0, 3);
	message_le32_store(out + 4, kp->remote_index);
	message_le64_store(out + 8, kp->send_counter++);
	return (ssize_t)sealed;
}

/* Phase two: pads and encrypts behind the header seal_prepare wrote. */
ssize_t transport_seal_encrypt(const struct keypair *kp, uint8_t *out, const uint8_t *plain,
			    size_t plain_len, size_t sealed)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	size_t padded = sealed - OVERHEAD;
	uint8_t *body = out + HEADER_LEN;

	/* The packet path reads from TUN straight into body; only other callers pay for a copy. */
	if (plain_len && plain != body)
		memmove(body, plain, plain_len);
	memset(body + plain_len, 0, padded - plain_len);
	make_nonce(nonce, message_le64_load(out + 8));
	if (crypto_aead_chacha20poly1305_ietf_encrypt(body, NULL, body, padded, NULL, 0, NULL, nonce,
						      kp->send_key)) {
		/* Never let the plaintext copy leave as if it were sealed. */
		sodium_memzero(out, sealed);
		return -EIO;
	}
	return (ssize_t)sealed;
}

ssize_t transport_seal(struct keypair *kp, uint8_t *out, size_t out_cap, const uint8_t *plain,
		       size_t plain_len, size_t mtu, uint64_t now_ns)
{
	ssize_t r = transport_seal_prepare(kp, out, out_cap, plain_len, mtu, now_ns);

	if (r < 0)
		return r;
	return transport_seal_encrypt(kp, out, plain, plain_len, (size_t)r);
}

/* The checks that depend on the bytes alone, never on the counters or the clock. */
static bool well_formed(const struct keypair *kp, const uint8_t *msg, size_t len)
{
	return len >= MESSAGE_DATA_MIN_LEN && msg[0] == MESSAGE_DATA && !msg[1] && !msg[2] && !msg[3] &&
	       message_le32_load(msg + 4) == kp->local_index;
}

/*
 * Phase one of opening: every check, then decryption, but the replay window
 * is only read. Returns the plaintext length or the error a single call
 * would give against the window as it is now. libsodium writes no plaintext
 * when the tag is wrong; phase two wipes out on every error all the same.
 */
ssize_t transport_open_decrypt(const struct keypair *kp, uint8_t *out, size_t out_cap,
			    const uint8_t *msg, size_t len, uint64_t now_ns)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	uint64_t counter;

	if (!well_formed(kp, msg, len))
		return -EBADMSG;
	if (!keypair_can_receive(kp, now_ns))
		return -EKEYEXPIRED;
	counter = message_le64_load(msg + 8);
	/* Skips the AEAD for replays; replay_update decides for real. */
	if (!replay_check(&kp->replay, counter))
		return -EALREADY;
	if (out_cap < len - OVERHEAD)
		return -EMSGSIZE;
	make_nonce(nonce, counter);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, msg + HEADER_LEN, len - HEADER_LEN,
						      NULL, 0, nonce, kp->recv_key))
		return -EBADMSG;
	return (ssize_t)(len - OVERHEAD);
}

/* Whatever this message could have put in out. */
static void wipe_out(uint8_t *out, size_t out_cap, size_t len)
{
	size_t n = len > OVERHEAD ? len - OVERHEAD : 0;

	if (n > out_cap)
		n = out_cap;
	if (n)
		sodium_memzero(out, n);
}

/*
 * Phase two, in packet order: decides the state-dependent checks again
 * against the window as the packets before this one left it, then records
 * the counter. Both checks only ever turn from true to false as the window
 * moves, so deciding them again in packet order gives each packet of a batch
 * the answer a single call would have given it at its turn.
 */
ssize_t transport_open_commit(struct keypair *kp, uint8_t *out, size_t out_cap, const uint8_t *msg,
			   size_t len, ssize_t r, uint64_t now_ns)
{
	uint64_t counter;
	ssize_t err;

	if (!well_formed(kp, msg, len)) {
		err = -EBADMSG;
		goto refuse;
	}
	if (!keypair_can_receive(kp, now_ns)) {
		err = -EKEYEXPIRED;
		goto refuse;
	}
	counter = message_le64_load(msg + 8);
	if (r < 0) {
		err = replay_check(&kp->replay, counter) ? r : -EALREADY;
		goto refuse;
	}
	if (!replay_update(&kp->replay, counter)) {
		err = -EALREADY;
		goto refuse;
	}
	return r;
refuse:
	wipe_out(out, out_cap, len);
	return err;
}

ssize_t transport_open(struct keypair *kp, uint8_t *out, size_t out_cap, const uint8_t *msg,
		       size_t len, uint64_t now_ns)
{
	ssize_t r = transport_open_decrypt(kp, out, out_cap, msg, len, now_ns);

	return transport_open_commit(kp, out, out_cap, msg, len, r, now_ns);
}

void transport_seal_batch(struct keypair *kp, struct transport_pkt *pkts, size_t n, size_t mtu,
			  uint64_t now_ns)
{
	size_t i;

	for (i = 0; i < n; i++)
		pkts[i].result = transport_seal_prepare(kp, pkts[i].out, pkts[i].out_cap, pkts[i].in_len, mtu, now_ns);
	for (i = 0; i < n; i++) {
		if (pkts[i].result >= 0)
			pkts[i].result = transport_seal_encrypt(kp, pkts[i].out, pkts[i].in, pkts[i].in_len,
						      (size_t)pkts[i].result);
	}
}

void transport_open_batch(struct keypair *kp, struct transport_pkt *pkts, size_t n, uint64_t now_ns)
{
	size_t i;

	for (i = 0; i < n; i++)
		pkts[i].result = transport_open_decrypt(kp, pkts[i].out, pkts[i].out_cap, pkts[i].in, pkts[i].in_len,
					      now_ns);
	for (i = 0; i < n; i++)
		pkts[i].result = transport_open_commit(kp, pkts[i].out, pkts[i].out_cap, pkts[i].in, pkts[i].in_len,
					     pkts[i].result, now_ns);
}
