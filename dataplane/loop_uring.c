// SPDX-License-Identifier: MIT
/*
 * The io_uring loop. UDP: one multishot recvmsg per socket, drawing buffers
 * from a provided-buffer ring that is fed from the device's pool (buffer id =
 * pool id), so a datagram is decrypted in the buffer it arrived in and
 * written to TUN from there. TUN: a fixed number of reads in flight. Output:
 * one sendmsg or write SQE per packet, all submitted with one system call per
 * loop iteration; a buffer returns to the pool only when its send completed.
 * Other descriptors: multishot poll. A UDP socket's ICMP errors: a one-shot
 * poll for POLLERR, re-armed after each read of the error queue, so that
 * errors left in the queue (more than one read takes) fire it again.
 * Completions are routed by user_data (operation, generation or slot).
 */
#include <errno.h>
#include <liburing.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include "device_internal.h"
#include "loop.h"
#include "socket.h"

#define SQ_ENTRIES 1024
#define BR_ENTRIES 1024
#define BR_BYTES (8U << 20)
#define BR_GROUP 7
#define TUN_READS 32
#define RX_MAX 256

enum uring_op { OP_RECV = 1, OP_TUN_READ, OP_SEND, OP_TUN_WRITE, OP_POLL, OP_CANCEL, OP_ERRPOLL };

static inline uint64_t ud(enum uring_op op, uint64_t arg)
{
	return (uint64_t)op | arg << 8;
}

/* One send or TUN write in flight: a datagram, a GSO run of them, or a TUN write of a coalesced packet. */
struct tx_slot {
	struct msghdr msg;
	union wg_sockaddr addr;
	_Alignas(struct cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))];
	uint32_t n;       /* buffers, one iovec each */
	uint32_t written; /* what a TUN write must report written */
	bool retried;     /* a send submitted again after an error that may have been another's (send_failed) */
	struct iovec iov[OFFLOAD_MAX_SEGS];
	uint32_t ids[OFFLOAD_MAX_SEGS];
};

struct uring_backend {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	unsigned int br_given; /* buffers the kernel holds in the ring */
	struct msghdr recv_msg;
	int sock[2];
	bool recv_armed[2];
	bool err_armed[2]; /* the POLLERR poll of each socket */
	uint32_t kernel_drops[2]; /* SO_RXQ_OVFL count last seen per socket */
	unsigned int cq_overflow; /* the kernel's count of completions it could not post, last seen */
	uint32_t gen; /* socket generation, so completions of replaced sockets are told apart */
	uint32_t tun_ids[TUN_READS];
	struct tx_slot *slots;
	uint32_t *free_slots, n_free_slots;
	struct wg_pkt rx[RX_MAX];
	unsigned int n_rx;
	struct wg_pkt tun_rx[TUN_READS];
	unsigned int n_tun_rx;
	unsigned int tun_in_flight; /* reads of the set still pending; a new set only when none is */
	int tun_error; /* a TUN read failed for good (the device is gone): the loop stops with it */
	unsigned int in_flight; /* SQEs handed out whose last completion (no F_MORE) is not seen yet */
};

static struct io_uring_sqe *get_sqe(struct uring_backend *b)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (!sqe) {
		io_uring_submit(&b->ring);
		sqe = io_uring_get_sqe(&b->ring);
	}
	if (sqe)
		b->in_flight++; /* every caller fills and submits it: each request ends in one completion without F_MORE */
	return sqe;
}

