// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "transport.h"

#define SEC NSEC_PER_SEC
#define T0 (1000 * SEC)
#define MTU 1420
#define IDX_A 0x11223344u
#define IDX_B 0xa0b1c2d3u
#define BUF (MESSAGE_MAX_INNER_LEN + 64)

/* a is the initiator; b's receive key is a's send key and the other way round. */
struct pair {
	struct keypair a, b;
};

static uint8_t key1[32], key2[32];
static uint8_t plain[BUF], wire[BUF], opened[BUF];

static void pair_init(struct pair *p)
{
	keypair_init(&p->a, key1, key2, IDX_A, IDX_B, true, T0);
	keypair_init(&p->b, key2, key1, IDX_B, IDX_A, false, T0);
}

static void fill_plain(size_t len, uint8_t salt)
{
	size_t i;

	for (i = 0; i < len; i++)
		plain[i] = (uint8_t)(i * 7 + salt + 1);
}

/* Seals len bytes of plain from a into wire and checks the length; returns it. */
static size_t seal_ok(struct keypair *kp, size_t len, size_t mtu, uint64_t now)
{
	ssize_t r = transport_seal(kp, wire, sizeof(wire), plain, len, mtu, now);

	assert_int_equal(r, transport_sealed_len(len, mtu));
	return (size_t)r;
}

static bool all_zero(const uint8_t *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (b[i])
			return false;
	}
	return true;
}

static bool all_byte(const uint8_t *b, size_t len, uint8_t v)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (b[i] != v)
			return false;
	}
	return true;
}

static void test_padded_len(void **state)
{
	static const struct {
		size_t len, mtu, padded;
	} cases[] = {
		{ 0, MTU, 0 },		{ 1, MTU, 16 },		{ 15, MTU, 16 },	{ 16, MTU, 16 },
		{ 17, MTU, 32 },	{ 64, MTU, 64 },	{ 512, MTU, 512 },	{ 1405, MTU, 1408 },
		{ 1409, MTU, 1420 },	{ 1419, MTU, 1420 },	{ 1420, MTU, 1420 },
		/* an mtu that is not a multiple of 16 caps the padding */
		{ 1410, 1412, 1412 },	{ 1396, 1412, 1408 },	{ 1409, 1412, 1412 },
		/* past the mtu only the last mtu-sized unit is padded */
		{ 1500, 1412, 1508 },	{ 2824, 1412, 2824 },	{ 2825, 1412, 2840 },
		{ 1421, MTU, 1436 },
		/* mtu 0: unknown, plain rounding */
		{ 0, 0, 0 },		{ 1, 0, 16 },		{ 1500, 0, 1504 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (transport_padded_len(cases[i].len, cases[i].mtu) != cases[i].padded)
			fail_msg("case %zu: len %zu mtu %zu: padded %zu, expected %zu", i, cases[i].len,
				 cases[i].mtu, transport_padded_len(cases[i].len, cases[i].mtu), cases[i].padded);
		assert_int_equal(transport_sealed_len(cases[i].len, cases[i].mtu), 32 + cases[i].padded);
	}
}

static void round_trip(struct pair *p, size_t len, size_t mtu, uint64_t expect_counter)
{
	size_t padded = transport_padded_len(len, mtu), n;
	ssize_t r;

	fill_plain(len, (uint8_t)len);
	memset(wire, 0xee, sizeof(wire));
	n = seal_ok(&p->a, len, mtu, T0 + SEC);
	assert_int_equal(n, 16 + padded + 16);
	/* header: type 4, three zero bytes, b's index, le64 counter */
	assert_int_equal(wire[0], 4);
	assert_true(all_zero(wire + 1, 3));
	assert_int_equal(message_le32_load(wire + 4), IDX_B);
	assert_int_equal(message_le64_load(wire + 8), expect_counter);
	/* nothing past the message was touched */
	assert_int_equal(wire[n], 0xee);
	memset(opened, 0xcc, sizeof(opened));
	r = transport_open(&p->b, opened, sizeof(opened), wire, n, T0 + SEC);
	assert_int_equal(r, padded);
	assert_memory_equal(opened, plain, len);
	assert_true(all_zero(opened + len, padded - len));
}

static void test_round_trip_sizes(void **state)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 64, 512, 1420, 1419, 1409, 1405, 1421, 4000 };
	struct pair p;
	size_t i;

	(void)state;
	pair_init(&p);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		round_trip(&p, sizes[i], MTU, i);
	round_trip(&p, 1410, 1412, i++);
	round_trip(&p, MESSAGE_MAX_INNER_LEN, MTU, i++);
	round_trip(&p, 100, 0, i++);
	assert_int_equal(p.a.send_counter, i);
}

