// SPDX-License-Identifier: MIT
#include "keys.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

void key_to_base64(char *out, const uint8_t key[KEY_LEN])
{
	sodium_bin2base64(out, KEY_BASE64_LEN + 1, key, KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

int key_from_base64(uint8_t key[KEY_LEN], const char *text, size_t len)
{
	uint8_t tmp[KEY_LEN];
	size_t got = 0;
	const char *end = NULL;
	int ret = -EINVAL;

	/* The last character must encode only the top 4 bits of the last byte, then '='. */
	if (len != KEY_BASE64_LEN || text[KEY_BASE64_LEN - 1] != '=')
		goto out;
	if (sodium_base642bin(tmp, sizeof(tmp), text, len, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got != KEY_LEN || end != text + len)
		goto out;
	memcpy(key, tmp, KEY_LEN);
	ret = 0;
out:
	sodium_memzero(tmp, sizeof(tmp));
	return ret;
}

void key_to_hex(char *out, const uint8_t key[KEY_LEN])
{
	sodium_bin2hex(out, KEY_HEX_LEN + 1, key, KEY_LEN);
}

int key_from_hex(uint8_t key[KEY_LEN], const char *text, size_t len)
{
	uint8_t tmp[KEY_LEN];
	size_t got = 0;
	const char *end = NULL;
	int ret = -EINVAL;

	if (len != KEY_HEX_LEN)
		goto out;
	if (sodium_hex2bin(tmp, sizeof(tmp), text, len, NULL, &got, &end) != 0 || got != KEY_LEN || end != text + len)
		goto out;
	memcpy(key, tmp, KEY_LEN);
	ret = 0;
out:
	sodium_memzero(tmp, sizeof(tmp));
	return ret;
}

void key_generate_private(uint8_t key[KEY_LEN])
{
	randombytes_buf(key, KEY_LEN);
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
}
