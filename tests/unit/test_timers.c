// SPDX-License-Identifier: MIT
/*
 * Timers state machine against a simulated clock. The "sim" below stands in
 * for the event loop: it ticks at each deadline, carries out the actions and
 * calls the hooks the way the send path does, so schedules can be checked
 * end to end (whitepaper section 6, kernel timers.c/send.c/receive.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "messages.h"
#include "timers.h"

#define S(x) ((uint64_t)(x) * NSEC_PER_SEC)
#define MS(x) ((uint64_t)(x) * 1000000ULL)
#define JMAX REKEY_TIMEOUT_JITTER_MAX_NS
#define ZERO_AFTER (REJECT_AFTER_TIME_NS * 3)
#define LOG_LEN 256

/* Jitter that walks first, first + step, first + 2 * step, ... */
struct ramp {
	uint64_t next;
	uint64_t step;
	unsigned int calls;
};

static uint64_t ramp_jitter(void *ctx)
{
	struct ramp *r = ctx;
	uint64_t v = r->next;

	r->next += r->step;
	r->calls++;
	return v;
}

static uint64_t fixed_jitter(void *ctx)
{
	return *(const uint64_t *)ctx;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t xorshift_jitter(void *ctx)
{
	return xorshift(ctx);
}

struct sim {
	struct timers t;
	uint64_t now;
	bool have_keypair;
	bool sent_initiation;
	uint64_t last_initiation;
	unsigned int n_init, n_keepalive, n_drop, n_zero, n_clear;
	uint64_t init_at[LOG_LEN];
	uint64_t keepalive_at[LOG_LEN];
	uint64_t drop_at, zero_at;
};

static void sim_init(struct sim *s, uint64_t (*jitter)(void *), void *ctx)
{
	memset(s, 0, sizeof(*s));
	timers_init(&s->t, jitter, ctx);
}

/* The kernel's initiation path: rate limited to one per REKEY_TIMEOUT. */
static void sim_initiate(struct sim *s, bool is_retry)
{
	if (!is_retry)
		timers_handshake_requested(&s->t);
	if (s->sent_initiation && s->now < s->last_initiation + REKEY_TIMEOUT_NS)
		return;
	s->sent_initiation = true;
	s->last_initiation = s->now;
	timers_any_authenticated_packet_traversal(&s->t, s->now);
	timers_any_authenticated_packet_sent(&s->t, s->now);
	timers_handshake_initiated(&s->t, s->now);
	if (s->n_init < LOG_LEN)
		s->init_at[s->n_init] = s->now;
	s->n_init++;
}

/* Without a keypair a keepalive is staged and asks for a handshake instead. */
static void sim_keepalive(struct sim *s)
{
	if (!s->have_keypair) {
		sim_initiate(s, false);
		return;
	}
	timers_any_authenticated_packet_traversal(&s->t, s->now);
	timers_any_authenticated_packet_sent(&s->t, s->now);
	if (s->n_keepalive < LOG_LEN)
		s->keepalive_at[s->n_keepalive] = s->now;
	s->n_keepalive++;
}

static void sim_apply(struct sim *s, unsigned int actions)
{
	if (actions & TIMERS_CLEAR_SRC)
		s->n_clear++;
	if (actions & TIMERS_DROP_STAGED) {
		s->n_drop++;
		s->drop_at = s->now;
	}
	if (actions & TIMERS_ZERO_KEYS) {
		s->n_zero++;
		s->zero_at = s->now;
		s->have_keypair = false;
	}
	if (actions & TIMERS_SEND_INITIATION)
		sim_initiate(s, true);
	if (actions & TIMERS_SEND_KEEPALIVE)
		sim_keepalive(s);
}

/* Ticks punctually at every deadline up to and including until. */
static void sim_run(struct sim *s, uint64_t until)
{
	uint64_t next;

	while ((next = timers_next_deadline(&s->t)) <= until) {
		assert_true(next >= s->now);
		s->now = next;
		sim_apply(s, timers_tick(&s->t, s->now));
		assert_true(timers_next_deadline(&s->t) > s->now);
	}
	s->now = until;
}

static void sim_data_sent(struct sim *s)
{
	timers_any_authenticated_packet_traversal(&s->t, s->now);
	timers_any_authenticated_packet_sent(&s->t, s->now);
	timers_data_sent(&s->t, s->now);
}

static void sim_data_received(struct sim *s)
{
	timers_any_authenticated_packet_received(&s->t, s->now);
	timers_any_authenticated_packet_traversal(&s->t, s->now);
	timers_data_received(&s->t, s->now);
}

static void test_init_idle(void **state)
{
	struct timers t;
	int id;

	(void)state;
	timers_init(&t, NULL, NULL);
	for (id = 0; id < TIMERS_COUNT; id++)
		assert_false(timers_armed(&t, id));
	assert_true(timers_next_deadline(&t) == TIMERS_NEVER);
	assert_int_equal(timers_tick(&t, 0), 0);
	assert_int_equal(timers_tick(&t, UINT64_MAX - 1), 0);
	assert_int_equal(t.handshake_attempts, 0);
	assert_false(t.have_last_handshake);
}

/*
 * Kernel: the first initiation, then a retry each time the timer fires while
 * attempts <= MAX_TIMER_HANDSHAKES (attempts 0..18: 19 retries), then the
 * 20th expiry gives up -- MAX_TIMER_HANDSHAKES + 2 expiries' worth of time
 * after the first send, i.e. 100 s plus jitter.
 */
static void test_retransmit_schedule_and_give_up(void **state)
{
	struct ramp r = { .next = 0, .step = MS(10) };
	uint64_t expect = 0, j = 0;
	struct sim s;
	unsigned int k;

	(void)state;
	sim_init(&s, ramp_jitter, &r);
	sim_initiate(&s, false);
	sim_run(&s, S(100));
	/* Nothing given up before 100 s even with zero jitter. */
	assert_int_equal(s.n_drop, 0);
	sim_run(&s, S(120));

	assert_int_equal(s.n_init, MAX_TIMER_HANDSHAKES + 2);
	assert_int_equal(s.n_clear, MAX_TIMER_HANDSHAKES + 1);
	for (k = 0; k < s.n_init; k++) {
		assert_true(s.init_at[k] == expect);
		expect += REKEY_TIMEOUT_NS + j;
		j += MS(10);
	}
	assert_int_equal(s.n_drop, 1);
	assert_true(s.drop_at == expect);
	assert_true(s.drop_at >= REKEY_ATTEMPT_TIME_NS);
	assert_true(s.drop_at == S(100) + MS(10) * (19 * 20 / 2));
	assert_int_equal(s.t.handshake_attempts, MAX_TIMER_HANDSHAKES + 1);
	assert_false(timers_armed(&s.t, TIMERS_RETRANSMIT_HANDSHAKE));

	/* Giving up leaves one timer: the wipe of what the attempts left. */
	assert_true(s.t.deadline[TIMERS_ZERO_KEY_MATERIAL] == s.drop_at + ZERO_AFTER);
	assert_true(timers_next_deadline(&s.t) == s.drop_at + ZERO_AFTER);
	sim_run(&s, s.drop_at + ZERO_AFTER - 1);
	assert_int_equal(s.n_zero, 0);
	sim_run(&s, S(2000));
	assert_int_equal(s.n_zero, 1);
	assert_true(s.zero_at == s.drop_at + ZERO_AFTER);
	assert_int_equal(s.n_init, MAX_TIMER_HANDSHAKES + 2);
	assert_true(timers_next_deadline(&s.t) == TIMERS_NEVER);
}

static void test_give_up_keeps_pending_wipe_and_cancels_keepalive(void **state)
{
	uint64_t zero = 0;
	struct sim s;

	(void)state;
	sim_init(&s, fixed_jitter, &zero);
	timers_session_derived(&s.t, 0);
	s.now = S(10);
	sim_initiate(&s, false);
	/* The 20th expiry is at 10 s + 20 * 5 s; receive data one second before. */
	sim_run(&s, S(109));
	assert_int_equal(s.n_drop, 0);
	sim_data_received(&s);
	assert_true(s.t.deadline[TIMERS_PASSIVE_KEEPALIVE] == S(119));
	sim_run(&s, S(110));
	assert_int_equal(s.n_drop, 1);
	assert_true(s.drop_at == S(110));
	assert_false(timers_armed(&s.t, TIMERS_PASSIVE_KEEPALIVE));
	assert_true(s.t.deadline[TIMERS_ZERO_KEY_MATERIAL] == ZERO_AFTER);
	sim_run(&s, S(1000));
	assert_int_equal(s.n_keepalive, 0);
	assert_int_equal(s.n_zero, 1);
	assert_true(s.zero_at == ZERO_AFTER);
}

static void test_complete_cancels_retransmit(void **state)
{
	uint64_t zero = 0;
	struct sim s;

	(void)state;
	sim_init(&s, fixed_jitter, &zero);
	sim_initiate(&s, false);
	sim_run(&s, S(17));
	assert_int_equal(s.n_init, 4);
	assert_int_equal(s.t.handshake_attempts, 3);
	assert_true(timers_armed(&s.t, TIMERS_RETRANSMIT_HANDSHAKE));

	timers_session_derived(&s.t, s.now);
	timers_handshake_complete(&s.t, s.now);
	assert_int_equal(s.t.handshake_attempts, 0);
	assert_false(timers_armed(&s.t, TIMERS_RETRANSMIT_HANDSHAKE));
	assert_true(s.t.have_last_handshake);
	assert_true(s.t.last_handshake_ns == S(17));
	assert_false(s.t.sent_lastminute_handshake);

	sim_run(&s, S(200));
	assert_int_equal(s.n_init, 4);
	assert_int_equal(s.n_drop, 0);

	/* A later completion moves the recorded time. */
	s.now = S(300);
	timers_handshake_complete(&s.t, s.now);
	assert_true(s.t.last_handshake_ns == S(300));
}

/* Each fresh request (staged data, rekey) restarts the retry budget. */
static void test_fresh_request_restarts_budget(void **state)
{
	uint64_t zero = 0;
	struct sim s;

	(void)state;
	sim_init(&s, fixed_jitter, &zero);
	sim_initiate(&s, false);
	sim_run(&s, S(50));
	assert_int_equal(s.n_init, 11);
	assert_int_equal(s.t.handshake_attempts, 10);
	s.now = S(52);
	sim_initiate(&s, false);	/* rate limited, but the budget restarts */
	assert_int_equal(s.n_init, 11);
	assert_int_equal(s.t.handshake_attempts, 0);
	sim_run(&s, S(1000));
	assert_int_equal(s.n_init, 11 + MAX_TIMER_HANDSHAKES + 1);
	assert_int_equal(s.n_drop, 1);
	assert_true(s.drop_at == S(50) + (MAX_TIMER_HANDSHAKES + 2) * REKEY_TIMEOUT_NS);
}

static void test_keepalive_after_receive(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, NULL, NULL);
	s.have_keypair = true;
	s.now = S(1);
	sim_data_received(&s);
	assert_true(s.t.deadline[TIMERS_PASSIVE_KEEPALIVE] == S(11));
	assert_true(timers_next_deadline(&s.t) == S(11));
	assert_int_equal(timers_tick(&s.t, S(11) - 1), 0);
	assert_int_equal(timers_tick(&s.t, S(11)), TIMERS_SEND_KEEPALIVE);
	assert_false(timers_armed(&s.t, TIMERS_PASSIVE_KEEPALIVE));

	/* Sending anything authenticated answers the peer already. */
	s.now = S(20);
	sim_data_received(&s);
	s.now = S(25);
	timers_any_authenticated_packet_sent(&s.t, s.now);
	assert_false(timers_armed(&s.t, TIMERS_PASSIVE_KEEPALIVE));
	assert_int_equal(timers_tick(&s.t, S(40)), 0);

	/* A received keepalive (no data) does not ask for one back. */
	s.now = S(50);
	timers_any_authenticated_packet_received(&s.t, s.now);
	timers_any_authenticated_packet_traversal(&s.t, s.now);
	assert_false(timers_armed(&s.t, TIMERS_PASSIVE_KEEPALIVE));

	/* End to end: one keepalive 10 s after a burst, none after replying. */
	sim_data_received(&s);
	sim_run(&s, S(70));
	assert_int_equal(s.n_keepalive, 1);
	assert_true(s.keepalive_at[0] == S(60));
	sim_data_received(&s);
	s.now = S(75);
	sim_data_sent(&s);
	sim_run(&s, S(85));
	assert_int_equal(s.n_keepalive, 1);
}

