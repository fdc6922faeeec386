// SPDX-License-Identifier: MIT
/*
 * Known answers for BLAKE2s (RFC 7693 appendix B and the keyed KAT of the
 * BLAKE2 reference: input 00 01 02 ..., key 00..1f), HMAC-BLAKE2s and the
 * WireGuard KDF. Expected values were computed with Python's hashlib/hmac,
 * an implementation independent of ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <sodium.h>

#include "blake2s.h"
#include "test_helpers.h"

static void rfc7693_abc(void **state)
{
	uint8_t out[32], want[32];

	(void)state;
	blake2s(out, 32, (const uint8_t *)"abc", 3, NULL, 0);
	test_unhex(want, sizeof(want), "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	assert_memory_equal(out, want, 32);
}

static const struct {
	size_t len;
	const char *hex;
} keyed_kat[] = {
	{ 0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49" },
	{ 1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1" },
	{ 2, "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803" },
	{ 31, "b6156f72d380ee9ea6acd190464f2307a5c179ef01fd71f99f2d0f7a57360aea" },
	{ 32, "c03bc642b20959cbe133a0303e0c1abff3e31ec8e1a328ec8565c36decff5265" },
	{ 63, "c65382513f07460da39833cb666c5ed82e61b9e998f4b0c4287cee56c3cc9bcd" },
	{ 64, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4" },
	{ 65, "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8" },
	{ 127, "ddbfea75cc467882eb3483ce5e2e756a4f4701b76b445519e89f22d60fa86e06" },
	{ 128, "0c311f38c35a4fb90d651c289d486856cd1413df9b0677f53ece2cd9e477c60a" },
	{ 129, "46a73a8dd3e70f59d3942c01df599def783c9da82fd83222cd662b53dce7dbdf" },
	{ 255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd" },
};

static void keyed_known_answers(void **state)
{
	uint8_t in[256], key[32], out[32], want[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(keyed_kat) / sizeof(keyed_kat[0]); i++) {
		test_unhex(want, sizeof(want), keyed_kat[i].hex);
		blake2s(out, 32, in, keyed_kat[i].len, key, sizeof(key));
		assert_memory_equal(out, want, 32);
	}
}

/* Feeding the input in pieces of any size must give the one-shot result. */
static void incremental_matches_oneshot(void **state)
{
	uint8_t in[300], whole[32], parts[32];
	size_t step, off;

	(void)state;
	for (off = 0; off < sizeof(in); off++)
		in[off] = (uint8_t)(off * 7 + 3);
	blake2s(whole, 32, in, sizeof(in), NULL, 0);
	for (step = 1; step <= 130; step++) {
		struct blake2s_state st;

		blake2s_init(&st, 32, NULL, 0);
		for (off = 0; off < sizeof(in); off += step)
			blake2s_update(&st, in + off, off + step > sizeof(in) ? sizeof(in) - off : step);
		blake2s_final(&st, parts);
		assert_memory_equal(whole, parts, 32);
	}
}

/* MAC in WireGuard is keyed BLAKE2s with a 16-byte digest, not a truncated hash. */
static void mac128_known_answer(void **state)
{
	uint8_t out[16], want[16];

	(void)state;
	blake2s(out, 16, (const uint8_t *)"hello mac1", 10, (const uint8_t *)"0123456789abcdef", 16);
	test_unhex(want, sizeof(want), "4f6a895b2d1a5ee1f7112aae3f2cb618");
	assert_memory_equal(out, want, 16);
}

static void hmac_known_answer(void **state)
{
	uint8_t out[32], want[32];
	uint8_t longkey[100];

	(void)state;
	blake2s_hmac(out, (const uint8_t *)"hello noise", 11, (const uint8_t *)"super secret key", 16);
	test_unhex(want, sizeof(want), "750fd5a6f6d0d915f3a67537105d4dcb5e6377ac83113c56db3a808538db8da2");
	assert_memory_equal(out, want, 32);

	/* A key longer than the block is hashed first (RFC 2104). */
	memset(longkey, 0xaa, sizeof(longkey));
	blake2s_hmac(out, (const uint8_t *)"x", 1, longkey, sizeof(longkey));
	test_unhex(want, sizeof(want), "83b4b16a201cc8af2153fe221bfd2fa7eb768df9f5507a7e784b0a425d208759");
	assert_memory_equal(out, want, 32);
}

static void kdf_known_answers(void **state)
{
	uint8_t key[32], in[10], t1[32], t2[32], t3[32], want[32], only1[32];
	size_t i;

	(void)state;
	test_unhex(key, sizeof(key), "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i + 1);
	kdf(t1, t2, t3, in, sizeof(in), key);
	test_unhex(want, sizeof(want), "7b9e91f1ba1955019211909ea96be3f7dd912c34dd5b7d2fb7635b3131bbbee8");
	assert_memory_equal(t1, want, 32);
	test_unhex(want, sizeof(want), "c8ebb4faa815ad7d55641b12092db89cdb96b207936b0097b85566c353dd2f9b");
	assert_memory_equal(t2, want, 32);
	test_unhex(want, sizeof(want), "faee76cb2abbc110ae7e53278b430cb3d2dd633624f655044a5214dac17cec72");
	assert_memory_equal(t3, want, 32);

	/* KDF1 is the first output of KDF3, and the chaining key may be updated in place. */
	kdf(only1, NULL, NULL, in, sizeof(in), key);
	assert_memory_equal(only1, t1, 32);
	kdf(key, NULL, NULL, in, sizeof(in), key);
	assert_memory_equal(key, t1, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc7693_abc),
		cmocka_unit_test(keyed_known_answers),
		cmocka_unit_test(incremental_matches_oneshot),
		cmocka_unit_test(mac128_known_answer),
		cmocka_unit_test(hmac_known_answer),
		cmocka_unit_test(kdf_known_answers),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