static void test_keepalive_is_32_bytes(void **state)
{
	struct pair p;
	uint8_t out[32];

	(void)state;
	pair_init(&p);
	assert_int_equal(transport_seal(&p.a, out, sizeof(out), NULL, 0, MTU, T0), 32);
	assert_int_equal(transport_open(&p.b, opened, 0, out, sizeof(out), T0), 0);
	assert_int_equal(transport_sealed_len(0, MTU), 32);
}

/* The ciphertext is libsodium's ChaCha20-Poly1305 with the nonce built here by hand. */
static void test_known_answer(void **state)
{
	static const uint64_t counters[] = { 0, 1, 0x0102030405060708ULL, REJECT_AFTER_MESSAGES - 1 };
	uint8_t padded[48], expect[48 + 16], nonce[12];
	unsigned long long clen;
	struct pair p;
	size_t i, b;

	(void)state;
	pair_init(&p);
	fill_plain(33, 9);
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		p.a.send_counter = counters[i];
		assert_int_equal(transport_seal(&p.a, wire, sizeof(wire), plain, 33, MTU, T0), 16 + 48 + 16);
		memset(padded, 0, sizeof(padded));
		memcpy(padded, plain, 33);
		memset(nonce, 0, 4);
		for (b = 0; b < 8; b++)
			nonce[4 + b] = (uint8_t)(counters[i] >> (8 * b));
		assert_int_equal(crypto_aead_chacha20poly1305_ietf_encrypt(expect, &clen, padded, sizeof(padded),
									   NULL, 0, NULL, nonce, key1), 0);
		assert_int_equal(clen, sizeof(expect));
		assert_memory_equal(wire + 16, expect, sizeof(expect));
		for (b = 0; b < 8; b++)
			assert_int_equal(wire[8 + b], nonce[4 + b]);
	}
}

static void test_seal_in_place(void **state)
{
	struct pair p;
	size_t n;

	(void)state;
	pair_init(&p);
	fill_plain(100, 3);
	memcpy(wire + 16, plain, 100);
	n = (size_t)transport_seal(&p.a, wire, sizeof(wire), wire + 16, 100, MTU, T0);
	assert_int_equal(n, 16 + 112 + 16);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, n, T0), 112);
	assert_memory_equal(opened, plain, 100);
}

/*
 * Every bit of every byte flipped in turn: refused, with EALREADY only where
 * the flipped counter is one the window already refuses; the window never
 * moves; a refused open leaves no plaintext; the genuine packet still opens.
 */
static void test_bit_flips(void **state)
{
	struct replay_window saved;
	struct pair p;
	uint8_t msg[16 + 64 + 16];
	size_t n, i, bit;
	uint64_t c;
	ssize_t r, want;

	(void)state;
	pair_init(&p);
	fill_plain(64, 1);
	for (i = 0; i < 5; i++) {
		n = seal_ok(&p.a, 64, MTU, T0);
		assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, n, T0), 64);
	}
	n = seal_ok(&p.a, 64, MTU, T0);
	assert_int_equal(n, sizeof(msg));
	memcpy(msg, wire, n);
	saved = p.b.replay;
	for (i = 0; i < n; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(wire, msg, n);
			wire[i] ^= (uint8_t)(1u << bit);
			c = message_le64_load(wire + 8);
			want = i >= 8 && i < 16 && !replay_check(&p.b.replay, c) ? -EALREADY : -EBADMSG;
			memset(opened, 0xcc, sizeof(opened));
			r = transport_open(&p.b, opened, sizeof(opened), wire, n, T0);
			if (r != want)
				fail_msg("byte %zu bit %zu: got %zd, expected %zd", i, bit, r, want);
			assert_memory_equal(&p.b.replay, &saved, sizeof(saved));
			assert_true(all_zero(opened, 64));
			assert_int_equal(opened[64], 0xcc);
		}
	}
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), msg, n, T0), 64);
	assert_memory_equal(opened, plain, 64);
}

