// SPDX-License-Identifier: MIT
/*
 * wgud-bench: micro-benchmarks of the protocol core.
 *   - handshakes per second, initiator and responder sides timed apart, and
 *     the responder's whole device path with 10,000 peers (bench_device.c);
 *   - transport seal and open per packet at 64, 512 and 1420 bytes, in
 *     nanoseconds and packets per second on one core, each beside the bare
 *     libsodium AEAD call on the same bytes, so the cost of WireGuard's
 *     framing (header, nonce, padding; the replay window) shows.
 * Figures drift on a shared machine; read them as ratios within one run.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cookie.h"
#include "keypair.h"
#include "noise.h"
#include "transport.h"

#define BENCH_MTU 1420
#define OPEN_BATCH 2048

static double seconds_per_test = 1.0;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void print_machine(void)
{
	char line[256], model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':');

			if (!strncmp(line, "model name", 10) && colon) {
				snprintf(model, sizeof(model), "%s", colon + 2);
				model[strcspn(model, "\n")] = '\0';
				break;
			}
		}
		fclose(f);
	}
	printf("machine: %s, %ld cores online; libsodium %s\n", model, sysconf(_SC_NPROCESSORS_ONLN),
	       sodium_version_string());
}

struct hs_pair {
	struct noise_static_identity ia, ib;
	struct noise_handshake a, b;
	struct cookie_maker ma, mb;
	struct cookie_checker cb, ca;
};

static struct noise_handshake *lookup_a(void *ctx, const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	struct hs_pair *p = ctx;

	return sodium_memcmp(pub, p->b.remote_static, NOISE_PUBLIC_KEY_LEN) == 0 ? &p->b : NULL;
}

static int bench_handshakes(void)
{
	static const uint8_t src[6] = { 10, 0, 0, 1, 0xca, 0x6c };
	struct hs_pair *p = sodium_malloc(sizeof(*p));
	uint8_t sk[32];
	uint64_t t_init = 0, t_resp = 0, start, t, n = 0, fake_now = 0;
	int ret = -EINVAL;

	if (!p)
		return -ENOMEM;
	randombytes_buf(sk, sizeof(sk));
	if (noise_identity_set(&p->ia, sk))
		goto out;
	randombytes_buf(sk, sizeof(sk));
	if (noise_identity_set(&p->ib, sk))
		goto out;
	noise_handshake_init(&p->a, &p->ia, p->ib.static_public, NULL);
	noise_handshake_init(&p->b, &p->ib, p->ia.static_public, NULL);
	cookie_maker_init(&p->ma, p->ib.static_public);
	cookie_maker_init(&p->mb, p->ia.static_public);
	cookie_checker_init(&p->cb, p->ib.static_public);
	cookie_checker_init(&p->ca, p->ia.static_public);

	start = now_ns();
	while (now_ns() - start < (uint64_t)(seconds_per_test * 2 * NSEC_PER_SEC)) {
		struct message_handshake_initiation init;
		struct message_handshake_response resp;
		struct noise_session_keys keys;
		struct noise_handshake *found;

		/* The responder's flood guard wants 20 ms between initiations; step a fake clock. */
		fake_now += NSEC_PER_SEC;
		t = now_ns();
		if (noise_create_initiation(&init, &p->a, &p->ia, 1, fake_now + 1700000000ULL * NSEC_PER_SEC) ||
		    cookie_add_mac_to_packet(&p->ma, (uint8_t *)&init, sizeof(init), fake_now))
			goto out;
		t_init += now_ns() - t;

		t = now_ns();
		if (cookie_validate_packet(&p->cb, (uint8_t *)&init, sizeof(init), src, sizeof(src), false, fake_now) ==
			    COOKIE_MAC_INVALID ||
		    noise_consume_initiation(&init, &p->ib, lookup_a, p, fake_now, &found) ||
		    noise_create_response(&resp, &p->b, &p->ib, 2) ||
		    cookie_add_mac_to_packet(&p->mb, (uint8_t *)&resp, sizeof(resp), fake_now) ||
		    noise_derive_session(&keys, &p->b))
			goto out;
		t_resp += now_ns() - t;

		t = now_ns();
		if (cookie_validate_packet(&p->ca, (uint8_t *)&resp, sizeof(resp), src, sizeof(src), false, fake_now) ==
			    COOKIE_MAC_INVALID ||
		    noise_consume_response(&resp, &p->a, &p->ia) || noise_derive_session(&keys, &p->a))
			goto out;
		t_init += now_ns() - t;
		noise_session_keys_wipe(&keys);
		n++;
	}
	printf("\nhandshakes (one core, X25519 dominates: initiator 4 DH, responder 4 DH)\n");
	printf("  %-34s %10.0f /s   (%6.1f us each)\n", "initiator: create init, consume resp", n / (t_init / 1e9),
	       t_init / 1e3 / (double)n);
	printf("  %-34s %10.0f /s   (%6.1f us each)\n", "responder: consume init, create resp", n / (t_resp / 1e9),
	       t_resp / 1e3 / (double)n);
	{
		uint8_t q[32], s[32];

		randombytes_buf(s, sizeof(s));
		t = now_ns();
		for (n = 0; n < 2000; n++)
			if (crypto_scalarmult(q, s, p->ib.static_public))
				goto out;
		t = now_ns() - t;
		printf("  %-34s %10.0f /s   (%6.1f us each)\n", "raw libsodium X25519", 2000 / (t / 1e9), t / 1e3 / 2000);
	}
	ret = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_free(p);
	if (ret)
		fprintf(stderr, "wgud-bench: handshake failed\n");
	return ret;
}

