// SPDX-License-Identifier: MIT
/* Key text forms: round trips, and every malformed form refused without touching the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "keys.h"
#include "noise.h"

static void base64_round_trip(void **state)
{
	uint8_t key[32], back[32];
	char text[KEY_BASE64_LEN + 1];
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		randombytes_buf(key, sizeof(key));
		key_to_base64(text, key);
		assert_int_equal(strlen(text), 44);
		assert_int_equal(key_from_base64(back, text, strlen(text)), 0);
		assert_memory_equal(key, back, 32);
	}
}

/* A key pair as `wg genkey | tee priv | wg pubkey` printed it. */
static void known_wg_key_pair(void **state)
{
	static const char priv_b64[] = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
	static const char pub_b64[] = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
	uint8_t priv[32], pub[32], want[32];

	(void)state;
	assert_int_equal(key_from_base64(priv, priv_b64, strlen(priv_b64)), 0);
	assert_int_equal(key_from_base64(want, pub_b64, strlen(pub_b64)), 0);
	assert_int_equal(noise_public_from_private(pub, priv), 0);
	assert_memory_equal(pub, want, 32);
}

static void malformed_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk",    /* no padding */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk==",  /* too long */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBm*=",   /* bad character */
		"yAnz5TF-lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",   /* url-safe alphabet */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fB mk",   /* space */
	};
	uint8_t key[32], orig[32];
	size_t i;

	(void)state;
	memset(key, 0xab, sizeof(key));
	memcpy(orig, key, sizeof(key));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(key_from_base64(key, bad[i], strlen(bad[i])), -EINVAL);
		assert_memory_equal(key, orig, 32);
	}
	assert_int_equal(key_from_hex(key, "00", 2), -EINVAL);
	assert_int_equal(key_from_hex(key, "zz00000000000000000000000000000000000000000000000000000000000000", 64),
			 -EINVAL);
	assert_memory_equal(key, orig, 32);
}

static void hex_round_trip(void **state)
{
	uint8_t key[32], back[32];
	char text[KEY_HEX_LEN + 1];

	(void)state;
	randombytes_buf(key, sizeof(key));
	key_to_hex(text, key);
	assert_int_equal(strlen(text), 64);
	assert_int_equal(key_from_hex(back, text, 64), 0);
	assert_memory_equal(key, back, 32);
}

static void generated_keys_are_clamped(void **state)
{
	uint8_t key[32];
	int i;

	(void)state;
	for (i = 0; i < 64; i++) {
		key_generate_private(key);
		assert_int_equal(key[0] & 7, 0);
		assert_int_equal(key[31] & 0xc0, 0x40);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base64_round_trip),
		cmocka_unit_test(known_wg_key_pair),
		cmocka_unit_test(malformed_refused),
		cmocka_unit_test(hex_round_trip),
		cmocka_unit_test(generated_keys_are_clamped),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