/* A tag failure wipes what decryption wrote. */
static void test_tag_failure_wipes(void **state)
{
	struct pair p;
	size_t n;

	(void)state;
	pair_init(&p);
	fill_plain(200, 4);
	n = seal_ok(&p.a, 200, MTU, T0);
	wire[n - 1] ^= 1;
	memset(opened, 0xcc, sizeof(opened));
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, n, T0), -EBADMSG);
	assert_true(all_zero(opened, n - 32));
}

/* A forged packet claiming a huge counter must not move the window and block the real next one. */
static void test_forged_counter_does_not_advance(void **state)
{
	static const uint64_t forged[] = { 1ULL << 40, 5000, COUNTER_BITS_TOTAL * 3, REJECT_AFTER_MESSAGES - 1 };
	struct pair p;
	size_t n, i;

	(void)state;
	pair_init(&p);
	fill_plain(40, 2);
	n = seal_ok(&p.a, 40, MTU, T0);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, n, T0), 48);
	n = seal_ok(&p.a, 40, MTU, T0);
	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		message_le64_store(wire + 8, forged[i]);
		assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, n, T0), -EBADMSG);
		assert_int_equal(p.b.replay.counter, 1);
		assert_true(keypair_can_receive(&p.b, T0));
	}
	message_le64_store(wire + 8, 1);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, n, T0), 48);
	assert_memory_equal(opened, plain, 40);
}

static void test_replay_refused(void **state)
{
	struct pair p;
	size_t n;

	(void)state;
	pair_init(&p);
	fill_plain(10, 0);
	n = seal_ok(&p.a, 10, MTU, T0);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, n, T0), 16);
	memset(opened, 0xcc, sizeof(opened));
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, n, T0), -EALREADY);
	assert_true(all_zero(opened, 16));
	assert_int_equal(opened[16], 0xcc);
}

/* Sealed in order, opened in a scrambled order inside the window: all accepted once. */
static void test_out_of_order(void **state)
{
	enum { N = 300 };
	static uint8_t msgs[N][16 + 32 + 16];
	struct pair p;
	size_t i, j;

	(void)state;
	pair_init(&p);
	for (i = 0; i < N; i++) {
		fill_plain(20, (uint8_t)i);
		assert_int_equal(transport_seal(&p.a, msgs[i], sizeof(msgs[i]), plain, 20, MTU, T0), sizeof(msgs[i]));
	}
	for (i = 0; i < N; i++) {
		j = (i * 197) % N;	/* 197 is prime to 300: a permutation */
		assert_int_equal(transport_open(&p.b, opened, sizeof(opened), msgs[j], sizeof(msgs[j]), T0), 32);
		fill_plain(20, (uint8_t)j);
		assert_memory_equal(opened, plain, 20);
	}
	for (i = 0; i < N; i++)
		assert_int_equal(transport_open(&p.b, opened, sizeof(opened), msgs[i], sizeof(msgs[i]), T0), -EALREADY);
}

/* The window's far edge, through the transport. */
static void test_window_edge(void **state)
{
	const uint64_t top = 20000;
	uint8_t behind[48], edge[48];
	struct pair p;
	size_t n;

	(void)state;
	pair_init(&p);
	fill_plain(1, 0);
	p.a.send_counter = top - COUNTER_WINDOW_SIZE - 1;
	assert_int_equal(transport_seal(&p.a, behind, sizeof(behind), plain, 1, MTU, T0), 48);
	assert_int_equal(transport_seal(&p.a, edge, sizeof(edge), plain, 1, MTU, T0), 48);
	p.a.send_counter = top;
	n = seal_ok(&p.a, 1, MTU, T0);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, n, T0), 16);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), behind, 48, T0), -EALREADY);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), edge, 48, T0), 16);
}

