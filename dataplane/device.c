// SPDX-License-Identifier: MIT
/* Device and peer lifetime, configuration, and the keypair slots. */
#include "device.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device_internal.h"

uint64_t device_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
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
	uint32_t buf_size;
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
	dev->max_mtu = dev->mtu > WG_JUMBO_MTU ? dev->mtu : WG_JUMBO_MTU;
	buf_size = (dev->max_mtu + WG_BUF_OVERHEAD + 63) / 64 * 64;
	dev->identity = sodium_malloc(sizeof(*dev->identity));
	if (!dev->identity)
		return -ENOMEM;
	memset(dev->identity, 0, sizeof(*dev->identity));
	cookie_checker_init(&dev->checker, NULL);
	allowedips_init(&dev->allowedips);
	ret = ratelimiter_init(&dev->ratelimiter, 8192);
	if (ret)
		goto err_identity;
	/* A handshake and three keypairs per peer. */
	ret = indextable_init(&dev->indices, 4 * WG_MAX_PEERS);
	if (ret)
		goto err_ratelimiter;
	ret = pool_init(&dev->pool, n_buffers, buf_size);
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
	free(dev->peers);
	dev->peers = NULL;
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
	size_t i;
	int ret = 0;

	if (key) {
		struct noise_static_identity next;

		ret = noise_identity_set(&next, key);
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
	for (i = 0; key && i < dev->n_peers; i++) {
		if (!sodium_memcmp(dev->peers[i]->hs.remote_static, dev->identity->static_public, NOISE_PUBLIC_KEY_LEN)) {
			device_remove_peer(dev, dev->peers[i]);
			break;
		}
	}
	return ret;
}

struct wg_peer *device_find_peer(struct wg_device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	size_t i;

	/* Linear, on the control path and in the responder's lookup; fine for thousands of peers. */
	for (i = 0; i < dev->n_peers; i++)
		if (!sodium_memcmp(dev->peers[i]->hs.remote_static, public_key, NOISE_PUBLIC_KEY_LEN))
			return dev->peers[i];
	return NULL;
}

int device_add_peer(struct wg_device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN], struct wg_peer **out)
{
	struct wg_peer *peer, **grown;
	uint64_t now = device_now_ns();

	if (dev->n_peers >= WG_MAX_PEERS)
		return -ENOSPC;
	if (dev->identity->has_identity &&
	    !sodium_memcmp(public_key, dev->identity->static_public, NOISE_PUBLIC_KEY_LEN))
		return -EINVAL;
	peer = sodium_malloc(sizeof(*peer));
	if (!peer)
		return -ENOMEM;
	grown = realloc(dev->peers, (dev->n_peers + 1) * sizeof(*grown));
	if (!grown) {
		sodium_free(peer);
		return -ENOMEM;
	}
	dev->peers = grown;
	memset(peer, 0, sizeof(*peer));
	peer->dev = dev;
	noise_handshake_init(&peer->hs, dev->identity, public_key, NULL);
	cookie_maker_init(&peer->maker, public_key);
	peer->hs_entry.kind = WG_INDEX_HANDSHAKE;
	peer->hs_entry.peer = peer;
	timers_init(&peer->timers, dev->jitter, NULL);
	(void)now;
	peer->deadline = UINT64_MAX;
	dev->peers[dev->n_peers++] = peer;
	*out = peer;
	return 0;
}

void device_remove_peer(struct wg_device *dev, struct wg_peer *peer)
{
	size_t i;

	for (i = 0; i < dev->n_peers && dev->peers[i] != peer; i++)
		;
	if (i == dev->n_peers)
		return;
	dev->peers[i] = dev->peers[--dev->n_peers];
	allowedips_remove_by_peer(&dev->allowedips, peer);
	timers_stop(&peer->timers);
	peer_zero_keys(peer);
	peer_drop_staged(peer, WG_DROP_STAGED_EXPIRED);
	/* Anything about to be sent to it stays queued with its own copy of the address. */
	cookie_maker_uninit(&peer->maker);
	noise_handshake_wipe(&peer->hs);
	sodium_free(peer);
}

void device_remove_all_peers(struct wg_device *dev)
{
	while (dev->n_peers)
		device_remove_peer(dev, dev->peers[dev->n_peers - 1]);
}

void peer_set_psk(struct wg_peer *peer, const uint8_t *psk)
{
	noise_handshake_set_psk(&peer->hs, psk);
}

void peer_set_endpoint(struct wg_peer *peer, const union wg_sockaddr *addr)
{
	peer->endpoint = *addr;
	peer->has_endpoint = true;
}

void peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t interval, uint64_t now_ns)
{
	unsigned int actions;

	peer->persistent_keepalive = interval;
	actions = timers_set_persistent_keepalive(&peer->timers, interval);
	if (actions & TIMERS_SEND_KEEPALIVE)
		peer_send_keepalive(peer, now_ns);
	device_note_deadline(peer->dev, peer);
}

void peer_clear_allowedips(struct wg_peer *peer)
{
	allowedips_remove_by_peer(&peer->dev->allowedips, peer);
}

int peer_add_allowedip(struct wg_peer *peer, int family, const uint8_t *addr, uint8_t cidr)
{
	return allowedips_insert(&peer->dev->allowedips, family, addr, cidr, peer);
}

/* ---- keypair slots ---- */

static void slot_free(struct wg_device *dev, struct wg_keyslot *s)
{
	if (!s || !s->used)
		return;
	(void)indextable_remove(&dev->indices, s->kp.local_index);
	keypair_wipe(&s->kp);
	s->used = false;
}

void peer_zero_keys(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;
	int i;

	for (i = 0; i < 3; i++)
		slot_free(dev, &peer->slots[i]);
	peer->current = peer->previous = peer->next = NULL;
	peer_forget_handshake(peer);
}

void peer_forget_handshake(struct wg_peer *peer)
{
	if (peer->hs_index_valid)
		(void)indextable_remove(&peer->dev->indices, peer->hs_index);
	peer->hs_index_valid = false;
	noise_handshake_clear(&peer->hs);
}

int peer_register_handshake_index(struct wg_peer *peer, uint32_t *index)
{
	int ret;

	if (peer->hs_index_valid)
		(void)indextable_remove(&peer->dev->indices, peer->hs_index);
	peer->hs_index_valid = false;
	ret = indextable_insert(&peer->dev->indices, &peer->hs_entry, index);
	if (ret)
		return ret;
	peer->hs_index = *index;
	peer->hs_index_valid = true;
	return 0;
}

/*
 * Install the session a handshake produced. The handshake's index now names
 * the keypair. As initiator the new keypair is used at once; as responder it
 * waits as `next` until the initiator's first packet confirms it (6.1).
 */
void peer_install_session(struct wg_peer *peer, const struct noise_session_keys *keys, uint64_t now_ns)
{
	struct wg_device *dev = peer->dev;
	struct wg_keyslot *slot = NULL;
	int i;

	/*
	 * As the kernel rotates them (noise.c, add_new_keypair): the initiator
	 * uses the new keypair at once; an unconfirmed `next` becomes previous
	 * and the old current goes. The responder's new keypair waits as next,
	 * and previous goes.
	 */
	if (keys->initiator) {
		slot_free(dev, peer->previous);
		if (peer->next) {
			slot_free(dev, peer->current);
			peer->previous = peer->next;
			peer->next = NULL;
		} else {
			peer->previous = peer->current;
		}
		peer->current = NULL;
	} else {
		slot_free(dev, peer->next);
		slot_free(dev, peer->previous);
		peer->next = NULL;
		peer->previous = NULL;
	}
	for (i = 0; i < 3 && !slot; i++)
		if (&peer->slots[i] != peer->current && &peer->slots[i] != peer->previous &&
		    &peer->slots[i] != peer->next)
			slot = &peer->slots[i];
	slot_free(dev, slot);
	keypair_init(&slot->kp, keys->send, keys->recv, keys->local_index, keys->remote_index, keys->initiator, now_ns);
	slot->entry.kind = WG_INDEX_KEYPAIR;
	slot->entry.peer = peer;
	slot->entry.kp = &slot->kp;
	slot->used = true;
	/* The index was the handshake's; it now names the keypair. */
	if (peer->hs_index_valid && peer->hs_index == keys->local_index) {
		(void)indextable_remove(&dev->indices, peer->hs_index);
		peer->hs_index_valid = false;
	}
	if (indextable_insert_at(&dev->indices, keys->local_index, &slot->entry)) {
		keypair_wipe(&slot->kp);
		slot->used = false;
		return;
	}
	if (keys->initiator)
		peer->current = slot;
	else
		peer->next = slot;
}

/* The peer's first packet under `next` confirms it: it becomes current. True when that happened. */
bool peer_confirm_keypair(struct wg_peer *peer, struct keypair *kp)
{
	struct wg_device *dev = peer->dev;

	if (!peer->next || &peer->next->kp != kp)
		return false;
	slot_free(dev, peer->previous);
	peer->previous = peer->current;
	peer->current = peer->next;
	peer->next = NULL;
	return true;
}
