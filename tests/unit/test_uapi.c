// SPDX-License-Identifier: MIT
/*
 * The UAPI text protocol: every set key into the model and every malformed
 * body refused whole; the get reply byte for byte in wireguard-go's order;
 * request framing over any split of the stream and at its limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "test_helpers.h"
#include "uapi.h"

#define PRIV_HEX "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
#define PUB1_HEX "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
#define PUB2_HEX "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
#define PSK_HEX "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
#define ZERO_HEX "0000000000000000000000000000000000000000000000000000000000000000"

static struct model_device *parse_ok(const char *body)
{
	struct model_device *dev = NULL;

	assert_int_equal(uapi_parse_set(body, strlen(body), &dev), 0);
	assert_non_null(dev);
	return dev;
}

static void key_equals_hex(const uint8_t *key, const char *hex)
{
	uint8_t want[32];

	assert_int_equal(test_unhex(want, sizeof(want), hex), 32);
	assert_memory_equal(key, want, 32);
}

static void parse_device_keys(void **state)
{
	struct model_device *dev;

	(void)state;
	dev = parse_ok("private_key=" PRIV_HEX "\nlisten_port=51820\nfwmark=4294967295\nreplace_peers=true\n");
	assert_int_equal(dev->flags, MODEL_DEVICE_HAS_PRIVATE_KEY | MODEL_DEVICE_HAS_LISTEN_PORT |
					     MODEL_DEVICE_HAS_FWMARK | MODEL_DEVICE_REPLACE_PEERS);
	key_equals_hex(dev->private_key, PRIV_HEX);
	assert_int_equal(dev->listen_port, 51820);
	assert_int_equal(dev->fwmark, 4294967295U);
	assert_int_equal(dev->n_peers, 0);
	model_device_free(dev);

	/* Zero values are requests too: remove the key, unbind the mark. */
	dev = parse_ok("private_key=" ZERO_HEX "\nfwmark=0\nlisten_port=0\n");
	assert_int_equal(dev->flags,
			 MODEL_DEVICE_HAS_PRIVATE_KEY | MODEL_DEVICE_HAS_FWMARK | MODEL_DEVICE_HAS_LISTEN_PORT);
	assert_true(sodium_is_zero(dev->private_key, 32));
	assert_int_equal(dev->fwmark, 0);
	model_device_free(dev);

	/* Only what was given is flagged. */
	dev = parse_ok("listen_port=1\n");
	assert_int_equal(dev->flags, MODEL_DEVICE_HAS_LISTEN_PORT);
	model_device_free(dev);

	dev = parse_ok("");
	assert_int_equal(dev->flags, 0);
	assert_int_equal(dev->n_peers, 0);
	model_device_free(dev);

	/* Leading zeros are fine, as with wireguard-go. */
	dev = parse_ok("listen_port=051820\nfwmark=00\n");
	assert_int_equal(dev->listen_port, 51820);
	assert_int_equal(dev->fwmark, 0);
	model_device_free(dev);

	/* A last line without its newline, as a caller with plain text may pass. */
	dev = parse_ok("listen_port=7");
	assert_int_equal(dev->listen_port, 7);
	model_device_free(dev);
}

