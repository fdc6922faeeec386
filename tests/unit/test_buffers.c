// SPDX-License-Identifier: MIT
/*
 * What the loops rely on to lose nothing silently, without sockets or TUN:
 *  - buffers hold a jumbo MTU from the start (wg-quick raises it later),
 *    and device_set_mtu refuses what they cannot hold;
 *  - the kernel's SO_RXQ_OVFL count becomes socket_overflow drops, by
 *    difference, across the counter's wrap, ignoring other control data;
 *  - every drop reason has a distinct name for show;
 *  - a buffer shared by many datagrams (UDP GRO) is free only when the last
 *    holder puts it; splitting one keeps data messages in it and copies
 *    others out, and counts what does not fit;
 *  - UDP GSO runs: one endpoint, equal lengths, the last maybe shorter,
 *    bounded in count and bytes, and none at all when GSO is off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "device.h"
#include "loop.h"
#include "socket.h"

static void buffers_hold_the_largest_mtu(void **state)
{
	struct wg_device dev;

	(void)state;
	assert_int_equal(device_init(&dev, 1420, 64), 0);
	assert_int_equal(dev.mtu, 1420);
	assert_int_equal(dev.max_mtu, WG_LARGEST_MTU);
	assert_true(dev.pool.buf_size >= WG_LARGEST_MTU + WG_BUF_OVERHEAD);
	/* the largest IPv6 UDP payload, with recvmsg's header, address and control data */
	assert_true(dev.pool.buf_size >= 65527 + 16 + 32 + 32);
	assert_int_equal(dev.pool.buf_size % 64, 0);
	/* A packet of the largest MTU fits a TUN read and is not taken for one cut short. */
	assert_true(loop_tun_read_room(&dev) > dev.max_mtu);
	assert_false(loop_tun_read_cut(&dev, dev.max_mtu));
	assert_true(loop_tun_read_cut(&dev, loop_tun_read_room(&dev)));

	assert_int_equal(device_set_mtu(&dev, 8920), 0);
	assert_int_equal(dev.mtu, 8920);
	assert_int_equal(device_set_mtu(&dev, WG_LARGEST_MTU + 1), -ERANGE);
	assert_int_equal(device_set_mtu(&dev, 60), -ERANGE);
	assert_int_equal(dev.mtu, 8920);
	assert_int_equal(device_set_mtu(&dev, 16000), 0);
	assert_int_equal(device_set_mtu(&dev, 1280), 0);
	device_uninit(&dev);
}

static void mtu_bounds_at_init(void **state)
{
	struct wg_device dev;

	(void)state;
	assert_int_equal(device_init(&dev, WG_LARGEST_MTU, 16), 0);
	assert_int_equal(dev.max_mtu, WG_LARGEST_MTU);
	device_uninit(&dev);
	assert_int_equal(device_init(&dev, WG_LARGEST_MTU + 1, 16), -ERANGE);
	assert_int_equal(device_init(&dev, 67, 16), -ERANGE);
}

/* A control buffer as recvmsg fills it: a foreign cmsg first, then SO_RXQ_OVFL with total. */
static size_t put_control(uint8_t *buf, size_t cap, uint32_t total)
{
	struct msghdr m = { .msg_control = buf, .msg_controllen = cap };
	struct cmsghdr *c;
	int ttl = 64;

	memset(buf, 0, cap);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = 2; /* IP_TTL */
	c->cmsg_len = CMSG_LEN(sizeof(ttl));
	memcpy(CMSG_DATA(c), &ttl, sizeof(ttl));
	c = CMSG_NXTHDR(&m, c);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SO_RXQ_OVFL;
	c->cmsg_len = CMSG_LEN(sizeof(total));
	memcpy(CMSG_DATA(c), &total, sizeof(total));
	return CMSG_SPACE(sizeof(ttl)) + CMSG_SPACE(sizeof(total));
}

