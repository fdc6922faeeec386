// SPDX-License-Identifier: MIT
/* mac1/mac2 and cookie replies (whitepaper 5.4.4, 5.4.7) between a maker and a checker. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "blake2s.h"
#include "cookie.h"
#include "messages.h"

#define SEC NSEC_PER_SEC
#define T0 (1000ULL * SEC)

static const uint8_t src_a[COOKIE_SRC_V4_LEN] = { 192, 0, 2, 1, 0xca, 0x6c };
static const uint8_t src_a_other_port[COOKIE_SRC_V4_LEN] = { 192, 0, 2, 1, 0xca, 0x6d };
static const uint8_t src_b[COOKIE_SRC_V4_LEN] = { 192, 0, 2, 2, 0xca, 0x6c };
static const uint8_t src_v6[COOKIE_SRC_V6_LEN] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xbb };

/* The two messages that carry MACs, as (type, length). */
static const struct {
	uint8_t type;
	size_t len;
} kinds[] = {
	{ MESSAGE_HANDSHAKE_INITIATION, sizeof(struct message_handshake_initiation) },
	{ MESSAGE_HANDSHAKE_RESPONSE, sizeof(struct message_handshake_response) },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

struct fixture {
	uint8_t responder_pub[NOISE_PUBLIC_KEY_LEN];
	struct cookie_checker checker;
	struct cookie_maker maker;
};

static int setup(void **state)
{
	static struct fixture f;
	size_t i;

	for (i = 0; i < sizeof(f.responder_pub); i++)
		f.responder_pub[i] = (uint8_t)(0xa0 + i * 7);
	cookie_checker_init(&f.checker, f.responder_pub);
	cookie_maker_init(&f.maker, f.responder_pub);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cookie_checker_uninit(&f->checker);
	cookie_maker_uninit(&f->maker);
	return 0;
}

/* A handshake message of the given kind with deterministic filler and zero MACs. */
static void make_msg(uint8_t *msg, size_t k, uint32_t sender_index, uint8_t fill)
{
	size_t i;

	for (i = 0; i < kinds[k].len; i++)
		msg[i] = (uint8_t)(fill + i * 13);
	memset(msg, 0, sizeof(struct message_header));
	msg[0] = kinds[k].type;
	message_le32_store(msg + 4, sender_index);
	memset(msg + kinds[k].len - sizeof(struct message_macs), 0, sizeof(struct message_macs));
}

static size_t mac1_off(size_t k)
{
	return kinds[k].len - sizeof(struct message_macs);
}

static bool is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n--)
		acc |= *p++;
	return !acc;
}

/* Have the maker send msg k at t, the checker answer from src, the maker take the answer. */
static void get_cookie(struct fixture *f, size_t k, const uint8_t *src, size_t src_len, uint64_t t)
{
	struct message_handshake_cookie reply;
	uint8_t msg[148];

	make_msg(msg, k, 0x01020304, 0x55);
	assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, kinds[k].len, t), 0);
	assert_int_equal(cookie_message_create(&reply, &f->checker, msg, kinds[k].len, src, src_len, t), 0);
	assert_int_equal(cookie_message_consume(&f->maker, &reply, t), 0);
}

/* Send a fresh message of kind k at t and return what the checker makes of it under load. */
static enum cookie_mac_state send_and_check(struct fixture *f, size_t k, const uint8_t *src, size_t src_len,
					    uint64_t t)
{
	uint8_t msg[148];

	make_msg(msg, k, 0x0a0b0c0d, 0x33);
	assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, kinds[k].len, t), 0);
	return cookie_validate_packet(&f->checker, msg, kinds[k].len, src, src_len, true, t);
}

static void test_mac1_every_bit_flip(void **state)
{
	struct fixture *f = *state;
	uint8_t msg[148];
	size_t k, bit;

	for (k = 0; k < NKINDS; k++) {
		size_t len = kinds[k].len, covered = mac1_off(k) + COOKIE_LEN;

		make_msg(msg, k, 7, 0x11);
		assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, len, T0), 0);
		assert_false(is_zero(msg + mac1_off(k), COOKIE_LEN));
		assert_int_equal(cookie_validate_packet(&f->checker, msg, len, src_a, sizeof(src_a), false, T0),
				 COOKIE_MAC_VALID_NO_COOKIE);

		for (bit = 0; bit < covered * 8; bit++) {
			msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (cookie_validate_packet(&f->checker, msg, len, src_a, sizeof(src_a), false, T0) !=
			    COOKIE_MAC_INVALID)
				fail_msg("kind %zu: flipping bit %zu of byte %zu kept mac1 valid", k, bit % 8, bit / 8);
			msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		/* mac2 is not under mac1: flipping it leaves mac1 valid. */
		for (bit = covered * 8; bit < len * 8; bit++) {
			msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(cookie_validate_packet(&f->checker, msg, len, src_a, sizeof(src_a), false, T0),
					 COOKIE_MAC_VALID_NO_COOKIE);
			msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		assert_int_equal(cookie_validate_packet(&f->checker, msg, len, src_a, sizeof(src_a), false, T0),
				 COOKIE_MAC_VALID_NO_COOKIE);
	}
}

