// SPDX-License-Identifier: MIT
/*
 * The protocol core end to end, in one process: datagrams pass through the
 * type check and mac1 as they would arrive from the network, indices come
 * from each side's index table, and the derived keypairs carry data both
 * ways with transport seal/open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "cookie.h"
#include "indextable.h"
#include "keypair.h"
#include "noise.h"
#include "transport.h"

#define MTU 1420
#define UNIX_NS (1700000000ULL * NSEC_PER_SEC)

struct node {
	struct noise_static_identity id;
	struct noise_handshake hs; /* the one peer it knows */
	struct cookie_checker checker;
	struct cookie_maker maker;
	struct indextable indices;
	struct keypair kp;
};

static const uint8_t addr_a[6] = { 192, 0, 2, 1, 0x30, 0x39 };
static const uint8_t addr_b[6] = { 192, 0, 2, 2, 0xca, 0x6c };

static struct noise_handshake *lookup(void *ctx, const uint8_t pub[32])
{
	struct node *n = ctx;

	return sodium_memcmp(pub, n->hs.remote_static, 32) == 0 ? &n->hs : NULL;
}

static void node_init(struct node *n)
{
	uint8_t sk[32];

	memset(n, 0, sizeof(*n));
	randombytes_buf(sk, sizeof(sk));
	assert_int_equal(noise_identity_set(&n->id, sk), 0);
	cookie_checker_init(&n->checker, n->id.static_public);
	assert_int_equal(indextable_init(&n->indices, 8), 0);
}

static void nodes_know_each_other(struct node *a, struct node *b, const uint8_t *psk)
{
	noise_handshake_init(&a->hs, &a->id, b->id.static_public, psk);
	noise_handshake_init(&b->hs, &b->id, a->id.static_public, psk);
	cookie_maker_init(&a->maker, b->id.static_public);
	cookie_maker_init(&b->maker, a->id.static_public);
}

static void node_uninit(struct node *n)
{
	indextable_uninit(&n->indices);
	cookie_checker_uninit(&n->checker);
	cookie_maker_uninit(&n->maker);
	keypair_wipe(&n->kp);
	noise_identity_clear(&n->id);
}

/* What a receiving node does with a handshake datagram before Noise sees it. */
static bool admitted(struct node *n, const uint8_t *dgram, size_t len, const uint8_t *src)
{
	enum message_type t = message_classify(dgram, len);

	if (t != MESSAGE_HANDSHAKE_INITIATION && t != MESSAGE_HANDSHAKE_RESPONSE)
		return false;
	return cookie_validate_packet(&n->checker, dgram, len, src, 6, false, NSEC_PER_SEC) != COOKIE_MAC_INVALID;
}

static void make_initiation(struct node *a, struct message_handshake_initiation *init, uint64_t unix_ns)
{
	uint32_t idx;

	assert_int_equal(indextable_insert(&a->indices, &a->hs, &idx), 0);
	assert_int_equal(noise_create_initiation(init, &a->hs, &a->id, idx, unix_ns), 0);
	assert_int_equal(cookie_add_mac_to_packet(&a->maker, (uint8_t *)init, sizeof(*init), NSEC_PER_SEC), 0);
}

/* Runs the whole exchange; returns 0 when both sides hold a live keypair. */
static int handshake(struct node *a, struct node *b, uint64_t unix_ns, uint64_t now_ns)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_handshake *found, *pending;
	struct noise_session_keys keys;
	uint32_t idx;

	make_initiation(a, &init, unix_ns);
	if (!admitted(b, (uint8_t *)&init, sizeof(init), addr_a))
		return -EBADMSG;
	if (noise_consume_initiation(&init, &b->id, lookup, b, now_ns, &found))
		return -EBADMSG;
	assert_int_equal(indextable_insert(&b->indices, found, &idx), 0);
	assert_int_equal(noise_create_response(&resp, found, &b->id, idx), 0);
	assert_int_equal(cookie_add_mac_to_packet(&b->maker, (uint8_t *)&resp, sizeof(resp), NSEC_PER_SEC), 0);
	assert_int_equal(noise_derive_session(&keys, found), 0);
	keypair_init(&b->kp, keys.send, keys.recv, keys.local_index, keys.remote_index, keys.initiator, 0);

	if (!admitted(a, (uint8_t *)&resp, sizeof(resp), addr_b))
		return -EBADMSG;
	pending = indextable_lookup(&a->indices, message_le32_load(&resp.receiver_index));
	if (!pending || noise_consume_response(&resp, pending, &a->id))
		return -EBADMSG;
	assert_int_equal(noise_derive_session(&keys, pending), 0);
	keypair_init(&a->kp, keys.send, keys.recv, keys.local_index, keys.remote_index, keys.initiator, 0);
	noise_session_keys_wipe(&keys);
	return 0;
}

static void carry(struct keypair *from, struct keypair *to, size_t len)
{
	uint8_t plain[MTU], wire[MTU + 64], back[MTU + 64];
	ssize_t n, m;
	size_t i;

	for (i = 0; i < len; i++)
		plain[i] = (uint8_t)(i ^ len);
	n = transport_seal(from, wire, sizeof(wire), plain, len, MTU, NSEC_PER_SEC);
	assert_true(n >= 32);
	assert_int_equal(message_classify(wire, (size_t)n), MESSAGE_DATA);
	m = transport_open(to, back, sizeof(back), wire, (size_t)n, NSEC_PER_SEC);
	assert_true(m >= (ssize_t)len);
	assert_memory_equal(back, plain, len);
	/* The same datagram again is a replay. */
	assert_int_equal(transport_open(to, back, sizeof(back), wire, (size_t)n, NSEC_PER_SEC), -EALREADY);
}

