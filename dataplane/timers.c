// SPDX-License-Identifier: MIT
/*
 * Per-peer timers, whitepaper section 6, with the reference implementations'
 * details where the paper is silent:
 *
 * - retransmit handshake: REKEY_TIMEOUT + jitter after an initiation is sent,
 *   until it completes; after MAX_TIMER_HANDSHAKES retries (counted from the
 *   last fresh request) give up and drop what was staged.
 * - passive keepalive: KEEPALIVE_TIMEOUT after data arrives, unless we sent
 *   something authenticated meanwhile.
 * - new handshake: KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after data is
 *   sent, unless anything authenticated arrived meanwhile.
 * - zero key material: REJECT_AFTER_TIME * 3 after the last session was
 *   derived (or after giving up on a handshake), wipe all keys.
 * - persistent keepalive: the configured interval after the last
 *   authenticated packet in either direction.
 */
#include "timers.h"

#include <sodium.h>

#include "messages.h"

/* Whitepaper 6.3: all keys are wiped after this long without a new one. */
#define ZERO_KEY_MATERIAL_NS (REJECT_AFTER_TIME_NS * 3)

static uint64_t default_jitter(void *ctx)
{
	(void)ctx;
	return randombytes_uniform((uint32_t)REKEY_TIMEOUT_JITTER_MAX_NS);
}

/* Spreads retries out so that peers started together do not stay in step. */
static uint64_t jitter(struct timers *t)
{
	return t->jitter_ns(t->jitter_ctx) % REKEY_TIMEOUT_JITTER_MAX_NS;
}

/* TIMERS_NEVER is reserved for "not armed", so a deadline saturates below it. */
static uint64_t after(uint64_t now_ns, uint64_t delay_ns)
{
	if (now_ns > TIMERS_NEVER - 1 - delay_ns)
		return TIMERS_NEVER - 1;
	return now_ns + delay_ns;
}

static bool pending(const struct timers *t, enum timers_id id)
{
	return t->deadline[id] != TIMERS_NEVER;
}

static void arm(struct timers *t, enum timers_id id, uint64_t deadline)
{
	if (t->running)
		t->deadline[id] = deadline;
}

static void cancel(struct timers *t, enum timers_id id)
{
	t->deadline[id] = TIMERS_NEVER;
}

static unsigned int expired_retransmit_handshake(struct timers *t, uint64_t now_ns)
{
	if (t->handshake_attempts > MAX_TIMER_HANDSHAKES) {
		cancel(t, TIMERS_PASSIVE_KEEPALIVE);
		/* Whatever a partial exchange left behind goes too, in time. */
		if (!pending(t, TIMERS_ZERO_KEY_MATERIAL))
			arm(t, TIMERS_ZERO_KEY_MATERIAL, after(now_ns, ZERO_KEY_MATERIAL_NS));
		return TIMERS_DROP_STAGED;
	}
	++t->handshake_attempts;
	/* A stale source address is a likely reason nobody answers. */
	return TIMERS_SEND_INITIATION | TIMERS_CLEAR_SRC;
}

static unsigned int expired_passive_keepalive(struct timers *t, uint64_t now_ns)
{
	if (t->need_another_keepalive) {
		t->need_another_keepalive = false;
		arm(t, TIMERS_PASSIVE_KEEPALIVE, after(now_ns, KEEPALIVE_TIMEOUT_NS));
	}
	return TIMERS_SEND_KEEPALIVE;
}

static unsigned int expired_new_handshake(struct timers *t, uint64_t now_ns)
{
	(void)now_ns;
	/* This is a fresh handshake, not a retry: it gets the full budget. */
	t->handshake_attempts = 0;
	return TIMERS_SEND_INITIATION | TIMERS_CLEAR_SRC;
}

static unsigned int expired_zero_key_material(struct timers *t, uint64_t now_ns)
{
	(void)t;
	(void)now_ns;
	return TIMERS_ZERO_KEYS;
}

static unsigned int expired_persistent_keepalive(struct timers *t, uint64_t now_ns)
{
	(void)now_ns;
	return t->persistent_keepalive_interval ? TIMERS_SEND_KEEPALIVE : 0;
}

static unsigned int (*const expire[TIMERS_COUNT])(struct timers *, uint64_t) = {
	[TIMERS_RETRANSMIT_HANDSHAKE] = expired_retransmit_handshake,
	[TIMERS_PASSIVE_KEEPALIVE] = expired_passive_keepalive,
	[TIMERS_NEW_HANDSHAKE] = expired_new_handshake,
	[TIMERS_ZERO_KEY_MATERIAL] = expired_zero_key_material,
	[TIMERS_PERSISTENT_KEEPALIVE] = expired_persistent_keepalive,
};

void timers_init(struct timers *t, uint64_t (*jitter_ns)(void *ctx), void *jitter_ctx)
{
	int id;

	*t = (struct timers){
		.running = true,
		.jitter_ns = jitter_ns ? jitter_ns : default_jitter,
		.jitter_ctx = jitter_ctx,
	};
	for (id = 0; id < TIMERS_COUNT; id++)
		t->deadline[id] = TIMERS_NEVER;
}