static void test_mac1_known_answer(void **state)
{
	struct fixture *f = *state;
	uint8_t key_input[8 + NOISE_PUBLIC_KEY_LEN], key[32], expect[COOKIE_LEN], msg[148];
	size_t k;

	memcpy(key_input, "mac1----", 8);
	memcpy(key_input + 8, f->responder_pub, NOISE_PUBLIC_KEY_LEN);
	blake2s(key, 32, key_input, sizeof(key_input), NULL, 0);

	for (k = 0; k < NKINDS; k++) {
		make_msg(msg, k, 99, 0x42);
		assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, kinds[k].len, T0), 0);
		blake2s(expect, COOKIE_LEN, msg, mac1_off(k), key, sizeof(key));
		assert_memory_equal(msg + mac1_off(k), expect, COOKIE_LEN);
		/* No cookie yet: mac2 is zeros. */
		assert_true(is_zero(msg + mac1_off(k) + COOKIE_LEN, COOKIE_LEN));
	}
	/* The initiation's mac1 covers exactly the first 116 bytes. */
	assert_int_equal(mac1_off(0), 116);
	assert_int_equal(mac1_off(1), 60);
}

static void test_mac1_other_key_invalid(void **state)
{
	struct fixture *f = *state;
	struct cookie_checker other;
	static const uint8_t zero_key[32];
	uint8_t other_pub[NOISE_PUBLIC_KEY_LEN], msg[148];

	memcpy(other_pub, f->responder_pub, sizeof(other_pub));
	other_pub[31] ^= 1;
	cookie_checker_init(&other, other_pub);
	make_msg(msg, 0, 1, 0);
	assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, 148, T0), 0);
	assert_int_equal(cookie_validate_packet(&other, msg, 148, src_a, sizeof(src_a), false, T0),
			 COOKIE_MAC_INVALID);
	cookie_checker_uninit(&other);

	/* A checker without a private key accepts nothing, not even a mac1 made with the all-zero key. */
	cookie_checker_init(&other, NULL);
	assert_int_equal(cookie_validate_packet(&other, msg, 148, src_a, sizeof(src_a), false, T0),
			 COOKIE_MAC_INVALID);
	blake2s(msg + 116, COOKIE_LEN, msg, 116, zero_key, sizeof(zero_key));
	assert_int_equal(cookie_validate_packet(&other, msg, 148, src_a, sizeof(src_a), false, T0),
			 COOKIE_MAC_INVALID);
	cookie_checker_uninit(&other);
}

/* The reply carries tau = MAC(secret, src) under the responder's cookie key, bound to the answered mac1. */
static void test_reply_contents(void **state)
{
	struct fixture *f = *state;
	uint8_t key_input[8 + NOISE_PUBLIC_KEY_LEN], key[32], tau[COOKIE_LEN], expect[COOKIE_LEN], msg[148];
	struct message_handshake_cookie reply;
	size_t k;

	memcpy(key_input, "cookie--", 8);
	memcpy(key_input + 8, f->responder_pub, NOISE_PUBLIC_KEY_LEN);
	blake2s(key, 32, key_input, sizeof(key_input), NULL, 0);

	for (k = 0; k < NKINDS; k++) {
		make_msg(msg, k, 0xdeadbeef, 0x21);
		assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, kinds[k].len, T0), 0);
		assert_int_equal(cookie_message_create(&reply, &f->checker, msg, kinds[k].len, src_a, sizeof(src_a),
						       T0), 0);
		assert_int_equal(message_classify((uint8_t *)&reply, sizeof(reply)), MESSAGE_HANDSHAKE_COOKIE);
		assert_int_equal(message_le32_load(&reply.receiver_index), 0xdeadbeef);
		assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(tau, NULL, NULL, reply.encrypted_cookie,
									    sizeof(reply.encrypted_cookie),
									    msg + mac1_off(k), COOKIE_LEN,
									    reply.nonce, key), 0);
		assert_true(f->checker.have_secret);
		blake2s(expect, COOKIE_LEN, src_a, sizeof(src_a), f->checker.secret, sizeof(f->checker.secret));
		assert_memory_equal(tau, expect, COOKIE_LEN);
	}
}

