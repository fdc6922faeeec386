// SPDX-License-Identifier: MIT
/*
 * The device's life, its peer tables (an array to visit them all, a hash by
 * public key), the output queues, and the timer sweep. Peers themselves live
 * in peer.c.
 */
#include "device.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device_internal.h"
#include "transport.h"

/* Tables start small and double; a handful of peers never reallocates. */
#define WG_INITIAL_PEERS 16
_Static_assert(sizeof(((struct wg_device *)0)->peer_hash_key) == crypto_shorthash_KEYBYTES, "SipHash key");

uint64_t device_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t device_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

const char *device_refusal_name(enum wg_refusal why)
{
	static const char *const names[WG_REFUSED_COUNT] = {
		[WG_REFUSED_MAC1] = "mac1",
		[WG_REFUSED_UNKNOWN_PEER] = "unknown_peer",
		[WG_REFUSED_STALE] = "stale_timestamp",
		[WG_REFUSED_FLOOD] = "flood",
		[WG_REFUSED_UNDER_LOAD] = "under_load",
		[WG_REFUSED_BAD] = "undecryptable",
	};

	return (unsigned int)why < WG_REFUSED_COUNT ? names[why] : "unknown";
}

void device_event(struct wg_device *dev, enum wg_event_kind kind, struct wg_peer *peer, const union wg_sockaddr *addr,
		  uint64_t value)
{
	struct wg_event ev = { .kind = kind, .peer = peer, .addr = addr, .value = value };

	if (kind == WG_EVENT_REFUSED && value < WG_REFUSED_COUNT)
		dev->refused[value]++;
	else if (kind == WG_EVENT_COMPLETED)
		dev->handshakes_completed++;
	else if (kind == WG_EVENT_GAVE_UP)
		dev->handshakes_gave_up++;
	if (dev->event)
		dev->event(dev->event_ctx, &ev);
	/* The peer answered: a send error from now on is news, even the same one. */
	if (kind == WG_EVENT_COMPLETED && peer) {
		peer->send_error.said = false;
		peer->unanswered = 0;
	}
}

bool device_same_address(const union wg_sockaddr *a, const union wg_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_port == b->sin.sin_port && a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	return a->sin6.sin6_port == b->sin6.sin6_port &&
	       !memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, sizeof(a->sin6.sin6_addr));
}

/* The peer whose endpoint is dst, the last one found first: errors come in runs to one destination. */
static struct wg_peer *peer_at(struct wg_device *dev, const union wg_sockaddr *dst)
{
	size_t i = dev->send_error_slot;

	if (i < dev->n_peers && dev->peers[i]->has_endpoint && device_same_address(&dev->peers[i]->endpoint, dst))
		return dev->peers[i];
	for (i = 0; i < dev->n_peers; i++) {
		if (dev->peers[i]->has_endpoint && device_same_address(&dev->peers[i]->endpoint, dst)) {
			dev->send_error_slot = i;
			return dev->peers[i];
		}
	}
	return NULL;
}

void device_send_error(struct wg_device *dev, const union wg_sockaddr *dst, const struct wg_send_error *e,
		       uint64_t now_ns)
{
	struct wg_peer *peer;
	struct wg_send_error *last;
	bool told;

	if (!e->err || e->err == EAGAIN || e->err == ENOBUFS || e->err == ENOMEM || e->err == EINTR)
		return;
	peer = peer_at(dev, dst);
	if (!peer)
		return;
	last = &peer->send_error;
	told = last->said && last->err == e->err;
	/* A send that failed again is the echo of the ICMP error already here: that says more, keep it. */
	if (!(told && e->origin == WG_SEND_ERROR_LOCAL && last->origin != WG_SEND_ERROR_LOCAL))
		*last = *e;
	last->at_ns = now_ns;
	last->at_sec = (int64_t)(device_wall_ns() / NSEC_PER_SEC);
	last->said = true;
	if (!told)
		device_event(dev, WG_EVENT_SEND_ERROR, peer, dst, (uint64_t)e->err);
}

