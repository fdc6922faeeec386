// SPDX-License-Identifier: MIT
/* BLAKE2s per RFC 7693 section 3, written for clarity over speed: handshakes
 * are a few dozen compressions each, the data path never hashes. */
#include "blake2s.h"

#include <sodium.h>
#include <string.h>

static const uint32_t iv[8] = {
	0x6A09E667UL, 0xBB67AE85UL, 0x3C6EF372UL, 0xA54FF53AUL,
	0x510E527FUL, 0x9B05688CUL, 0x1F83D9ABUL, 0x5BE0CD19UL,
};

static const uint8_t sigma[10][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static inline uint32_t ror32(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The mixing function G, RFC 7693 3.1, with BLAKE2s rotations 16, 12, 8, 7. */
static inline void mix(uint32_t v[16], int a, int b, int c, int d, uint32_t x, uint32_t y)
{
	v[a] = v[a] + v[b] + x;
	v[d] = ror32(v[d] ^ v[a], 16);
	v[c] = v[c] + v[d];
	v[b] = ror32(v[b] ^ v[c], 12);
	v[a] = v[a] + v[b] + y;
	v[d] = ror32(v[d] ^ v[a], 8);
	v[c] = v[c] + v[d];
	v[b] = ror32(v[b] ^ v[c], 7);
}

/* The compression function F, RFC 7693 3.2. */
static void compress(struct blake2s_state *st, const uint8_t block[BLAKE2S_BLOCK_LEN])
{
	uint32_t m[16], v[16];
	int i;

	for (i = 0; i < 16; i++)
		m[i] = load32(block + 4 * i);
	for (i = 0; i < 8; i++) {
		v[i] = st->h[i];
		v[i + 8] = iv[i];
	}
	v[12] ^= st->t[0];
	v[13] ^= st->t[1];
	v[14] ^= st->f[0];
	v[15] ^= st->f[1];
	for (i = 0; i < 10; i++) {
		const uint8_t *s = sigma[i];

		mix(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
		mix(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
		mix(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
		mix(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
		mix(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
		mix(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
		mix(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
		mix(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
	}
	for (i = 0; i < 8; i++)
		st->h[i] ^= v[i] ^ v[i + 8];
	sodium_memzero(m, sizeof(m));
	sodium_memzero(v, sizeof(v));
}

static void increment_counter(struct blake2s_state *st, uint32_t inc)
{
	st->t[0] += inc;
	st->t[1] += (st->t[0] < inc);
}

void blake2s_init(struct blake2s_state *st, size_t outlen, const uint8_t *key, size_t keylen)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->h, iv, sizeof(st->h));
	/* Parameter block word 0: digest length, key length, fanout 1, depth 1. */
	st->h[0] ^= 0x01010000UL ^ ((uint32_t)keylen << 8) ^ (uint32_t)outlen;
	st->outlen = outlen;
	if (keylen) {
		uint8_t block[BLAKE2S_BLOCK_LEN] = { 0 };

		memcpy(block, key, keylen);
		blake2s_update(st, block, sizeof(block));
		sodium_memzero(block, sizeof(block));
	}
}

void blake2s_update(struct blake2s_state *st, const uint8_t *in, size_t inlen)
{
	/* The last block is held back: it must be compressed with the final flag. */
	while (inlen) {
		size_t take;

		if (st->buflen == BLAKE2S_BLOCK_LEN) {
			increment_counter(st, BLAKE2S_BLOCK_LEN);
			compress(st, st->buf);
			st->buflen = 0;
		}
		take = BLAKE2S_BLOCK_LEN - st->buflen;
		if (take > inlen)
			take = inlen;
		memcpy(st->buf + st->buflen, in, take);
		st->buflen += take;
		in += take;
		inlen -= take;
	}
}

void blake2s_final(struct blake2s_state *st, uint8_t *out)
{
	uint8_t full[BLAKE2S_HASH_LEN];
	int i;

	increment_counter(st, (uint32_t)st->buflen);
	memset(st->buf + st->buflen, 0, BLAKE2S_BLOCK_LEN - st->buflen);
	st->f[0] = 0xFFFFFFFFUL;
	compress(st, st->buf);
	for (i = 0; i < 8; i++) {
		full[4 * i] = (uint8_t)st->h[i];
		full[4 * i + 1] = (uint8_t)(st->h[i] >> 8);
		full[4 * i + 2] = (uint8_t)(st->h[i] >> 16);
		full[4 * i + 3] = (uint8_t)(st->h[i] >> 24);
	}
	memcpy(out, full, st->outlen);
	sodium_memzero(full, sizeof(full));
	sodium_memzero(st, sizeof(*st));
}

void blake2s(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen, const uint8_t *key, size_t keylen)
{
	struct blake2s_state st;

	blake2s_init(&st, outlen, key, keylen);
	blake2s_update(&st, in, inlen);
	blake2s_final(&st, out);
}

void blake2s_hmac(uint8_t out[BLAKE2S_HASH_LEN], const uint8_t *in, size_t inlen, const uint8_t *key, size_t keylen)
{
	struct blake2s_state st;
	uint8_t x_key[BLAKE2S_BLOCK_LEN] = { 0 };
	uint8_t i_hash[BLAKE2S_HASH_LEN];
	int i;

	if (keylen > BLAKE2S_BLOCK_LEN)
		blake2s(x_key, BLAKE2S_HASH_LEN, key, keylen, NULL, 0);
	else
		memcpy(x_key, key, keylen);

	for (i = 0; i < BLAKE2S_BLOCK_LEN; i++)
		x_key[i] ^= 0x36;
	blake2s_init(&st, BLAKE2S_HASH_LEN, NULL, 0);
	blake2s_update(&st, x_key, BLAKE2S_BLOCK_LEN);
	blake2s_update(&st, in, inlen);
	blake2s_final(&st, i_hash);

	for (i = 0; i < BLAKE2S_BLOCK_LEN; i++)
		x_key[i] ^= 0x5c ^ 0x36;
	blake2s_init(&st, BLAKE2S_HASH_LEN, NULL, 0);
	blake2s_update(&st, x_key, BLAKE2S_BLOCK_LEN);
	blake2s_update(&st, i_hash, BLAKE2S_HASH_LEN);
	blake2s_final(&st, out);

	sodium_memzero(x_key, sizeof(x_key));
	sodium_memzero(i_hash, sizeof(i_hash));
}

void kdf(uint8_t *out1, uint8_t *out2, uint8_t *out3, const uint8_t *input, size_t inputlen,
	 const uint8_t key[BLAKE2S_HASH_LEN])
{
	uint8_t secret[BLAKE2S_HASH_LEN];
	uint8_t output[BLAKE2S_HASH_LEN + 1];
	uint8_t *outs[3] = { out1, out2, out3 };
	size_t prevlen = 0;
	int i;

	blake2s_hmac(secret, input, inputlen, key, BLAKE2S_HASH_LEN);
	for (i = 0; i < 3 && outs[i]; i++) {
		/* t_i = HMAC(t0, t_{i-1} || i); t_{i-1} is already in output[0..31]. */
		output[prevlen] = (uint8_t)(i + 1);
		blake2s_hmac(output, output, prevlen + 1, secret, BLAKE2S_HASH_LEN);
		memcpy(outs[i], output, BLAKE2S_HASH_LEN);
		prevlen = BLAKE2S_HASH_LEN;
	}
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(output, sizeof(output));
}