static void test_malformed(void **state)
{
	struct replay_window saved;
	struct pair p;
	size_t n;

	(void)state;
	pair_init(&p);
	fill_plain(30, 0);
	n = seal_ok(&p.a, 30, MTU, T0);
	saved = p.b.replay;
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, 31, T0), -EBADMSG);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, 0, T0), -EBADMSG);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, n - 1, T0), -EBADMSG);
	/* opened by the keypair whose index it does not carry */
	assert_int_equal(transport_open(&p.a, opened, sizeof(opened), wire, n, T0), -EBADMSG);
	/* out one byte short */
	assert_int_equal(transport_open(&p.b, opened, n - 33, wire, n, T0), -EMSGSIZE);
	assert_memory_equal(&p.b.replay, &saved, sizeof(saved));
	assert_int_equal(transport_open(&p.b, opened, n - 32, wire, n, T0), (ssize_t)(n - 32));
}

static void test_seal_too_small(void **state)
{
	struct pair p;

	(void)state;
	pair_init(&p);
	fill_plain(17, 0);
	memset(wire, 0xaa, sizeof(wire));
	assert_int_equal(transport_seal(&p.a, wire, 16 + 32 + 16 - 1, plain, 17, MTU, T0), -EMSGSIZE);
	assert_int_equal(transport_seal(&p.a, wire, 31, NULL, 0, MTU, T0), -EMSGSIZE);
	assert_int_equal(transport_seal(&p.a, wire, sizeof(wire), plain, MESSAGE_MAX_INNER_LEN + 1, 0, T0),
			 -EMSGSIZE);
	assert_true(all_byte(wire, sizeof(wire), 0xaa));
	assert_int_equal(p.a.send_counter, 0);
	assert_int_equal(transport_seal(&p.a, wire, 16 + 32 + 16, plain, 17, MTU, T0), 64);
}

static void test_reject_after_messages_send(void **state)
{
	struct pair p;

	(void)state;
	pair_init(&p);
	fill_plain(8, 0);
	p.a.send_counter = REJECT_AFTER_MESSAGES - 1;
	assert_true(keypair_can_send(&p.a, T0));
	seal_ok(&p.a, 8, MTU, T0);
	assert_int_equal(message_le64_load(wire + 8), REJECT_AFTER_MESSAGES - 1);
	assert_false(keypair_can_send(&p.a, T0));
	memset(wire, 0xaa, sizeof(wire));
	assert_int_equal(transport_seal(&p.a, wire, sizeof(wire), plain, 8, MTU, T0), -EKEYEXPIRED);
	assert_int_equal(transport_seal(&p.a, wire, sizeof(wire), NULL, 0, MTU, T0), -EKEYEXPIRED);
	assert_true(all_byte(wire, sizeof(wire), 0xaa));
	assert_int_equal(p.a.send_counter, REJECT_AFTER_MESSAGES);
}

/* A correctly sealed message with any counter, built with libsodium directly. */
static size_t forge_valid(uint8_t *out, uint32_t index, uint64_t counter, const uint8_t key[32])
{
	uint8_t nonce[12] = { 0 };
	unsigned long long clen;

	out[0] = 4;
	memset(out + 1, 0, 3);
	message_le32_store(out + 4, index);
	message_le64_store(out + 8, counter);
	message_le64_store(nonce + 4, counter);
	memset(out + 16, 0x5a, 16);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_encrypt(out + 16, &clen, out + 16, 16, NULL, 0, NULL,
								   nonce, key), 0);
	return 16 + (size_t)clen;
}

static void test_reject_after_messages_receive(void **state)
{
	uint8_t msg[64];
	struct pair p;
	size_t n;

	(void)state;
	pair_init(&p);
	n = forge_valid(msg, IDX_B, REJECT_AFTER_MESSAGES, key1);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), msg, n, T0), -EALREADY);
	n = forge_valid(msg, IDX_B, UINT64_MAX, key1);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), msg, n, T0), -EALREADY);
	assert_int_equal(p.b.replay.counter, 0);
	n = forge_valid(msg, IDX_B, REJECT_AFTER_MESSAGES - 2, key1);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), msg, n, T0), 16);
	assert_true(keypair_can_receive(&p.b, T0));
	n = forge_valid(msg, IDX_B, REJECT_AFTER_MESSAGES - 1, key1);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), msg, n, T0), 16);
	/* the last counter is used: the receive side is spent, as in the Linux driver */
	assert_false(keypair_can_receive(&p.b, T0));
	n = forge_valid(msg, IDX_B, REJECT_AFTER_MESSAGES - 3, key1);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), msg, n, T0), -EKEYEXPIRED);
}