const char *device_drop_name(enum wg_drop_reason why)
{
	static const char *const names[WG_DROP_COUNT] = {
		[WG_DROP_INVALID_MESSAGE] = "invalid_message",
		[WG_DROP_MAC] = "bad_mac1",
		[WG_DROP_UNDER_LOAD] = "under_load",
		[WG_DROP_HANDSHAKE] = "handshake_refused",
		[WG_DROP_UNKNOWN_INDEX] = "unknown_index",
		[WG_DROP_DECRYPT] = "decrypt_or_replay",
		[WG_DROP_INNER_INVALID] = "invalid_inner_packet",
		[WG_DROP_SOURCE_NOT_ALLOWED] = "source_not_allowed",
		[WG_DROP_NO_ROUTE] = "no_route",
		[WG_DROP_NO_ENDPOINT] = "no_endpoint",
		[WG_DROP_NO_BUFFER] = "no_buffer",
		[WG_DROP_STAGED_OVERFLOW] = "staged_overflow",
		[WG_DROP_STAGED_EXPIRED] = "staged_expired",
		[WG_DROP_SEND_ERROR] = "send_error",
		[WG_DROP_RX_TRUNCATED] = "rx_truncated",
		[WG_DROP_RX_ERROR] = "rx_error",
		[WG_DROP_SOCKET_OVERFLOW] = "socket_overflow",
		[WG_DROP_CQ_OVERFLOW] = "cq_overflow",
		[WG_DROP_TX_QUEUE_FULL] = "tx_queue_full",
		[WG_DROP_TUN_WRITE_ERROR] = "tun_write_error",
		[WG_DROP_TUN_TRUNCATED] = "tun_truncated",
	};

	return (unsigned int)why < WG_DROP_COUNT ? names[why] : "unknown";
}

socklen_t device_sockaddr_len(const union wg_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->sin6) : sizeof(a->sin);
}

int device_init(struct wg_device *dev, uint32_t mtu, uint32_t n_buffers)
{
	uint32_t buf_size, max_mtu;
	int ret;

	memset(dev, 0, sizeof(*dev));
	dev->sock4 = dev->sock6 = dev->tun_fd = -1;
	dev->mtu = mtu ? mtu : WG_DEFAULT_MTU;
	dev->next_deadline = UINT64_MAX;
	if (dev->mtu < WG_MIN_MTU || dev->mtu > WG_MAX_MTU)
		return -ERANGE;
	/*
	 * One size for every buffer, fixed for the device's life: buffers are in
	 * the kernel's hands (io_uring's ring, reads, sends) at any time, so they
	 * cannot grow when the MTU does. Room for a jumbo MTU from the start.
	 */
	dev->identity = sodium_malloc(sizeof(*dev->identity));
	if (!dev->identity)
		return -ENOMEM;
	memset(dev->identity, 0, sizeof(*dev->identity));
	cookie_checker_init(&dev->checker, NULL);
	allowedips_init(&dev->allowedips);
	ret = ratelimiter_init(&dev->ratelimiter, 8192);
	if (ret)
		goto err_identity;
	/* A handshake and three keypairs per peer; grown by device_add_peer. */
	ret = indextable_init(&dev->indices, 4 * WG_INITIAL_PEERS);
	if (ret)
		goto err_ratelimiter;
	for (max_mtu = WG_LARGEST_MTU;; max_mtu = WG_SMALL_BUFFER_MTU) {
		dev->max_mtu = dev->mtu > max_mtu ? dev->mtu : max_mtu;
		buf_size = (dev->max_mtu + WG_BUF_OVERHEAD + 63) / 64 * 64;
		ret = pool_init(&dev->pool, n_buffers, buf_size);
		if (ret != -ENOMEM || max_mtu == WG_SMALL_BUFFER_MTU || dev->mtu >= max_mtu)
			break;
	}
	if (ret)
		goto err_indices;
	return 0;

err_indices:
	indextable_uninit(&dev->indices);
err_ratelimiter:
	ratelimiter_uninit(&dev->ratelimiter);
err_identity:
	sodium_free(dev->identity);
	dev->identity = NULL;
	return ret;
}

int device_set_mtu(struct wg_device *dev, uint32_t mtu)
{
	if (mtu < WG_MIN_MTU || mtu > dev->max_mtu)
		return -ERANGE;
	dev->mtu = mtu;
	return 0;
}

void device_uninit(struct wg_device *dev)
{
	device_remove_all_peers(dev);
	peer_slabs_free(dev);
	free(dev->peers);
	free(dev->peer_buckets);
	dev->peers = dev->peer_buckets = NULL;
	dev->cap_peers = dev->n_buckets = 0;
	allowedips_uninit(&dev->allowedips);
	indextable_uninit(&dev->indices);
	ratelimiter_uninit(&dev->ratelimiter);
	cookie_checker_uninit(&dev->checker);
	pool_uninit(&dev->pool);
	if (dev->identity)
		sodium_free(dev->identity); /* sodium_free wipes */
	dev->identity = NULL;
}

