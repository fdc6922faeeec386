/* SPDX-License-Identifier: MIT */
/*
 * Key text forms: base64 in wg-quick files and on the command line, lowercase
 * hex in the UAPI. libsodium's codecs run in constant time, so a key's value
 * does not show in timing while it is encoded or parsed.
 */
#ifndef WGUD_KEYS_H
#define WGUD_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_LEN 32
#define KEY_BASE64_LEN 44 /* with one '=' of padding */
#define KEY_HEX_LEN 64

/* out must hold KEY_BASE64_LEN + 1 bytes. */
void key_to_base64(char *out, const uint8_t key[KEY_LEN]);
/* Exactly 44 characters of standard base64 encoding 32 bytes: 0 or -EINVAL (key untouched). */
int key_from_base64(uint8_t key[KEY_LEN], const char *text, size_t len);
/* out must hold KEY_HEX_LEN + 1 bytes. */
void key_to_hex(char *out, const uint8_t key[KEY_LEN]);
/* Exactly 64 hex digits: 0 or -EINVAL (key untouched). */
int key_from_hex(uint8_t key[KEY_LEN], const char *text, size_t len);

/* A fresh Curve25519 private key, clamped as `wg genkey` makes them. */
void key_generate_private(uint8_t key[KEY_LEN]);

#endif
