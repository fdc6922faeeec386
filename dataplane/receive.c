// SPDX-License-Identifier: MIT
/*
 * peer -> TUN, inbound only (what it answers with is built and queued by
 * send.c: responses, cookie replies, keepalives). Handshake messages pass mac1 always, and under load a cookie
 * (mac2) and the per-source rate limiter before any Curve25519 work. Data
 * messages are opened in place; the replay window moves only after the tag
 * verified; the inner source must belong to the peer whose key opened it.
 * The endpoint follows only authenticated, fresh packets (roaming).
 */
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>

#include "device_internal.h"
#include "transport.h"

static bool rate_limit_allows(struct wg_device *dev, const union wg_sockaddr *a, uint64_t now_ns)
{
	if (a->sa.sa_family == AF_INET6)
		return ratelimiter_allow(&dev->ratelimiter, AF_INET6, (const uint8_t *)&a->sin6.sin6_addr, now_ns);
	return ratelimiter_allow(&dev->ratelimiter, AF_INET, (const uint8_t *)&a->sin.sin_addr, now_ns);
}

/*
 * Under load once more than UNDER_LOAD_THRESHOLD handshake messages arrived
 * within a second, and for a second after, as wireguard-go decides it.
 */
static bool under_load(struct wg_device *dev, uint64_t now_ns)
{
	if (now_ns - dev->load_window_start_ns >= NSEC_PER_SEC) {
		dev->load_window_start_ns = now_ns;
		dev->handshakes_this_second = 0;
	}
	if (++dev->handshakes_this_second > UNDER_LOAD_THRESHOLD)
		dev->under_load_until_ns = now_ns + NSEC_PER_SEC;
	return now_ns < dev->under_load_until_ns;
}

static void update_endpoint(struct wg_peer *peer, const union wg_sockaddr *src)
{
	bool roamed = peer->has_endpoint && !device_same_address(&peer->endpoint, src);

	peer->endpoint = *src;
	peer->has_endpoint = true;
	if (roamed)
		device_event(peer->dev, WG_EVENT_ROAMED, peer, src, 0);
}

/* noise_consume_initiation's refusals, by what they tell the operator. */
static enum wg_refusal initiation_refusal(int err)
{
	switch (err) {
	case -ENOKEY:
		return WG_REFUSED_UNKNOWN_PEER;
	case -EALREADY:
		return WG_REFUSED_STALE;
	case -EBUSY:
		return WG_REFUSED_FLOOD;
	default:
		return WG_REFUSED_BAD;
	}
}

static struct noise_handshake *lookup_peer(void *ctx, const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	struct wg_peer *peer = device_find_peer(ctx, pub);

	return peer ? &peer->hs : NULL;
}

/* Every handshake the lookup hands out is the one embedded in its peer. */
static struct wg_peer *peer_of_handshake(struct noise_handshake *hs)
{
	return (struct wg_peer *)((char *)hs - offsetof(struct wg_peer, hs));
}

static void handshake_received(struct wg_peer *peer, const union wg_sockaddr *src, uint32_t len, uint64_t now_ns)
{
	update_endpoint(peer, src);
	peer->rx_bytes += len;
	timers_any_authenticated_packet_received(&peer->timers, now_ns);
	timers_any_authenticated_packet_traversal(&peer->timers, now_ns);
}

static void set_last_handshake(struct wg_peer *peer)
{
	uint64_t wall = device_wall_ns();

	peer->last_handshake_sec = (int64_t)(wall / NSEC_PER_SEC);
	peer->last_handshake_nsec = (int64_t)(wall % NSEC_PER_SEC);
}

static void receive_initiation(struct wg_device *dev, struct wg_pkt *p, uint64_t now_ns)
{
	const struct message_handshake_initiation *msg = (const void *)p->data;
	struct noise_handshake *hs;
	struct wg_peer *peer;
	int ret = noise_consume_initiation(msg, dev->identity, lookup_peer, dev, now_ns, &hs);

	if (ret) {
		device_drop(dev, WG_DROP_HANDSHAKE);
		device_event(dev, WG_EVENT_REFUSED, NULL, &p->addr, initiation_refusal(ret));
		return;
	}
	peer = peer_of_handshake(hs);
	handshake_received(peer, &p->addr, p->len, now_ns);
	/* The response is written over the initiation's buffer, which is ours to reuse. */
	if (peer_send_response(peer, p->id, now_ns)) {
		device_drop(dev, WG_DROP_HANDSHAKE);
		return;
	}
	p->id = POOL_NONE; /* now owned by the send queue */
}