static void test_reject_after_time(void **state)
{
	const uint64_t before = T0 + REJECT_AFTER_TIME_NS - 1, at = T0 + REJECT_AFTER_TIME_NS;
	uint8_t early[48];
	struct pair p;
	size_t n;

	(void)state;
	pair_init(&p);
	fill_plain(5, 0);
	assert_true(keypair_can_send(&p.a, before));
	assert_true(keypair_can_receive(&p.b, before));
	assert_false(keypair_can_send(&p.a, at));
	assert_false(keypair_can_receive(&p.b, at));
	/* a clock reading before birth is age 0, not a huge age */
	assert_true(keypair_can_send(&p.a, T0 - SEC));
	assert_int_equal(transport_seal(&p.a, early, sizeof(early), plain, 5, MTU, before), 48);
	n = seal_ok(&p.a, 5, MTU, before);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), wire, n, before), 16);
	memset(wire, 0xaa, sizeof(wire));
	assert_int_equal(transport_seal(&p.a, wire, sizeof(wire), plain, 5, MTU, at), -EKEYEXPIRED);
	assert_true(all_byte(wire, sizeof(wire), 0xaa));
	assert_int_equal(p.a.send_counter, 2);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), early, sizeof(early), at), -EKEYEXPIRED);
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), early, sizeof(early), before), 16);
}

static void test_rekey_edges(void **state)
{
	const uint64_t recv_age = REJECT_AFTER_TIME_NS - KEEPALIVE_TIMEOUT_NS - REKEY_TIMEOUT_NS;
	struct pair p;

	(void)state;
	pair_init(&p);
	assert_int_equal(recv_age, 165 * SEC);
	/* messages: strictly more than REKEY_AFTER_MESSAGES, either side */
	p.a.send_counter = REKEY_AFTER_MESSAGES;
	p.b.send_counter = REKEY_AFTER_MESSAGES;
	assert_false(keypair_should_rekey_on_send(&p.a, T0));
	assert_false(keypair_should_rekey_on_send(&p.b, T0));
	p.a.send_counter = REKEY_AFTER_MESSAGES + 1;
	p.b.send_counter = REKEY_AFTER_MESSAGES + 1;
	assert_true(keypair_should_rekey_on_send(&p.a, T0));
	assert_true(keypair_should_rekey_on_send(&p.b, T0));
	p.a.send_counter = p.b.send_counter = 0;
	/* time on send: the initiator only, from age REKEY_AFTER_TIME on */
	assert_false(keypair_should_rekey_on_send(&p.a, T0 + REKEY_AFTER_TIME_NS - 1));
	assert_true(keypair_should_rekey_on_send(&p.a, T0 + REKEY_AFTER_TIME_NS));
	assert_false(keypair_should_rekey_on_send(&p.b, T0 + REKEY_AFTER_TIME_NS));
	assert_false(keypair_should_rekey_on_send(&p.b, T0 + REJECT_AFTER_TIME_NS - 1));
	/* time on receive: the initiator only, from age 165 s on */
	assert_false(keypair_should_rekey_on_receive(&p.a, T0 + recv_age - 1));
	assert_true(keypair_should_rekey_on_receive(&p.a, T0 + recv_age));
	assert_false(keypair_should_rekey_on_receive(&p.b, T0 + recv_age));
	assert_false(keypair_should_rekey_on_receive(&p.b, T0 + REJECT_AFTER_TIME_NS - 1));
	/* a wiped keypair asks for nothing */
	keypair_wipe(&p.a);
	assert_false(keypair_should_rekey_on_send(&p.a, T0 + REKEY_AFTER_TIME_NS));
	assert_false(keypair_should_rekey_on_receive(&p.a, T0 + recv_age));
}

