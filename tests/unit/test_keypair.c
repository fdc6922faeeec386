// SPDX-License-Identifier: MIT
/*
 * The keypair slots' rotation table: every rule of keypair.c, one row each.
 * A row starts from a state (which local indices sit in current, previous
 * and next), applies one event, and names the state after it, what may send,
 * and (by construction) that exactly the held keypairs' indices are
 * registered. Keypairs are named by their local index; 0 is an empty slot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "keypair.h"

#define S NSEC_PER_SEC
/* Start states are born at these times: previous oldest, next newest. */
#define BORN_PREV (0 * S)
#define BORN_CUR (60 * S)
#define BORN_NEXT (90 * S)
#define NOW (100 * S)

enum event {
	INSTALL_INITIATOR, /* our initiation was answered: install with arg as the local index */
	INSTALL_RESPONDER, /* we answered their initiation */
	DATA,              /* a packet opened under keypair arg */
	EXPIRE,            /* keypairs_expire at time arg seconds */
	CLEAR,
};

struct state {
	uint32_t cur, prev, next;
};

struct row {
	const char *what;
	struct state start;
	enum event ev;
	uint64_t arg;
	int ret;          /* install's return; confirm's true/false */
	struct state end;
	uint32_t sends;   /* keypairs_sending at NOW (or at the expiry time) */
};

static const struct row rows[] = {
	/* The initiator's side: the new keypair sends at once. */
	{ "initiator, first session", { 0, 0, 0 }, INSTALL_INITIATOR, 4, 0, { 4, 0, 0 }, 4 },
	{ "initiator, rekey: current becomes previous", { 1, 0, 0 }, INSTALL_INITIATOR, 4, 0, { 4, 1, 0 }, 4 },
	{ "initiator, rekey: previous retires", { 1, 2, 0 }, INSTALL_INITIATOR, 4, 0, { 4, 1, 0 }, 4 },
	{ "initiator, unconfirmed next becomes previous, current and previous retire", { 1, 2, 3 },
	  INSTALL_INITIATOR, 4, 0, { 4, 3, 0 }, 4 },
	{ "initiator, next without previous", { 1, 0, 3 }, INSTALL_INITIATOR, 4, 0, { 4, 3, 0 }, 4 },
	{ "initiator, only a next", { 0, 0, 3 }, INSTALL_INITIATOR, 4, 0, { 4, 3, 0 }, 4 },
	/* The responder's side: the new keypair waits as next; current keeps sending. */
	{ "responder, first session", { 0, 0, 0 }, INSTALL_RESPONDER, 4, 0, { 0, 0, 4 }, 0 },
	{ "responder, current stays", { 1, 0, 0 }, INSTALL_RESPONDER, 4, 0, { 1, 0, 4 }, 1 },
	{ "responder, previous retires", { 1, 2, 0 }, INSTALL_RESPONDER, 4, 0, { 1, 0, 4 }, 1 },
	{ "responder, a pending next is replaced", { 1, 2, 3 }, INSTALL_RESPONDER, 4, 0, { 1, 0, 4 }, 1 },
	/* Confirmation: the initiator's first packet under next. */
	{ "confirm next: it becomes current", { 1, 0, 4 }, DATA, 4, true, { 4, 1, 0 }, 4 },
	{ "confirm first session", { 0, 0, 4 }, DATA, 4, true, { 4, 0, 0 }, 4 },
	{ "confirm retires previous", { 1, 2, 4 }, DATA, 4, true, { 4, 1, 0 }, 4 },
	{ "data on current confirms nothing", { 1, 0, 4 }, DATA, 1, false, { 1, 0, 4 }, 1 },
	{ "data on previous confirms nothing", { 4, 1, 0 }, DATA, 1, false, { 4, 1, 0 }, 4 },
	/* Index clash: the rotation happens, the new keypair does not. */
	{ "initiator, index still held", { 1, 2, 0 }, INSTALL_INITIATOR, 1, -EEXIST, { 0, 1, 0 }, 0 },
	/* Expiry at REJECT_AFTER_TIME (180 s) after each keypair's birth. */
	{ "expire: nothing old enough", { 1, 2, 3 }, EXPIRE, 179, 0, { 1, 2, 3 }, 1 },
	{ "expire: previous at 180 s", { 1, 2, 3 }, EXPIRE, 180, 0, { 1, 0, 3 }, 1 },
	{ "expire: current at 240 s", { 1, 2, 3 }, EXPIRE, 240, 0, { 0, 0, 3 }, 0 },
	{ "expire: all at 270 s", { 1, 2, 3 }, EXPIRE, 270, 0, { 0, 0, 0 }, 0 },
	{ "clear", { 1, 2, 3 }, CLEAR, 0, 0, { 0, 0, 0 }, 0 },
	{ "clear empty", { 0, 0, 0 }, CLEAR, 0, 0, { 0, 0, 0 }, 0 },
};