static void receive_response(struct wg_device *dev, struct wg_pkt *p, uint64_t now_ns)
{
	const struct message_handshake_response *msg = (const void *)p->data;
	struct wg_index_entry *e = indextable_lookup(&dev->indices, message_le32_load(&msg->receiver_index));
	struct noise_session_keys keys;
	struct wg_peer *peer;

	if (!e || e->kind != WG_INDEX_HANDSHAKE) {
		device_drop(dev, WG_DROP_UNKNOWN_INDEX);
		return;
	}
	peer = e->peer;
	if (noise_consume_response(msg, &peer->hs, dev->identity) || noise_derive_session(&keys, &peer->hs)) {
		device_drop(dev, WG_DROP_HANDSHAKE);
		device_event(dev, WG_EVENT_REFUSED, peer, &p->addr, WG_REFUSED_BAD);
		return;
	}
	handshake_received(peer, &p->addr, p->len, now_ns);
	device_event(dev, WG_EVENT_COMPLETED, peer, &p->addr, now_ns - peer->last_sent_initiation_ns);
	peer_install_session(peer, &keys, now_ns);
	noise_session_keys_wipe(&keys);
	timers_session_derived(&peer->timers, now_ns);
	timers_handshake_complete(&peer->timers, now_ns);
	set_last_handshake(peer);
	/* Confirm the session to the responder with data, or a keepalive if there is none. */
	if (peer->staged_len)
		peer_send_staged(peer, now_ns);
	else
		peer_send_keepalive(peer, now_ns);
	device_note_deadline(dev, peer);
}

static void receive_handshake(struct wg_device *dev, struct wg_pkt *p, enum message_type type, uint64_t now_ns)
{
	uint8_t addr[18];
	size_t alen = device_cookie_source(addr, &p->addr);
	bool load = under_load(dev, now_ns);
	enum cookie_mac_state mac;

	if (!dev->identity->has_identity)
		return;
	mac = cookie_validate_packet(&dev->checker, p->data, p->len, addr, alen, load, now_ns);
	if (mac == COOKIE_MAC_INVALID) {
		device_drop(dev, WG_DROP_MAC);
		device_event(dev, WG_EVENT_REFUSED, NULL, &p->addr, WG_REFUSED_MAC1);
		return;
	}
	if (load && mac != COOKIE_MAC_VALID_WITH_COOKIE) {
		device_send_cookie_reply(dev, p->data, p->len, &p->addr, now_ns);
		device_drop(dev, WG_DROP_UNDER_LOAD);
		device_event(dev, WG_EVENT_REFUSED, NULL, &p->addr, WG_REFUSED_UNDER_LOAD);
		return;
	}
	if (load && !rate_limit_allows(dev, &p->addr, now_ns)) {
		device_drop(dev, WG_DROP_UNDER_LOAD);
		device_event(dev, WG_EVENT_REFUSED, NULL, &p->addr, WG_REFUSED_UNDER_LOAD);
		return;
	}
	if (type == MESSAGE_HANDSHAKE_INITIATION)
		receive_initiation(dev, p, now_ns);
	else
		receive_response(dev, p, now_ns);
}

static void receive_cookie(struct wg_device *dev, struct wg_pkt *p, uint64_t now_ns)
{
	const struct message_handshake_cookie *msg = (const void *)p->data;
	struct wg_index_entry *e = indextable_lookup(&dev->indices, message_le32_load(&msg->receiver_index));

	if (!e) {
		device_drop(dev, WG_DROP_UNKNOWN_INDEX);
		return;
	}
	if (cookie_message_consume(&e->peer->maker, msg, now_ns))
		device_drop(dev, WG_DROP_HANDSHAKE);
}

/*
 * To TUN: straight to the queue, or with the virtio-net header through the
 * batch's coalescing, which never merges packets of two peers.
 */
static void deliver(struct wg_device *dev, struct wg_peer *peer, uint32_t id, uint8_t *plain, uint32_t len)
{
	struct wg_pkt *p;
	unsigned int n = dev->gro.n_members;

	if (!dev->tun_vnet) {
		device_tun_enqueue(dev, id, plain, len);
		return;
	}
	if (n == OFFLOAD_GRO_MAX) {
		device_tun_flush_gro(dev);
		n = 0;
	}
	p = &dev->gro_pkts[n];
	p->id = id;
	p->data = plain;
	p->len = len;
	if (offload_gro_add(&dev->gro, plain, len, peer, n)) {
		pool_put(&dev->pool, id);
		device_drop(dev, WG_DROP_TX_QUEUE_FULL);
	}
}

/* Length of the IP packet at p (at most len), or 0 when it is not a well-formed IPv4/IPv6 packet. */
static uint32_t ip_packet_len(const uint8_t *p, uint32_t len)
{
	uint32_t stated;

	if (len >= 20 && p[0] >> 4 == 4) {
		stated = (uint32_t)p[2] << 8 | p[3];
		if (stated < (uint32_t)(p[0] & 15) * 4 || (p[0] & 15) < 5)
			return 0;
	} else if (len >= 40 && p[0] >> 4 == 6) {
		stated = 40 + ((uint32_t)p[4] << 8 | p[5]);
	} else {
		return 0;
	}
	return stated <= len ? stated : 0;
}

/*
 * Data messages are handled in three steps so that the decryption of a
 * batch runs on every core: data_begin (in order, loop thread) finds the
 * keypair and checks what can be checked before decrypting; the batch's
 * decryptions run together (open_job); data_finish (in order, loop thread)
 * commits each to its replay window and does what receiving it means. Any
 * other message waits until the data before it is finished, so a handshake
 * never changes a keypair that a pending decryption uses.
 */