static void parse_peers(void **state)
{
	static const char body[] = "private_key=" PRIV_HEX "\n"
				   "replace_peers=true\n"
				   "public_key=" PUB1_HEX "\n"
				   "protocol_version=1\n"
				   "preshared_key=" PSK_HEX "\n"
				   "endpoint=192.0.2.1:51820\n"
				   "persistent_keepalive_interval=25\n"
				   "replace_allowed_ips=true\n"
				   "allowed_ip=10.0.0.0/24\n"
				   "allowed_ip=fd00::/64\n"
				   "public_key=" PUB2_HEX "\n"
				   "endpoint=[2001:db8::1]:51821\n"
				   "update_only=true\n"
				   "allowed_ip=10.0.1.2/32\n"
				   "public_key=" PUB1_HEX "\n"
				   "remove=true\n";
	struct model_device *dev = parse_ok(body);
	const struct model_peer *p;
	uint8_t v6[16];

	(void)state;
	assert_int_equal(dev->n_peers, 3);

	p = &dev->peers[0];
	assert_int_equal(p->flags, MODEL_PEER_HAS_PUBLIC_KEY | MODEL_PEER_HAS_PRESHARED_KEY | MODEL_PEER_HAS_ENDPOINT |
					   MODEL_PEER_HAS_PERSISTENT_KEEPALIVE | MODEL_PEER_REPLACE_ALLOWEDIPS);
	key_equals_hex(p->public_key, PUB1_HEX);
	key_equals_hex(p->preshared_key, PSK_HEX);
	assert_int_equal(p->endpoint.sa.sa_family, AF_INET);
	assert_int_equal(ntohs(p->endpoint.sin.sin_port), 51820);
	assert_int_equal(ntohl(p->endpoint.sin.sin_addr.s_addr), 0xc0000201);
	assert_int_equal(p->persistent_keepalive, 25);
	assert_int_equal(p->n_allowedips, 2);
	assert_int_equal(p->allowedips[0].family, AF_INET);
	assert_int_equal(p->allowedips[0].cidr, 24);
	assert_memory_equal(p->allowedips[0].addr, "\x0a\x00\x00\x00", 4);
	assert_int_equal(inet_pton(AF_INET6, "fd00::", v6), 1);
	assert_int_equal(p->allowedips[1].family, AF_INET6);
	assert_int_equal(p->allowedips[1].cidr, 64);
	assert_memory_equal(p->allowedips[1].addr, v6, 16);

	p = &dev->peers[1];
	assert_int_equal(p->flags, MODEL_PEER_HAS_PUBLIC_KEY | MODEL_PEER_HAS_ENDPOINT | MODEL_PEER_UPDATE_ONLY);
	key_equals_hex(p->public_key, PUB2_HEX);
	assert_true(sodium_is_zero(p->preshared_key, 32));
	assert_int_equal(p->endpoint.sa.sa_family, AF_INET6);
	assert_int_equal(ntohs(p->endpoint.sin6.sin6_port), 51821);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", v6), 1);
	assert_memory_equal(&p->endpoint.sin6.sin6_addr, v6, 16);
	assert_int_equal(p->n_allowedips, 1);
	assert_int_equal(p->allowedips[0].cidr, 32);

	/* The same key again is a second entry, applied after the first, as wireguard-go goes line by line. */
	p = &dev->peers[2];
	assert_int_equal(p->flags, MODEL_PEER_HAS_PUBLIC_KEY | MODEL_PEER_REMOVE_ME);
	key_equals_hex(p->public_key, PUB1_HEX);
	assert_int_equal(p->n_allowedips, 0);

	assert_int_equal(dev->flags, MODEL_DEVICE_HAS_PRIVATE_KEY | MODEL_DEVICE_REPLACE_PEERS);
	model_device_free(dev);
}

struct bad_case {
	const char *body;
	size_t len; /* 0: strlen(body) */
	int err;
};