static void test_need_another_keepalive(void **state)
{
	struct timers t;

	(void)state;
	timers_init(&t, NULL, NULL);
	timers_data_received(&t, 0);
	assert_false(t.need_another_keepalive);
	timers_data_received(&t, S(3));
	assert_true(t.need_another_keepalive);
	/* Later data does not push the pending keepalive back. */
	assert_true(t.deadline[TIMERS_PASSIVE_KEEPALIVE] == S(10));

	assert_int_equal(timers_tick(&t, S(10)), TIMERS_SEND_KEEPALIVE);
	assert_false(t.need_another_keepalive);
	assert_true(t.deadline[TIMERS_PASSIVE_KEEPALIVE] == S(20));
	assert_int_equal(timers_tick(&t, S(20)), TIMERS_SEND_KEEPALIVE);
	assert_false(timers_armed(&t, TIMERS_PASSIVE_KEEPALIVE));
	assert_int_equal(timers_tick(&t, S(40)), 0);

	/* A late tick re-arms from when it ran, as a late kernel timer does. */
	timers_data_received(&t, S(50));
	timers_data_received(&t, S(51));
	assert_int_equal(timers_tick(&t, S(63)), TIMERS_SEND_KEEPALIVE);
	assert_true(t.deadline[TIMERS_PASSIVE_KEEPALIVE] == S(73));
}