static const uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN] = { 1 }, recv_key[NOISE_SYMMETRIC_KEY_LEN] = { 2 };

/* Puts a keypair with local index `index` in a free slot, as install would have. */
static struct keypair_slot *place(struct keypairs *k, uint32_t index, bool initiator, uint64_t born)
{
	struct keypair_slot *s = NULL;
	int i;

	if (!index)
		return NULL;
	for (i = 0; i < 3 && !s; i++)
		if (!k->slot[i].used)
			s = &k->slot[i];
	assert_non_null(s);
	keypair_init(&s->kp, send_key, recv_key, index, 100 + index, initiator, born);
	assert_int_equal(indextable_insert_at(k->indices, index, &s->entry), 0);
	s->used = true;
	return s;
}

static void start(struct keypairs *k, const struct state *st)
{
	k->current = place(k, st->cur, true, BORN_CUR);
	k->previous = place(k, st->prev, true, BORN_PREV);
	k->next = place(k, st->next, false, BORN_NEXT);
}

static uint32_t index_of(const struct keypair_slot *s)
{
	return s ? s->kp.local_index : 0;
}

static const struct keypair *by_index(struct keypairs *k, uint32_t index)
{
	const struct wg_index_entry *e = indextable_lookup(k->indices, index);

	return e ? e->kp : NULL;
}

/* Exactly the held keypairs are registered, each under its own index, and only held slots are used. */
static void check_registered(const struct row *r, struct keypairs *k, struct indextable *t)
{
	const struct keypair_slot *held[3] = { k->current, k->previous, k->next };
	size_t n = 0;
	int i;

	for (i = 0; i < 3; i++) {
		const struct wg_index_entry *e;

		if (!held[i])
			continue;
		n++;
		e = indextable_lookup(t, held[i]->kp.local_index);
		if (!e || e->kind != WG_INDEX_KEYPAIR || e->kp != &held[i]->kp || e->peer != (void *)k)
			fail_msg("%s: index %u not registered to its keypair", r->what, held[i]->kp.local_index);
		if (!held[i]->used || !held[i]->kp.live)
			fail_msg("%s: a held slot is not live", r->what);
	}
	if (indextable_count(t) != n)
		fail_msg("%s: %zu indices registered, %zu keypairs held", r->what, indextable_count(t), n);
	for (i = 0; i < 3; i++)
		if (k->slot[i].used != (&k->slot[i] == k->current || &k->slot[i] == k->previous ||
					&k->slot[i] == k->next))
			fail_msg("%s: slot %d used but not held, or held but free", r->what, i);
}

static int apply(struct keypairs *k, const struct row *r, uint64_t *now)
{
	const struct keypair *kp;

	switch (r->ev) {
	case INSTALL_INITIATOR:
	case INSTALL_RESPONDER:
		return keypairs_install(k, send_key, recv_key, (uint32_t)r->arg, 999, r->ev == INSTALL_INITIATOR, NOW);
	case DATA:
		kp = by_index(k, (uint32_t)r->arg);
		assert_non_null(kp);
		return keypairs_confirm(k, kp);
	case EXPIRE:
		*now = r->arg * S;
		keypairs_expire(k, *now);
		return 0;
	case CLEAR:
		keypairs_clear(k);
		return 0;
	}
	return -1;
}

static void test_rotation_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct indextable t;
		struct keypairs k;
		const struct keypair *sending;
		uint64_t now = NOW;
		int ret;

		assert_int_equal(indextable_init(&t, 16), 0);
		keypairs_init(&k, &t, (struct wg_peer *)(void *)&k);
		start(&k, &r->start);
		check_registered(r, &k, &t);
		ret = apply(&k, r, &now);
		if (ret != r->ret)
			fail_msg("%s: returned %d, want %d", r->what, ret, r->ret);
		if (index_of(k.current) != r->end.cur || index_of(k.previous) != r->end.prev ||
		    index_of(k.next) != r->end.next)
			fail_msg("%s: {%u, %u, %u}, want {%u, %u, %u}", r->what, index_of(k.current),
				 index_of(k.previous), index_of(k.next), r->end.cur, r->end.prev, r->end.next);
		check_registered(r, &k, &t);
		sending = keypairs_sending(&k, now);
		if ((sending ? sending->local_index : 0) != r->sends)
			fail_msg("%s: sends with %u, want %u", r->what, sending ? sending->local_index : 0, r->sends);
		keypairs_clear(&k);
		assert_int_equal(indextable_count(&t), 0);
		indextable_uninit(&t);
	}
}