static void parse_errors(void **state)
{
	static const struct bad_case bad[] = {
		{ "bogus=1\n", 0, -EINVAL },
		{ "listen_port=1\nbogus=1\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nbogus=1\n", 0, -EINVAL },
		{ "private_key=" PRIV_HEX "0\n", 0, -EINVAL },                       /* 65 digits */
		{ "private_key=0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 0, -EINVAL },
		{ "private_key=0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fzz\n", 0, -EINVAL },
		{ "private_key=" PRIV_HEX " \n", 0, -EINVAL },
		{ "public_key=a0a1\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\npreshared_key=5a5a\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\npreshared_key=" PSK_HEX "g\n", 0, -EINVAL },
		{ "listen_port=65536\n", 0, -EINVAL },
		{ "listen_port=-1\n", 0, -EINVAL },
		{ "listen_port=80x\n", 0, -EINVAL },
		{ "listen_port=+80\n", 0, -EINVAL },
		{ "listen_port= 80\n", 0, -EINVAL },
		{ "fwmark=4294967296\n", 0, -EINVAL },
		{ "fwmark=off\n", 0, -EINVAL },
		{ "fwmark=0x10\n", 0, -EINVAL }, /* wireguard-go reads decimal only */
		{ "fwmark=-0\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nlisten_port=1\n", 0, -EINVAL },  /* device key after a peer */
		{ "public_key=" PUB1_HEX "\nprivate_key=" PRIV_HEX "\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nreplace_peers=true\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nprotocol_version=2\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nprotocol_version=\n", 0, -EINVAL },
		{ "protocol_version=1\n", 0, -EINVAL }, /* a peer key before any peer */
		{ "allowed_ip=10.0.0.0/8\n", 0, -EINVAL },
		{ "endpoint=192.0.2.1:1\n", 0, -EINVAL },
		{ "remove=true\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nremove=false\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nremove=\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nupdate_only=TRUE\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nreplace_allowed_ips=1\n", 0, -EINVAL },
		{ "replace_peers=false\n", 0, -EINVAL },
		{ "replace_peers=true \n", 0, -EINVAL },
		{ "listen_port\n", 0, -EPROTO },
		{ "public_key=" PUB1_HEX "\nremove\n", 0, -EPROTO },
		{ "listen_port=\n", 0, -EINVAL },
		{ "private_key=\n", 0, -EINVAL },
		{ "public_key=\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nendpoint=\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nallowed_ip=\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\npersistent_keepalive_interval=\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\npersistent_keepalive_interval=65536\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nendpoint=192.0.2.1\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nendpoint=192.0.2.1:70000\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nendpoint=2001:db8::1:51820\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nendpoint=[2001:db8::1]51820\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nendpoint=example.com:51820\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nallowed_ip=10.0.0.1\n", 0, -EINVAL }, /* the prefix length is required */
		{ "public_key=" PUB1_HEX "\nallowed_ip=10.0.0.0/33\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nallowed_ip=fd00::/129\n", 0, -EINVAL },
		{ "public_key=" PUB1_HEX "\nallowed_ip=10.0.0.0/8x\n", 0, -EINVAL },
		{ "listen_port=1=2\n", 0, -EINVAL },
		{ " listen_port=1\n", 0, -EINVAL },
		{ "listen_port =1\n", 0, -EINVAL },
		{ "Listen_port=1\n", 0, -EINVAL },
		{ "listen_port=1\r\n", 0, -EINVAL },
		{ "=1\n", 0, -EINVAL },
		/* Trailing garbage: the blank line that ends a request, then more. */
		{ "listen_port=1\n\nlisten_port=2\n", 0, -EPROTO },
		{ "listen_port=1\n\n", 0, -EPROTO },
		{ "\n", 0, -EPROTO },
		{ "listen_port=1\nx", 0, -EPROTO },
		/* NUL bytes, in a value and in a key. */
		{ "listen_port=1\0\n", 15, -EINVAL },
		{ "listen_port=1\nfw\0mark=1\n", 24, -EINVAL },
		{ "public_key=" PUB1_HEX "\0\n", 77, -EINVAL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct model_device *dev = (struct model_device *)&dev; /* anything but NULL */
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].body);
		int ret = uapi_parse_set(bad[i].body, len, &dev);

		if (ret != bad[i].err || dev)
			fail_msg("case %zu (%s): got %d, want %d", i, bad[i].body, ret, bad[i].err);
	}
}

/* A failure after peers and allowed-ips were added leaves nothing behind (ASan's leak check is the judge). */
static void parse_error_late(void **state)
{
	static const char body[] = "private_key=" PRIV_HEX "\n"
				   "public_key=" PUB1_HEX "\n"
				   "preshared_key=" PSK_HEX "\n"
				   "allowed_ip=10.0.0.0/24\n"
				   "public_key=" PUB2_HEX "\n"
				   "allowed_ip=10.0.1.0/24\n"
				   "protocol_version=2\n";
	struct model_device *dev = NULL;

	(void)state;
	assert_int_equal(uapi_parse_set(body, strlen(body), &dev), -EINVAL);
	assert_null(dev);
}