static void session_carries_data_both_ways(void **state)
{
	static const size_t sizes[] = { 0, 1, 64, 512, 1420 };
	uint8_t psk[32];
	int with_psk;
	size_t i;

	(void)state;
	randombytes_buf(psk, sizeof(psk));
	for (with_psk = 0; with_psk < 2; with_psk++) {
		struct node *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

		assert_non_null(a);
		assert_non_null(b);
		node_init(a);
		node_init(b);
		nodes_know_each_other(a, b, with_psk ? psk : NULL);
		assert_int_equal(handshake(a, b, UNIX_NS, NSEC_PER_SEC), 0);
		/* Each side addresses the other by the index the other chose. */
		assert_int_equal(a->kp.remote_index, b->kp.local_index);
		assert_int_equal(b->kp.remote_index, a->kp.local_index);
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			carry(&a->kp, &b->kp, sizes[i]);
			carry(&b->kp, &a->kp, sizes[i]);
		}
		node_uninit(a);
		node_uninit(b);
		free(a);
		free(b);
	}
}

/* One side with a PSK, the other without: no session, nothing to send with. */
static void psk_mismatch_gives_no_session(void **state)
{
	struct node a, b;
	uint8_t psk[32], wire[64];

	(void)state;
	randombytes_buf(psk, sizeof(psk));
	node_init(&a);
	node_init(&b);
	nodes_know_each_other(&a, &b, NULL);
	noise_handshake_set_psk(&b.hs, psk);
	assert_int_equal(handshake(&a, &b, UNIX_NS, NSEC_PER_SEC), -EBADMSG);
	assert_false(a.kp.live);
	assert_int_equal(transport_seal(&a.kp, wire, sizeof(wire), NULL, 0, MTU, NSEC_PER_SEC), -EKEYEXPIRED);
	node_uninit(&a);
	node_uninit(&b);
}

/*
 * Every bit of the whole initiation datagram, indices and MACs included, is
 * covered by mac1 or by Noise: a flipped copy never reaches a session.
 */
static void every_flip_of_the_datagram_refused(void **state)
{
	struct node a, b;
	struct message_handshake_initiation init, bad;
	struct noise_handshake *found;
	size_t off;
	int bit;

	(void)state;
	node_init(&a);
	node_init(&b);
	nodes_know_each_other(&a, &b, NULL);
	make_initiation(&a, &init, UNIX_NS);
	for (off = 0; off < offsetof(struct message_handshake_initiation, macs.mac2); off++) {
		for (bit = 0; bit < 8; bit++) {
			bad = init;
			((uint8_t *)&bad)[off] ^= (uint8_t)(1U << bit);
			if (admitted(&b, (uint8_t *)&bad, sizeof(bad), addr_a) &&
			    noise_consume_initiation(&bad, &b.id, lookup, &b, NSEC_PER_SEC, &found) == 0)
				fail_msg("flip of byte %zu bit %d accepted", off, bit);
		}
	}
	assert_true(admitted(&b, (uint8_t *)&init, sizeof(init), addr_a));
	/* Truncated and extended datagrams are not handshake messages at all. */
	assert_false(admitted(&b, (uint8_t *)&init, sizeof(init) - 1, addr_a));
	node_uninit(&a);
	node_uninit(&b);
}

/* A fresh handshake replaces the session; packets of the old keypair do not open under the new. */
static void rekey_gives_independent_keys(void **state)
{
	struct node a, b;
	struct keypair old_b;
	uint8_t wire[128], back[128], plain[16] = { 1 };
	ssize_t n;

	(void)state;
	node_init(&a);
	node_init(&b);
	nodes_know_each_other(&a, &b, NULL);
	assert_int_equal(handshake(&a, &b, UNIX_NS, NSEC_PER_SEC), 0);
	old_b = b.kp;
	n = transport_seal(&a.kp, wire, sizeof(wire), plain, sizeof(plain), MTU, NSEC_PER_SEC);
	assert_true(n > 0);
	/* Two minutes on, as a rekey would come: a newer timestamp, well past the flood guard. */
	assert_int_equal(handshake(&a, &b, UNIX_NS + REKEY_AFTER_TIME_NS, NSEC_PER_SEC + REKEY_AFTER_TIME_NS), 0);
	assert_memory_not_equal(old_b.recv_key, b.kp.recv_key, 32);
	assert_int_equal(transport_open(&old_b, back, sizeof(back), wire, (size_t)n, NSEC_PER_SEC), 16);
	assert_true(transport_open(&b.kp, back, sizeof(back), wire, (size_t)n, NSEC_PER_SEC) < 0);
	keypair_wipe(&old_b);
	node_uninit(&a);
	node_uninit(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(session_carries_data_both_ways),
		cmocka_unit_test(psk_mismatch_gives_no_session),
		cmocka_unit_test(every_flip_of_the_datagram_refused),
		cmocka_unit_test(rekey_gives_independent_keys),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
