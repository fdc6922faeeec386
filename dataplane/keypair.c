// SPDX-License-Identifier: MIT
#include <string.h>

#include <sodium.h>

#include "keypair.h"

void keypair_init(struct keypair *kp, const uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN],
		  const uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN], uint32_t local_index,
		  uint32_t remote_index, bool initiator, uint64_t now_ns)
{
	memcpy(kp->send_key, send_key, sizeof(kp->send_key));
	memcpy(kp->recv_key, recv_key, sizeof(kp->recv_key));
	kp->send_counter = 0;
	replay_init(&kp->replay);
	kp->birth_ns = now_ns;
	kp->local_index = local_index;
	kp->remote_index = remote_index;
	kp->initiator = initiator;
	kp->live = true;
}

void keypair_wipe(struct keypair *kp)
{
	sodium_memzero(kp, sizeof(*kp));
	kp->live = false;
}

/*
 * The driver's wg_birthdate_has_expired: birth + limit <= now, so a key is
 * expired from the nanosecond its age reaches the limit. A clock reading
 * before birth counts as age 0, as the driver's signed comparison does.
 */
static bool has_expired(const struct keypair *kp, uint64_t now_ns, uint64_t limit_ns)
{
	return now_ns >= kp->birth_ns && now_ns - kp->birth_ns >= limit_ns;
}

bool keypair_can_send(const struct keypair *kp, uint64_t now_ns)
{
	return kp->live && !has_expired(kp, now_ns, REJECT_AFTER_TIME_NS) &&
	       kp->send_counter < REJECT_AFTER_MESSAGES;
}

bool keypair_can_receive(const struct keypair *kp, uint64_t now_ns)
{
	/* replay.counter is one past the highest counter accepted. */
	return kp->live && !has_expired(kp, now_ns, REJECT_AFTER_TIME_NS) &&
	       kp->replay.counter < REJECT_AFTER_MESSAGES;
}

/*
 * send.c: sending_counter > REKEY_AFTER_MESSAGES (strictly greater; the
 * counter is the next nonce, read after the batch took its nonces), or we
 * are the initiator and the age >= REKEY_AFTER_TIME. Only the initiator rekeys
 * on time so both ends do not start handshakes at once.
 */
bool keypair_should_rekey_on_send(const struct keypair *kp, uint64_t now_ns)
{
	return kp->live && (kp->send_counter > REKEY_AFTER_MESSAGES ||
			    (kp->initiator && has_expired(kp, now_ns, REKEY_AFTER_TIME_NS)));
}

/*
 * receive.c: we are the initiator and the age >= REJECT_AFTER_TIME -
 * KEEPALIVE_TIMEOUT - REKEY_TIMEOUT (165 s), leaving time for one handshake
 * before the responder's side of the key dies.
 */
bool keypair_should_rekey_on_receive(const struct keypair *kp, uint64_t now_ns)
{
	return kp->live && kp->initiator &&
	       has_expired(kp, now_ns, REJECT_AFTER_TIME_NS - KEEPALIVE_TIMEOUT_NS - REKEY_TIMEOUT_NS);
}