/* Two peers, one with a preshared key and an IPv4 endpoint, one without either but with an IPv6 endpoint. */
static struct model_device *make_snapshot(void)
{
	struct model_device *dev = model_device_new();
	struct model_peer *p;
	struct cidr c;

	assert_non_null(dev);
	assert_int_equal(test_unhex(dev->private_key, 32, PRIV_HEX), 32);
	dev->listen_port = 51820;

	assert_int_equal(model_add_peer(dev, &p), 0);
	assert_int_equal(test_unhex(p->public_key, 32, PUB1_HEX), 32);
	assert_int_equal(test_unhex(p->preshared_key, 32, PSK_HEX), 32);
	assert_int_equal(model_parse_endpoint(&p->endpoint, "192.0.2.1:51820", 15), 0);
	p->flags = MODEL_PEER_HAS_PUBLIC_KEY | MODEL_PEER_HAS_PRESHARED_KEY | MODEL_PEER_HAS_ENDPOINT;
	p->last_handshake_sec = 1700000000;
	p->last_handshake_nsec = 123456789;
	p->tx_bytes = 4096;
	p->rx_bytes = 18446744073709551615ULL;
	p->persistent_keepalive = 25;
	assert_int_equal(model_parse_cidr(&c, "10.0.0.0/24", 11), 0);
	assert_int_equal(model_peer_add_allowedip(dev, p, &c), 0);
	assert_int_equal(model_parse_cidr(&c, "fd00::/64", 9), 0);
	assert_int_equal(model_peer_add_allowedip(dev, p, &c), 0);

	assert_int_equal(model_add_peer(dev, &p), 0);
	assert_int_equal(test_unhex(p->public_key, 32, PUB2_HEX), 32);
	assert_int_equal(model_parse_endpoint(&p->endpoint, "[2001:db8::1]:51821", 19), 0);
	p->flags = MODEL_PEER_HAS_PUBLIC_KEY | MODEL_PEER_HAS_ENDPOINT;
	assert_int_equal(model_parse_cidr(&c, "10.0.1.2/32", 11), 0);
	assert_int_equal(model_peer_add_allowedip(dev, p, &c), 0);
	return dev;
}

/*
 * wireguard-go's IpcGetOperation order; fwmark 0 is left out as it does. The
 * peers' blocks are what Debian's wireguard-go (v0.0.20220316) printed for the
 * same settings (it lists peers in map order and clamps the private key, so
 * those two are not compared).
 */
static const char expected_get[] = "private_key=" PRIV_HEX "\n"
				   "listen_port=51820\n"
				   "public_key=" PUB1_HEX "\n"
				   "preshared_key=" PSK_HEX "\n"
				   "protocol_version=1\n"
				   "endpoint=192.0.2.1:51820\n"
				   "last_handshake_time_sec=1700000000\n"
				   "last_handshake_time_nsec=123456789\n"
				   "tx_bytes=4096\n"
				   "rx_bytes=18446744073709551615\n"
				   "persistent_keepalive_interval=25\n"
				   "allowed_ip=10.0.0.0/24\n"
				   "allowed_ip=fd00::/64\n"
				   "public_key=" PUB2_HEX "\n"
				   "preshared_key=" ZERO_HEX "\n"
				   "protocol_version=1\n"
				   "endpoint=[2001:db8::1]:51821\n"
				   "last_handshake_time_sec=0\n"
				   "last_handshake_time_nsec=0\n"
				   "tx_bytes=0\n"
				   "rx_bytes=0\n"
				   "persistent_keepalive_interval=0\n"
				   "allowed_ip=10.0.1.2/32\n"
				   "errno=0\n"
				   "\n";