static void test_new_handshake_after_silence(void **state)
{
	uint64_t jit = MS(123);
	struct timers t;

	(void)state;
	timers_init(&t, fixed_jitter, &jit);
	t.handshake_attempts = 7;
	timers_data_sent(&t, 0);
	assert_true(t.deadline[TIMERS_NEW_HANDSHAKE] == S(15) + MS(123));
	timers_data_sent(&t, S(2));
	assert_true(t.deadline[TIMERS_NEW_HANDSHAKE] == S(15) + MS(123));
	assert_int_equal(timers_tick(&t, S(15) + MS(123) - 1), 0);
	assert_int_equal(timers_tick(&t, S(15) + MS(123)), TIMERS_SEND_INITIATION | TIMERS_CLEAR_SRC);
	assert_int_equal(t.handshake_attempts, 0);
	assert_false(timers_armed(&t, TIMERS_NEW_HANDSHAKE));

	/* Anything authenticated coming back, even a keepalive, settles it. */
	timers_data_sent(&t, S(100));
	timers_any_authenticated_packet_received(&t, S(103));
	assert_false(timers_armed(&t, TIMERS_NEW_HANDSHAKE));
	assert_int_equal(timers_tick(&t, S(200)), 0);

	/* The next data sent starts a new wait from then. */
	timers_data_sent(&t, S(210));
	assert_true(t.deadline[TIMERS_NEW_HANDSHAKE] == S(225) + MS(123));
}

