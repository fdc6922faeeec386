/* SPDX-License-Identifier: MIT */
/*
 * WireGuard wire formats and protocol constants, named as in the whitepaper
 * (section 5.4 for messages, 6.1 for timers). Every other file takes its
 * numbers from here.
 */
#ifndef WGUD_MESSAGES_H
#define WGUD_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

enum {
	NOISE_PUBLIC_KEY_LEN = 32,
	NOISE_PRIVATE_KEY_LEN = 32,
	NOISE_SYMMETRIC_KEY_LEN = 32,
	NOISE_TIMESTAMP_LEN = 12,
	NOISE_AUTHTAG_LEN = 16,
	NOISE_HASH_LEN = 32,
	COOKIE_LEN = 16,
	COOKIE_NONCE_LEN = 24,
};

#define NOISE_ENCRYPTED_LEN(plain) ((plain) + NOISE_AUTHTAG_LEN)

/* Timers and limits, whitepaper section 6.1 and the reference implementations. */
#define REKEY_AFTER_MESSAGES (1ULL << 60)
#define REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13))
#define NSEC_PER_SEC 1000000000ULL
#define REKEY_TIMEOUT_NS (5ULL * NSEC_PER_SEC)
#define REKEY_TIMEOUT_JITTER_MAX_NS (NSEC_PER_SEC / 3)
#define KEEPALIVE_TIMEOUT_NS (10ULL * NSEC_PER_SEC)
#define REKEY_AFTER_TIME_NS (120ULL * NSEC_PER_SEC)
#define REKEY_ATTEMPT_TIME_NS (90ULL * NSEC_PER_SEC)
#define REJECT_AFTER_TIME_NS (180ULL * NSEC_PER_SEC)
#define COOKIE_SECRET_MAX_AGE_NS (120ULL * NSEC_PER_SEC)
#define COOKIE_SECRET_LATENCY_NS (5ULL * NSEC_PER_SEC)
#define INITIATIONS_PER_SECOND 50
#define MAX_TIMER_HANDSHAKES (REKEY_ATTEMPT_TIME_NS / REKEY_TIMEOUT_NS)
#define MAX_STAGED_PACKETS 128
#define MAX_QUEUED_INCOMING_HANDSHAKES 4096
#define UNDER_LOAD_THRESHOLD (MAX_QUEUED_INCOMING_HANDSHAKES / 8)
#define HANDSHAKES_PER_SECOND 20
#define HANDSHAKE_BURST 5

/* Replay window: 8192 bits, one 64-bit word of which is always being recycled. */
#define COUNTER_BITS_TOTAL 8192
#define COUNTER_WINDOW_SIZE (COUNTER_BITS_TOTAL - 64)

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
};

/* All multi-byte integers on the wire are little-endian. */
struct message_header {
	uint8_t type;
	uint8_t reserved_zero[3];
} __attribute__((packed));

struct message_macs {
	uint8_t mac1[COOKIE_LEN];
	uint8_t mac2[COOKIE_LEN];
} __attribute__((packed));

struct message_handshake_initiation {
	struct message_header header;
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[NOISE_ENCRYPTED_LEN(NOISE_PUBLIC_KEY_LEN)];
	uint8_t encrypted_timestamp[NOISE_ENCRYPTED_LEN(NOISE_TIMESTAMP_LEN)];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_response {
	struct message_header header;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[NOISE_ENCRYPTED_LEN(0)];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_cookie {
	struct message_header header;
	uint32_t receiver_index;
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[NOISE_ENCRYPTED_LEN(COOKIE_LEN)];
} __attribute__((packed));

struct message_data {
	struct message_header header;
	uint32_t key_idx;
	uint64_t counter;
	uint8_t encrypted_data[];
} __attribute__((packed));

_Static_assert(sizeof(struct message_handshake_initiation) == 148, "initiation is 148 bytes");
_Static_assert(sizeof(struct message_handshake_response) == 92, "response is 92 bytes");
_Static_assert(sizeof(struct message_handshake_cookie) == 64, "cookie reply is 64 bytes");
_Static_assert(sizeof(struct message_data) == 16, "data header is 16 bytes");

#define MESSAGE_DATA_MIN_LEN (sizeof(struct message_data) + NOISE_AUTHTAG_LEN)
#define MESSAGE_PADDING_MULTIPLE 16
#define MESSAGE_MAX_INNER_LEN 65535

/* Byte offsets that mac1 and mac2 cover: everything before them. */
#define MESSAGE_MAC1_OFFSET(type) (offsetof(type, macs.mac1))
#define MESSAGE_MAC2_OFFSET(type) (offsetof(type, macs.mac2))

static inline uint32_t message_le32_load(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void message_le32_store(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline uint64_t message_le64_load(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)message_le32_load(b) | (uint64_t)message_le32_load(b + 4) << 32;
}

static inline void message_le64_store(void *p, uint64_t v)
{
	message_le32_store(p, (uint32_t)v);
	message_le32_store((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

/*
 * The message type of a datagram, or MESSAGE_INVALID when its length does not
 * fit the type. Only the first byte is a type; the three reserved bytes must be
 * zero, as in the reference implementations.
 */
static inline enum message_type message_classify(const uint8_t *buf, size_t len)
{
	if (len < sizeof(struct message_header) || buf[1] || buf[2] || buf[3])
		return MESSAGE_INVALID;
	switch (buf[0]) {
	case MESSAGE_HANDSHAKE_INITIATION:
		return len == sizeof(struct message_handshake_initiation) ? MESSAGE_HANDSHAKE_INITIATION : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_RESPONSE:
		return len == sizeof(struct message_handshake_response) ? MESSAGE_HANDSHAKE_RESPONSE : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_COOKIE:
		return len == sizeof(struct message_handshake_cookie) ? MESSAGE_HANDSHAKE_COOKIE : MESSAGE_INVALID;
	case MESSAGE_DATA:
		return len >= MESSAGE_DATA_MIN_LEN ? MESSAGE_DATA : MESSAGE_INVALID;
	default:
		return MESSAGE_INVALID;
	}
}

#endif