static void format_get_exact(void **state)
{
	struct model_device *dev = make_snapshot();
	char out[4096];
	ssize_t n;

	(void)state;
	n = uapi_format_get(out, sizeof(out), dev);
	assert_int_equal(n, (ssize_t)strlen(expected_get));
	assert_memory_equal(out, expected_get, (size_t)n);
	assert_int_equal(out[n], '\0');
	model_device_free(dev);
}

static void format_get_device_only(void **state)
{
	struct model_device *dev = model_device_new();
	char out[256];
	ssize_t n;

	(void)state;
	assert_non_null(dev);
	n = uapi_format_get(out, sizeof(out), dev);
	assert_int_equal(n, 9);
	assert_string_equal(out, "errno=0\n\n");

	dev->fwmark = 0x1234;
	dev->listen_port = 1;
	n = uapi_format_get(out, sizeof(out), dev);
	assert_true(n > 0);
	assert_string_equal(out, "listen_port=1\nfwmark=4660\nerrno=0\n\n");
	model_device_free(dev);
}

static void format_get_enospc(void **state)
{
	struct model_device *dev = make_snapshot();
	size_t want = strlen(expected_get), cap;
	char *out = malloc(want + 1);

	(void)state;
	assert_non_null(out);
	assert_int_equal(uapi_format_get(NULL, 0, dev), -ENOSPC);
	for (cap = 1; cap <= want; cap++) {
		memset(out, 'x', want + 1);
		assert_int_equal(uapi_format_get(out, cap, dev), -ENOSPC);
		/* Nothing of the private key is left in a buffer the caller will throw away. */
		assert_true(sodium_is_zero((const unsigned char *)out, cap));
		assert_int_equal(out[cap], 'x');
	}
	assert_int_equal(uapi_format_get(out, want + 1, dev), (ssize_t)want);
	assert_memory_equal(out, expected_get, want);
	free(out);
	model_device_free(dev);
}

/* The get reply minus its read-only lines is a set body: it must parse back to the same settings. */
static void round_trip(void **state)
{
	static const char *const read_only[] = { "last_handshake_time_sec=", "last_handshake_time_nsec=", "tx_bytes=",
						 "rx_bytes=", "errno=" };
	struct model_device *dev = make_snapshot(), *back = NULL;
	char text[4096], body[4096];
	char *line, *save = NULL;
	size_t len = 0, i, j;

	(void)state;
	assert_true(uapi_format_get(text, sizeof(text), dev) > 0);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		bool skip = false;

		for (j = 0; j < sizeof(read_only) / sizeof(read_only[0]); j++)
			skip |= !strncmp(line, read_only[j], strlen(read_only[j]));
		if (!skip)
			len += (size_t)snprintf(body + len, sizeof(body) - len, "%s\n", line);
	}
	assert_int_equal(uapi_parse_set(body, len, &back), 0);

	assert_memory_equal(back->private_key, dev->private_key, 32);
	assert_int_equal(back->listen_port, dev->listen_port);
	assert_int_equal(back->n_peers, dev->n_peers);
	for (i = 0; i < dev->n_peers; i++) {
		const struct model_peer *a = &dev->peers[i], *b = &back->peers[i];

		assert_memory_equal(a->public_key, b->public_key, 32);
		assert_memory_equal(a->preshared_key, b->preshared_key, 32);
		assert_int_equal(a->persistent_keepalive, b->persistent_keepalive);
		assert_int_equal(a->endpoint.sa.sa_family, b->endpoint.sa.sa_family);
		if (a->endpoint.sa.sa_family == AF_INET)
			assert_memory_equal(&a->endpoint.sin, &b->endpoint.sin, sizeof(a->endpoint.sin));
		else
			assert_memory_equal(&a->endpoint.sin6, &b->endpoint.sin6, sizeof(a->endpoint.sin6));
		assert_int_equal(a->n_allowedips, b->n_allowedips);
		for (j = 0; j < a->n_allowedips; j++)
			assert_memory_equal(&a->allowedips[j], &b->allowedips[j], sizeof(a->allowedips[j]));
	}
	model_device_free(back);
	model_device_free(dev);
}