int device_set_private_key(struct wg_device *dev, const uint8_t *key)
{
	struct wg_peer *self;
	size_t i;

	if (key) {
		struct noise_static_identity next;
		int ret = noise_identity_set(&next, key);

		if (ret) {
			sodium_memzero(&next, sizeof(next));
			return ret;
		}
		if (dev->identity->has_identity &&
		    !sodium_memcmp(next.static_private, dev->identity->static_private, NOISE_PRIVATE_KEY_LEN)) {
			sodium_memzero(&next, sizeof(next));
			return 0;
		}
		*dev->identity = next;
		sodium_memzero(&next, sizeof(next));
	} else {
		noise_identity_clear(dev->identity);
	}
	cookie_checker_init(&dev->checker, dev->identity->has_identity ? dev->identity->static_public : NULL);
	/* New identity: every session and handshake belongs to the old one. */
	for (i = 0; i < dev->n_peers; i++) {
		struct wg_peer *peer = dev->peers[i];

		peer_zero_keys(peer);
		noise_handshake_precompute(&peer->hs, dev->identity);
	}
	/* A peer with our own public key would talk to itself: drop it, as the references do. */
	self = key ? device_find_peer(dev, dev->identity->static_public) : NULL;
	if (self)
		device_remove_peer(dev, self);
	return 0;
}

/* ---- the peer tables ---- */

static size_t bucket_of(const struct wg_device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, public_key, NOISE_PUBLIC_KEY_LEN, dev->peer_hash_key);
	return (size_t)h & (dev->n_buckets - 1);
}

/* O(1) on average: the control path and the responder's lookup of an initiation's static key. */
struct wg_peer *device_find_peer(struct wg_device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	struct wg_peer *peer;

	if (!dev->n_buckets)
		return NULL;
	for (peer = dev->peer_buckets[bucket_of(dev, public_key)]; peer; peer = peer->hash_next)
		if (!sodium_memcmp(peer->hs.remote_static, public_key, NOISE_PUBLIC_KEY_LEN))
			return peer;
	return NULL;
}

static void hash_link(struct wg_device *dev, struct wg_peer *peer)
{
	size_t b = bucket_of(dev, peer->hs.remote_static);

	peer->hash_next = dev->peer_buckets[b];
	dev->peer_buckets[b] = peer;
}

static void hash_unlink(struct wg_device *dev, struct wg_peer *peer)
{
	struct wg_peer **link = &dev->peer_buckets[bucket_of(dev, peer->hs.remote_static)];

	while (*link && *link != peer)
		link = &(*link)->hash_next;
	if (*link)
		*link = peer->hash_next;
	peer->hash_next = NULL;
}

/*
 * Room for one more peer: the array, the hash (rehashed at twice the size)
 * and the index table all double together. Configuration time only; on
 * failure nothing changed that matters (a larger array is still an array).
 */
static int reserve_peer(struct wg_device *dev)
{
	size_t cap = dev->cap_peers ? 2 * dev->cap_peers : WG_INITIAL_PEERS, i;
	struct wg_peer **peers, **buckets;
	int ret;

	if (dev->n_peers < dev->cap_peers)
		return 0;
	if (!dev->cap_peers)
		randombytes_buf(dev->peer_hash_key, sizeof(dev->peer_hash_key));
	ret = indextable_reserve(&dev->indices, 4 * cap);
	if (ret)
		return ret;
	peers = realloc(dev->peers, cap * sizeof(*peers));
	if (!peers)
		return -ENOMEM;
	dev->peers = peers;
	buckets = calloc(cap, sizeof(*buckets));
	if (!buckets)
		return -ENOMEM;
	free(dev->peer_buckets);
	dev->peer_buckets = buckets;
	dev->n_buckets = cap;
	dev->cap_peers = cap;
	for (i = 0; i < dev->n_peers; i++)
		hash_link(dev, dev->peers[i]);
	return 0;
}