static void test_mac2_roundtrip(void **state)
{
	struct fixture *f = *state;
	size_t k, j;

	for (k = 0; k < NKINDS; k++) {
		/* Fresh maker per kind so the previous kind's cookie cannot help. */
		cookie_maker_init(&f->maker, f->responder_pub);
		assert_int_equal(send_and_check(f, k, src_a, sizeof(src_a), T0), COOKIE_MAC_VALID_NO_COOKIE);
		get_cookie(f, k, src_a, sizeof(src_a), T0);
		/* Any kind sent afterwards carries the cookie. */
		for (j = 0; j < NKINDS; j++) {
			assert_int_equal(send_and_check(f, j, src_a, sizeof(src_a), T0 + SEC),
					 COOKIE_MAC_VALID_WITH_COOKIE);
			assert_int_equal(send_and_check(f, j, src_b, sizeof(src_b), T0 + SEC),
					 COOKIE_MAC_VALID_NO_COOKIE);
			assert_int_equal(send_and_check(f, j, src_a_other_port, sizeof(src_a_other_port), T0 + SEC),
					 COOKIE_MAC_VALID_NO_COOKIE);
			assert_int_equal(send_and_check(f, j, src_v6, sizeof(src_v6), T0 + SEC),
					 COOKIE_MAC_VALID_NO_COOKIE);
		}
	}

	/* The same over IPv6. */
	cookie_maker_init(&f->maker, f->responder_pub);
	get_cookie(f, 0, src_v6, sizeof(src_v6), T0);
	assert_int_equal(send_and_check(f, 0, src_v6, sizeof(src_v6), T0), COOKIE_MAC_VALID_WITH_COOKIE);
	assert_int_equal(send_and_check(f, 0, src_a, sizeof(src_a), T0), COOKIE_MAC_VALID_NO_COOKIE);
}

static void test_mac2_known_answer_and_bit_flips(void **state)
{
	struct fixture *f = *state;
	size_t bit, len = 148, off = mac1_off(0) + COOKIE_LEN;
	uint8_t msg[148], tau[COOKIE_LEN], expect[COOKIE_LEN];

	get_cookie(f, 0, src_a, sizeof(src_a), T0);
	make_msg(msg, 0, 5, 0x77);
	assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, len, T0), 0);

	/* Known answer: mac2 = MAC(tau, msg[0:132]) with tau = MAC(secret, src), recomputed here. */
	blake2s(tau, COOKIE_LEN, src_a, sizeof(src_a), f->checker.secret, sizeof(f->checker.secret));
	blake2s(expect, COOKIE_LEN, msg, off, tau, sizeof(tau));
	assert_int_equal(off, 132);
	assert_memory_equal(msg + off, expect, COOKIE_LEN);

	assert_int_equal(cookie_validate_packet(&f->checker, msg, len, src_a, sizeof(src_a), true, T0),
			 COOKIE_MAC_VALID_WITH_COOKIE);
	/* Without check_cookie the checker does not look at mac2. */
	assert_int_equal(cookie_validate_packet(&f->checker, msg, len, src_a, sizeof(src_a), false, T0),
			 COOKIE_MAC_VALID_NO_COOKIE);
	for (bit = off * 8; bit < len * 8; bit++) {
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(cookie_validate_packet(&f->checker, msg, len, src_a, sizeof(src_a), true, T0),
				 COOKIE_MAC_VALID_NO_COOKIE);
		msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

static void test_reply_never_sent(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_cookie reply;
	struct cookie_maker other, before;
	uint8_t msg[148];

	/* A reply made for a message the fixture's maker sent, offered to a maker that sent nothing. */
	cookie_maker_init(&other, f->responder_pub);
	make_msg(msg, 0, 1, 1);
	assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, 148, T0), 0);
	assert_int_equal(cookie_message_create(&reply, &f->checker, msg, 148, src_a, sizeof(src_a), T0), 0);
	memcpy(&before, &other, sizeof(other));
	assert_int_equal(cookie_message_consume(&other, &reply, T0), -EINVAL);
	assert_memory_equal(&before, &other, sizeof(other));
	cookie_maker_uninit(&other);
}

