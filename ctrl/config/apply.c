// SPDX-License-Identifier: MIT
#include "apply.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "socket.h"

_Static_assert(WG_MAX_PEERS == MODEL_MAX_PEERS, "the device takes every peer a model can hold");

static void to_wg_sockaddr(union wg_sockaddr *out, const union model_sockaddr *in)
{
	_Static_assert(sizeof(*out) == sizeof(*in), "the two sockaddr unions agree");
	memcpy(out, in, sizeof(*out));
}

static int apply_peer(struct wg_device *dev, const struct model_peer *mp, uint64_t now_ns)
{
	struct wg_peer *peer = device_find_peer(dev, mp->public_key);
	size_t i;
	int ret;

	if (mp->flags & MODEL_PEER_REMOVE_ME) {
		if (peer)
			device_remove_peer(dev, peer);
		return 0;
	}
	if (!peer) {
		if (mp->flags & MODEL_PEER_UPDATE_ONLY)
			return 0;
		ret = device_add_peer(dev, mp->public_key, &peer);
		if (ret == -EINVAL) {
			log_warn("ignoring a peer whose public key is the interface's own");
			return 0;
		}
		if (ret)
			return ret;
	}
	if (mp->flags & MODEL_PEER_HAS_PRESHARED_KEY)
		peer_set_psk(peer, sodium_is_zero(mp->preshared_key, MODEL_KEY_LEN) ? NULL : mp->preshared_key);
	if (mp->flags & MODEL_PEER_HAS_ENDPOINT) {
		union wg_sockaddr a;

		to_wg_sockaddr(&a, &mp->endpoint);
		peer_set_endpoint(peer, &a);
	}
	if (mp->flags & MODEL_PEER_REPLACE_ALLOWEDIPS)
		peer_clear_allowedips(peer);
	for (i = 0; i < mp->n_allowedips; i++) {
		const struct cidr *c = &mp->allowedips[i];

		ret = peer_add_allowedip(peer, c->family, c->addr, c->cidr);
		if (ret)
			return ret;
	}
	if (mp->flags & MODEL_PEER_HAS_PERSISTENT_KEEPALIVE)
		peer_set_persistent_keepalive(peer, mp->persistent_keepalive, now_ns);
	return 0;
}

/*
 * Remove every peer the model does not list (a conf re-read): one lookup per
 * listed peer marks the device's slots to keep, then one pass from the end,
 * where removing a peer moves only an already visited one into its slot.
 */
static int remove_unlisted(struct wg_device *dev, const struct model_device *m)
{
	bool *keep = calloc(dev->n_peers ? dev->n_peers : 1, sizeof(*keep));
	size_t i;

	if (!keep)
		return -ENOMEM;
	for (i = 0; i < m->n_peers; i++) {
		struct wg_peer *peer = device_find_peer(dev, m->peers[i].public_key);

		if (peer)
			keep[peer->dev_slot] = true;
	}
	for (i = dev->n_peers; i-- > 0;)
		if (!keep[i])
			device_remove_peer(dev, dev->peers[i]);
	free(keep);
	return 0;
}

int apply_model(struct wg_device *dev, struct loop *loop, const struct model_device *m, enum apply_mode mode)
{
	uint64_t now = device_now_ns();
	size_t i;
	int ret;

	if (m->flags & MODEL_DEVICE_HAS_PRIVATE_KEY) {
		ret = device_set_private_key(dev, sodium_is_zero(m->private_key, MODEL_KEY_LEN) ? NULL : m->private_key);
		if (ret)
			return ret;
	}
	if ((m->flags & MODEL_DEVICE_HAS_LISTEN_PORT) && (m->listen_port != dev->listen_port || dev->sock4 < 0)) {
		ret = socket_bind(dev, m->listen_port);
		if (ret)
			return ret;
		if (loop) {
			ret = loop_sockets_changed(loop);
			if (ret)
				return ret;
		}
	}
	if ((m->flags & MODEL_DEVICE_HAS_FWMARK) && m->fwmark != dev->fwmark) {
		ret = socket_set_fwmark(dev, m->fwmark);
		if (ret)
			return ret;
	}
	if (mode == APPLY_SYNC) {
		ret = remove_unlisted(dev, m);
		if (ret)
			return ret;
	} else if (m->flags & MODEL_DEVICE_REPLACE_PEERS)
		device_remove_all_peers(dev);
	for (i = 0; i < m->n_peers; i++) {
		ret = apply_peer(dev, &m->peers[i], now);
		if (ret)
			return ret;
	}
	return 0;
}

static int add_allowedip_cb(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	void **args = ctx;
	struct cidr c = { .family = family, .cidr = cidr };

	memcpy(c.addr, addr, family == AF_INET6 ? 16 : 4);
	return model_peer_add_allowedip(args[0], args[1], &c);
}

int apply_snapshot(struct wg_device *dev, struct model_device **out)
{
	struct model_device *m = model_device_new();
	size_t i;
	int ret = -ENOMEM;

	if (!m)
		return -ENOMEM;
	if (dev->identity->has_identity) {
		m->flags |= MODEL_DEVICE_HAS_PRIVATE_KEY;
		memcpy(m->private_key, dev->identity->static_private, MODEL_KEY_LEN);
		memcpy(m->public_key, dev->identity->static_public, MODEL_KEY_LEN);
	}
	m->flags |= MODEL_DEVICE_HAS_LISTEN_PORT | MODEL_DEVICE_HAS_FWMARK;
	m->listen_port = dev->listen_port;
	m->fwmark = dev->fwmark;
	/* One pass over the peers; each walks only its own allowed-ips list. */
	for (i = 0; i < dev->n_peers; i++) {
		struct wg_peer *peer = dev->peers[i];
		struct model_peer *mp;
		void *args[2];

		ret = model_add_peer(m, &mp);
		if (ret)
			goto err;
		mp->flags = MODEL_PEER_HAS_PUBLIC_KEY | MODEL_PEER_HAS_PRESHARED_KEY | MODEL_PEER_HAS_PERSISTENT_KEEPALIVE;
		memcpy(mp->public_key, peer->hs.remote_static, MODEL_KEY_LEN);
		memcpy(mp->preshared_key, peer->hs.preshared_key, MODEL_KEY_LEN);
		if (peer->has_endpoint) {
			mp->flags |= MODEL_PEER_HAS_ENDPOINT;
			memcpy(&mp->endpoint, &peer->endpoint, sizeof(mp->endpoint));
		}
		mp->persistent_keepalive = peer->persistent_keepalive;
		mp->last_handshake_sec = peer->last_handshake_sec;
		mp->last_handshake_nsec = peer->last_handshake_nsec;
		mp->rx_bytes = peer->rx_bytes;
		mp->tx_bytes = peer->tx_bytes;
		args[0] = m;
		args[1] = mp;
		ret = allowedips_walk_by_peer(&dev->allowedips, peer, add_allowedip_cb, args);
		if (ret)
			goto err;
	}
	*out = m;
	return 0;
err:
	model_device_free(m);
	return ret;
}
