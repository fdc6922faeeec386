// SPDX-License-Identifier: MIT
#include <errno.h>
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

/* ---- the three slots: every rotation rule is below ---- */

void keypairs_init(struct keypairs *k, struct indextable *indices, struct wg_peer *owner)
{
	int i;

	memset(k, 0, sizeof(*k));
	k->indices = indices;
	for (i = 0; i < 3; i++) {
		k->slot[i].entry.kind = WG_INDEX_KEYPAIR;
		k->slot[i].entry.peer = owner;
		k->slot[i].entry.kp = &k->slot[i].kp;
	}
}

/* Retire one keypair: its index goes, its keys are wiped. NULL is fine. */
static void retire(struct keypairs *k, struct keypair_slot **which)
{
	struct keypair_slot *s = *which;

	*which = NULL;
	if (!s || !s->used)
		return;
	(void)indextable_remove(k->indices, s->kp.local_index);
	keypair_wipe(&s->kp);
	s->used = false;
}

static struct keypair_slot *free_slot(struct keypairs *k)
{
	int i;

	for (i = 0; i < 3; i++)
		if (&k->slot[i] != k->current && &k->slot[i] != k->previous && &k->slot[i] != k->next)
			return &k->slot[i];
	return NULL; /* not reached: the rotation above leaves at most two held */
}

int keypairs_install(struct keypairs *k, const uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN],
		     const uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN], uint32_t local_index, uint32_t remote_index,
		     bool initiator, uint64_t now_ns)
{
	struct keypair_slot *s;
	int ret;

	if (initiator) {
		/*
		 * Ours is in use at once. An unconfirmed next (we answered their
		 * initiation meanwhile) may still carry their data: it becomes
		 * previous and the old current goes; otherwise current does.
		 */
		retire(k, &k->previous);
		if (k->next) {
			retire(k, &k->current);
			k->previous = k->next;
			k->next = NULL;
		} else {
			k->previous = k->current;
		}
		k->current = NULL;
	} else {
		/* Theirs waits as next until their first data; a pending next and previous go. */
		retire(k, &k->next);
		retire(k, &k->previous);
	}
	s = free_slot(k);
	if (!s)
		return -ENOSPC;
	keypair_init(&s->kp, send_key, recv_key, local_index, remote_index, initiator, now_ns);
	ret = indextable_insert_at(k->indices, local_index, &s->entry);
	if (ret) {
		keypair_wipe(&s->kp);
		return ret;
	}
	s->used = true;
	if (initiator)
		k->current = s;
	else
		k->next = s;
	return 0;
}

bool keypairs_confirm(struct keypairs *k, const struct keypair *kp)
{
	if (!k->next || &k->next->kp != kp)
		return false;
	retire(k, &k->previous);
	k->previous = k->current;
	k->current = k->next;
	k->next = NULL;
	return true;
}

static void expire_one(struct keypairs *k, struct keypair_slot **which, uint64_t now_ns)
{
	const struct keypair *kp = *which ? &(*which)->kp : NULL;

	if (kp && (!kp->live || has_expired(kp, now_ns, REJECT_AFTER_TIME_NS)))
		retire(k, which);
}

void keypairs_expire(struct keypairs *k, uint64_t now_ns)
{
	expire_one(k, &k->previous, now_ns);
	expire_one(k, &k->current, now_ns);
	expire_one(k, &k->next, now_ns);
}

void keypairs_clear(struct keypairs *k)
{
	retire(k, &k->previous);
	retire(k, &k->current);
	retire(k, &k->next);
}

struct keypair *keypairs_sending(struct keypairs *k, uint64_t now_ns)
{
	if (!k->current || !keypair_can_send(&k->current->kp, now_ns))
		return NULL;
	return &k->current->kp;
}
