// SPDX-License-Identifier: MIT
/*
 * What the loops rely on to lose nothing silently, without sockets or TUN:
 *  - buffers hold a jumbo MTU from the start (wg-quick raises it later),
 *    and device_set_mtu refuses what they cannot hold;
 *  - the kernel's SO_RXQ_OVFL count becomes socket_overflow drops, by
 *    difference, across the counter's wrap, ignoring other control data;
 *  - every drop reason has a distinct name for show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>
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
	socket_count_kernel_drops(&dev, &m, &seen);
	assert_int_equal(dev.drops[WG_DROP_SOCKET_OVERFLOW], 7);
	/* The same total again: nothing new. */
	socket_count_kernel_drops(&dev, &m, &seen);
	assert_int_equal(dev.drops[WG_DROP_SOCKET_OVERFLOW], 7);
	m.msg_controllen = put_control(control, sizeof(control), 10);
	socket_count_kernel_drops(&dev, &m, &seen);
	assert_int_equal(dev.drops[WG_DROP_SOCKET_OVERFLOW], 10);

	/* The kernel's counter is 32 bits: across its wrap the difference still counts. */
	seen = UINT32_MAX - 1;
	m.msg_controllen = put_control(control, sizeof(control), 3);
	socket_count_kernel_drops(&dev, &m, &seen);
	assert_int_equal(dev.drops[WG_DROP_SOCKET_OVERFLOW], 15);
	assert_int_equal(seen, 3);

	/* No control data (the kernel sends none before its first drop). */
	m.msg_controllen = 0;
	socket_count_kernel_drops(&dev, &m, &seen);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buffers_hold_the_largest_mtu),
		cmocka_unit_test(mtu_bounds_at_init),
		cmocka_unit_test(kernel_drops_become_socket_overflow),
		cmocka_unit_test(every_drop_reason_has_its_own_name),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