int device_add_peer(struct wg_device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN], struct wg_peer **out)
{
	struct wg_peer *peer;
	int ret;

	if (dev->n_peers >= WG_MAX_PEERS)
		return -ENOSPC;
	if (dev->identity->has_identity &&
	    !sodium_memcmp(public_key, dev->identity->static_public, NOISE_PUBLIC_KEY_LEN))
		return -EINVAL;
	ret = reserve_peer(dev);
	if (ret)
		return ret;
	peer = peer_new(dev, public_key);
	if (!peer)
		return -ENOMEM;
	peer->dev_slot = dev->n_peers;
	dev->peers[dev->n_peers++] = peer;
	hash_link(dev, peer);
	*out = peer;
	return 0;
}

void device_remove_peer(struct wg_device *dev, struct wg_peer *peer)
{
	size_t slot = peer->dev_slot;

	if (slot >= dev->n_peers || dev->peers[slot] != peer)
		return;
	hash_unlink(dev, peer);
	dev->peers[slot] = dev->peers[--dev->n_peers];
	dev->peers[slot]->dev_slot = slot;
	peer_free(peer);
}

void device_remove_all_peers(struct wg_device *dev)
{
	while (dev->n_peers)
		device_remove_peer(dev, dev->peers[dev->n_peers - 1]);
}

uint64_t device_tick(struct wg_device *dev, uint64_t now_ns)
{
	size_t i;

	if (now_ns < dev->next_deadline)
		return dev->next_deadline;
	dev->next_deadline = UINT64_MAX;
	for (i = 0; i < dev->n_peers; i++) {
		struct wg_peer *peer = dev->peers[i];

		if (peer->deadline <= now_ns)
			peer_tick(peer, now_ns);
		peer->deadline = timers_next_deadline(&peer->timers);
		if (peer->deadline < dev->next_deadline)
			dev->next_deadline = peer->deadline;
	}
	device_seal_pending(dev); /* keepalives and staged packets the timers sent */
	return dev->next_deadline;
}

/*
 * The output queues the loop flushes in batches. A full queue is flushed
 * first; if the loop cannot take it, the packet is counted and freed.
 */
static bool enqueue(struct wg_device *dev, struct wg_txq *q, uint32_t id, uint8_t *data, uint32_t len,
		    const union wg_sockaddr *dst)
{
	struct wg_pkt *p;

	if (q->n == WG_TXQ_MAX && dev->flush)
		dev->flush(dev, dev->flush_ctx);
	if (q->n == WG_TXQ_MAX) {
		pool_put(&dev->pool, id);
		device_drop(dev, WG_DROP_TX_QUEUE_FULL);
		return false;
	}
	p = &q->items[q->n++];
	p->id = id;
	p->data = data;
	p->len = len;
	p->segs = 1;
	p->skip = 0;
	if (dst)
		p->addr = *dst;
	return true;
}

static void seal_job(void *ctx, unsigned int i)
{
	struct wg_seal_job *j = &((struct wg_device *)ctx)->seal_jobs[i];

	/* The AEAD does not fail on a well-formed job; if it did, the datagram leaves zeroed, not in the clear. */
	(void)transport_seal_encrypt(j->kp, j->out, j->out + sizeof(struct message_data), j->plain_len, j->sealed_len);
}

void device_seal_pending(struct wg_device *dev)
{
	if (!dev->n_seal_jobs)
		return;
	workers_run(dev->workers, seal_job, dev, dev->n_seal_jobs);
	dev->n_seal_jobs = 0;
}

bool device_udp_enqueue(struct wg_device *dev, uint32_t id, uint8_t *data, uint32_t len, const union wg_sockaddr *dst)
{
	return enqueue(dev, &dev->tx_udp, id, data, len, dst);
}

void device_tun_enqueue(struct wg_device *dev, uint32_t id, uint8_t *data, uint32_t len)
{
	enqueue(dev, &dev->tx_tun, id, data, len, NULL);
}

void device_set_tun_offload(struct wg_device *dev, bool vnet, bool tso, bool uso)
{
	dev->tun_vnet = vnet;
	dev->tun_tso = vnet && tso;
	dev->tun_uso = vnet && uso;
	offload_gro_init(&dev->gro, dev->tun_tso, dev->tun_uso);
}