static void test_new_handshake_end_to_end(void **state)
{
	uint64_t zero = 0;
	struct sim s;

	(void)state;
	sim_init(&s, fixed_jitter, &zero);
	s.have_keypair = true;
	sim_data_sent(&s);
	sim_run(&s, S(15) - 1);
	assert_int_equal(s.n_init, 0);
	sim_run(&s, S(15));
	assert_int_equal(s.n_init, 1);
	assert_int_equal(s.n_clear, 1);
	assert_true(s.init_at[0] == S(15));
	assert_true(s.t.deadline[TIMERS_RETRANSMIT_HANDSHAKE] == S(20));
}

static void test_zero_key_material(void **state)
{
	struct timers t;

	(void)state;
	timers_init(&t, NULL, NULL);
	timers_session_derived(&t, 0);
	assert_true(t.deadline[TIMERS_ZERO_KEY_MATERIAL] == S(540));
	assert_int_equal(timers_tick(&t, S(540) - 1), 0);
	assert_int_equal(timers_tick(&t, S(540)), TIMERS_ZERO_KEYS);
	assert_false(timers_armed(&t, TIMERS_ZERO_KEY_MATERIAL));
	assert_int_equal(timers_tick(&t, S(5000)), 0);

	/* Kernel: every new session pushes the wipe back (mod_timer, no pending check). */
	timers_session_derived(&t, S(6000));
	timers_session_derived(&t, S(6100));
	assert_true(t.deadline[TIMERS_ZERO_KEY_MATERIAL] == S(6640));
	assert_int_equal(timers_tick(&t, S(6540)), 0);
	assert_int_equal(timers_tick(&t, S(6640)), TIMERS_ZERO_KEYS);
}

static void test_persistent_keepalive(void **state)
{
	struct sim s;
	unsigned int k;

	(void)state;
	sim_init(&s, NULL, NULL);
	s.have_keypair = true;

	/* Off: traversals arm nothing and the idle link stays silent. */
	timers_any_authenticated_packet_received(&s.t, s.now);
	timers_any_authenticated_packet_traversal(&s.t, s.now);
	timers_any_authenticated_packet_sent(&s.t, s.now);
	assert_false(timers_armed(&s.t, TIMERS_PERSISTENT_KEEPALIVE));
	sim_run(&s, S(300));
	assert_int_equal(s.n_keepalive, 0);

	/* On: one at once, then one per interval of idleness. */
	sim_apply(&s, timers_set_persistent_keepalive(&s.t, 25));
	assert_int_equal(s.n_keepalive, 1);
	assert_true(s.t.deadline[TIMERS_PERSISTENT_KEEPALIVE] == S(325));
	sim_run(&s, S(400));
	assert_int_equal(s.n_keepalive, 5);
	for (k = 0; k < 5; k++)
		assert_true(s.keepalive_at[k] == S(300) + k * S(25));
	assert_int_equal(timers_set_persistent_keepalive(&s.t, 25), 0);

	/* Traffic in either direction counts as not idle. */
	s.now = S(410);
	timers_any_authenticated_packet_received(&s.t, s.now);
	timers_any_authenticated_packet_traversal(&s.t, s.now);
	assert_true(s.t.deadline[TIMERS_PERSISTENT_KEEPALIVE] == S(435));
	s.now = S(420);
	sim_data_sent(&s);
	assert_true(s.t.deadline[TIMERS_PERSISTENT_KEEPALIVE] == S(445));
	timers_any_authenticated_packet_received(&s.t, s.now);	/* settle the new-handshake timer */

	/* Changed live: the pending one stands, the next uses the new interval. */
	assert_int_equal(timers_set_persistent_keepalive(&s.t, 10), 0);
	assert_true(s.t.deadline[TIMERS_PERSISTENT_KEEPALIVE] == S(445));
	k = s.n_keepalive;
	sim_run(&s, S(465));
	assert_int_equal(s.n_keepalive, k + 3);
	assert_true(s.keepalive_at[k] == S(445));
	assert_true(s.keepalive_at[k + 1] == S(455));
	assert_true(s.keepalive_at[k + 2] == S(465));

	/* Off again: cancelled at once, nothing more. */
	k = s.n_keepalive;
	assert_int_equal(timers_set_persistent_keepalive(&s.t, 0), 0);
	assert_false(timers_armed(&s.t, TIMERS_PERSISTENT_KEEPALIVE));
	timers_any_authenticated_packet_traversal(&s.t, s.now);
	assert_false(timers_armed(&s.t, TIMERS_PERSISTENT_KEEPALIVE));
	sim_run(&s, S(1000));
	assert_int_equal(s.n_keepalive, k);
	assert_int_equal(timers_set_persistent_keepalive(&s.t, 1), TIMERS_SEND_KEEPALIVE);

	/* While stopped, turning it on asks for nothing. */
	timers_stop(&s.t);
	assert_int_equal(timers_set_persistent_keepalive(&s.t, 0), 0);
	assert_int_equal(timers_set_persistent_keepalive(&s.t, 5), 0);
	timers_any_authenticated_packet_traversal(&s.t, s.now);
	assert_false(timers_armed(&s.t, TIMERS_PERSISTENT_KEEPALIVE));
}

