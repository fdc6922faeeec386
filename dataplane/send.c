// SPDX-License-Identifier: MIT
/*
 * TUN -> peer, outbound only: cryptokey routing by inner destination,
 * staging while no session exists, sealing in place, and the handshake and
 * keepalive messages the timers and the receive path ask for. Calls peer.c
 * for the handshake index, and of device.c only its output queue
 * (device_udp_enqueue). Runs on the event loop thread.
 */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "device_internal.h"
#include "transport.h"

static void note_sent(struct wg_peer *peer, uint32_t wire_len, bool data, uint64_t now_ns)
{
	peer->tx_bytes += wire_len;
	timers_any_authenticated_packet_traversal(&peer->timers, now_ns);
	timers_any_authenticated_packet_sent(&peer->timers, now_ns);
	if (data)
		timers_data_sent(&peer->timers, now_ns);
	device_note_deadline(peer->dev, peer);
}

void peer_send_handshake_message(struct wg_peer *peer, uint32_t id, uint32_t len, uint64_t now_ns)
{
	struct wg_device *dev = peer->dev;

	if (!peer->has_endpoint) {
		pool_put(&dev->pool, id);
		device_drop(dev, WG_DROP_NO_ENDPOINT);
		return;
	}
	device_udp_enqueue(dev, id, pool_buf(&dev->pool, id), len, &peer->endpoint);
	note_sent(peer, len, false, now_ns);
}

void peer_send_initiation(struct wg_peer *peer, uint64_t now_ns, bool is_retry)
{
	struct wg_device *dev = peer->dev;
	struct message_handshake_initiation *msg;
	uint32_t id, index;

	if (!is_retry)
		timers_handshake_requested(&peer->timers);
	/* At most one initiation per REKEY_TIMEOUT, whoever asks. */
	if (peer->sent_initiation_ever && now_ns - peer->last_sent_initiation_ns < REKEY_TIMEOUT_NS)
		return;
	if (!dev->identity->has_identity)
		return;
	if (!peer->has_endpoint) {
		device_drop(dev, WG_DROP_NO_ENDPOINT);
		return;
	}
	id = pool_get(&dev->pool);
	if (id == POOL_NONE) {
		device_drop(dev, WG_DROP_NO_BUFFER);
		return;
	}
	msg = (struct message_handshake_initiation *)pool_buf(&dev->pool, id);
	if (peer_register_handshake_index(peer, &index) ||
	    noise_create_initiation(msg, &peer->hs, dev->identity, index, device_wall_ns()) ||
	    cookie_add_mac_to_packet(&peer->maker, (uint8_t *)msg, sizeof(*msg), now_ns)) {
		peer_forget_handshake(peer);
		pool_put(&dev->pool, id);
		return;
	}
	peer->last_sent_initiation_ns = now_ns;
	peer->sent_initiation_ever = true;
	peer_send_handshake_message(peer, id, sizeof(*msg), now_ns);
	timers_handshake_initiated(&peer->timers, now_ns);
	if (peer->unanswered < UINT32_MAX)
		peer->unanswered++;
	device_event(dev, WG_EVENT_INITIATED, peer, NULL, peer->unanswered);
	device_note_deadline(dev, peer);
}

int peer_send_response(struct wg_peer *peer, uint32_t id, uint64_t now_ns)
{
	struct wg_device *dev = peer->dev;
	struct message_handshake_response *resp = (struct message_handshake_response *)pool_buf(&dev->pool, id);
	struct noise_session_keys keys;
	uint32_t index;
	int ret;

	ret = peer_register_handshake_index(peer, &index);
	if (!ret)
		ret = noise_create_response(resp, &peer->hs, dev->identity, index);
	if (!ret)
		ret = cookie_add_mac_to_packet(&peer->maker, (uint8_t *)resp, sizeof(*resp), now_ns);
	if (!ret)
		ret = noise_derive_session(&keys, &peer->hs);
	if (ret) {
		peer_forget_handshake(peer);
		return ret < 0 ? ret : -EINVAL;
	}
	peer_install_session(peer, &keys, now_ns);
	noise_session_keys_wipe(&keys);
	timers_session_derived(&peer->timers, now_ns);
	peer_send_handshake_message(peer, id, sizeof(*resp), now_ns);
	device_note_deadline(dev, peer);
	return 0;
}

