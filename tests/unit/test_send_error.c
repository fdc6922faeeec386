// SPDX-License-Identifier: MIT
/*
 * Send errors (IP_RECVERR), without sockets:
 *  - an error-queue message's control data gives the errno, the origin,
 *    the ICMP type and code and the offender, its msg_name the destination;
 *    other control data (a timestamp), a zero errno, a destination of no
 *    family, or an offender cut short are not taken for what they are not;
 *  - the errnos a pending ICMP error can come back as are the ones worth
 *    one more send, and congestion is not one;
 *  - the device records an error on the peer whose endpoint it was for,
 *    tells it once per change of errno and again after a handshake
 *    completed, and ignores other destinations and the host's own
 *    congestion;
 *  - the words for the log and show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>

#include "device.h"
#include "diag.h"
#include "socket.h"

static void addr4(union wg_sockaddr *s, const char *ip, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	s->sin.sin_family = AF_INET;
	s->sin.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &s->sin.sin_addr), 1);
}

static void addr6(union wg_sockaddr *s, const char *ip, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	s->sin6.sin6_family = AF_INET6;
	s->sin6.sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6.sin6_addr), 1);
}

/* An error-queue message as the kernel writes it: the extended error, its offender right after. */
struct errmsg {
	struct msghdr msg;
	union wg_sockaddr name;
	_Alignas(struct cmsghdr) uint8_t control[256];
};

static struct cmsghdr *put_cmsg(struct errmsg *m, int level, int type, const void *data, size_t len)
{
	struct cmsghdr *c = (struct cmsghdr *)(m->control + m->msg.msg_controllen);

	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	m->msg.msg_controllen += CMSG_SPACE(len);
	return c;
}

static void errmsg_init(struct errmsg *m, const union wg_sockaddr *dst)
{
	memset(m, 0, sizeof(*m));
	m->name = *dst;
	m->msg.msg_name = &m->name;
	m->msg.msg_namelen = device_sockaddr_len(dst);
	m->msg.msg_control = m->control;
}

static void put_error(struct errmsg *m, int level, int type, uint32_t err, uint8_t origin, uint8_t itype,
		      uint8_t icode, const union wg_sockaddr *offender)
{
	uint8_t data[sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in6)];
	struct sock_extended_err ee = { .ee_errno = err, .ee_origin = origin, .ee_type = itype, .ee_code = icode };
	size_t off = offender ? device_sockaddr_len(offender) : sizeof(struct sockaddr_in);

	memset(data, 0, sizeof(data));
	memcpy(data, &ee, sizeof(ee));
	if (offender)
		memcpy(data + sizeof(ee), offender, off);
	put_cmsg(m, level, type, data, sizeof(ee) + off);
}

static void parses_icmp_errors(void **state)
{
	union wg_sockaddr dst, off, got;
	struct wg_send_error e;
	struct errmsg m;
	uint64_t ts[2] = { 1, 2 };

	(void)state;
	addr4(&dst, "198.51.100.2", 51820);
	addr4(&off, "203.0.113.9", 0);
	errmsg_init(&m, &dst);
	put_cmsg(&m, SOL_SOCKET, SO_TIMESTAMPNS, ts, sizeof(ts)); /* skipped */
	put_error(&m, IPPROTO_IP, IP_RECVERR, ECONNREFUSED, SO_EE_ORIGIN_ICMP, 3, 3, &off);
	assert_int_equal(socket_parse_error(&m.msg, &got, &e), 0);
	assert_true(device_same_address(&got, &dst));
	assert_int_equal(e.err, ECONNREFUSED);
	assert_int_equal(e.origin, WG_SEND_ERROR_ICMP);
	assert_int_equal(e.icmp_type, 3);
	assert_int_equal(e.icmp_code, 3);
	assert_int_equal(e.offender.sa.sa_family, AF_INET);
	assert_int_equal(e.offender.sin.sin_addr.s_addr, off.sin.sin_addr.s_addr);

	addr6(&dst, "2001:db8::2", 51820);
	addr6(&off, "2001:db8::1", 0);
	errmsg_init(&m, &dst);
	put_error(&m, IPPROTO_IPV6, IPV6_RECVERR, EHOSTUNREACH, SO_EE_ORIGIN_ICMP6, 1, 3, &off);
	assert_int_equal(socket_parse_error(&m.msg, &got, &e), 0);
	assert_true(device_same_address(&got, &dst));
	assert_int_equal(e.origin, WG_SEND_ERROR_ICMP6);
	assert_int_equal(e.offender.sa.sa_family, AF_INET6);
	assert_memory_equal(&e.offender.sin6.sin6_addr, &off.sin6.sin6_addr, 16);

	/* A local error: no offender (AF_UNSPEC, as the kernel leaves it). */
	addr4(&dst, "198.51.100.2", 51820);
	errmsg_init(&m, &dst);
	put_error(&m, IPPROTO_IP, IP_RECVERR, EMSGSIZE, SO_EE_ORIGIN_LOCAL, 0, 0, NULL);
	assert_int_equal(socket_parse_error(&m.msg, &got, &e), 0);
	assert_int_equal(e.err, EMSGSIZE);
	assert_int_equal(e.origin, WG_SEND_ERROR_LOCAL);
	assert_int_equal(e.offender.sa.sa_family, 0);
}