static void arm_all(struct timers *t, uint64_t now)
{
	timers_handshake_initiated(t, now);
	timers_data_received(t, now);
	timers_data_sent(t, now);
	timers_session_derived(t, now);
	timers_any_authenticated_packet_traversal(t, now);
}

static void test_stop_cancels_all(void **state)
{
	uint64_t zero = 0;
	struct timers t;
	int id;

	(void)state;
	timers_init(&t, fixed_jitter, &zero);
	timers_set_persistent_keepalive(&t, 15);
	arm_all(&t, S(1));
	for (id = 0; id < TIMERS_COUNT; id++)
		assert_true(timers_armed(&t, id));

	timers_stop(&t);
	assert_true(timers_next_deadline(&t) == TIMERS_NEVER);
	assert_int_equal(timers_tick(&t, S(10000)), 0);
	arm_all(&t, S(2));
	timers_data_received(&t, S(3));
	assert_false(t.need_another_keepalive);
	assert_true(timers_next_deadline(&t) == TIMERS_NEVER);

	timers_start(&t);
	arm_all(&t, S(4));
	for (id = 0; id < TIMERS_COUNT; id++)
		assert_true(timers_armed(&t, id));
	assert_true(timers_next_deadline(&t) == S(4) + REKEY_TIMEOUT_NS);
}

static uint64_t min_deadline(const struct timers *t)
{
	uint64_t m = TIMERS_NEVER;
	int id;

	for (id = 0; id < TIMERS_COUNT; id++)
		if (t->deadline[id] < m)
			m = t->deadline[id];
	return m;
}

static void test_next_deadline_is_earliest(void **state)
{
	uint64_t zero = 0;
	struct timers t;

	(void)state;
	timers_init(&t, fixed_jitter, &zero);
	timers_session_derived(&t, 0);
	assert_true(timers_next_deadline(&t) == S(540));
	timers_set_persistent_keepalive(&t, 100);
	timers_any_authenticated_packet_traversal(&t, 0);
	assert_true(timers_next_deadline(&t) == S(100));
	timers_data_sent(&t, 0);
	assert_true(timers_next_deadline(&t) == S(15));
	timers_data_received(&t, 0);
	assert_true(timers_next_deadline(&t) == S(10));
	timers_handshake_initiated(&t, 0);
	assert_true(timers_next_deadline(&t) == S(5));
	timers_handshake_complete(&t, 0);
	assert_true(timers_next_deadline(&t) == S(10));
	timers_any_authenticated_packet_sent(&t, 0);
	assert_true(timers_next_deadline(&t) == S(15));
	timers_any_authenticated_packet_received(&t, 0);
	assert_true(timers_next_deadline(&t) == S(100));
	assert_int_equal(timers_tick(&t, S(100)), TIMERS_SEND_KEEPALIVE);
	assert_true(timers_next_deadline(&t) == S(540));
}