/* A new keypair's keys and role are the ones given; a retired one is wiped. */
static void test_install_contents_and_wipe(void **state)
{
	static const uint8_t zero[NOISE_SYMMETRIC_KEY_LEN];
	struct indextable t;
	struct keypairs k;
	struct keypair_slot *old;

	(void)state;
	assert_int_equal(indextable_init(&t, 16), 0);
	keypairs_init(&k, &t, NULL);
	assert_int_equal(keypairs_install(&k, send_key, recv_key, 7, 70, true, NOW), 0);
	assert_memory_equal(k.current->kp.send_key, send_key, sizeof(send_key));
	assert_memory_equal(k.current->kp.recv_key, recv_key, sizeof(recv_key));
	assert_int_equal(k.current->kp.remote_index, 70);
	assert_true(k.current->kp.initiator);
	assert_int_equal(k.current->kp.birth_ns, NOW);
	old = k.current;
	assert_int_equal(keypairs_install(&k, send_key, recv_key, 8, 80, true, NOW), 0);
	assert_int_equal(keypairs_install(&k, send_key, recv_key, 9, 90, true, NOW), 0);
	/* 7 retired and its slot went to 9; then everything is cleared: wiped and free. */
	assert_null(indextable_lookup(&t, 7));
	assert_int_equal(old->kp.local_index, 9);
	keypairs_clear(&k);
	assert_false(old->used);
	assert_false(old->kp.live);
	assert_memory_equal(old->kp.send_key, zero, sizeof(zero));
	assert_memory_equal(old->kp.recv_key, zero, sizeof(zero));
	assert_int_equal(indextable_count(&t), 0);
	/* Responder's next cannot send before it is confirmed, even when nothing else can. */
	assert_int_equal(keypairs_install(&k, send_key, recv_key, 5, 50, false, NOW), 0);
	assert_null(keypairs_sending(&k, NOW));
	assert_false(k.next->kp.initiator);
	keypairs_clear(&k);
	indextable_uninit(&t);
}

/*
 * Both sides of a few handshakes, as two peers would see them: A initiates,
 * B confirms on A's first data; then B initiates the rekey and A confirms.
 */
static void test_two_sides(void **state)
{
	struct indextable ta, tb;
	struct keypairs a, b;

	(void)state;
	assert_int_equal(indextable_init(&ta, 16), 0);
	assert_int_equal(indextable_init(&tb, 16), 0);
	keypairs_init(&a, &ta, NULL);
	keypairs_init(&b, &tb, NULL);
	/* Handshake 1: A -> B. A's index 11, B's 21. */
	assert_int_equal(keypairs_install(&b, recv_key, send_key, 21, 11, false, NOW), 0);
	assert_int_equal(keypairs_install(&a, send_key, recv_key, 11, 21, true, NOW), 0);
	assert_non_null(keypairs_sending(&a, NOW));
	assert_null(keypairs_sending(&b, NOW));
	assert_true(keypairs_confirm(&b, &b.next->kp));
	assert_int_equal(keypairs_sending(&b, NOW)->local_index, 21);
	/* Handshake 2: B -> A. B's index 22, A's 12. */
	assert_int_equal(keypairs_install(&a, recv_key, send_key, 12, 22, false, NOW + S), 0);
	assert_int_equal(keypairs_install(&b, send_key, recv_key, 22, 12, true, NOW + S), 0);
	assert_int_equal(keypairs_sending(&b, NOW + S)->local_index, 22);
	assert_int_equal(index_of(b.previous), 21);
	/* A still sends with 11 until B's first packet under 12 arrives. */
	assert_int_equal(keypairs_sending(&a, NOW + S)->local_index, 11);
	assert_true(keypairs_confirm(&a, &a.next->kp));
	assert_int_equal(keypairs_sending(&a, NOW + S)->local_index, 12);
	assert_int_equal(index_of(a.previous), 11);
	assert_int_equal(indextable_count(&ta), 2);
	assert_int_equal(indextable_count(&tb), 2);
	keypairs_clear(&a);
	keypairs_clear(&b);
	indextable_uninit(&ta);
	indextable_uninit(&tb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotation_table),
		cmocka_unit_test(test_install_contents_and_wipe),
		cmocka_unit_test(test_two_sides),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