static void refuses_what_is_no_error(void **state)
{
	union wg_sockaddr dst, off, got;
	struct wg_send_error e;
	struct errmsg m;
	uint8_t data[sizeof(struct sock_extended_err) + 2];
	struct sock_extended_err ee = { .ee_errno = ECONNREFUSED, .ee_origin = SO_EE_ORIGIN_ICMP, .ee_type = 3 };

	(void)state;
	addr4(&dst, "198.51.100.2", 51820);
	addr4(&off, "203.0.113.9", 0);
	/* Zerocopy notices and timestamps ride the error queue too. */
	errmsg_init(&m, &dst);
	put_error(&m, IPPROTO_IP, IP_RECVERR, 0, SO_EE_ORIGIN_ZEROCOPY, 0, 0, NULL);
	put_error(&m, IPPROTO_IP, IP_RECVERR, ENOMSG, SO_EE_ORIGIN_TIMESTAMPING, 0, 0, NULL);
	assert_int_equal(socket_parse_error(&m.msg, &got, &e), -ENOMSG);
	/* No control data at all, or an error without its header whole. */
	errmsg_init(&m, &dst);
	assert_int_equal(socket_parse_error(&m.msg, &got, &e), -ENOMSG);
	put_cmsg(&m, IPPROTO_IP, IP_RECVERR, &ee, sizeof(ee) - 1);
	assert_int_equal(socket_parse_error(&m.msg, &got, &e), -ENOMSG);
	/* A destination of no family. */
	errmsg_init(&m, &dst);
	m.msg.msg_namelen = 0;
	put_error(&m, IPPROTO_IP, IP_RECVERR, ECONNREFUSED, SO_EE_ORIGIN_ICMP, 3, 3, &off);
	assert_int_equal(socket_parse_error(&m.msg, &got, &e), -ENOMSG);
	/* An offender cut short is none. */
	errmsg_init(&m, &dst);
	memcpy(data, &ee, sizeof(ee));
	data[sizeof(ee)] = AF_INET6 & 0xff;
	data[sizeof(ee) + 1] = 0;
	put_cmsg(&m, IPPROTO_IP, IP_RECVERR, data, sizeof(data));
	assert_int_equal(socket_parse_error(&m.msg, &got, &e), 0);
	assert_int_equal(e.offender.sa.sa_family, 0);
}

static void pending_errors_are_icmp_ones(void **state)
{
	static const int pending[] = { ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENONET,
				       ENOPROTOOPT,  EMSGSIZE,	   EOPNOTSUPP,	EACCES,	   EPROTO };
	static const int not[] = { 0, EAGAIN, ENOBUFS, ENOMEM, EPERM, EINVAL, EIO, EBADF };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pending) / sizeof(pending[0]); i++)
		assert_true(socket_error_may_be_pending(pending[i]));
	for (i = 0; i < sizeof(not) / sizeof(not[0]); i++)
		assert_false(socket_error_may_be_pending(not[i]));
}

struct heard {
	unsigned int n;
	struct wg_event last;
	union wg_sockaddr addr;
};

static void listen_events(void *ctx, const struct wg_event *ev)
{
	struct heard *h = ctx;

	if (ev->kind != WG_EVENT_SEND_ERROR)
		return;
	h->n++;
	h->last = *ev;
	h->addr = *ev->addr;
}