/* A late tick fires in deadline order, whatever the order of the timers. */
static void test_late_tick_order(void **state)
{
	uint64_t zero = 0;
	struct timers t;

	(void)state;
	timers_init(&t, fixed_jitter, &zero);

	/* Give-up due before the keepalive: the keepalive never fires. */
	t.handshake_attempts = MAX_TIMER_HANDSHAKES + 1;
	timers_handshake_initiated(&t, 0);
	timers_data_received(&t, S(1));
	assert_int_equal(timers_tick(&t, S(30)), TIMERS_DROP_STAGED);
	assert_false(timers_armed(&t, TIMERS_PASSIVE_KEEPALIVE));
	assert_true(t.deadline[TIMERS_ZERO_KEY_MATERIAL] == S(30) + ZERO_AFTER);

	/* Keepalive due first: it fires, then the give-up cancels its re-arm. */
	timers_init(&t, fixed_jitter, &zero);
	t.handshake_attempts = MAX_TIMER_HANDSHAKES + 1;
	timers_data_received(&t, 0);
	timers_data_received(&t, S(1));
	timers_handshake_initiated(&t, S(6));
	assert_int_equal(timers_tick(&t, S(30)), TIMERS_SEND_KEEPALIVE | TIMERS_DROP_STAGED);
	assert_false(timers_armed(&t, TIMERS_PASSIVE_KEEPALIVE));
	assert_false(t.need_another_keepalive);

	/* Everything due at once. */
	timers_init(&t, fixed_jitter, &zero);
	timers_set_persistent_keepalive(&t, 1);
	arm_all(&t, 0);
	assert_int_equal(timers_tick(&t, S(1000)), TIMERS_SEND_INITIATION | TIMERS_CLEAR_SRC |
			 TIMERS_SEND_KEEPALIVE | TIMERS_ZERO_KEYS);
	/* The new-handshake expiry (15 s) came after the retry (5 s). */
	assert_int_equal(t.handshake_attempts, 0);
	assert_true(timers_next_deadline(&t) == TIMERS_NEVER);
}

static void test_jitter_bounds(void **state)
{
	static const uint64_t raw[] = { 0, 1, JMAX - 1, JMAX, JMAX + 5, UINT64_MAX };
	uint64_t v, lo = UINT64_MAX, hi = 0;
	struct timers t;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		timers_init(&t, fixed_jitter, (void *)&raw[i]);
		timers_handshake_initiated(&t, S(7));
		v = t.deadline[TIMERS_RETRANSMIT_HANDSHAKE] - S(7) - REKEY_TIMEOUT_NS;
		assert_true(v == raw[i] % JMAX);
		timers_data_sent(&t, S(7));
		v = t.deadline[TIMERS_NEW_HANDSHAKE] - S(7) - KEEPALIVE_TIMEOUT_NS - REKEY_TIMEOUT_NS;
		assert_true(v == raw[i] % JMAX);
	}

	/* The libsodium default spreads over [0, 1/3 s). */
	timers_init(&t, NULL, NULL);
	for (i = 0; i < 2000; i++) {
		timers_handshake_initiated(&t, 0);
		v = t.deadline[TIMERS_RETRANSMIT_HANDSHAKE] - REKEY_TIMEOUT_NS;
		assert_true(v < JMAX);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	assert_true(lo < JMAX / 10);
	assert_true(hi > JMAX - JMAX / 10);
}

/* Deadlines saturate below TIMERS_NEVER and a tick there still ends. */
static void test_end_of_time(void **state)
{
	struct timers t;

	(void)state;
	timers_init(&t, NULL, NULL);
	timers_session_derived(&t, UINT64_MAX - 5);
	assert_true(t.deadline[TIMERS_ZERO_KEY_MATERIAL] == TIMERS_NEVER - 1);
	timers_data_received(&t, UINT64_MAX - 5);
	timers_data_received(&t, UINT64_MAX - 5);
	assert_int_equal(timers_tick(&t, UINT64_MAX - 1), TIMERS_SEND_KEEPALIVE | TIMERS_ZERO_KEYS);
}

static unsigned long long seed;
static unsigned long step_no;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			print_error("seed %llu step %lu: %s\n", seed, step_no, #cond); \
			fail();                                                  \
		}                                                                \
	} while (0)

/* The actions a timer may cause when it fires (give-up included). */
static unsigned int may_cause(int id)
{
	switch (id) {
	case TIMERS_RETRANSMIT_HANDSHAKE:
		return TIMERS_SEND_INITIATION | TIMERS_CLEAR_SRC | TIMERS_DROP_STAGED;
	case TIMERS_PASSIVE_KEEPALIVE:
	case TIMERS_PERSISTENT_KEEPALIVE:
		return TIMERS_SEND_KEEPALIVE;
	case TIMERS_NEW_HANDSHAKE:
		return TIMERS_SEND_INITIATION | TIMERS_CLEAR_SRC;
	default:
		return TIMERS_ZERO_KEYS;
	}
}