static void kernel_drops_become_socket_overflow(void **state)
{
	_Alignas(struct cmsghdr) uint8_t control[SOCKET_CMSG_SPACE];
	struct msghdr m = { .msg_control = control };
	struct wg_device dev;
	uint32_t seen = 0;

	(void)state;
	memset(&dev, 0, sizeof(dev));
	m.msg_controllen = put_control(control, sizeof(control), 7);
	socket_read_cmsg(&dev, &m, &seen);
	assert_int_equal(dev.drops[WG_DROP_SOCKET_OVERFLOW], 7);
	/* The same total again: nothing new. */
	socket_read_cmsg(&dev, &m, &seen);
	assert_int_equal(dev.drops[WG_DROP_SOCKET_OVERFLOW], 7);
	m.msg_controllen = put_control(control, sizeof(control), 10);
	socket_read_cmsg(&dev, &m, &seen);
	assert_int_equal(dev.drops[WG_DROP_SOCKET_OVERFLOW], 10);

	/* The kernel's counter is 32 bits: across its wrap the difference still counts. */
	seen = UINT32_MAX - 1;
	m.msg_controllen = put_control(control, sizeof(control), 3);
	socket_read_cmsg(&dev, &m, &seen);
	assert_int_equal(dev.drops[WG_DROP_SOCKET_OVERFLOW], 15);
	assert_int_equal(seen, 3);

	/* No control data (the kernel sends none before its first drop). */
	m.msg_controllen = 0;
	socket_read_cmsg(&dev, &m, &seen);
	assert_int_equal(dev.drops[WG_DROP_SOCKET_OVERFLOW], 15);
}

static void every_drop_reason_has_its_own_name(void **state)
{
	int i, j;

	(void)state;
	for (i = 0; i < WG_DROP_COUNT; i++) {
		assert_non_null(device_drop_name(i));
		assert_string_not_equal(device_drop_name(i), "unknown");
		for (j = 0; j < i; j++)
			assert_string_not_equal(device_drop_name(i), device_drop_name(j));
	}
}

static void shared_buffers_free_with_the_last_holder(void **state)
{
	struct pool p;
	uint32_t id, other;

	(void)state;
	assert_int_equal(pool_init(&p, 4, 64), 0);
	id = pool_get(&p);
	pool_hold(&p, id);
	pool_hold(&p, id);
	assert_int_equal(p.n_free, 3);
	pool_put(&p, id);
	pool_put(&p, id);
	assert_int_equal(p.n_free, 3);
	pool_put(&p, id);
	assert_int_equal(p.n_free, 4);
	/* A put too many, or a hold of a free buffer, changes nothing. */
	pool_put(&p, id);
	pool_hold(&p, id);
	assert_int_equal(p.n_free, 4);
	other = pool_get(&p);
	assert_int_equal(other, id);
	pool_put(&p, other);
	pool_put(&p, POOL_NONE);
	assert_int_equal(p.n_free, 4);
	pool_uninit(&p);
}

static void gro_buffers_split_into_datagrams(void **state)
{
	struct wg_device dev;
	struct wg_pkt out[8];
	union wg_sockaddr src = { .sin = { .sin_family = AF_INET, .sin_port = htons(51820) } };
	uint32_t id, before;
	uint8_t *buf;
	unsigned int n, i;

	(void)state;
	assert_int_equal(device_init(&dev, 1420, 16), 0);
	before = dev.pool.n_free;
	id = pool_get(&dev.pool);
	buf = pool_buf(&dev.pool, id);
	/* Five datagrams of 100 bytes then one of 40: data, data, an initiation-typed one, data, data, data. */
	memset(buf, 0, 540);
	for (i = 0; i < 6; i++)
		buf[i * 100] = i == 2 ? 1 : 4;
	n = device_split_datagrams(&dev, out, 8, id, buf, 540, 100, &src);
	assert_int_equal(n, 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(out[i].len, i == 5 ? 40 : 100);
		assert_int_equal(out[i].addr.sin.sin_port, htons(51820));
		if (i == 2) {
			assert_int_not_equal(out[i].id, id); /* copied out: a reply may be written over it */
			assert_int_equal(out[i].data[0], 1);
		} else {
			assert_int_equal(out[i].id, id);
			assert_ptr_equal(out[i].data, buf + i * 100);
		}
	}
	assert_int_equal(dev.pool.refs[id], 5);
	for (i = 0; i < 6; i++)
		pool_put(&dev.pool, out[i].id);
	assert_int_equal(dev.pool.n_free, before);

	/* Room for three: the rest is counted, and the buffer still frees with its holders. */
	id = pool_get(&dev.pool);
	buf = pool_buf(&dev.pool, id);
	memset(buf, 4, 500);
	n = device_split_datagrams(&dev, out, 3, id, buf, 500, 100, &src);
	assert_int_equal(n, 3);
	assert_int_equal(dev.drops[WG_DROP_RX_TRUNCATED], 2);
	for (i = 0; i < n; i++)
		pool_put(&dev.pool, out[i].id);
	assert_int_equal(dev.pool.n_free, before);

	/* An empty datagram: one entry of length 0, for the receive path to refuse and count. */
	id = pool_get(&dev.pool);
	buf = pool_buf(&dev.pool, id);
	n = device_split_datagrams(&dev, out, 8, id, buf, 0, 0, &src);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].id, id);
	assert_int_equal(out[0].len, 0);
	pool_put(&dev.pool, out[0].id);
	assert_int_equal(dev.pool.n_free, before);

	/* No segment size: one datagram, the buffer as it came. */
	id = pool_get(&dev.pool);
	buf = pool_buf(&dev.pool, id);
	buf[0] = 2;
	n = device_split_datagrams(&dev, out, 8, id, buf, 92, 0, &src);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].id, id);
	assert_int_equal(out[0].len, 92);
	pool_put(&dev.pool, out[0].id);
	assert_int_equal(dev.pool.n_free, before);
	device_uninit(&dev);
}

