/* SPDX-License-Identifier: MIT */
/*
 * BLAKE2s (RFC 7693) and the hash constructions WireGuard builds on it
 * (whitepaper 5.4): HASH, MAC, HMAC and the KDF1/KDF2/KDF3 chain.
 * libsodium ships only BLAKE2b, so BLAKE2s lives here.
 */
#ifndef WGUD_BLAKE2S_H
#define WGUD_BLAKE2S_H

#include <stddef.h>
#include <stdint.h>

enum {
	BLAKE2S_BLOCK_LEN = 64,
	BLAKE2S_HASH_LEN = 32,
	BLAKE2S_KEY_LEN = 32,
};

struct blake2s_state {
	uint32_t h[8];
	uint32_t t[2];
	uint32_t f[2];
	uint8_t buf[BLAKE2S_BLOCK_LEN];
	size_t buflen;
	size_t outlen;
};

/* outlen 1..32; key may be NULL when keylen is 0, keylen 0..32. */
void blake2s_init(struct blake2s_state *st, size_t outlen, const uint8_t *key, size_t keylen);
void blake2s_update(struct blake2s_state *st, const uint8_t *in, size_t inlen);
/* Writes st->outlen bytes and wipes the state. */
void blake2s_final(struct blake2s_state *st, uint8_t *out);
void blake2s(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen, const uint8_t *key, size_t keylen);

/* HMAC-BLAKE2s-256 (RFC 2104 over BLAKE2s with its 64-byte block). */
void blake2s_hmac(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *in, size_t inlen, const uint8_t *key, size_t keylen);

/*
 * KDF_n(key, input) of the whitepaper: t0 = HMAC(key, input),
 * t1 = HMAC(t0, 0x1), t_i = HMAC(t0, t_{i-1} || i). Any of out1..out3 may be
 * NULL to stop early; each is 32 bytes.
 */
void kdf(uint8_t *out1, uint8_t *out2, uint8_t *out3, const uint8_t *input, size_t inputlen,
	 const uint8_t key[BLAKE2S_HASH_LEN]);

#endif