#define ROUNDS 7

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void report(const char *what, size_t size, double per, double raw_per)
{
	printf("  %-13s %5zu B  %8.0f ns/pkt  %7.3f Mpps/core  %6.2f Gbit/s", what, size, per, 1e3 / per,
	       size * 8.0 / per);
	if (raw_per > 0)
		printf("   vs the raw libsodium call %+5.1f%%", (per / raw_per - 1.0) * 100.0);
	printf("\n");
}

struct transport_bench {
	size_t size, stride, wire;
	uint8_t key[32];
	uint8_t *plain, *buf, *sealed;
	struct keypair *kp;
};

/* Each round does OPEN_BATCH packets of one kind; returns ns per packet, or a negative value on failure. */
static double round_raw_seal(struct transport_bench *b)
{
	uint8_t nonce[12] = { 0 };
	size_t padded = transport_padded_len(b->size, BENCH_MTU), i;
	uint64_t t = now_ns();

	for (i = 0; i < OPEN_BATCH; i++) {
		message_le64_store(nonce + 4, i);
		crypto_aead_chacha20poly1305_ietf_encrypt(b->sealed + i * b->stride + 16, NULL, b->plain, padded, NULL, 0,
							  NULL, nonce, b->key);
	}
	return (double)(now_ns() - t) / OPEN_BATCH;
}

static double round_seal(struct transport_bench *b)
{
	uint64_t t;
	size_t i;

	keypair_init(b->kp, b->key, b->key, 1, 1, true, 0);
	t = now_ns();
	for (i = 0; i < OPEN_BATCH; i++)
		if (transport_seal(b->kp, b->sealed + i * b->stride, b->stride, b->plain, b->size, BENCH_MTU, 1) !=
		    (ssize_t)b->wire)
			return -1;
	return (double)(now_ns() - t) / OPEN_BATCH;
}