static void queue(struct wg_device *dev, uint32_t len, uint16_t port)
{
	union wg_sockaddr a = { .sin = { .sin_family = AF_INET, .sin_port = htons(port) } };

	assert_true(device_udp_enqueue(dev, pool_get(&dev->pool), NULL, len, &a));
}

static void gso_runs(void **state)
{
	static const struct {
		uint32_t len;
		uint16_t port;
	} in[] = {
		{ 1452, 1 }, { 1452, 1 }, { 1452, 1 }, { 600, 1 }, /* a run of 4, the last shorter */
		{ 1452, 1 }, { 1452, 2 },                         /* another endpoint breaks it */
		{ 1452, 2 }, { 1500, 2 },                         /* a longer one too */
		{ 32, 2 },
	};
	static const unsigned int runs[] = { 4, 1, 2, 2 };
	struct wg_device dev;
	unsigned int i, r, n;

	(void)state;
	assert_int_equal(device_init(&dev, 1420, 256), 0);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		queue(&dev, in[i].len, in[i].port);
	dev.udp_gso = true;
	for (i = 0, r = 0; i < dev.tx_udp.n; i += n, r++) {
		n = device_udp_run(&dev, i);
		assert_true(r < sizeof(runs) / sizeof(runs[0]));
		assert_int_equal(n, runs[r]);
	}
	assert_int_equal(r, sizeof(runs) / sizeof(runs[0]));
	dev.udp_gso = false;
	for (i = 0; i < dev.tx_udp.n; i++)
		assert_int_equal(device_udp_run(&dev, i), 1);
	for (i = 0; i < dev.tx_udp.n; i++)
		pool_put(&dev.pool, dev.tx_udp.items[i].id);
	dev.tx_udp.n = 0;

	/* At most OFFLOAD_MAX_SEGS datagrams, and at most 64 KiB with the headers. */
	dev.udp_gso = true;
	for (i = 0; i < 100; i++)
		queue(&dev, 500, 9);
	assert_int_equal(device_udp_run(&dev, 0), OFFLOAD_MAX_SEGS);
	for (i = 0; i < dev.tx_udp.n; i++)
		pool_put(&dev.pool, dev.tx_udp.items[i].id);
	dev.tx_udp.n = 0;
	for (i = 0; i < 60; i++)
		queue(&dev, 1452, 9);
	n = device_udp_run(&dev, 0);
	assert_int_equal(n, (65535 - 8 - 40) / 1452);
	for (i = 0; i < dev.tx_udp.n; i++)
		pool_put(&dev.pool, dev.tx_udp.items[i].id);
	dev.tx_udp.n = 0;
	device_uninit(&dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buffers_hold_the_largest_mtu),
		cmocka_unit_test(mtu_bounds_at_init),
		cmocka_unit_test(kernel_drops_become_socket_overflow),
		cmocka_unit_test(every_drop_reason_has_its_own_name),
		cmocka_unit_test(shared_buffers_free_with_the_last_holder),
		cmocka_unit_test(gro_buffers_split_into_datagrams),
		cmocka_unit_test(gso_runs),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
