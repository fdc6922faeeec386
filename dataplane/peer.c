// SPDX-License-Identifier: MIT
/*
 * A peer's life and settings, the receiver index of its handshake, the glue
 * to its keypairs (every rotation rule is in keypair.c), its staged queue,
 * and what its timers ask for when they fire. The device's tables that hold
 * peers are device.c's; what a peer sends is send.c's.
 */
#include <sodium.h>
#include <string.h>

#include "device_internal.h"

/*
 * Peers live in slabs of locked, guarded memory (sodium_malloc): the
 * handshake's ephemeral key, the preshared key and the session keys are in
 * them. One sodium_malloc per peer would cost three pages resident and three
 * mappings each (guard pages), which caps a process at about 21,000 peers
 * under the default vm.max_map_count; a slab holds PEER_SLAB peers. Slabs are
 * kept until the device goes: a removed peer's place is wiped and reused.
 */
#define PEER_SLAB 64

struct peer_slab {
	struct peer_slab *next;
	struct wg_peer peers[PEER_SLAB];
};

static struct wg_peer *peer_alloc(struct wg_device *dev)
{
	struct wg_peer *peer = dev->free_peers;
	struct peer_slab *slab;
	size_t i;

	if (!peer) {
		slab = sodium_malloc(sizeof(*slab));
		if (!slab)
			return NULL;
		memset(slab, 0, sizeof(*slab));
		slab->next = dev->peer_slabs;
		dev->peer_slabs = slab;
		for (i = PEER_SLAB; i-- > 0;) {
			slab->peers[i].hash_next = dev->free_peers;
			dev->free_peers = &slab->peers[i];
		}
		peer = dev->free_peers;
	}
	dev->free_peers = peer->hash_next;
	memset(peer, 0, sizeof(*peer));
	return peer;
}

void peer_slabs_free(struct wg_device *dev)
{
	while (dev->peer_slabs) {
		struct peer_slab *slab = dev->peer_slabs;

		dev->peer_slabs = slab->next;
		sodium_free(slab); /* wipes */
	}
	dev->free_peers = NULL;
}

struct wg_peer *peer_new(struct wg_device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	struct wg_peer *peer = peer_alloc(dev);

	if (!peer)
		return NULL;
	peer->dev = dev;
	noise_handshake_init(&peer->hs, dev->identity, public_key, NULL);
	cookie_maker_init(&peer->maker, public_key);
	peer->hs_entry.kind = WG_INDEX_HANDSHAKE;
	peer->hs_entry.peer = peer;
	keypairs_init(&peer->keypairs, &dev->indices, peer);
	timers_init(&peer->timers, dev->jitter, NULL);
	peer->deadline = UINT64_MAX;
	return peer;
}

/* The device has taken it out of its tables already. */
void peer_free(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;

	allowedips_remove_by_peer(&dev->allowedips, peer);
	timers_stop(&peer->timers);
	peer_zero_keys(peer);
	peer_drop_staged(peer, WG_DROP_STAGED_EXPIRED);
	/* Anything about to be sent to it stays queued with its own copy of the address. */
	cookie_maker_uninit(&peer->maker);
	noise_handshake_wipe(&peer->hs);
	sodium_memzero(peer, sizeof(*peer));
	peer->hash_next = dev->free_peers;
	dev->free_peers = peer;
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

/* ---- handshake index and keypairs ---- */

/*
 * Whatever retires, wipes or replaces a keypair first seals what is queued
 * under it (device_seal_pending): a seal job points at its keypair, and must
 * never encrypt with a wiped key or with the next keypair put in that slot.
 */
void peer_zero_keys(struct wg_peer *peer)
{
	device_seal_pending(peer->dev);
	keypairs_clear(&peer->keypairs);
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

/* Install the session a handshake produced; the handshake's index now names the keypair. */
void peer_install_session(struct wg_peer *peer, const struct noise_session_keys *keys, uint64_t now_ns)
{
	device_seal_pending(peer->dev);
	if (peer->hs_index_valid && peer->hs_index == keys->local_index) {
		(void)indextable_remove(&peer->dev->indices, peer->hs_index);
		peer->hs_index_valid = false;
	}
	(void)keypairs_install(&peer->keypairs, keys->send, keys->recv, keys->local_index, keys->remote_index,
			       keys->initiator, now_ns);
}

/* The peer's first packet under `next` confirms it: it becomes current. True when that happened. */
bool peer_confirm_keypair(struct wg_peer *peer, struct keypair *kp)
{
	if (peer->keypairs.next && &peer->keypairs.next->kp == kp)
		device_seal_pending(peer->dev); /* the rotation retires a keypair */
	return keypairs_confirm(&peer->keypairs, kp);
}

/* ---- staged queue and timers ---- */

void peer_drop_staged(struct wg_peer *peer, enum wg_drop_reason why)
{
	while (peer->staged_len) {
		pool_put(&peer->dev->pool, peer->staged[peer->staged_head].id);
		peer->staged_head = (peer->staged_head + 1) % MAX_STAGED_PACKETS;
		peer->staged_len--;
		peer->dev->staged_total--;
		device_drop(peer->dev, why);
	}
}

/* Its deadline passed: do what the timers ask. The device re-reads the deadline after. */
void peer_tick(struct wg_peer *peer, uint64_t now_ns)
{
	unsigned int actions = timers_tick(&peer->timers, now_ns);

	device_seal_pending(peer->dev);
	keypairs_expire(&peer->keypairs, now_ns);
	if (actions & TIMERS_ZERO_KEYS) {
		bool had_keys = peer->keypairs.current || peer->keypairs.previous || peer->keypairs.next;

		peer_zero_keys(peer);
		if (had_keys)
			device_event(peer->dev, WG_EVENT_KEYS_EXPIRED, peer, NULL, 0);
	}
	if (actions & TIMERS_DROP_STAGED) {
		peer_drop_staged(peer, WG_DROP_STAGED_EXPIRED);
		device_event(peer->dev, WG_EVENT_GAVE_UP, peer, NULL, 0);
	}
	if (actions & TIMERS_SEND_INITIATION)
		peer_send_initiation(peer, now_ns, true);
	if (actions & TIMERS_SEND_KEEPALIVE)
		peer_send_keepalive(peer, now_ns);
}