static void format_errno(void **state)
{
	char out[UAPI_ERRNO_REPLY_LEN];

	(void)state;
	assert_int_equal(uapi_format_errno(out, 0), 9);
	assert_string_equal(out, "errno=0\n\n");
	assert_int_equal(uapi_format_errno(out, -EINVAL), 11);
	assert_string_equal(out, "errno=-22\n\n");
	assert_int_equal(uapi_format_errno(out, -2147483647 - 1), 19);
}

/* What one feed said, collected to compare streams cut in different places. */
struct seen {
	enum uapi_op ops[8];
	char bodies[8][512];
	size_t n;
};

/* Feeds one piece, and handles every request that completes, as the socket server does. */
static enum uapi_op feed_piece(struct uapi_conn *c, const char *data, size_t n, struct seen *s)
{
	const char *body;
	size_t body_len;
	enum uapi_op op = uapi_conn_feed(c, data, n, &body, &body_len);

	while (op == UAPI_OP_GET || op == UAPI_OP_SET) {
		assert_true(s->n < 8);
		assert_true(body_len < sizeof(s->bodies[0]));
		s->ops[s->n] = op;
		if (op == UAPI_OP_SET)
			memcpy(s->bodies[s->n], body, body_len);
		else
			assert_null(body);
		s->bodies[s->n][body_len] = '\0';
		s->n++;
		uapi_conn_consume(c);
		op = uapi_conn_feed(c, NULL, 0, &body, &body_len);
	}
	return op;
}

static const char stream[] = "get=1\n\n"
			     "set=1\nprivate_key=" PRIV_HEX "\nlisten_port=51820\n\n"
			     "set=1\n\n"
			     "get=1\n\n";

static void check_stream(const struct seen *s)
{
	assert_int_equal(s->n, 4);
	assert_int_equal(s->ops[0], UAPI_OP_GET);
	assert_int_equal(s->ops[1], UAPI_OP_SET);
	assert_string_equal(s->bodies[1], "private_key=" PRIV_HEX "\nlisten_port=51820\n");
	assert_int_equal(s->ops[2], UAPI_OP_SET);
	assert_string_equal(s->bodies[2], "");
	assert_int_equal(s->ops[3], UAPI_OP_GET);
}

static void conn_every_split(void **state)
{
	size_t len = strlen(stream), cut, chunk, off;

	(void)state;
	/* Whole, in two pieces cut at every byte boundary. */
	for (cut = 0; cut <= len; cut++) {
		struct uapi_conn c;
		struct seen s = { .n = 0 };

		assert_int_equal(uapi_conn_init(&c), 0);
		assert_int_not_equal(feed_piece(&c, stream, cut, &s), UAPI_OP_ERROR);
		assert_int_equal(feed_piece(&c, stream + cut, len - cut, &s), UAPI_OP_NONE);
		check_stream(&s);
		assert_int_equal(c.len, 0);
		uapi_conn_uninit(&c);
	}
	/* In chunks of every size, down to a byte at a time. */
	for (chunk = 1; chunk <= len; chunk++) {
		struct uapi_conn c;
		struct seen s = { .n = 0 };

		assert_int_equal(uapi_conn_init(&c), 0);
		for (off = 0; off < len; off += chunk) {
			size_t n = len - off < chunk ? len - off : chunk;

			assert_int_equal(feed_piece(&c, stream + off, n, &s), UAPI_OP_NONE);
		}
		check_stream(&s);
		uapi_conn_uninit(&c);
	}
}

