/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard device: identity, the peer tables, cryptokey routing,
 * indices, the output queues, and the two packet paths (send.c: TUN -> peer,
 * receive.c: peer -> TUN). A peer's life and settings are in peer.c. The paths
 * take batches of packets and fill output queues that the event loop
 * (loop_uring.c or loop_epoll.c) flushes with batched system calls.
 *
 * Threading: everything here runs on the event loop's thread; ctrl/ calls
 * the configuration functions from that same thread (UAPI and control socket
 * are served by the loop), so no locks are needed.
 *
 * The kill-switch promise of the data plane: a payload is only ever sealed
 * with a keypair that keypair_can_send() accepts; without one, packets wait
 * in the staged queue (at most MAX_STAGED_PACKETS per peer) or are dropped.
 */
#ifndef WGUD_DEVICE_H
#define WGUD_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allowedips.h"
#include "cookie.h"
#include "indextable.h"
#include "noise.h"
#include "peer.h"
#include "pool.h"
#include "ratelimiter.h"

#define WG_BATCH 64
#define WG_TXQ_MAX 256
#define WG_DEFAULT_MTU 1420
/*
 * Packet buffers are sized at start for the largest MTU the device may take
 * later (wg-quick sets 8920 on a 9000-byte uplink after wgud started; GSO
 * needs 64 KiB): the largest whose packets, sealed, still fit one UDP
 * datagram over IPv6 (65535 - 40 - 8 - 32), so any datagram the socket can
 * carry is received whole. They are resident only where touched (pool.c).
 * Where that much address space is refused, buffers for WG_SMALL_BUFFER_MTU.
 * A larger MTU set on the link is set back.
 */
#define WG_LARGEST_MTU 65455
#define WG_SMALL_BUFFER_MTU 9216
#define WG_MIN_MTU 68
#define WG_MAX_MTU WG_LARGEST_MTU
/* Around the MTU in a buffer: io_uring's recvmsg header, address and cmsg, the data header, padding and tag. */
#define WG_BUF_OVERHEAD 256
/*
 * A sanity ceiling, the model's (ctrl/config/model.h MODEL_MAX_PEERS). The
 * peer tables and the index table (a handshake and three keypairs per peer)
 * grow as peers are added, at configuration time, never on the packet path.
 */
#define WG_MAX_PEERS 65536
/* Headroom before a packet read from TUN, so sealing happens in place. */
#define WG_TUN_HEADROOM 16

enum wg_drop_reason {
	WG_DROP_INVALID_MESSAGE,   /* wrong type or length */
	WG_DROP_MAC,               /* mac1 failed */
	WG_DROP_UNDER_LOAD,        /* needed a cookie, or rate limited */
	WG_DROP_HANDSHAKE,         /* Noise refused it */
	WG_DROP_UNKNOWN_INDEX,
	WG_DROP_DECRYPT,           /* tag, replay or expired key */
	WG_DROP_INNER_INVALID,     /* not an IP packet of the stated length */
	WG_DROP_SOURCE_NOT_ALLOWED,/* cryptokey routing: inner source outside the peer's allowed-ips */
	WG_DROP_NO_ROUTE,          /* no peer's allowed-ips cover the destination */
	WG_DROP_NO_ENDPOINT,
	WG_DROP_NO_BUFFER,
	WG_DROP_STAGED_OVERFLOW,
	WG_DROP_STAGED_EXPIRED,    /* handshake gave up */
	WG_DROP_SEND_ERROR,        /* the UDP send failed */
	/* Every way the loops can lose a packet, so none is lost without a count. */
	WG_DROP_RX_TRUNCATED,      /* datagram larger than a packet buffer */
	WG_DROP_RX_ERROR,          /* receive completed with an error, or on a socket since replaced */
	WG_DROP_SOCKET_OVERFLOW,   /* the kernel dropped it: socket receive buffer full (SO_RXQ_OVFL) */
	WG_DROP_CQ_OVERFLOW,       /* io_uring completions the kernel could not post */
	WG_DROP_TX_QUEUE_FULL,     /* no room to queue or submit the send or TUN write */
	WG_DROP_TUN_WRITE_ERROR,   /* the TUN write failed or was short */
	WG_DROP_TUN_TRUNCATED,     /* a TUN packet larger than a buffer (the link's MTU above max_mtu) */
	WG_DROP_COUNT,
};