/* One TUN write of n members: all of it queued, or none (counted). */
static void tun_enqueue_write(struct wg_device *dev, const struct offload_gro_member *m, unsigned int n,
			      const uint8_t vnet[OFFLOAD_VNET_HDR_LEN])
{
	struct wg_txq *q = &dev->tx_tun;
	struct wg_pkt *p;
	unsigned int j;

	if (q->n + n > WG_TXQ_MAX && dev->flush)
		dev->flush(dev, dev->flush_ctx);
	if (q->n + n > WG_TXQ_MAX) {
		for (j = 0; j < n; j++)
			pool_put(&dev->pool, dev->gro_pkts[m[j].user].id);
		dev->drops[WG_DROP_TX_QUEUE_FULL] += n;
		return;
	}
	for (j = 0; j < n; j++) {
		const struct wg_pkt *src = &dev->gro_pkts[m[j].user];

		p = &q->items[q->n++];
		p->id = src->id;
		p->data = src->data;
		p->len = src->len;
		p->segs = j ? 0 : (uint16_t)n;
		p->skip = m[j].skip;
	}
	/* The header goes in the bytes before the first packet: the data message's own header, consumed. */
	p = &q->items[q->n - n];
	p->data -= OFFLOAD_VNET_HDR_LEN;
	p->len += OFFLOAD_VNET_HDR_LEN;
	memcpy(p->data, vnet, OFFLOAD_VNET_HDR_LEN);
}

void device_tun_flush_gro(struct wg_device *dev)
{
	struct offload_gro_member m[OFFLOAD_MAX_SEGS];
	uint8_t vnet[OFFLOAD_VNET_HDR_LEN];
	unsigned int k, n;

	for (k = 0; k < offload_gro_count(&dev->gro); k++) {
		n = offload_gro_finish(&dev->gro, k, vnet, m);
		tun_enqueue_write(dev, m, n, vnet);
	}
	offload_gro_reset(&dev->gro);
}

unsigned int device_udp_run(const struct wg_device *dev, unsigned int i)
{
	const struct wg_txq *q = &dev->tx_udp;
	const struct wg_pkt *first = &q->items[i];
	socklen_t alen = device_sockaddr_len(&first->addr);
	uint32_t total = first->len;
	unsigned int j;

	if (!dev->udp_gso || !first->segs)
		return 1;
	/* A GSO send is one UDP datagram to the kernel: at most 64 KiB with its headers. */
	for (j = i + 1; j < q->n && j - i < OFFLOAD_MAX_SEGS; j++) {
		const struct wg_pkt *p = &q->items[j];

		if (!p->segs || p->len > first->len || total + p->len > 65535 - 8 - 40 || memcmp(&p->addr, &first->addr, alen))
			break;
		total += p->len;
		if (p->len < first->len) {
			j++;
			break;
		}
	}
	return j - i;
}

unsigned int device_split_datagrams(struct wg_device *dev, struct wg_pkt *out, unsigned int max, uint32_t id,
				    uint8_t *data, uint32_t len, uint32_t seg, const union wg_sockaddr *src)
{
	unsigned int n = 0, shared = 0;
	uint32_t off;

	if (!len) {
		/* An empty datagram is one too: it goes on to be refused and counted like any malformed one. */
		dev->udp_datagrams++;
		if (!max) {
			pool_put(&dev->pool, id);
			device_drop(dev, WG_DROP_RX_TRUNCATED);
			return 0;
		}
		out[0] = (struct wg_pkt){ .id = id, .data = data, .len = 0, .segs = 1, .addr = *src };
		return 1;
	}
	if (!seg || seg > len)
		seg = len;
	dev->udp_datagrams += (len + seg - 1) / seg;
	for (off = 0; off < len; off += seg) {
		uint32_t piece = len - off < seg ? len - off : seg;
		struct wg_pkt *p = &out[n];

		if (n == max) {
			device_drop(dev, WG_DROP_RX_TRUNCATED);
			continue;
		}
		p->segs = 1;
		p->skip = 0;
		p->addr = *src;
		p->len = piece;
		if (seg == len || (piece >= 1 && data[off] == MESSAGE_DATA)) {
			if (shared++)
				pool_hold(&dev->pool, id);
			p->id = id;
			p->data = data + off;
		} else {
			p->id = pool_get(&dev->pool);
			if (p->id == POOL_NONE) {
				device_drop(dev, WG_DROP_NO_BUFFER);
				continue;
			}
			p->data = pool_buf(&dev->pool, p->id);
			memcpy(p->data, data + off, piece);
		}
		n++;
	}
	if (!shared)
		pool_put(&dev->pool, id);
	return n;
}