static void checked_tick(struct sim *s, unsigned int *seen)
{
	uint64_t before[TIMERS_COUNT];
	unsigned int allowed = 0, expired = 0, a;
	struct timers copy = s->t;
	int id;

	memcpy(before, s->t.deadline, sizeof(before));
	for (id = 0; id < TIMERS_COUNT; id++) {
		if (s->t.deadline[id] <= s->now) {
			expired |= 1U << id;
			allowed |= may_cause(id);
		}
	}
	a = timers_tick(&s->t, s->now);
	*seen |= a;
	CHECK((a & ~allowed) == 0);
	if (!expired) {
		CHECK(a == 0);
		CHECK(memcmp(copy.deadline, s->t.deadline, sizeof(before)) == 0);
		CHECK(copy.handshake_attempts == s->t.handshake_attempts);
		CHECK(copy.need_another_keepalive == s->t.need_another_keepalive);
	}
	if (expired & 1U << TIMERS_RETRANSMIT_HANDSHAKE)
		CHECK(a & (TIMERS_SEND_INITIATION | TIMERS_DROP_STAGED));
	if (expired & 1U << TIMERS_NEW_HANDSHAKE)
		CHECK((a & (TIMERS_SEND_INITIATION | TIMERS_CLEAR_SRC)) ==
		      (TIMERS_SEND_INITIATION | TIMERS_CLEAR_SRC));
	if (expired & 1U << TIMERS_ZERO_KEY_MATERIAL)
		CHECK(a & TIMERS_ZERO_KEYS);
	if (expired & 1U << TIMERS_PERSISTENT_KEEPALIVE)
		CHECK(a & TIMERS_SEND_KEEPALIVE);
	if ((a & TIMERS_DROP_STAGED) && !(before[TIMERS_ZERO_KEY_MATERIAL] <= s->now))
		CHECK(s->t.deadline[TIMERS_ZERO_KEY_MATERIAL] ==
		      (timers_armed(&copy, TIMERS_ZERO_KEY_MATERIAL) ? before[TIMERS_ZERO_KEY_MATERIAL]
								      : s->now + ZERO_AFTER));
	for (id = 0; id < TIMERS_COUNT; id++) {
		/* Nothing left in the past, and untouched timers stay put. */
		CHECK(s->t.deadline[id] > s->now);
		if (expired & 1U << id || id == TIMERS_ZERO_KEY_MATERIAL)
			continue;
		if (id == TIMERS_PASSIVE_KEEPALIVE && (a & TIMERS_DROP_STAGED))
			CHECK(!timers_armed(&s->t, id));
		else
			CHECK(s->t.deadline[id] == before[id]);
	}
	sim_apply(s, a);
}

static void check_invariants(const struct sim *s)
{
	int id;

	CHECK(timers_next_deadline(&s->t) == min_deadline(&s->t));
	CHECK(s->t.handshake_attempts <= MAX_TIMER_HANDSHAKES + 1);
	for (id = 0; id < TIMERS_COUNT; id++) {
		if (!s->t.running)
			CHECK(!timers_armed(&s->t, id));
		if (timers_armed(&s->t, id))
			CHECK(s->t.deadline[id] <= s->now + ZERO_AFTER + S(65535));
	}
	if (!s->t.persistent_keepalive_interval)
		CHECK(!timers_armed(&s->t, TIMERS_PERSISTENT_KEEPALIVE));
	else if (timers_armed(&s->t, TIMERS_PERSISTENT_KEEPALIVE))
		CHECK(s->t.deadline[TIMERS_PERSISTENT_KEEPALIVE] <=
		      s->now + S(65535));
}