static void refill_ring(struct wg_device *dev, struct uring_backend *b)
{
	int mask = io_uring_buf_ring_mask(BR_ENTRIES), added = 0;
	/*
	 * At most a quarter of the pool waits for datagrams (TUN reads and sends
	 * need the rest), and at most BR_BYTES of it: the kernel fills ring
	 * buffers in turn, so each one a datagram ever filled stays resident,
	 * and anyone may send datagrams of 64 KiB. What the ring cannot take
	 * waits in the socket's buffer.
	 */
	unsigned int target = dev->pool.count / 4 < BR_ENTRIES ? dev->pool.count / 4 : BR_ENTRIES;

	if (target > BR_BYTES / dev->pool.buf_size)
		target = BR_BYTES / dev->pool.buf_size;

	while (b->br_given < target) {
		uint32_t id = pool_get(&dev->pool);

		if (id == POOL_NONE)
			break;
		io_uring_buf_ring_add(b->br, pool_buf(&dev->pool, id), dev->pool.buf_size, (unsigned short)id, mask,
				      added++);
		b->br_given++;
	}
	if (added)
		io_uring_buf_ring_advance(b->br, added);
}

static int arm_recv(struct uring_backend *b, int which)
{
	struct io_uring_sqe *sqe;

	/* With no buffer in the ring the receive would end at once with -ENOBUFS: wait for one. */
	if (b->sock[which] < 0 || b->recv_armed[which] || !b->br_given)
		return 0;
	sqe = get_sqe(b);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_recvmsg_multishot(sqe, b->sock[which], &b->recv_msg, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BR_GROUP;
	io_uring_sqe_set_data64(sqe, ud(OP_RECV, (uint64_t)b->gen << 1 | (uint64_t)which));
	b->recv_armed[which] = true;
	return 0;
}

/* The socket's POLLERR poll, one-shot: armed with errors queued it fires at once. */
static int arm_errpoll(struct uring_backend *b, int which)
{
	struct io_uring_sqe *sqe;

	if (b->sock[which] < 0 || b->err_armed[which])
		return 0;
	sqe = get_sqe(b);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, b->sock[which], POLLERR);
	io_uring_sqe_set_data64(sqe, ud(OP_ERRPOLL, (uint64_t)b->gen << 1 | (uint64_t)which));
	b->err_armed[which] = true;
	return 0;
}

/*
 * TUN reads, a new set only once every read of the last is done. A set
 * armed together completes in the order it takes packets off the device;
 * reads re-armed one by one beside older ones still waiting do not (under
 * DEFER_TASKRUN, measured: whole super-packets swapped places and TCP
 * inside the tunnel retransmitted them). Chaining the reads instead
 * (IOSQE_IO_LINK) keeps order too, but then each waits for a turn of the
 * loop: a third of the packet rate.
 */
static void arm_tun_reads(struct wg_device *dev, struct uring_backend *b)
{
	int i;

	if (dev->tun_fd < 0 || b->tun_in_flight)
		return;
	for (i = 0; i < TUN_READS; i++) {
		struct io_uring_sqe *sqe;
		uint32_t id = pool_get(&dev->pool);

		if (id == POOL_NONE)
			break;
		sqe = get_sqe(b);
		if (!sqe) {
			pool_put(&dev->pool, id);
			break;
		}
		b->tun_ids[i] = id;
		io_uring_prep_read(sqe, dev->tun_fd, pool_buf(&dev->pool, id) + WG_TUN_HEADROOM, loop_tun_read_room(dev),
				   (uint64_t)-1);
		io_uring_sqe_set_data64(sqe, ud(OP_TUN_READ, (uint64_t)i));
		b->tun_in_flight++;
	}
}