static void test_reply_for_older_message(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_cookie reply;
	struct cookie_maker before;
	uint8_t msg1[148], msg2[148];

	/* Same sender index, different content: only mac1 tells the two apart. */
	make_msg(msg1, 0, 1, 1);
	make_msg(msg2, 0, 1, 2);
	assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg1, 148, T0), 0);
	assert_int_equal(cookie_message_create(&reply, &f->checker, msg1, 148, src_a, sizeof(src_a), T0), 0);
	assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg2, 148, T0), 0);
	memcpy(&before, &f->maker, sizeof(before));
	assert_int_equal(cookie_message_consume(&f->maker, &reply, T0), -EINVAL);
	assert_memory_equal(&before, &f->maker, sizeof(before));

	/* A reply to the latest message still works, once. */
	assert_int_equal(cookie_message_create(&reply, &f->checker, msg2, 148, src_a, sizeof(src_a), T0), 0);
	assert_int_equal(cookie_message_consume(&f->maker, &reply, T0), 0);
	assert_true(f->maker.have_cookie);
	memcpy(&before, &f->maker, sizeof(before));
	assert_int_equal(cookie_message_consume(&f->maker, &reply, T0 + SEC), -EINVAL);
	assert_memory_equal(&before, &f->maker, sizeof(before));
}

static void test_reply_tampered(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_cookie reply, bad;
	struct cookie_maker before;
	uint8_t msg[148];
	size_t i;

	/* The maker holds a cookie already, so a refused reply must leave that one in place. */
	get_cookie(f, 0, src_a, sizeof(src_a), T0);
	make_msg(msg, 0, 0x11223344, 9);
	assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, 148, T0 + SEC), 0);
	assert_int_equal(cookie_message_create(&reply, &f->checker, msg, 148, src_a, sizeof(src_a), T0 + SEC), 0);
	memcpy(&before, &f->maker, sizeof(before));

	for (i = 0; i < sizeof(reply); i++) {
		memcpy(&bad, &reply, sizeof(bad));
		((uint8_t *)&bad)[i] ^= 0x01;
		if (cookie_message_consume(&f->maker, &bad, T0 + SEC) != -EINVAL)
			fail_msg("reply with byte %zu flipped was accepted", i);
		assert_memory_equal(&before, &f->maker, sizeof(before));
	}
	assert_int_equal(cookie_message_consume(&f->maker, &reply, T0 + SEC), 0);
}

/* The maker stops using a cookie COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY = 115 s after receiving it. */
static void test_maker_cookie_expiry(void **state)
{
	struct fixture *f = *state;
	const uint64_t life = COOKIE_SECRET_MAX_AGE_NS - COOKIE_SECRET_LATENCY_NS;
	uint8_t msg[148];

	assert_true(life == 115 * SEC);
	get_cookie(f, 0, src_a, sizeof(src_a), T0);

	make_msg(msg, 0, 3, 3);
	assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, 148, T0 + life - 1), 0);
	assert_false(is_zero(msg + 132, COOKIE_LEN));
	assert_int_equal(cookie_validate_packet(&f->checker, msg, 148, src_a, sizeof(src_a), true, T0 + life - 1),
			 COOKIE_MAC_VALID_WITH_COOKIE);

	make_msg(msg, 0, 3, 3);
	assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, 148, T0 + life), 0);
	assert_true(is_zero(msg + 132, COOKIE_LEN));
	assert_int_equal(cookie_validate_packet(&f->checker, msg, 148, src_a, sizeof(src_a), true, T0 + life),
			 COOKIE_MAC_VALID_NO_COOKIE);
}

/* The checker's secret lives 120 s from its first use; cookies made from it die with it. */
static void test_checker_secret_rotation(void **state)
{
	struct fixture *f = *state;
	uint8_t old_secret[sizeof(f->checker.secret)];
	const uint64_t age = COOKIE_SECRET_MAX_AGE_NS;

	/* The secret is born at T0; the maker's cookie at T0 + 100 s is still fresh for the maker at T0 + 120 s. */
	assert_int_equal(send_and_check(f, 0, src_a, sizeof(src_a), T0), COOKIE_MAC_VALID_NO_COOKIE);
	assert_true(f->checker.have_secret);
	memcpy(old_secret, f->checker.secret, sizeof(old_secret));
	get_cookie(f, 0, src_a, sizeof(src_a), T0 + 100 * SEC);

	assert_int_equal(send_and_check(f, 0, src_a, sizeof(src_a), T0 + age - 1), COOKIE_MAC_VALID_WITH_COOKIE);
	assert_memory_equal(old_secret, f->checker.secret, sizeof(old_secret));
	assert_int_equal(send_and_check(f, 0, src_a, sizeof(src_a), T0 + age), COOKIE_MAC_VALID_NO_COOKIE);
	assert_memory_not_equal(old_secret, f->checker.secret, sizeof(old_secret));

	/* A new cookie from the new secret works again. */
	get_cookie(f, 1, src_a, sizeof(src_a), T0 + age + SEC);
	assert_int_equal(send_and_check(f, 1, src_a, sizeof(src_a), T0 + age + 2 * SEC),
			 COOKIE_MAC_VALID_WITH_COOKIE);
}