/* One random hook, with the window it must have armed. */
static void random_event(struct sim *s, uint64_t *rng)
{
	uint64_t before[TIMERS_COUNT], d, now = s->now;
	bool was_armed, running = s->t.running;
	unsigned int pick = xorshift(rng) % 100;
	static const uint16_t intervals[] = { 0, 1, 5, 25 };

	memcpy(before, s->t.deadline, sizeof(before));
	if (pick < 25) {
		was_armed = timers_armed(&s->t, TIMERS_NEW_HANDSHAKE);
		sim_data_sent(s);
		d = s->t.deadline[TIMERS_NEW_HANDSHAKE];
		CHECK(!timers_armed(&s->t, TIMERS_PASSIVE_KEEPALIVE));
		if (!running)
			CHECK(!timers_armed(&s->t, TIMERS_NEW_HANDSHAKE));
		else if (was_armed)
			CHECK(d == before[TIMERS_NEW_HANDSHAKE]);
		else
			CHECK(d >= now + S(15) && d < now + S(15) + JMAX);
	} else if (pick < 50) {
		was_armed = timers_armed(&s->t, TIMERS_PASSIVE_KEEPALIVE);
		sim_data_received(s);
		CHECK(!timers_armed(&s->t, TIMERS_NEW_HANDSHAKE));
		if (!running)
			CHECK(!timers_armed(&s->t, TIMERS_PASSIVE_KEEPALIVE));
		else if (was_armed)
			CHECK(s->t.deadline[TIMERS_PASSIVE_KEEPALIVE] == before[TIMERS_PASSIVE_KEEPALIVE] &&
			      s->t.need_another_keepalive);
		else
			CHECK(s->t.deadline[TIMERS_PASSIVE_KEEPALIVE] == now + KEEPALIVE_TIMEOUT_NS);
	} else if (pick < 60) {
		/* A keepalive or handshake message received. */
		timers_any_authenticated_packet_received(&s->t, now);
		timers_any_authenticated_packet_traversal(&s->t, now);
		CHECK(!timers_armed(&s->t, TIMERS_NEW_HANDSHAKE));
		if (running && s->t.persistent_keepalive_interval)
			CHECK(s->t.deadline[TIMERS_PERSISTENT_KEEPALIVE] ==
			      now + S(s->t.persistent_keepalive_interval));
	} else if (pick < 70) {
		sim_initiate(s, false);
		CHECK(s->t.handshake_attempts == 0);
		if (running && s->last_initiation == now) {
			d = s->t.deadline[TIMERS_RETRANSMIT_HANDSHAKE];
			CHECK(d >= now + REKEY_TIMEOUT_NS && d < now + REKEY_TIMEOUT_NS + JMAX);
		}
	} else if (pick < 78) {
		/* Response received: a session, completion, then a keepalive back. */
		timers_session_derived(&s->t, now);
		timers_handshake_complete(&s->t, now);
		timers_any_authenticated_packet_received(&s->t, now);
		timers_any_authenticated_packet_traversal(&s->t, now);
		CHECK(!timers_armed(&s->t, TIMERS_RETRANSMIT_HANDSHAKE));
		CHECK(s->t.handshake_attempts == 0 && s->t.last_handshake_ns == now);
		CHECK(!running || s->t.deadline[TIMERS_ZERO_KEY_MATERIAL] == now + ZERO_AFTER);
		s->have_keypair = true;
		sim_keepalive(s);
	} else if (pick < 84) {
		/* Initiation received: we answer with a response. */
		timers_any_authenticated_packet_received(&s->t, now);
		timers_any_authenticated_packet_traversal(&s->t, now);
		timers_session_derived(&s->t, now);
		timers_any_authenticated_packet_traversal(&s->t, now);
		timers_any_authenticated_packet_sent(&s->t, now);
		CHECK(!timers_armed(&s->t, TIMERS_PASSIVE_KEEPALIVE));
	} else if (pick < 90) {
		sim_apply(s, timers_set_persistent_keepalive(&s->t, intervals[xorshift(rng) % 4]));
	} else if (pick < 92) {
		timers_stop(&s->t);
		CHECK(timers_next_deadline(&s->t) == TIMERS_NEVER);
	} else if (pick < 96) {
		timers_start(&s->t);
	}	/* else nothing happens for a while */
}

static void test_randomized_invariants(void **state)
{
	uint64_t jitter_state, rng, target, gap, next;
	unsigned int seen = 0;
	struct sim s;

	(void)state;
	seed = 0x5eed0fa11ULL;
	rng = seed;
	jitter_state = seed ^ 0x9e3779b97f4a7c15ULL;
	sim_init(&s, xorshift_jitter, &jitter_state);
	s.now = 0;
	for (step_no = 0; step_no < 200000; step_no++) {
		unsigned int shape = xorshift(&rng) % 1000;
		bool punctual = xorshift(&rng) % 10 < 8;

		if (shape < 600)
			gap = xorshift(&rng) % S(3);
		else if (shape < 950)
			gap = xorshift(&rng) % S(30);
		else if (shape < 995)
			gap = xorshift(&rng) % S(200);
		else
			gap = xorshift(&rng) % S(800);
		target = s.now + gap;
		if (punctual) {
			while ((next = timers_next_deadline(&s.t)) <= target) {
				CHECK(next >= s.now);
				s.now = next;
				checked_tick(&s, &seen);
				check_invariants(&s);
			}
			s.now = target;
		} else {
			s.now = target;
			checked_tick(&s, &seen);
			check_invariants(&s);
		}
		random_event(&s, &rng);
		check_invariants(&s);
	}
	/* The run must have reached every kind of expiry to mean anything. */
	CHECK(seen == (TIMERS_SEND_INITIATION | TIMERS_SEND_KEEPALIVE | TIMERS_DROP_STAGED |
		       TIMERS_ZERO_KEYS | TIMERS_CLEAR_SRC));
	CHECK(s.n_drop > 0 && s.n_zero > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_idle),
		cmocka_unit_test(test_retransmit_schedule_and_give_up),
		cmocka_unit_test(test_give_up_keeps_pending_wipe_and_cancels_keepalive),
		cmocka_unit_test(test_complete_cancels_retransmit),
		cmocka_unit_test(test_fresh_request_restarts_budget),
		cmocka_unit_test(test_keepalive_after_receive),
		cmocka_unit_test(test_need_another_keepalive),
		cmocka_unit_test(test_new_handshake_after_silence),
		cmocka_unit_test(test_new_handshake_end_to_end),
		cmocka_unit_test(test_zero_key_material),
		cmocka_unit_test(test_persistent_keepalive),
		cmocka_unit_test(test_stop_cancels_all),
		cmocka_unit_test(test_next_deadline_is_earliest),
		cmocka_unit_test(test_late_tick_order),
		cmocka_unit_test(test_jitter_bounds),
		cmocka_unit_test(test_end_of_time),
		cmocka_unit_test(test_randomized_invariants),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