static int uring_sockets_changed(struct loop *l)
{
	struct uring_backend *b = l->backend;
	int i;

	/* In-flight receives and polls hold the old sockets open: cancel them; buffers come back as completions. */
	for (i = 0; i < 2; i++) {
		if (b->recv_armed[i]) {
			struct io_uring_sqe *sqe = get_sqe(b);

			if (!sqe)
				return -EBUSY;
			io_uring_prep_cancel64(sqe, ud(OP_RECV, (uint64_t)b->gen << 1 | (uint64_t)i), 0);
			io_uring_sqe_set_data64(sqe, ud(OP_CANCEL, 0));
			b->recv_armed[i] = false;
		}
		if (b->err_armed[i]) {
			struct io_uring_sqe *sqe = get_sqe(b);

			if (!sqe)
				return -EBUSY;
			io_uring_prep_cancel64(sqe, ud(OP_ERRPOLL, (uint64_t)b->gen << 1 | (uint64_t)i), 0);
			io_uring_sqe_set_data64(sqe, ud(OP_CANCEL, 0));
			b->err_armed[i] = false;
		}
	}
	b->gen++;
	b->sock[0] = l->dev->sock4;
	b->sock[1] = l->dev->sock6;
	b->kernel_drops[0] = b->kernel_drops[1] = 0;
	for (i = 0; i < 2; i++) {
		int ret = arm_recv(b, i);

		if (!ret)
			ret = arm_errpoll(b, i);
		if (ret)
			return ret;
	}
	return io_uring_submit(&b->ring) < 0 ? -EIO : 0;
}

/* Multishot recvmsg came with Linux 6.0; on 5.19 it would fail at every arm, so refuse at init. */
static bool kernel_has_multishot_recv(void)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major >= 6;
}

/*
 * Every buffer may be in flight at once (in the receive ring, a TUN read or
 * a send), each ending in one completion: a completion queue that holds them
 * all never overflows, so a multishot receive is never cut short by it.
 */
static int ring_init(struct uring_backend *b, uint32_t n_buffers)
{
	struct io_uring_params p;
	unsigned int cq = 2 * SQ_ENTRIES;

	while (cq < n_buffers + BR_ENTRIES + TUN_READS + LOOP_MAX_FDS)
		cq *= 2;
	int ret;

	memset(&p, 0, sizeof(p));
	/*
	 * CLAMP: past the kernel's limit (65536) the largest pools get the
	 * largest queue, not EINVAL. SINGLE_ISSUER and DEFER_TASKRUN (Linux
	 * 6.1): the loop thread alone submits, and completions are made ready
	 * when it asks for them, not by interrupting it while it works.
	 */
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	p.cq_entries = cq;
	ret = io_uring_queue_init_params(SQ_ENTRIES, &b->ring, &p);
	if (ret != -EINVAL)
		return ret;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
	p.cq_entries = cq;
	return io_uring_queue_init_params(SQ_ENTRIES, &b->ring, &p);
}

static int uring_init(struct loop *l)
{
	struct wg_device *dev = l->dev;
	struct uring_backend *b;
	struct io_uring_buf_reg reg;
	struct io_uring_probe *probe;
	uint32_t i;
	int ret;

	if (dev->pool.count > 65536 || !kernel_has_multishot_recv())
		return -EINVAL; /* buffer ids are 16 bits; the kernel too old */
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	ret = ring_init(b, dev->pool.count);
	if (ret)
		goto err_free;
	probe = io_uring_get_probe_ring(&b->ring);
	if (!probe || !io_uring_opcode_supported(probe, IORING_OP_RECVMSG) ||
	    !io_uring_opcode_supported(probe, IORING_OP_POLL_ADD)) {
		io_uring_free_probe(probe);
		ret = -EINVAL;
		goto err_ring;
	}
	io_uring_free_probe(probe);

	b->br_bytes = BR_ENTRIES * sizeof(struct io_uring_buf);
	b->br = mmap(NULL, b->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (b->br == MAP_FAILED) {
		b->br = NULL;
		ret = -ENOMEM;
		goto err_ring;
	}
	io_uring_buf_ring_init(b->br);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)b->br;
	reg.ring_entries = BR_ENTRIES;
	reg.bgid = BR_GROUP;
	/* Fails with EINVAL on kernels before 5.19: fall back to epoll. */
	ret = io_uring_register_buf_ring(&b->ring, &reg, 0);
	if (ret)
		goto err_br;

	b->slots = calloc(dev->pool.count, sizeof(*b->slots));
	b->free_slots = calloc(dev->pool.count, sizeof(*b->free_slots));
	if (!b->slots || !b->free_slots) {
		ret = -ENOMEM;
		goto err_slots;
	}
	for (i = 0; i < dev->pool.count; i++)
		b->free_slots[i] = i;
	b->n_free_slots = dev->pool.count;

	/* Rounded up so the control data after the name, and the payload after it, stay 8-byte aligned. */
	b->recv_msg.msg_namelen = (sizeof(struct sockaddr_in6) + 7) & ~7u;
	b->recv_msg.msg_controllen = SOCKET_CMSG_SPACE;
	b->sock[0] = b->sock[1] = -1;
	l->backend = b;
	refill_ring(dev, b);
	arm_tun_reads(dev, b);
	ret = uring_sockets_changed(l);
	if (ret)
		goto err_armed;
	return 0;

err_armed:
	l->backend = NULL;
err_slots:
	free(b->slots);
	free(b->free_slots);
	io_uring_unregister_buf_ring(&b->ring, BR_GROUP);
err_br:
	munmap(b->br, b->br_bytes);
err_ring:
	io_uring_queue_exit(&b->ring);
err_free:
	free(b);
	return ret;
}