/* Opens what the last round_seal left in b->sealed. */
static double round_raw_open(struct transport_bench *b)
{
	uint8_t nonce[12] = { 0 };
	uint64_t t = now_ns();
	size_t i;

	for (i = 0; i < OPEN_BATCH; i++) {
		const uint8_t *m = b->sealed + i * b->stride;

		memcpy(nonce + 4, m + 8, 8);
		if (crypto_aead_chacha20poly1305_ietf_decrypt(b->buf, NULL, NULL, m + 16, b->wire - 16, NULL, 0, nonce,
							      b->key))
			return -1;
	}
	return (double)(now_ns() - t) / OPEN_BATCH;
}

static double round_open(struct transport_bench *b)
{
	uint64_t t;
	size_t i;

	keypair_init(b->kp, b->key, b->key, 1, 1, true, 0);
	t = now_ns();
	for (i = 0; i < OPEN_BATCH; i++)
		if (transport_open(b->kp, b->buf, b->stride, b->sealed + i * b->stride, b->wire, 1) < 0)
			return -1;
	return (double)(now_ns() - t) / OPEN_BATCH;
}

/*
 * Raw and framed rounds alternate, and each figure is the median of its
 * rounds: a neighbour's load then hits both sides of a ratio alike.
 */
static int bench_transport(size_t size)
{
	struct transport_bench b = { .size = size, .stride = size + 64 };
	double rs[ROUNDS], s[ROUNDS], ro[ROUNDS], o[ROUNDS];
	uint64_t start = now_ns(), budget = (uint64_t)(seconds_per_test * NSEC_PER_SEC);
	int r, n = 0, ret = -ENOMEM;

	b.wire = transport_sealed_len(size, BENCH_MTU);
	b.plain = malloc(size);
	b.buf = malloc(b.stride);
	b.sealed = malloc((size_t)OPEN_BATCH * b.stride);
	b.kp = sodium_malloc(sizeof(*b.kp));
	if (!b.plain || !b.buf || !b.sealed || !b.kp)
		goto out;
	randombytes_buf(b.plain, size);
	randombytes_buf(b.key, sizeof(b.key));
	ret = -EIO;
	for (r = 0; r < ROUNDS && (r < 3 || now_ns() - start < budget); r++, n++) {
		rs[r] = round_raw_seal(&b);
		s[r] = round_seal(&b);
		ro[r] = round_raw_open(&b);
		o[r] = round_open(&b);
		if (s[r] < 0 || ro[r] < 0 || o[r] < 0) {
			fprintf(stderr, "wgud-bench: transport at %zu bytes failed\n", size);
			goto out;
		}
	}
	{
		double mrs = median(rs, n), ms = median(s, n), mro = median(ro, n), mo = median(o, n);

		report("raw-seal", size, mrs, 0);
		report("seal+framing", size, ms, mrs);
		report("raw-open", size, mro, 0);
		report("open+replay", size, mo, mro);
	}
	ret = 0;
out:
	if (b.kp)
		keypair_wipe(b.kp);
	sodium_free(b.kp);
	sodium_memzero(b.key, sizeof(b.key));
	free(b.plain);
	free(b.buf);
	free(b.sealed);
	return ret;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, 512, 1420 };
	size_t i;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--quick")) {
			seconds_per_test = 0.2;
		} else if (!strcmp(argv[a], "--seconds") && a + 1 < argc) {
			seconds_per_test = atof(argv[++a]);
			if (!(seconds_per_test > 0 && seconds_per_test <= 60)) {
				fprintf(stderr, "wgud-bench: --seconds takes a number in (0, 60]\n");
				return 2;
			}
		} else {
			fprintf(stderr, "Usage: wgud-bench [--quick | --seconds S]\n");
			return 2;
		}
	}
	if (sodium_init() < 0)
		return 1;
	print_machine();
	if (bench_handshakes())
		return 1;
	if (bench_device_handshakes(seconds_per_test * 2, 10000))
		return 1;
	printf("\ntransport (one core; ChaCha20-Poly1305, mtu %d)\n", BENCH_MTU);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (bench_transport(sizes[i]))
			return 1;
	return 0;
}