static void device_tells_once_per_change(void **state)
{
	struct wg_device dev;
	struct wg_peer *p1, *p2;
	uint8_t key[32], pub1[32], pub2[32];
	union wg_sockaddr ep1, ep2, other, off;
	struct heard h = { 0 };
	struct wg_send_error refused = { .err = ECONNREFUSED, .origin = WG_SEND_ERROR_ICMP, .icmp_type = 3, .icmp_code = 3 };
	struct wg_send_error local = { .err = ECONNREFUSED, .origin = WG_SEND_ERROR_LOCAL };
	struct wg_send_error unreach = { .err = EHOSTUNREACH, .origin = WG_SEND_ERROR_ICMP, .icmp_type = 3, .icmp_code = 1 };
	struct wg_send_error again = { .err = EAGAIN, .origin = WG_SEND_ERROR_LOCAL };

	(void)state;
	assert_int_equal(device_init(&dev, 1420, 64), 0);
	randombytes_buf(key, 32);
	assert_int_equal(device_set_private_key(&dev, key), 0);
	randombytes_buf(pub1, 32);
	randombytes_buf(pub2, 32);
	assert_int_equal(device_add_peer(&dev, pub1, &p1), 0);
	assert_int_equal(device_add_peer(&dev, pub2, &p2), 0);
	addr4(&ep1, "198.51.100.2", 51820);
	addr6(&ep2, "2001:db8::2", 51820);
	addr4(&other, "198.51.100.2", 51821);
	addr4(&off, "203.0.113.9", 0);
	refused.offender = off;
	peer_set_endpoint(p1, &ep1);
	peer_set_endpoint(p2, &ep2);
	dev.event = listen_events;
	dev.event_ctx = &h;

	device_send_error(&dev, &ep1, &refused, 5 * NSEC_PER_SEC);
	assert_int_equal(h.n, 1);
	assert_ptr_equal(h.last.peer, p1);
	assert_int_equal(h.last.value, ECONNREFUSED);
	assert_true(device_same_address(&h.addr, &ep1));
	assert_int_equal(p1->send_error.err, ECONNREFUSED);
	assert_int_equal(p1->send_error.at_ns, 5 * NSEC_PER_SEC);
	assert_true(p1->send_error.at_sec > 1700000000);
	assert_int_equal(p2->send_error.err, 0);

	/* The same errno again: newer, not told; a failed send's echo keeps the ICMP details. */
	device_send_error(&dev, &ep1, &refused, 6 * NSEC_PER_SEC);
	device_send_error(&dev, &ep1, &local, 7 * NSEC_PER_SEC);
	assert_int_equal(h.n, 1);
	assert_int_equal(p1->send_error.at_ns, 7 * NSEC_PER_SEC);
	assert_int_equal(p1->send_error.origin, WG_SEND_ERROR_ICMP);
	assert_int_equal(p1->send_error.offender.sin.sin_addr.s_addr, off.sin.sin_addr.s_addr);

	/* Another errno is told; another peer's is its own. */
	device_send_error(&dev, &ep1, &unreach, 8 * NSEC_PER_SEC);
	assert_int_equal(h.n, 2);
	assert_int_equal(p1->send_error.err, EHOSTUNREACH);
	device_send_error(&dev, &ep2, &refused, 9 * NSEC_PER_SEC);
	assert_int_equal(h.n, 3);
	assert_ptr_equal(h.last.peer, p2);

	/* No peer there (another port), or the host's own congestion: nothing recorded. */
	device_send_error(&dev, &other, &refused, 10 * NSEC_PER_SEC);
	device_send_error(&dev, &ep1, &again, 10 * NSEC_PER_SEC);
	assert_int_equal(h.n, 3);
	assert_int_equal(p1->send_error.err, EHOSTUNREACH);
	assert_int_equal(p1->send_error.at_ns, 8 * NSEC_PER_SEC);

	/* After a completed handshake the same errno is news again, and the last one stays for show. */
	device_event(&dev, WG_EVENT_COMPLETED, p1, &ep1, 0);
	assert_false(p1->send_error.said);
	assert_int_equal(p1->send_error.err, EHOSTUNREACH);
	device_send_error(&dev, &ep1, &unreach, 11 * NSEC_PER_SEC);
	assert_int_equal(h.n, 4);

	dev.event = NULL;
	device_uninit(&dev);
}

static void words_for_people(void **state)
{
	struct wg_send_error e = { .err = ECONNREFUSED, .origin = WG_SEND_ERROR_ICMP, .icmp_type = 3, .icmp_code = 3 };
	char out[DIAG_SEND_ERROR_LEN];

	(void)state;
	addr4(&e.offender, "203.0.113.9", 0);
	diag_format_send_error(out, sizeof(out), &e);
	assert_string_equal(out, "Connection refused (ICMP port unreachable from 203.0.113.9)");
	diag_format_icmp(out, sizeof(out), &e);
	assert_string_equal(out, "ICMP port unreachable from 203.0.113.9");

	e.err = EACCES;
	e.origin = WG_SEND_ERROR_ICMP6;
	e.icmp_type = 1;
	e.icmp_code = 1;
	addr6(&e.offender, "2001:db8::1", 0);
	diag_format_send_error(out, sizeof(out), &e);
	assert_string_equal(out, "Permission denied (ICMPv6 administratively prohibited from 2001:db8::1)");

	/* A type without words, and no offender known. */
	e.err = EPROTO;
	e.icmp_type = 200;
	e.icmp_code = 7;
	memset(&e.offender, 0, sizeof(e.offender));
	diag_format_send_error(out, sizeof(out), &e);
	assert_string_equal(out, "Protocol error (ICMPv6 type 200 code 7)");

	e.err = ENETUNREACH;
	e.origin = WG_SEND_ERROR_LOCAL;
	diag_format_send_error(out, sizeof(out), &e);
	assert_string_equal(out, "Network is unreachable");
	diag_format_icmp(out, sizeof(out), &e);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_icmp_errors),
		cmocka_unit_test(refuses_what_is_no_error),
		cmocka_unit_test(pending_errors_are_icmp_ones),
		cmocka_unit_test(device_tells_once_per_change),
		cmocka_unit_test(words_for_people),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