/*
 * Each request in flight holds its file: a socket or the TUN device stays
 * bound after close() until the request is gone. io_uring_queue_exit()
 * leaves them to a kernel worker that may finish after the process has
 * exited, and a restart right then finds the port in use. So all of them
 * are cancelled here, and their last completions waited for (bounded).
 */
static void cancel_all(struct uring_backend *b)
{
	struct __kernel_timespec ts = { .tv_nsec = 100 * 1000 * 1000 };
	struct io_uring_sqe *sqe = get_sqe(b);
	struct io_uring_cqe *cqe;
	int turns;

	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data64(sqe, ud(OP_CANCEL, 0));
	for (turns = 0; b->in_flight && turns < 20; turns++) {
		int ret = io_uring_submit_and_wait_timeout(&b->ring, &cqe, 1, &ts, NULL);

		if (ret < 0 && ret != -ETIME && ret != -EINTR)
			return;
		while (!io_uring_peek_cqe(&b->ring, &cqe) && cqe) {
			if (!(cqe->flags & IORING_CQE_F_MORE))
				b->in_flight--;
			io_uring_cqe_seen(&b->ring, cqe);
		}
	}
}

static void uring_uninit(struct loop *l)
{
	struct uring_backend *b = l->backend;

	if (!b)
		return;
	cancel_all(b);
	/* The pool is freed whole by the device: the buffers of cancelled requests need no return. */
	io_uring_queue_exit(&b->ring);
	munmap(b->br, b->br_bytes);
	free(b->slots);
	free(b->free_slots);
	free(b);
	l->backend = NULL;
}

static int uring_add_fd(struct loop *l, int fd)
{
	struct uring_backend *b = l->backend;
	struct io_uring_sqe *sqe = get_sqe(b);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_multishot(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, ud(OP_POLL, (uint64_t)fd));
	return io_uring_submit(&b->ring) < 0 ? -EIO : 0;
}

static void uring_del_fd(struct loop *l, int fd)
{
	struct uring_backend *b = l->backend;
	struct io_uring_sqe *sqe = get_sqe(b);

	if (!sqe)
		return;
	io_uring_prep_poll_remove(sqe, ud(OP_POLL, (uint64_t)fd));
	io_uring_sqe_set_data64(sqe, ud(OP_CANCEL, 0));
	io_uring_submit(&b->ring);
}

/* n entries of q from i on, into a slot's buffers and iovecs (the first from data + skip on, as all). */
static void fill_slot(struct tx_slot *s, const struct wg_pkt *items, unsigned int n)
{
	unsigned int j;

	s->n = n;
	s->written = 0;
	s->retried = false;
	for (j = 0; j < n; j++) {
		s->ids[j] = items[j].id;
		s->iov[j].iov_base = items[j].data + items[j].skip;
		s->iov[j].iov_len = items[j].len - items[j].skip;
		s->written += (uint32_t)s->iov[j].iov_len;
	}
}