struct wg_pkt {
	uint32_t id;
	uint8_t *data;
	uint32_t len;
	union wg_sockaddr addr; /* source of a received datagram, destination of one to send */
};

struct peer_slab;

struct wg_txq {
	struct wg_pkt items[WG_TXQ_MAX];
	unsigned int n;
};

struct wg_device {
	struct noise_static_identity *identity; /* in locked memory (sodium_malloc) */
	struct cookie_checker checker;
	struct ratelimiter ratelimiter;
	struct indextable indices;
	struct allowedips allowedips;
	struct pool pool;

	struct wg_peer **peers; /* in no order; peer->dev_slot is each one's place */
	size_t n_peers, cap_peers;
	/* By public key: chains through peer->hash_next, keyed SipHash so no one can aim at one chain. */
	struct wg_peer **peer_buckets;
	size_t n_buckets; /* a power of two, at least cap_peers */
	uint8_t peer_hash_key[16];
	/* Peers' storage, in locked slabs (peer.c); a removed peer's place is reused. */
	struct peer_slab *peer_slabs;
	struct wg_peer *free_peers; /* chained through hash_next */

	uint16_t listen_port;
	uint32_t fwmark;
	uint32_t mtu;
	uint32_t max_mtu; /* the largest MTU the buffers hold, fixed at init */
	int sock4, sock6;
	int tun_fd;

	struct wg_txq tx_udp; /* sealed datagrams and handshake messages to send */
	struct wg_txq tx_tun; /* decrypted packets to write to the TUN device */
	/* Called by the paths when a queue is full; the loop flushes it. */
	void (*flush)(struct wg_device *dev, void *ctx);
	void *flush_ctx;

	uint32_t staged_total;  /* packets staged over all peers, at most a quarter of the pool */
	uint64_t next_deadline; /* earliest timer deadline over all peers (may be early, never late) */
	uint64_t handshakes_this_second, load_window_start_ns, under_load_until_ns;
	uint64_t drops[WG_DROP_COUNT];
	uint64_t (*jitter)(void *ctx); /* timer jitter source for tests; NULL = random */
};

int device_init(struct wg_device *dev, uint32_t mtu, uint32_t n_buffers);
void device_uninit(struct wg_device *dev);
/* Follow the TUN link's MTU; -ERANGE when the buffers cannot hold it (dev->max_mtu). */
int device_set_mtu(struct wg_device *dev, uint32_t mtu);

/* Configuration (from ctrl/, on the loop thread). */
int device_set_private_key(struct wg_device *dev, const uint8_t *key); /* NULL removes it */
struct wg_peer *device_find_peer(struct wg_device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN]);
int device_add_peer(struct wg_device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN], struct wg_peer **out);
void device_remove_peer(struct wg_device *dev, struct wg_peer *peer);
void device_remove_all_peers(struct wg_device *dev);
/* The peer's own settings are in peer.h (peer.c). */

/* Packet paths. Received datagrams and TUN packets are consumed (their buffers freed or queued). */
void device_receive_udp(struct wg_device *dev, struct wg_pkt *pkts, unsigned int n, uint64_t now_ns);
void device_receive_tun(struct wg_device *dev, struct wg_pkt *pkts, unsigned int n, uint64_t now_ns);
/* Fire due timers; returns the next deadline (UINT64_MAX: none). */
uint64_t device_tick(struct wg_device *dev, uint64_t now_ns);

/* A short stable identifier per drop reason ("no_route"), for logs and show --json. */
const char *device_drop_name(enum wg_drop_reason why);

/* Helpers for the loops. */
uint64_t device_now_ns(void);
void device_udp_enqueue(struct wg_device *dev, uint32_t id, uint8_t *data, uint32_t len, const union wg_sockaddr *dst);
void device_tun_enqueue(struct wg_device *dev, uint32_t id, uint8_t *data, uint32_t len);
socklen_t device_sockaddr_len(const union wg_sockaddr *a);

#endif