/* A clock read a little earlier than the secret's birth (another thread) must not rotate it. */
static void test_clock_behind(void **state)
{
	struct fixture *f = *state;

	get_cookie(f, 0, src_a, sizeof(src_a), T0);
	assert_int_equal(send_and_check(f, 0, src_a, sizeof(src_a), T0 - 1000), COOKIE_MAC_VALID_WITH_COOKIE);
}

static void test_wrong_lengths(void **state)
{
	struct fixture *f = *state;
	static const size_t lens[] = { 0, 1, 4, 32, 64, 91, 93, 147, 149 };
	struct message_handshake_cookie reply;
	uint8_t msg[160] = { 0 }, copy[160];
	size_t i, k;

	for (k = 0; k < NKINDS; k++) {
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			make_msg(msg, k, 1, 1);
			memcpy(copy, msg, sizeof(copy));
			assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, lens[i], T0), -EINVAL);
			assert_memory_equal(msg, copy, sizeof(copy));
			assert_int_equal(cookie_validate_packet(&f->checker, msg, lens[i], src_a, sizeof(src_a), true,
								T0), COOKIE_MAC_INVALID);
			assert_int_equal(cookie_message_create(&reply, &f->checker, msg, lens[i], src_a,
							       sizeof(src_a), T0), -EINVAL);
		}
	}

	/* Right length, wrong type or nonzero reserved bytes: a valid initiation relabelled is refused. */
	make_msg(msg, 0, 1, 1);
	assert_int_equal(cookie_add_mac_to_packet(&f->maker, msg, 148, T0), 0);
	msg[0] = MESSAGE_HANDSHAKE_RESPONSE;
	assert_int_equal(cookie_validate_packet(&f->checker, msg, 148, src_a, sizeof(src_a), false, T0),
			 COOKIE_MAC_INVALID);
	msg[0] = MESSAGE_HANDSHAKE_COOKIE;
	assert_int_equal(cookie_validate_packet(&f->checker, msg, 148, src_a, sizeof(src_a), false, T0),
			 COOKIE_MAC_INVALID);
	msg[0] = MESSAGE_HANDSHAKE_INITIATION;
	assert_int_equal(cookie_validate_packet(&f->checker, msg, 148, src_a, sizeof(src_a), false, T0),
			 COOKIE_MAC_VALID_NO_COOKIE);
	msg[2] = 1;
	assert_int_equal(cookie_validate_packet(&f->checker, msg, 148, src_a, sizeof(src_a), false, T0),
			 COOKIE_MAC_INVALID);
	msg[2] = 0;

	/* Source encodings other than v4+port and v6+port. */
	assert_int_equal(cookie_validate_packet(&f->checker, msg, 148, src_v6, 16, false, T0), COOKIE_MAC_INVALID);
	assert_int_equal(cookie_validate_packet(&f->checker, msg, 148, src_a, 4, false, T0), COOKIE_MAC_INVALID);
	assert_int_equal(cookie_message_create(&reply, &f->checker, msg, 148, src_a, 4, T0), -EINVAL);
}

static void test_uninit_wipes(void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[sizeof(struct cookie_maker) > sizeof(struct cookie_checker) ?
				  sizeof(struct cookie_maker) : sizeof(struct cookie_checker)];

	get_cookie(f, 0, src_a, sizeof(src_a), T0);
	cookie_maker_uninit(&f->maker);
	cookie_checker_uninit(&f->checker);
	assert_memory_equal(&f->maker, zero, sizeof(f->maker));
	assert_memory_equal(&f->checker, zero, sizeof(f->checker));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mac1_every_bit_flip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac1_known_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac1_other_key_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_contents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac2_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac2_known_answer_and_bit_flips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_never_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_for_older_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maker_cookie_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checker_secret_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_behind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uninit_wipes, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