void device_send_cookie_reply(struct wg_device *dev, const uint8_t *msg, size_t len, const union wg_sockaddr *src,
			      uint64_t now_ns)
{
	uint8_t addr[18];
	size_t alen = device_cookie_source(addr, src);
	uint32_t id = pool_get(&dev->pool);
	struct message_handshake_cookie *reply;

	if (id == POOL_NONE) {
		device_drop(dev, WG_DROP_NO_BUFFER);
		return;
	}
	reply = (struct message_handshake_cookie *)pool_buf(&dev->pool, id);
	if (cookie_message_create(reply, &dev->checker, msg, len, addr, alen, now_ns)) {
		pool_put(&dev->pool, id);
		return;
	}
	device_udp_enqueue(dev, id, (uint8_t *)reply, sizeof(*reply), src);
}

/*
 * Seal the packet at buf[off, off+len) in place (off leaves room for the
 * header) with the current keypair and queue it: its nonce and header now,
 * in order, the encryption with the rest of the batch before anything is
 * sent (device_seal_pending). The buffer is consumed. Returns false, buffer
 * untouched, when there is no keypair that may send.
 */
static bool seal_and_send(struct wg_peer *peer, uint32_t id, uint32_t off, uint32_t len, uint64_t now_ns)
{
	struct wg_device *dev = peer->dev;
	struct keypair *kp = keypairs_sending(&peer->keypairs, now_ns);
	struct wg_seal_job *j;
	uint8_t *out;
	ssize_t sealed;

	if (!kp)
		return false;
	if (!peer->has_endpoint) {
		pool_put(&dev->pool, id);
		device_drop(dev, WG_DROP_NO_ENDPOINT);
		return true;
	}
	out = pool_buf(&dev->pool, id) + off - sizeof(struct message_data);
	sealed = transport_seal_prepare(kp, out, dev->pool.buf_size - (off - sizeof(struct message_data)), len, dev->mtu,
					now_ns);
	if (sealed < 0) {
		/* Counter or key exhausted between the check and here: a new session is needed. */
		pool_put(&dev->pool, id);
		device_drop(dev, WG_DROP_SEND_ERROR);
		return true;
	}
	/* The queue's flush, if it comes now, encrypts what is pending first: this one joins after. */
	if (device_udp_enqueue(dev, id, out, (uint32_t)sealed, &peer->endpoint)) {
		j = &dev->seal_jobs[dev->n_seal_jobs++];
		j->kp = kp;
		j->out = out;
		j->plain_len = len;
		j->sealed_len = (uint32_t)sealed;
	}
	note_sent(peer, (uint32_t)sealed, len > 0, now_ns);
	if (keypair_should_rekey_on_send(kp, now_ns))
		peer_send_initiation(peer, now_ns, false);
	return true;
}

static void stage(struct wg_peer *peer, uint32_t id, uint32_t off, uint32_t len)
{
	struct wg_device *dev = peer->dev;
	struct wg_staged *s;

	/*
	 * Nowhere to send a handshake: nothing would ever release the packet.
	 * And staging may hold at most a quarter of the pool over all peers,
	 * so waiting packets can never starve receiving.
	 */
	if (!peer->has_endpoint || dev->staged_total >= dev->pool.count / 4) {
		pool_put(&dev->pool, id);
		device_drop(dev, peer->has_endpoint ? WG_DROP_STAGED_OVERFLOW : WG_DROP_NO_ENDPOINT);
		return;
	}
	if (peer->staged_len == MAX_STAGED_PACKETS) {
		/* Full: the oldest goes, as in the references. */
		pool_put(&dev->pool, peer->staged[peer->staged_head].id);
		peer->staged_head = (peer->staged_head + 1) % MAX_STAGED_PACKETS;
		peer->staged_len--;
		dev->staged_total--;
		device_drop(dev, WG_DROP_STAGED_OVERFLOW);
	}
	s = &peer->staged[(peer->staged_head + peer->staged_len) % MAX_STAGED_PACKETS];
	s->id = id;
	s->off = off;
	s->len = len;
	peer->staged_len++;
	dev->staged_total++;
}

void peer_send_staged(struct wg_peer *peer, uint64_t now_ns)
{
	while (peer->staged_len) {
		struct wg_staged *s = &peer->staged[peer->staged_head];

		if (!seal_and_send(peer, s->id, s->off, s->len, now_ns)) {
			peer_send_initiation(peer, now_ns, false);
			return;
		}
		peer->staged_head = (peer->staged_head + 1) % MAX_STAGED_PACKETS;
		peer->staged_len--;
		peer->dev->staged_total--;
	}
}

