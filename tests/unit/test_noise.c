// SPDX-License-Identifier: MIT
/* The Noise_IKpsk2 handshake between two in-process peers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <sodium.h>

#include "blake2s.h"
#include "noise.h"
#include "tai64n.h"
#include "test_helpers.h"

#define T0_UNIX_NS (1700000000ULL * NSEC_PER_SEC + 123456789ULL)
#define MS (1000000ULL)

struct side {
	struct noise_static_identity id;
	struct noise_handshake peer; /* this side's view of the other */
};

struct pair {
	struct side a, b;
};

static struct noise_handshake *lookup_b_sees_a(void *ctx, const uint8_t pub[32])
{
	struct pair *p = ctx;

	return sodium_memcmp(pub, p->b.peer.remote_static, 32) == 0 ? &p->b.peer : NULL;
}

static struct noise_handshake *lookup_none(void *ctx, const uint8_t pub[32])
{
	(void)ctx;
	(void)pub;
	return NULL;
}

static void make_pair(struct pair *p, const uint8_t *psk)
{
	uint8_t sk[32];

	memset(p, 0, sizeof(*p));
	randombytes_buf(sk, sizeof(sk));
	assert_int_equal(noise_identity_set(&p->a.id, sk), 0);
	randombytes_buf(sk, sizeof(sk));
	assert_int_equal(noise_identity_set(&p->b.id, sk), 0);
	noise_handshake_init(&p->a.peer, &p->a.id, p->b.id.static_public, psk);
	noise_handshake_init(&p->b.peer, &p->b.id, p->a.id.static_public, psk);
}

static void run_handshake(struct pair *p, struct noise_session_keys *ka, struct noise_session_keys *kb)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_handshake *found;

	assert_int_equal(noise_create_initiation(&init, &p->a.peer, &p->a.id, 0x11111111, T0_UNIX_NS), 0);
	assert_int_equal(p->a.peer.state, NOISE_HANDSHAKE_CREATED_INITIATION);
	assert_int_equal(noise_consume_initiation(&init, &p->b.id, lookup_b_sees_a, p, 1000 * MS, &found), 0);
	assert_ptr_equal(found, &p->b.peer);
	assert_int_equal(p->b.peer.remote_index, 0x11111111);
	assert_int_equal(noise_create_response(&resp, &p->b.peer, &p->b.id, 0x22222222), 0);
	assert_int_equal(noise_consume_response(&resp, &p->a.peer, &p->a.id), 0);
	assert_int_equal(noise_derive_session(ka, &p->a.peer), 0);
	assert_int_equal(noise_derive_session(kb, &p->b.peer), 0);
}

static void assert_sessions_match(const struct noise_session_keys *ka, const struct noise_session_keys *kb)
{
	uint8_t ct[64 + 16], pt[64], nonce[12] = { 0 };
	unsigned long long len;

	assert_memory_equal(ka->send, kb->recv, 32);
	assert_memory_equal(ka->recv, kb->send, 32);
	assert_memory_not_equal(ka->send, ka->recv, 32);
	assert_true(ka->initiator);
	assert_false(kb->initiator);
	assert_int_equal(ka->local_index, 0x11111111);
	assert_int_equal(ka->remote_index, 0x22222222);
	assert_int_equal(kb->local_index, 0x22222222);
	assert_int_equal(kb->remote_index, 0x11111111);

	/* The keys really open each other's AEAD messages. */
	memset(pt, 0x5a, sizeof(pt));
	crypto_aead_chacha20poly1305_ietf_encrypt(ct, &len, pt, sizeof(pt), NULL, 0, NULL, nonce, ka->send);
	memset(pt, 0, sizeof(pt));
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, ct, len, NULL, 0, nonce, kb->recv), 0);
	assert_int_equal(pt[0], 0x5a);
	assert_int_not_equal(crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, ct, len, NULL, 0, nonce, kb->send),
			     0);
}