/* A complete request stays reported until consumed, even as more bytes arrive behind it. */
static void conn_pending_until_consumed(void **state)
{
	struct uapi_conn c;
	const char *body;
	size_t body_len;

	(void)state;
	assert_int_equal(uapi_conn_init(&c), 0);
	assert_int_equal(uapi_conn_feed(&c, "set=1\nlisten_port=1\n\nget", 24, &body, &body_len), UAPI_OP_SET);
	assert_int_equal(body_len, 14);
	assert_memory_equal(body, "listen_port=1\n", 14);
	assert_int_equal(uapi_conn_feed(&c, "=1\n", 3, &body, &body_len), UAPI_OP_SET);
	assert_memory_equal(body, "listen_port=1\n", 14);
	uapi_conn_consume(&c);
	assert_int_equal(uapi_conn_feed(&c, NULL, 0, &body, &body_len), UAPI_OP_NONE);
	assert_int_equal(uapi_conn_feed(&c, "\n", 1, &body, &body_len), UAPI_OP_GET);
	uapi_conn_consume(&c);
	/* Nothing is complete: consume changes nothing. */
	assert_int_equal(uapi_conn_feed(&c, "se", 2, &body, &body_len), UAPI_OP_NONE);
	uapi_conn_consume(&c);
	assert_int_equal(c.len, 2);
	uapi_conn_uninit(&c);
}

static void conn_expect_error(const char *data, size_t n, int err)
{
	struct uapi_conn c;
	const char *body;
	size_t body_len;

	assert_int_equal(uapi_conn_init(&c), 0);
	assert_int_equal(uapi_conn_feed(&c, data, n, &body, &body_len), UAPI_OP_ERROR);
	assert_int_equal(c.error, err);
	/* Finished for good. */
	assert_int_equal(uapi_conn_feed(&c, "get=1\n\n", 7, &body, &body_len), UAPI_OP_ERROR);
	uapi_conn_consume(&c);
	assert_int_equal(uapi_conn_feed(&c, NULL, 0, &body, &body_len), UAPI_OP_ERROR);
	uapi_conn_uninit(&c);
}

static void conn_garbage(void **state)
{
	(void)state;
	/* Refused at the first byte that cannot start "get=1\n" or "set=1\n", without waiting for a newline. */
	conn_expect_error("x", 1, -EPROTO);
	conn_expect_error("xget=1\n\n", 8, -EPROTO);
	conn_expect_error("\nget=1\n\n", 8, -EPROTO);
	conn_expect_error("get=2", 5, -EPROTO);
	conn_expect_error("GET=1\n\n", 7, -EPROTO);
	conn_expect_error("get=1\r\n\r\n", 9, -EPROTO);
	conn_expect_error("get=1\0\n", 7, -EPROTO);
	conn_expect_error("get=1\nx", 7, -EINVAL);
}

static void conn_garbage_after_request(void **state)
{
	struct uapi_conn c;
	const char *body;
	size_t body_len;

	(void)state;
	assert_int_equal(uapi_conn_init(&c), 0);
	assert_int_equal(uapi_conn_feed(&c, "get=1\n\nbogus", 12, &body, &body_len), UAPI_OP_GET);
	uapi_conn_consume(&c);
	assert_int_equal(uapi_conn_feed(&c, NULL, 0, &body, &body_len), UAPI_OP_ERROR);
	assert_int_equal(c.error, -EPROTO);
	uapi_conn_uninit(&c);
}

static void conn_line_limit(void **state)
{
	size_t n = 6 + UAPI_MAX_LINE + 2;
	char *req = malloc(n + 1);
	struct uapi_conn c;
	const char *body;
	size_t body_len;

	(void)state;
	assert_non_null(req);
	/* A line of exactly UAPI_MAX_LINE bytes passes... */
	memcpy(req, "set=1\n", 6);
	memset(req + 6, 'a', UAPI_MAX_LINE);
	memcpy(req + 6 + UAPI_MAX_LINE, "\n\n", 2);
	assert_int_equal(uapi_conn_init(&c), 0);
	assert_int_equal(uapi_conn_feed(&c, req, n, &body, &body_len), UAPI_OP_SET);
	assert_int_equal(body_len, UAPI_MAX_LINE + 1);
	uapi_conn_uninit(&c);
	/* ... one byte more does not, and is refused before its newline comes. */
	memset(req + 6, 'a', UAPI_MAX_LINE + 1);
	conn_expect_error(req, 6 + UAPI_MAX_LINE + 1, -EMSGSIZE);
	free(req);
}