void peer_send_keepalive(struct wg_peer *peer, uint64_t now_ns)
{
	struct wg_device *dev = peer->dev;
	uint32_t id;

	if (peer->staged_len) {
		peer_send_staged(peer, now_ns);
		return;
	}
	id = pool_get(&dev->pool);
	if (id == POOL_NONE) {
		device_drop(dev, WG_DROP_NO_BUFFER);
		return;
	}
	if (!seal_and_send(peer, id, WG_TUN_HEADROOM, 0, now_ns)) {
		pool_put(&dev->pool, id);
		peer_send_initiation(peer, now_ns, false);
	}
}

/* The IP length of a packet from TUN, or 0 if it is not a plausible IPv4/IPv6 packet. */
static uint32_t inner_len(const uint8_t *p, uint32_t len)
{
	if (len >= 20 && p[0] >> 4 == 4)
		return len;
	if (len >= 40 && p[0] >> 4 == 6)
		return len;
	return 0;
}

/* One packet from TUN (in pool buffer id at data) to its peer: sealed and queued, staged, or dropped. */
static void route_packet(struct wg_device *dev, uint32_t id, uint8_t *data, uint32_t len, uint64_t now_ns)
{
	uint32_t off = (uint32_t)(data - pool_buf(&dev->pool, id));
	struct wg_peer *peer;

	if (!inner_len(data, len) || off < sizeof(struct message_data)) {
		pool_put(&dev->pool, id);
		device_drop(dev, WG_DROP_INNER_INVALID);
		return;
	}
	peer = allowedips_lookup_dst(&dev->allowedips, data, len);
	if (!peer) {
		pool_put(&dev->pool, id);
		device_drop(dev, WG_DROP_NO_ROUTE);
		return;
	}
	/* Keep order: once anything is staged, later packets queue behind it. */
	if (peer->staged_len || !seal_and_send(peer, id, off, len, now_ns)) {
		stage(peer, id, off, len);
		peer_send_staged(peer, now_ns);
	}
}

/*
 * A frame with the virtio-net header: a packet whose checksum may still be
 * partial, or a super-packet cut here into packets of the MTU the kernel
 * chose. The segments are packed into as few buffers as hold them, each with
 * room around it to be sealed in place (header before; padding and tag
 * after), each holding a reference to its buffer: a 64 KiB super-packet
 * takes two buffers, not forty.
 */
static void route_frame(struct wg_device *dev, uint32_t id, uint8_t *frame, uint32_t len, uint64_t now_ns)
{
	struct offload_frame f;
	uint32_t buf = POOL_NONE, at = 0, room;
	unsigned int i;

	if (offload_parse(frame, len, &f)) {
		pool_put(&dev->pool, id);
		device_drop(dev, WG_DROP_INNER_INVALID);
		return;
	}
	if (f.gso == OFFLOAD_GSO_NONE) {
		if (f.needs_csum)
			offload_complete_csum(&f);
		route_packet(dev, id, f.pkt, f.pkt_len, now_ns);
		return;
	}
	/* Header before, then the segment, up to 15 bytes of padding and the tag; 16-byte aligned. */
	room = (sizeof(struct message_data) + f.hdr_len + f.gso_size + MESSAGE_PADDING_MULTIPLE + NOISE_AUTHTAG_LEN + 15) & ~15u;
	for (i = 0; i < f.n_segs; i++) {
		uint8_t *out;

		if (buf == POOL_NONE || at + room > dev->pool.buf_size) {
			if (buf != POOL_NONE)
				pool_put(&dev->pool, buf); /* the packing's own hold */
			buf = pool_get(&dev->pool);
			at = 0;
			if (buf == POOL_NONE) {
				dev->drops[WG_DROP_NO_BUFFER] += f.n_segs - i;
				break;
			}
		}
		pool_hold(&dev->pool, buf);
		out = pool_buf(&dev->pool, buf) + at + sizeof(struct message_data);
		route_packet(dev, buf, out, offload_segment(&f, i, out), now_ns);
		at += room;
	}
	if (buf != POOL_NONE)
		pool_put(&dev->pool, buf);
	pool_put(&dev->pool, id);
}

void device_receive_tun(struct wg_device *dev, struct wg_pkt *pkts, unsigned int n, uint64_t now_ns)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (dev->tun_vnet)
			route_frame(dev, pkts[i].id, pkts[i].data, pkts[i].len, now_ns);
		else
			route_packet(dev, pkts[i].id, pkts[i].data, pkts[i].len, now_ns);
	}
	device_seal_pending(dev);
}