static void test_wipe(void **state)
{
	uint8_t msg[48];
	struct pair p;
	size_t n;

	(void)state;
	pair_init(&p);
	fill_plain(3, 0);
	n = (size_t)transport_seal(&p.a, msg, sizeof(msg), plain, 3, MTU, T0);
	assert_int_equal(n, 48);
	keypair_wipe(&p.a);
	keypair_wipe(&p.b);
	assert_false(p.a.live);
	assert_true(all_zero(p.a.send_key, 32));
	assert_true(all_zero(p.a.recv_key, 32));
	assert_true(all_zero((const uint8_t *)&p.b, sizeof(p.b)));
	assert_false(keypair_can_send(&p.a, T0));
	assert_false(keypair_can_receive(&p.b, T0));
	memset(wire, 0xaa, sizeof(wire));
	assert_int_equal(transport_seal(&p.a, wire, sizeof(wire), plain, 3, MTU, T0), -EKEYEXPIRED);
	assert_int_equal(transport_seal(&p.a, wire, sizeof(wire), NULL, 0, MTU, T0), -EKEYEXPIRED);
	assert_true(all_byte(wire, sizeof(wire), 0xaa));
	/* even with its index put back, a wiped keypair opens nothing */
	p.b.local_index = IDX_B;
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), msg, n, T0), -EKEYEXPIRED);
}

/* Runs the same packets through single calls on one copy and the batch on another. */
static void check_seal_batch(const struct keypair *kp, const size_t *lens, const size_t *caps, size_t n)
{
	static uint8_t single[16][BUF / 8], batched[16][BUF / 8];
	struct transport_pkt pkts[16];
	struct keypair k1 = *kp, k2 = *kp;
	ssize_t r;
	size_t i;

	assert_true(n <= 16);
	memset(single, 0xaa, sizeof(single));
	memset(batched, 0xaa, sizeof(batched));
	for (i = 0; i < n; i++) {
		pkts[i] = (struct transport_pkt){ .in = plain + i, .in_len = lens[i], .out = batched[i],
						  .out_cap = caps[i], .result = 12345 };
	}
	transport_seal_batch(&k2, pkts, n, MTU, T0);
	for (i = 0; i < n; i++) {
		r = transport_seal(&k1, single[i], caps[i], plain + i, lens[i], MTU, T0);
		if (r != pkts[i].result)
			fail_msg("seal packet %zu: single %zd, batch %zd", i, r, pkts[i].result);
	}
	assert_memory_equal(single, batched, sizeof(single));
	assert_memory_equal(&k1, &k2, sizeof(k1));
}

static void test_seal_batch(void **state)
{
	static const size_t lens[] = { 0, 1, 17, 1420, 100, 64, 3, 1000 };
	size_t caps[8], i;
	struct pair p;

	(void)state;
	pair_init(&p);
	fill_plain(BUF / 2, 7);
	for (i = 0; i < 8; i++)
		caps[i] = transport_sealed_len(lens[i], MTU);
	caps[4] -= 1;	/* one too small in the middle */
	check_seal_batch(&p.a, lens, caps, 8);
	/* running out of nonces inside a batch */
	p.a.send_counter = REJECT_AFTER_MESSAGES - 3;
	check_seal_batch(&p.a, lens, caps, 8);
	keypair_wipe(&p.b);
	check_seal_batch(&p.b, lens, caps, 8);
}

static void check_open_batch(const struct keypair *kp, uint8_t msgs[][16 + 64 + 16], const size_t *lens,
			     size_t n, uint64_t now)
{
	static uint8_t single[32][128], batched[32][128];
	struct transport_pkt pkts[32];
	struct keypair k1 = *kp, k2 = *kp;
	ssize_t r;
	size_t i;

	assert_true(n <= 32);
	memset(single, 0xcc, sizeof(single));
	memset(batched, 0xcc, sizeof(batched));
	for (i = 0; i < n; i++) {
		pkts[i] = (struct transport_pkt){ .in = msgs[i], .in_len = lens[i], .out = batched[i],
						  .out_cap = sizeof(batched[i]), .result = 12345 };
	}
	transport_open_batch(&k2, pkts, n, now);
	for (i = 0; i < n; i++) {
		r = transport_open(&k1, single[i], sizeof(single[i]), msgs[i], lens[i], now);
		if (r != pkts[i].result)
			fail_msg("open packet %zu: single %zd, batch %zd", i, r, pkts[i].result);
	}
	assert_memory_equal(single, batched, sizeof(single));
	assert_memory_equal(&k1, &k2, sizeof(k1));
}