/* Lines of 4000 bytes up to n bytes in all, as one set request. */
static char *big_set(size_t n)
{
	char *req = malloc(n);
	size_t off = 6;

	assert_non_null(req);
	memcpy(req, "set=1\n", 6);
	while (off < n - 1) {
		size_t line = n - 1 - off < 4000 ? n - 1 - off : 4000;

		memset(req + off, 'a', line - 1);
		req[off + line - 1] = '\n';
		off += line;
	}
	req[n - 1] = '\n';
	return req;
}

static void conn_request_limit(void **state)
{
	size_t n = UAPI_MAX_REQUEST, off;
	char *req = big_set(n);
	struct uapi_conn c;
	const char *body = NULL;
	size_t body_len = 0;
	enum uapi_op op = UAPI_OP_NONE;

	(void)state;
	/* Exactly the limit, in 64 KiB reads, passes. */
	assert_int_equal(uapi_conn_init(&c), 0);
	for (off = 0; off < n && op == UAPI_OP_NONE; off += 65536)
		op = uapi_conn_feed(&c, req + off, n - off < 65536 ? n - off : 65536, &body, &body_len);
	assert_int_equal(op, UAPI_OP_SET);
	assert_int_equal(body_len, n - 7);
	uapi_conn_uninit(&c);
	free(req);

	/* One byte over, all in one read. */
	req = big_set(n + 1);
	assert_int_equal(uapi_conn_init(&c), 0);
	assert_int_equal(uapi_conn_feed(&c, req, n + 1, &body, &body_len), UAPI_OP_ERROR);
	assert_int_equal(c.error, -EMSGSIZE);
	uapi_conn_uninit(&c);
	free(req);

	/* Past the limit is refused as soon as the byte past it arrives, not at the end of the request. */
	req = big_set(n + 4 * 65536);
	assert_int_equal(uapi_conn_init(&c), 0);
	op = UAPI_OP_NONE;
	for (off = 0; off < n + 4 * 65536 && op == UAPI_OP_NONE; off += 65536)
		op = uapi_conn_feed(&c, req + off, 65536, &body, &body_len);
	assert_int_equal(op, UAPI_OP_ERROR);
	assert_int_equal(c.error, -EMSGSIZE);
	assert_int_equal(off, n + 65536);
	uapi_conn_uninit(&c);
	free(req);
}

/* A set through the framing and the parser, as the server chains them. */
static void conn_then_parse(void **state)
{
	static const char req[] = "set=1\npublic_key=" PUB1_HEX "\nallowed_ip=10.0.0.0/8\n\n";
	struct model_device *dev = NULL;
	struct uapi_conn c;
	const char *body;
	size_t body_len;

	(void)state;
	assert_int_equal(uapi_conn_init(&c), 0);
	assert_int_equal(uapi_conn_feed(&c, req, strlen(req), &body, &body_len), UAPI_OP_SET);
	assert_int_equal(uapi_parse_set(body, body_len, &dev), 0);
	assert_int_equal(dev->n_peers, 1);
	assert_int_equal(dev->peers[0].n_allowedips, 1);
	model_device_free(dev);
	uapi_conn_consume(&c);
	assert_int_equal(c.len, 0);
	uapi_conn_uninit(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_device_keys),
		cmocka_unit_test(parse_peers),
		cmocka_unit_test(parse_errors),
		cmocka_unit_test(parse_error_late),
		cmocka_unit_test(format_get_exact),
		cmocka_unit_test(format_get_device_only),
		cmocka_unit_test(format_get_enospc),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(format_errno),
		cmocka_unit_test(conn_every_split),
		cmocka_unit_test(conn_pending_until_consumed),
		cmocka_unit_test(conn_garbage),
		cmocka_unit_test(conn_garbage_after_request),
		cmocka_unit_test(conn_line_limit),
		cmocka_unit_test(conn_request_limit),
		cmocka_unit_test(conn_then_parse),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