static void initial_state_known_answer(void **state)
{
	uint8_t ck[32], h[32], want[32];

	(void)state;
	noise_initial_state(ck, h);
	test_unhex(want, 32, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	assert_memory_equal(ck, want, 32);
	test_unhex(want, 32, "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
	assert_memory_equal(h, want, 32);
}

static void handshake_without_psk(void **state)
{
	struct pair p;
	struct noise_session_keys ka, kb;

	(void)state;
	make_pair(&p, NULL);
	run_handshake(&p, &ka, &kb);
	assert_sessions_match(&ka, &kb);
	/* Deriving clears the handshake: no ephemeral or chaining key lingers. */
	assert_int_equal(p.a.peer.state, NOISE_HANDSHAKE_ZEROED);
	assert_true(sodium_is_zero(p.a.peer.ephemeral_private, 32));
	assert_true(sodium_is_zero(p.a.peer.chaining_key, 32));
	assert_true(sodium_is_zero(p.b.peer.ephemeral_private, 32));
	noise_session_keys_wipe(&ka);
	assert_true(sodium_is_zero((const unsigned char *)&ka, sizeof(ka)));
}

static void handshake_with_psk(void **state)
{
	struct pair p;
	struct noise_session_keys ka, kb, ka0, kb0;
	uint8_t psk[32];

	(void)state;
	randombytes_buf(psk, sizeof(psk));
	make_pair(&p, psk);
	run_handshake(&p, &ka, &kb);
	assert_sessions_match(&ka, &kb);

	/* Mismatched PSKs: the initiation still passes (psk enters at message 2), the response does not. */
	make_pair(&p, NULL);
	noise_handshake_set_psk(&p.a.peer, psk);
	{
		struct message_handshake_initiation init;
		struct message_handshake_response resp;
		struct noise_handshake *found;

		assert_int_equal(noise_create_initiation(&init, &p.a.peer, &p.a.id, 1, T0_UNIX_NS), 0);
		assert_int_equal(noise_consume_initiation(&init, &p.b.id, lookup_b_sees_a, &p, 0, &found), 0);
		assert_int_equal(noise_create_response(&resp, &p.b.peer, &p.b.id, 2), 0);
		assert_int_equal(noise_consume_response(&resp, &p.a.peer, &p.a.id), -EBADMSG);
		assert_int_equal(p.a.peer.state, NOISE_HANDSHAKE_CREATED_INITIATION);
	}
	(void)ka0;
	(void)kb0;
}

/* h = BLAKE2s(h || data), written out with a buffer rather than noise.c's helper. */
static void hash_append(uint8_t h[32], const uint8_t *data, size_t len)
{
	uint8_t buf[32 + 64];

	memcpy(buf, h, 32);
	memcpy(buf + 32, data, len);
	blake2s(h, 32, buf, 32 + len, NULL, 0);
}

/*
 * Consume an initiation the way the whitepaper writes it, step by step with
 * the primitives, independently of noise.c: the static key and timestamp must
 * come out as sent, with the whitened TAI64N encoding.
 */
static void initiation_matches_whitepaper(void **state)
{
	struct pair p;
	struct message_handshake_initiation init;
	uint8_t ck[32], h[32], k[32], dh[32], s[32], t[12], want_t[12], tmp[96], nonce[12] = { 0 };
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

	(void)state;
	make_pair(&p, NULL);
	assert_int_equal(noise_create_initiation(&init, &p.a.peer, &p.a.id, 0xdeadbeef, T0_UNIX_NS), 0);
	assert_int_equal(init.header.type, 1);
	assert_true(sodium_is_zero(init.header.reserved_zero, 3));
	assert_int_equal(((uint8_t *)&init)[4], 0xef);
	assert_int_equal(((uint8_t *)&init)[7], 0xde);
	assert_true(sodium_is_zero((const unsigned char *)&init.macs, sizeof(init.macs)));

	blake2s(ck, 32, (const uint8_t *)construction, strlen(construction), NULL, 0);
	memcpy(tmp, ck, 32);
	memcpy(tmp + 32, identifier, strlen(identifier));
	blake2s(h, 32, tmp, 32 + strlen(identifier), NULL, 0);
	hash_append(h, p.b.id.static_public, 32);
	kdf(ck, NULL, NULL, init.unencrypted_ephemeral, 32, ck);
	hash_append(h, init.unencrypted_ephemeral, 32);
	assert_int_equal(crypto_scalarmult(dh, p.b.id.static_private, init.unencrypted_ephemeral), 0);
	kdf(ck, k, NULL, dh, 32, ck);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(s, NULL, NULL, init.encrypted_static, 48, h, 32, nonce, k),
			 0);
	assert_memory_equal(s, p.a.id.static_public, 32);
	hash_append(h, init.encrypted_static, 48);
	assert_int_equal(crypto_scalarmult(dh, p.b.id.static_private, p.a.id.static_public), 0);
	kdf(ck, k, NULL, dh, 32, ck);
	assert_int_equal(
		crypto_aead_chacha20poly1305_ietf_decrypt(t, NULL, NULL, init.encrypted_timestamp, 28, h, 32, nonce, k), 0);
	/* TAI64N: 2^62 + 10 + seconds, big-endian; nanoseconds rounded down to 2^24. */
	memset(want_t, 0, sizeof(want_t));
	{
		uint64_t secs = 0x400000000000000aULL + T0_UNIX_NS / NSEC_PER_SEC;
		uint32_t ns = (uint32_t)(T0_UNIX_NS % NSEC_PER_SEC) & ~((1U << 24) - 1);
		int i;

		for (i = 0; i < 8; i++)
			want_t[i] = (uint8_t)(secs >> (56 - 8 * i));
		for (i = 0; i < 4; i++)
			want_t[8 + i] = (uint8_t)(ns >> (24 - 8 * i));
	}
	assert_memory_equal(t, want_t, 12);
	assert_int_equal(T0_UNIX_NS % NSEC_PER_SEC & ~((1U << 24) - 1), 117440512);
}

static void tai64n_order(void **state)
{
	uint8_t a[12], b[12];

	(void)state;
	tai64n_encode(a, T0_UNIX_NS);
	tai64n_encode(b, T0_UNIX_NS + 1);
	/* Within one whitening step the encodings are equal, so not "after". */
	assert_memory_equal(a, b, 12);
	assert_false(tai64n_after(b, a));
	tai64n_encode(b, T0_UNIX_NS + (1U << 24));
	assert_true(tai64n_after(b, a));
	assert_false(tai64n_after(a, b));
	tai64n_encode(b, T0_UNIX_NS + NSEC_PER_SEC);
	assert_true(tai64n_after(b, a));
}

static void replayed_and_stale_initiations_refused(void **state)
{
	struct pair p;
	struct message_handshake_initiation first, older, newer;
	struct noise_handshake *found;
	struct noise_handshake before;

	(void)state;
	make_pair(&p, NULL);
	assert_int_equal(noise_create_initiation(&older, &p.a.peer, &p.a.id, 1, T0_UNIX_NS), 0);
	assert_int_equal(noise_create_initiation(&first, &p.a.peer, &p.a.id, 2, T0_UNIX_NS + NSEC_PER_SEC), 0);
	assert_int_equal(noise_create_initiation(&newer, &p.a.peer, &p.a.id, 3, T0_UNIX_NS + 2 * NSEC_PER_SEC), 0);

	assert_int_equal(noise_consume_initiation(&first, &p.b.id, lookup_b_sees_a, &p, 10 * NSEC_PER_SEC, &found), 0);
	before = p.b.peer;
	/* The very same message again, much later: a replay. */
	assert_int_equal(noise_consume_initiation(&first, &p.b.id, lookup_b_sees_a, &p, 20 * NSEC_PER_SEC, &found),
			 -EALREADY);
	assert_null(found);
	/* An older timestamp: stale. */
	assert_int_equal(noise_consume_initiation(&older, &p.b.id, lookup_b_sees_a, &p, 20 * NSEC_PER_SEC, &found),
			 -EALREADY);
	assert_memory_equal(&before, &p.b.peer, sizeof(before));
	/* Newer, but within 1/INITIATIONS_PER_SECOND of the last one: flood. */
	assert_int_equal(noise_consume_initiation(&newer, &p.b.id, lookup_b_sees_a, &p, 10 * NSEC_PER_SEC + 19 * MS,
						  &found),
			 -EBUSY);
	assert_memory_equal(&before, &p.b.peer, sizeof(before));
	assert_int_equal(noise_consume_initiation(&newer, &p.b.id, lookup_b_sees_a, &p, 10 * NSEC_PER_SEC + 20 * MS,
						  &found),
			 0);
	assert_int_equal(p.b.peer.remote_index, 3);
}

static void unknown_peer_refused(void **state)
{
	struct pair p;
	struct message_handshake_initiation init;
	struct noise_handshake *found;

	(void)state;
	make_pair(&p, NULL);
	assert_int_equal(noise_create_initiation(&init, &p.a.peer, &p.a.id, 1, T0_UNIX_NS), 0);
	assert_int_equal(noise_consume_initiation(&init, &p.b.id, lookup_none, NULL, 0, &found), -ENOKEY);
	/* Sent to the wrong responder: the static key does not decrypt. */
	assert_int_equal(noise_consume_initiation(&init, &p.a.id, lookup_b_sees_a, &p, 0, &found), -EBADMSG);
}

/* Flip every bit of the authenticated fields; noise must refuse and keep its state. */
static void bit_flips_refused(void **state)
{
	struct pair p;
	struct message_handshake_initiation init, bad;
	struct message_handshake_response resp, badr;
	struct noise_handshake *found, before;
	size_t off, bit;
	const size_t init_from = offsetof(struct message_handshake_initiation, unencrypted_ephemeral);
	const size_t init_to = offsetof(struct message_handshake_initiation, macs);
	const size_t resp_from = offsetof(struct message_handshake_response, receiver_index);
	const size_t resp_to = offsetof(struct message_handshake_response, macs);

	(void)state;
	make_pair(&p, NULL);
	assert_int_equal(noise_create_initiation(&init, &p.a.peer, &p.a.id, 7, T0_UNIX_NS), 0);
	before = p.b.peer;
	for (off = init_from; off < init_to; off++) {
		for (bit = 0; bit < 8; bit++) {
			bad = init;
			((uint8_t *)&bad)[off] ^= (uint8_t)(1U << bit);
			assert_int_not_equal(
				noise_consume_initiation(&bad, &p.b.id, lookup_b_sees_a, &p, NSEC_PER_SEC, &found), 0);
			assert_memory_equal(&before, &p.b.peer, sizeof(before));
		}
	}
	assert_int_equal(noise_consume_initiation(&init, &p.b.id, lookup_b_sees_a, &p, NSEC_PER_SEC, &found), 0);
	assert_int_equal(noise_create_response(&resp, &p.b.peer, &p.b.id, 9), 0);
	before = p.a.peer;
	for (off = resp_from; off < resp_to; off++) {
		for (bit = 0; bit < 8; bit++) {
			badr = resp;
			((uint8_t *)&badr)[off] ^= (uint8_t)(1U << bit);
			assert_int_equal(noise_consume_response(&badr, &p.a.peer, &p.a.id), -EBADMSG);
			assert_memory_equal(&before, &p.a.peer, sizeof(before));
		}
	}
	assert_int_equal(noise_consume_response(&resp, &p.a.peer, &p.a.id), 0);
}

/* Curve25519 points of small order; DH with any of them yields zero. */
static const char *const low_order_points[] = {
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

static void all_zero_dh_refused(void **state)
{
	struct pair p;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_handshake *found, bad_peer;
	uint8_t point[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(low_order_points) / sizeof(low_order_points[0]); i++) {
		test_unhex(point, 32, low_order_points[i]);
		make_pair(&p, NULL);

		/* A peer whose static key is a low-order point: no initiation can be made to it (ss). */
		noise_handshake_init(&bad_peer, &p.a.id, point, NULL);
		assert_true(sodium_is_zero(bad_peer.precomputed_static_static, 32));
		assert_int_equal(noise_create_initiation(&init, &bad_peer, &p.a.id, 1, T0_UNIX_NS), -EINVAL);
		assert_true(sodium_is_zero((const unsigned char *)&init, sizeof(init)));

		/* An initiation carrying a low-order ephemeral (es). */
		assert_int_equal(noise_create_initiation(&init, &p.a.peer, &p.a.id, 1, T0_UNIX_NS), 0);
		memcpy(init.unencrypted_ephemeral, point, 32);
		assert_int_equal(noise_consume_initiation(&init, &p.b.id, lookup_b_sees_a, &p, 0, &found), -EBADMSG);

		/* A response carrying a low-order ephemeral (ee, se). */
		assert_int_equal(noise_create_initiation(&init, &p.a.peer, &p.a.id, 1, T0_UNIX_NS), 0);
		assert_int_equal(noise_consume_initiation(&init, &p.b.id, lookup_b_sees_a, &p, 0, &found), 0);
		assert_int_equal(noise_create_response(&resp, &p.b.peer, &p.b.id, 2), 0);
		memcpy(resp.unencrypted_ephemeral, point, 32);
		assert_int_equal(noise_consume_response(&resp, &p.a.peer, &p.a.id), -EBADMSG);

		/* The responder's remote ephemeral being low-order (ee at response time). */
		memcpy(p.b.peer.remote_ephemeral, point, 32);
		p.b.peer.state = NOISE_HANDSHAKE_CONSUMED_INITIATION;
		assert_int_equal(noise_create_response(&resp, &p.b.peer, &p.b.id, 3), -EINVAL);
	}
}

static void state_machine_misuse(void **state)
{
	struct pair p;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	struct noise_session_keys keys;
	struct noise_handshake *found;
	struct noise_static_identity none = { 0 };
	uint8_t zero[32] = { 0 };

	(void)state;
	make_pair(&p, NULL);
	assert_int_equal(noise_create_response(&resp, &p.b.peer, &p.b.id, 1), -EINVAL);
	assert_int_equal(noise_derive_session(&keys, &p.a.peer), -EINVAL);
	assert_int_equal(noise_create_initiation(&init, &p.a.peer, &none, 1, T0_UNIX_NS), -EINVAL);
	assert_int_equal(noise_identity_set(&none, zero), -EINVAL);
	assert_false(none.has_identity);

	assert_int_equal(noise_create_initiation(&init, &p.a.peer, &p.a.id, 5, T0_UNIX_NS), 0);
	assert_int_equal(noise_consume_initiation(&init, &p.b.id, lookup_b_sees_a, &p, 0, &found), 0);
	/* The initiator may not derive before it consumed a response. */
	assert_int_equal(noise_derive_session(&keys, &p.a.peer), -EINVAL);
	assert_int_equal(noise_create_response(&resp, &p.b.peer, &p.b.id, 6), 0);
	/* A response to another handshake (receiver index mismatch) is refused. */
	message_le32_store(&resp.receiver_index, 4);
	assert_int_equal(noise_consume_response(&resp, &p.a.peer, &p.a.id), -EBADMSG);
	/* A second response for a handshake that already completed is refused. */
	message_le32_store(&resp.receiver_index, 5);
	assert_int_equal(noise_consume_response(&resp, &p.a.peer, &p.a.id), 0);
	assert_int_equal(noise_consume_response(&resp, &p.a.peer, &p.a.id), -EBADMSG);
}

static void identity_clamps_and_derives(void **state)
{
	struct noise_static_identity id;
	uint8_t sk[32], pub[32];

	(void)state;
	memset(sk, 0xff, sizeof(sk));
	assert_int_equal(noise_identity_set(&id, sk), 0);
	assert_int_equal(id.static_private[0], 0xf8);
	assert_int_equal(id.static_private[31], 0x7f);
	assert_int_equal(crypto_scalarmult_base(pub, id.static_private), 0);
	assert_memory_equal(pub, id.static_public, 32);
	noise_identity_clear(&id);
	assert_false(id.has_identity);
	assert_true(sodium_is_zero(id.static_private, 32));
}

/* Indices carried in the messages are the caller's; many handshakes in a row all work. */
static void repeated_handshakes(void **state)
{
	struct pair p;
	struct noise_session_keys ka, kb, prev;
	int i;

	(void)state;
	make_pair(&p, NULL);
	memset(&prev, 0, sizeof(prev));
	for (i = 0; i < 20; i++) {
		struct message_handshake_initiation init;
		struct message_handshake_response resp;
		struct noise_handshake *found;

		assert_int_equal(noise_create_initiation(&init, &p.a.peer, &p.a.id, (uint32_t)i + 100,
							 T0_UNIX_NS + (uint64_t)i * NSEC_PER_SEC),
				 0);
		assert_int_equal(noise_consume_initiation(&init, &p.b.id, lookup_b_sees_a, &p,
							  (uint64_t)i * NSEC_PER_SEC, &found),
				 0);
		assert_int_equal(noise_create_response(&resp, &p.b.peer, &p.b.id, (uint32_t)i + 200), 0);
		assert_int_equal(noise_consume_response(&resp, &p.a.peer, &p.a.id), 0);
		assert_int_equal(noise_derive_session(&ka, &p.a.peer), 0);
		assert_int_equal(noise_derive_session(&kb, &p.b.peer), 0);
		assert_memory_equal(ka.send, kb.recv, 32);
		assert_memory_not_equal(ka.send, prev.send, 32);
		prev = ka;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(initial_state_known_answer),
		cmocka_unit_test(handshake_without_psk),
		cmocka_unit_test(handshake_with_psk),
		cmocka_unit_test(initiation_matches_whitepaper),
		cmocka_unit_test(tai64n_order),
		cmocka_unit_test(replayed_and_stale_initiations_refused),
		cmocka_unit_test(unknown_peer_refused),
		cmocka_unit_test(bit_flips_refused),
		cmocka_unit_test(all_zero_dh_refused),
		cmocka_unit_test(state_machine_misuse),
		cmocka_unit_test(identity_clamps_and_derives),
		cmocka_unit_test(repeated_handshakes),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