static void test_open_batch(void **state)
{
	enum { N = 20, LEN = 16 + 64 + 16 };
	static uint8_t msgs[N][LEN];
	size_t lens[N], i;
	struct pair p;
	int good = 0;

	(void)state;
	pair_init(&p);
	fill_plain(64, 1);
	for (i = 0; i < 6; i++) {
		assert_int_equal(transport_seal(&p.a, msgs[i], LEN, plain, 64, MTU, T0), LEN);
		lens[i] = LEN;
	}
	memcpy(msgs[6], msgs[2], LEN);			/* duplicate inside the batch */
	memcpy(msgs[7], msgs[3], LEN);			/* forged duplicate: tag broken too */
	msgs[7][LEN - 1] ^= 0x80;
	memcpy(msgs[8], msgs[4], LEN);			/* forged: tag broken */
	msgs[8][20] ^= 1;
	memcpy(msgs[9], msgs[5], 31);			/* short */
	lens[6] = lens[7] = lens[8] = LEN;
	lens[9] = 31;
	p.a.send_counter = 10 + COUNTER_WINDOW_SIZE;	/* slides the window past 0..9 */
	assert_int_equal(transport_seal(&p.a, msgs[10], LEN, plain, 64, MTU, T0), LEN);
	p.a.send_counter = 1;
	assert_int_equal(transport_seal(&p.a, msgs[11], LEN, plain, 64, MTU, T0), LEN);	/* now behind */
	memcpy(msgs[12], msgs[11], LEN);		/* behind and forged */
	msgs[12][40] ^= 4;
	p.a.send_counter = 12 + COUNTER_WINDOW_SIZE;
	assert_int_equal(transport_seal(&p.a, msgs[13], LEN, plain, 64, MTU, T0), LEN);
	lens[10] = lens[11] = lens[12] = lens[13] = LEN;
	check_open_batch(&p.b, msgs, lens, 14, T0);
	/* the same again on a window that already saw some of them */
	assert_int_equal(transport_open(&p.b, opened, sizeof(opened), msgs[1], LEN, T0), 64);
	check_open_batch(&p.b, msgs, lens, 14, T0);
	/* near the counter limit: the receive side is spent partway through the batch */
	lens[0] = forge_valid(msgs[0], IDX_B, REJECT_AFTER_MESSAGES - 5, key1);
	lens[1] = forge_valid(msgs[1], IDX_B, REJECT_AFTER_MESSAGES - 1, key1);
	lens[2] = forge_valid(msgs[2], IDX_B, REJECT_AFTER_MESSAGES - 2, key1);
	lens[3] = forge_valid(msgs[3], IDX_B, REJECT_AFTER_MESSAGES, key1);
	check_open_batch(&p.b, msgs, lens, 4, T0);
	/* expired */
	check_open_batch(&p.b, msgs, lens, 4, T0 + REJECT_AFTER_TIME_NS);
	/* make sure the cases above were not all refusals */
	for (i = 0; i < 6; i++)
		good += transport_open(&p.b, opened, sizeof(opened), msgs[i], lens[i], T0) >= 0;
	assert_true(good > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_padded_len),
		cmocka_unit_test(test_round_trip_sizes),
		cmocka_unit_test(test_keepalive_is_32_bytes),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_seal_in_place),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_tag_failure_wipes),
		cmocka_unit_test(test_forged_counter_does_not_advance),
		cmocka_unit_test(test_replay_refused),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_window_edge),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_seal_too_small),
		cmocka_unit_test(test_reject_after_messages_send),
		cmocka_unit_test(test_reject_after_messages_receive),
		cmocka_unit_test(test_reject_after_time),
		cmocka_unit_test(test_rekey_edges),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_seal_batch),
		cmocka_unit_test(test_open_batch),
	};
	size_t i;

	if (sodium_init() < 0)
		return 1;
	for (i = 0; i < sizeof(key1); i++) {
		key1[i] = (uint8_t)(i + 1);
		key2[i] = (uint8_t)(0x80 + i);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