static void open_job(void *ctx, unsigned int i)
{
	const struct wg_device *dev = ctx;
	struct wg_open_job *j = &((struct wg_device *)ctx)->open_jobs[i];
	uint8_t *msg = j->pkt.data;

	j->result = transport_open_decrypt(j->kp, msg + sizeof(struct message_data),
					   j->pkt.len - sizeof(struct message_data), msg, j->pkt.len, dev->open_now_ns);
}

static void data_received(struct wg_device *dev, struct wg_open_job *j, uint64_t now_ns)
{
	struct wg_peer *peer = j->peer;
	struct keypair *kp = j->kp;
	struct wg_pkt *p = &j->pkt;
	uint8_t *plain = p->data + sizeof(struct message_data);
	uint32_t inner;
	ssize_t n;

	/* Decrypted in place: the plaintext lands where the ciphertext was. */
	n = transport_open_commit(kp, plain, p->len - sizeof(struct message_data), p->data, p->len, j->result, now_ns);
	if (n < 0) {
		device_drop(dev, WG_DROP_DECRYPT);
		return;
	}
	/* Authenticated and fresh: from here on the packet speaks for the peer. */
	update_endpoint(peer, &p->addr);
	if (peer_confirm_keypair(peer, kp)) {
		/* The responder's handshake completes with the initiator's first packet. */
		device_event(dev, WG_EVENT_COMPLETED, peer, &p->addr, 0); /* before the timers forget the last one */
		timers_handshake_complete(&peer->timers, now_ns);
		set_last_handshake(peer);
		peer_send_staged(peer, now_ns);
	}
	peer->rx_bytes += p->len;
	timers_any_authenticated_packet_received(&peer->timers, now_ns);
	timers_any_authenticated_packet_traversal(&peer->timers, now_ns);
	/* As the kernel's keep_key_fresh: the age of the keypair we send with, whichever one this packet used. */
	if (peer->keypairs.current && keypair_should_rekey_on_receive(&peer->keypairs.current->kp, now_ns) &&
	    !peer->timers.sent_lastminute_handshake) {
		peer->timers.sent_lastminute_handshake = true;
		peer_send_initiation(peer, now_ns, false);
	}
	if (n == 0)
		goto out; /* keepalive */
	inner = ip_packet_len(plain, (uint32_t)n);
	if (!inner) {
		device_drop(dev, WG_DROP_INNER_INVALID);
		goto out;
	}
	if (allowedips_lookup_src(&dev->allowedips, plain, inner) != peer) {
		device_drop(dev, WG_DROP_SOURCE_NOT_ALLOWED);
		goto out;
	}
	timers_data_received(&peer->timers, now_ns);
	deliver(dev, peer, p->id, plain, inner);
	p->id = POOL_NONE;
out:
	device_note_deadline(dev, peer);
}

static void data_finish(struct wg_device *dev, uint64_t now_ns)
{
	unsigned int i, n = dev->n_open_jobs;

	if (!n)
		return;
	dev->open_now_ns = now_ns;
	workers_run(dev->workers, open_job, dev, n);
	dev->n_open_jobs = 0;
	for (i = 0; i < n; i++) {
		struct wg_open_job *j = &dev->open_jobs[i];

		data_received(dev, j, now_ns);
		if (j->pkt.id != POOL_NONE)
			pool_put(&dev->pool, j->pkt.id);
	}
}

static void data_begin(struct wg_device *dev, struct wg_pkt *p, uint64_t now_ns)
{
	struct wg_index_entry *e = indextable_lookup(&dev->indices, message_le32_load(p->data + 4));
	struct wg_open_job *j;

	if (!e || e->kind != WG_INDEX_KEYPAIR) {
		device_drop(dev, WG_DROP_UNKNOWN_INDEX);
		return;
	}
	if (dev->n_open_jobs == WG_RX_MAX)
		data_finish(dev, now_ns);
	j = &dev->open_jobs[dev->n_open_jobs++];
	j->peer = e->peer;
	j->kp = e->kp;
	j->pkt = *p;
	p->id = POOL_NONE; /* the job's now */
}

void device_receive_udp(struct wg_device *dev, struct wg_pkt *pkts, unsigned int n, uint64_t now_ns)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct wg_pkt *p = &pkts[i];
		enum message_type type = message_classify(p->data, p->len);

		if (type != MESSAGE_DATA)
			data_finish(dev, now_ns);
		switch (type) {
		case MESSAGE_HANDSHAKE_INITIATION:
		case MESSAGE_HANDSHAKE_RESPONSE:
			receive_handshake(dev, p, type, now_ns);
			break;
		case MESSAGE_HANDSHAKE_COOKIE:
			receive_cookie(dev, p, now_ns);
			break;
		case MESSAGE_DATA:
			data_begin(dev, p, now_ns);
			break;
		default:
			device_drop(dev, WG_DROP_INVALID_MESSAGE);
			break;
		}
		if (p->id != POOL_NONE)
			pool_put(&dev->pool, p->id);
	}
	data_finish(dev, now_ns);
	device_tun_flush_gro(dev);
	device_seal_pending(dev); /* keepalives, responses' data, staged packets released */
}