void timers_stop(struct timers *t)
{
	int id;

	t->running = false;
	for (id = 0; id < TIMERS_COUNT; id++)
		cancel(t, id);
}

void timers_start(struct timers *t)
{
	t->running = true;
}

unsigned int timers_set_persistent_keepalive(struct timers *t, uint16_t interval_s)
{
	bool was_off = !t->persistent_keepalive_interval;

	t->persistent_keepalive_interval = interval_s;
	if (!interval_s) {
		cancel(t, TIMERS_PERSISTENT_KEEPALIVE);
		return 0;
	}
	return was_off && t->running ? TIMERS_SEND_KEEPALIVE : 0;
}

/* After an authenticated data packet (not a keepalive) is sent. */
void timers_data_sent(struct timers *t, uint64_t now_ns)
{
	if (!pending(t, TIMERS_NEW_HANDSHAKE))
		arm(t, TIMERS_NEW_HANDSHAKE,
		    after(now_ns, KEEPALIVE_TIMEOUT_NS + REKEY_TIMEOUT_NS + jitter(t)));
}

/* After an authenticated data packet (not a keepalive) is received. */
void timers_data_received(struct timers *t, uint64_t now_ns)
{
	if (!t->running)
		return;
	if (!pending(t, TIMERS_PASSIVE_KEEPALIVE))
		arm(t, TIMERS_PASSIVE_KEEPALIVE, after(now_ns, KEEPALIVE_TIMEOUT_NS));
	else
		t->need_another_keepalive = true;
}

/* After any authenticated packet is sent: data, keepalive or handshake. */
void timers_any_authenticated_packet_sent(struct timers *t, uint64_t now_ns)
{
	(void)now_ns;
	cancel(t, TIMERS_PASSIVE_KEEPALIVE);
}

/* After any authenticated packet is received: data, keepalive or handshake. */
void timers_any_authenticated_packet_received(struct timers *t, uint64_t now_ns)
{
	(void)now_ns;
	cancel(t, TIMERS_NEW_HANDSHAKE);
}

/* Before any authenticated packet is sent, or after one is received. */
void timers_any_authenticated_packet_traversal(struct timers *t, uint64_t now_ns)
{
	if (t->persistent_keepalive_interval)
		arm(t, TIMERS_PERSISTENT_KEEPALIVE,
		    after(now_ns, (uint64_t)t->persistent_keepalive_interval * NSEC_PER_SEC));
}

/* After a handshake initiation is sent, retries included. */
void timers_handshake_initiated(struct timers *t, uint64_t now_ns)
{
	arm(t, TIMERS_RETRANSMIT_HANDSHAKE, after(now_ns, REKEY_TIMEOUT_NS + jitter(t)));
}

/*
 * After a handshake response is received and processed, or when the first
 * data packet on a new keypair confirms it.
 */
void timers_handshake_complete(struct timers *t, uint64_t now_ns)
{
	cancel(t, TIMERS_RETRANSMIT_HANDSHAKE);
	t->handshake_attempts = 0;
	t->sent_lastminute_handshake = false;
	t->have_last_handshake = true;
	t->last_handshake_ns = now_ns;
}

/*
 * After new session keys are derived: before sending a response, or after
 * receiving one. Each new session pushes the wipe back.
 */
void timers_session_derived(struct timers *t, uint64_t now_ns)
{
	arm(t, TIMERS_ZERO_KEY_MATERIAL, after(now_ns, ZERO_KEY_MATERIAL_NS));
}

/*
 * Before asking for an initiation for any reason other than the retransmit
 * timer: a new reason to talk restarts the REKEY_ATTEMPT_TIME budget.
 */
void timers_handshake_requested(struct timers *t)
{
	t->handshake_attempts = 0;
}

/* The earliest timer in mask that has expired by now_ns, or -1. */
static int earliest_expired(const struct timers *t, unsigned int mask, uint64_t now_ns)
{
	int id, best = -1;

	for (id = 0; id < TIMERS_COUNT; id++) {
		if (!(mask & 1U << id) || t->deadline[id] > now_ns)
			continue;
		if (best < 0 || t->deadline[id] < t->deadline[best])
			best = id;
	}
	return best;
}

unsigned int timers_tick(struct timers *t, uint64_t now_ns)
{
	unsigned int actions = 0, mask = (1U << TIMERS_COUNT) - 1;
	int id;

	/*
	 * Deadline order keeps a late tick equal to punctual ones: a give-up
	 * cancels a keepalive due after it but not one due before it. Each
	 * timer fires at most once per tick, so a saturated re-arm cannot loop.
	 */
	while ((id = earliest_expired(t, mask, now_ns)) >= 0) {
		mask &= ~(1U << id);
		cancel(t, id);
		actions |= expire[id](t, now_ns);
	}
	return actions;
}

uint64_t timers_next_deadline(const struct timers *t)
{
	uint64_t next = TIMERS_NEVER;
	int id;

	for (id = 0; id < TIMERS_COUNT; id++)
		if (t->deadline[id] < next)
			next = t->deadline[id];
	return next;
}