/* A slot and an SQE for n entries (filled in), or NULL with neither taken. */
static struct tx_slot *take_slot(struct uring_backend *b, const struct wg_pkt *items, unsigned int n, uint32_t *slot_id,
				 struct io_uring_sqe **sqe)
{
	if (!b->n_free_slots)
		return NULL;
	*sqe = get_sqe(b);
	if (!*sqe)
		return NULL;
	*slot_id = b->free_slots[--b->n_free_slots];
	fill_slot(&b->slots[*slot_id], items, n);
	return &b->slots[*slot_id];
}

static void release_slot(struct wg_device *dev, struct uring_backend *b, uint32_t slot_id)
{
	struct tx_slot *s = &b->slots[slot_id];
	uint32_t j;

	for (j = 0; j < s->n; j++)
		pool_put(&dev->pool, s->ids[j]);
	b->free_slots[b->n_free_slots++] = slot_id;
}

static void drop_items(struct wg_device *dev, const struct wg_pkt *items, unsigned int n, enum wg_drop_reason why)
{
	unsigned int j;

	for (j = 0; j < n; j++)
		pool_put(&dev->pool, items[j].id);
	dev->drops[why] += n;
}

/* One sendmsg per datagram or per GSO run, one write per TUN packet (coalesced or not); one submit for all. */
static void uring_flush(struct wg_device *dev, void *ctx)
{
	struct loop *l = ctx;
	struct uring_backend *b = l->backend;
	unsigned int i, n;

	device_seal_pending(dev);
	for (i = 0; i < dev->tx_udp.n; i += n) {
		struct wg_pkt *p = &dev->tx_udp.items[i];
		int fd = p->addr.sa.sa_family == AF_INET6 ? dev->sock6 : dev->sock4;
		struct io_uring_sqe *sqe;
		struct tx_slot *s;
		uint32_t sid;

		n = device_udp_run(dev, i);
		s = fd >= 0 ? take_slot(b, p, n, &sid, &sqe) : NULL;
		if (!s) {
			drop_items(dev, p, n, fd < 0 ? WG_DROP_SEND_ERROR : WG_DROP_TX_QUEUE_FULL);
			continue;
		}
		s->addr = p->addr;
		memset(&s->msg, 0, sizeof(s->msg));
		s->msg.msg_name = &s->addr;
		s->msg.msg_namelen = device_sockaddr_len(&s->addr);
		s->msg.msg_iov = s->iov;
		s->msg.msg_iovlen = n;
		if (n > 1) {
			struct cmsghdr *c = (struct cmsghdr *)s->control;
			uint16_t seg = (uint16_t)p->len;

			s->msg.msg_control = s->control;
			s->msg.msg_controllen = sizeof(s->control);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
		io_uring_prep_sendmsg(sqe, fd, &s->msg, 0);
		io_uring_sqe_set_data64(sqe, ud(OP_SEND, sid));
	}
	dev->tx_udp.n = 0;
	for (i = 0; i < dev->tx_tun.n; i += n) {
		struct wg_pkt *p = &dev->tx_tun.items[i];
		struct io_uring_sqe *sqe;
		struct tx_slot *s;
		uint32_t sid;

		n = p->segs && p->segs <= dev->tx_tun.n - i ? p->segs : 1;
		s = take_slot(b, p, n, &sid, &sqe);
		if (!s) {
			drop_items(dev, p, n, WG_DROP_TX_QUEUE_FULL);
			continue;
		}
		/* Offset -1: the device's own position, as TUN is a stream. */
		if (n == 1)
			io_uring_prep_write(sqe, dev->tun_fd, s->iov[0].iov_base, (unsigned int)s->iov[0].iov_len,
					    (uint64_t)-1);
		else
			io_uring_prep_writev(sqe, dev->tun_fd, s->iov, n, (uint64_t)-1);
		io_uring_sqe_set_data64(sqe, ud(OP_TUN_WRITE, sid));
	}
	dev->tx_tun.n = 0;
	io_uring_submit(&b->ring);
}

/*
 * A GSO run the kernel refused goes again datagram by datagram, from the
 * buffers the slot still holds. EIO: the egress cannot segment at all, GSO
 * stops for good. EMSGSIZE or EINVAL: the path MTU is below the segments
 * (Linux refuses a GSO send it would have to fragment; one datagram at a
 * time it fragments them), GSO stays for other runs.
 */
static void resend_run(struct wg_device *dev, struct uring_backend *b, uint32_t slot_id, bool stop_gso)
{
	struct tx_slot *s = &b->slots[slot_id];
	uint32_t j;

	if (stop_gso)
		dev->udp_gso = false;
	/* Each alone (segs 0): grouped again, the run would be refused again. */
	for (j = 0; j < s->n; j++)
		if (device_udp_enqueue(dev, s->ids[j], s->iov[j].iov_base, (uint32_t)s->iov[j].iov_len, &s->addr))
			dev->tx_udp.items[dev->tx_udp.n - 1].segs = 0;
	s->n = 0;
	release_slot(dev, b, slot_id);
}

/*
 * A send the kernel refused with err. An error that may be another
 * datagram's ICMP error, pending on the socket, was used up by this send:
 * the slot goes again, once (true: it is in flight again). Otherwise the
 * datagrams are counted and the error told to the peer they were for.
 */
static bool send_failed(struct wg_device *dev, struct uring_backend *b, uint32_t slot_id, int err)
{
	struct tx_slot *s = &b->slots[slot_id];
	int fd = s->addr.sa.sa_family == AF_INET6 ? dev->sock6 : dev->sock4;
	struct io_uring_sqe *sqe;

	if (!s->retried && fd >= 0 && socket_error_may_be_pending(err) && (sqe = get_sqe(b))) {
		s->retried = true;
		io_uring_prep_sendmsg(sqe, fd, &s->msg, 0);
		io_uring_sqe_set_data64(sqe, ud(OP_SEND, slot_id));
		return true;
	}
	dev->drops[WG_DROP_SEND_ERROR] += s->n;
	device_send_error(dev, &s->addr, &(struct wg_send_error){ .err = err, .origin = WG_SEND_ERROR_LOCAL },
			  device_now_ns());
	return false;
}

/*
 * The datagrams gathered so far go through the device; the batch starts
 * empty. The ring gets the buffers back at once, and a receive that ended
 * for want of them (-ENOBUFS) is re-armed: while it waits the socket fills,
 * and what overflows it the kernel drops.
 */
static void rx_flush(struct wg_device *dev, struct uring_backend *b)
{
	int i;

	if (b->n_rx)
		device_receive_udp(dev, b->rx, b->n_rx, device_now_ns());
	b->n_rx = 0;
	refill_ring(dev, b);
	for (i = 0; i < 2; i++)
		arm_recv(b, i);
}

/* The kernel's drops on the socket and the GRO segment size, told in the datagram's control data. */
static uint32_t read_cmsg(struct wg_device *dev, struct uring_backend *b, int which, struct io_uring_recvmsg_out *out)
{
	struct msghdr m;

	memset(&m, 0, sizeof(m));
	m.msg_control = (uint8_t *)(out + 1) + b->recv_msg.msg_namelen;
	m.msg_controllen = out->controllen;
	return socket_read_cmsg(dev, &m, &b->kernel_drops[which]);
}

static void on_recv(struct loop *l, struct io_uring_cqe *cqe, uint64_t arg)
{
	struct wg_device *dev = l->dev;
	struct uring_backend *b = l->backend;
	int which = (int)(arg & 1);
	bool current = (arg >> 1) == b->gen;
	struct io_uring_recvmsg_out *out;
	union wg_sockaddr src;
	uint32_t id, seg;

	if (current && !(cqe->flags & IORING_CQE_F_MORE))
		b->recv_armed[which] = false; /* re-armed after this batch; -ENOBUFS ends up here too */
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		return; /* no buffer, no datagram taken: -ENOBUFS leaves it in the socket */
	id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	b->br_given--;
	if (cqe->res <= 0 || !current) {
		pool_put(&dev->pool, id);
		device_drop(dev, WG_DROP_RX_ERROR);
		return;
	}
	dev->udp_reads++;
	out = io_uring_recvmsg_validate(pool_buf(&dev->pool, id), cqe->res, &b->recv_msg);
	if (!out || out->namelen > sizeof(union wg_sockaddr)) {
		pool_put(&dev->pool, id);
		dev->udp_datagrams++;
		device_drop(dev, WG_DROP_INVALID_MESSAGE);
		return;
	}
	seg = read_cmsg(dev, b, which, out);
	if (out->flags & MSG_TRUNC) {
		pool_put(&dev->pool, id);
		dev->udp_datagrams++;
		device_drop(dev, WG_DROP_RX_TRUNCATED);
		return;
	}
	/* A full batch is handled now: the ring may hand out more buffers than a batch holds. */
	if (b->n_rx + OFFLOAD_MAX_SEGS > RX_MAX)
		rx_flush(dev, b);
	memset(&src, 0, sizeof(src));
	memcpy(&src, io_uring_recvmsg_name(out), out->namelen);
	b->n_rx += device_split_datagrams(dev, &b->rx[b->n_rx], RX_MAX - b->n_rx, id,
					  io_uring_recvmsg_payload(out, &b->recv_msg),
					  io_uring_recvmsg_payload_length(out, cqe->res, &b->recv_msg), seg, &src);
}

static void complete(struct loop *l, struct io_uring_cqe *cqe)
{
	struct wg_device *dev = l->dev;
	struct uring_backend *b = l->backend;
	uint64_t data = io_uring_cqe_get_data64(cqe), arg = data >> 8;

	switch ((enum uring_op)(data & 0xff)) {
	case OP_RECV:
		on_recv(l, cqe, arg);
		break;
	case OP_TUN_READ:
		b->tun_in_flight--;
		/* Re-armed, a read of a device that is gone fails at once, forever: stop instead of spinning. */
		if (cqe->res < 0 && cqe->res != -EAGAIN && cqe->res != -EINTR && cqe->res != -ECANCELED)
			b->tun_error = cqe->res;
		if (loop_tun_read_cut(dev, cqe->res)) {
			pool_put(&dev->pool, b->tun_ids[arg]);
			device_drop(dev, WG_DROP_TUN_TRUNCATED);
		} else if (cqe->res > 0 && b->n_tun_rx < TUN_READS) {
			struct wg_pkt *p = &b->tun_rx[b->n_tun_rx++];

			p->id = b->tun_ids[arg];
			p->data = pool_buf(&dev->pool, p->id) + WG_TUN_HEADROOM;
			p->len = (uint32_t)cqe->res;
		} else {
			pool_put(&dev->pool, b->tun_ids[arg]);
		}
		break;
	case OP_SEND:
		if (b->slots[arg].n > 1 && (cqe->res == -EIO || cqe->res == -EMSGSIZE || cqe->res == -EINVAL)) {
			resend_run(dev, b, (uint32_t)arg, cqe->res == -EIO);
			break;
		}
		if (cqe->res < 0 && send_failed(dev, b, (uint32_t)arg, -cqe->res))
			break;
		release_slot(dev, b, (uint32_t)arg);
		break;
	case OP_TUN_WRITE:
		/* A coalesced write that fails loses every packet in it. */
		if (cqe->res < 0 || (uint32_t)cqe->res != b->slots[arg].written) {
			dev->drops[WG_DROP_TUN_WRITE_ERROR] += b->slots[arg].n;
		} else {
			dev->tun_writes++;
			dev->tun_packets += b->slots[arg].n;
		}
		release_slot(dev, b, (uint32_t)arg);
		break;
	case OP_POLL:
		if (cqe->res > 0)
			loop_dispatch_fd(l, (int)arg);
		if (!(cqe->flags & IORING_CQE_F_MORE) && cqe->res != -ECANCELED && cqe->res != -ENOENT) {
			struct io_uring_sqe *sqe = get_sqe(b);
			unsigned int i;

			/* Re-arm only descriptors still registered. */
			for (i = 0; i < l->n_fds && l->fds[i].fd != (int)arg; i++)
				;
			if (sqe && i < l->n_fds) {
				io_uring_prep_poll_multishot(sqe, (int)arg, POLLIN);
				io_uring_sqe_set_data64(sqe, data);
			}
		}
		break;
	case OP_ERRPOLL:
		/* Re-armed at the next turn, after the queue was read (a poll of replaced sockets is only forgotten). */
		if ((arg >> 1) != b->gen)
			break;
		b->err_armed[arg & 1] = false;
		if (cqe->res > 0 && (cqe->res & POLLERR))
			socket_read_errors(dev, b->sock[arg & 1], device_now_ns());
		break;
	case OP_CANCEL:
		break;
	}
}

/*
 * With a completion queue that holds every buffer this should stay 0; if not,
 * completions (and the datagrams or sends they were about) were lost.
 */
static void count_cq_overflow(struct wg_device *dev, struct uring_backend *b)
{
	unsigned int now = b->ring.cq.koverflow ? io_uring_smp_load_acquire(b->ring.cq.koverflow) : 0;

	dev->drops[WG_DROP_CQ_OVERFLOW] += now - b->cq_overflow;
	b->cq_overflow = now;
}

static int uring_run_once(struct loop *l, uint64_t timeout_ns)
{
	struct wg_device *dev = l->dev;
	struct uring_backend *b = l->backend;
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	unsigned int ready;
	int ret, i;

	refill_ring(dev, b);
	arm_tun_reads(dev, b);
	for (i = 0; i < 2; i++) {
		arm_recv(b, i);
		arm_errpoll(b, i);
	}
	if (timeout_ns != UINT64_MAX) {
		ts.tv_sec = (long long)(timeout_ns / NSEC_PER_SEC);
		ts.tv_nsec = (long long)(timeout_ns % NSEC_PER_SEC);
	}
	ret = io_uring_submit_and_wait_timeout(&b->ring, &cqe, 1, timeout_ns == UINT64_MAX ? NULL : &ts, NULL);
	if (ret < 0 && ret != -ETIME && ret != -EINTR)
		return ret;
	b->n_rx = 0;
	b->n_tun_rx = 0;
	/*
	 * What is ready now, and no more: a full receive batch is handled in
	 * the middle (rx_flush submits), and completions it causes wait for the
	 * next turn, so that TUN reads, timers and the other descriptors get
	 * theirs. Each one is marked seen at once, which keeps room in the
	 * queue for what the kernel posts meanwhile.
	 */
	for (ready = io_uring_cq_ready(&b->ring); ready; ready--) {
		if (io_uring_peek_cqe(&b->ring, &cqe) || !cqe)
			break;
		if (!(cqe->flags & IORING_CQE_F_MORE))
			b->in_flight--;
		complete(l, cqe);
		io_uring_cqe_seen(&b->ring, cqe);
	}
	count_cq_overflow(dev, b);
	rx_flush(dev, b);
	if (b->n_tun_rx)
		device_receive_tun(dev, b->tun_rx, b->n_tun_rx, device_now_ns());
	uring_flush(dev, l);
	return b->tun_error;
}

const struct loop_ops loop_uring_ops = {
	.init = uring_init,
	.uninit = uring_uninit,
	.add_fd = uring_add_fd,
	.del_fd = uring_del_fd,
	.sockets_changed = uring_sockets_changed,
	.run_once = uring_run_once,
	.flush = uring_flush,
	.name = "io_uring",
};
