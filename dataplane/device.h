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
#include <sys/types.h>

#include "allowedips.h"
#include "cookie.h"
#include "indextable.h"
#include "noise.h"
#include "offload.h"
#include "peer.h"
#include "pool.h"
#include "ratelimiter.h"
#include "workers.h"

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

/*
 * What happened to a peer's handshakes, for the operator: the device calls
 * dev->event (when set) on the loop thread, at most once per handshake
 * message, never per data packet. ctrl/ decides what to log; nothing here
 * prints, and no key is in an event.
 */
enum wg_event_kind {
	WG_EVENT_INITIATED,   /* this side sent an initiation; value: initiations since the last handshake, this one too */
	WG_EVENT_COMPLETED,   /* a session is confirmed; value: initiation to response in ns, 0 as responder */
	WG_EVENT_GAVE_UP,     /* no handshake within REKEY_ATTEMPT_TIME: staged packets dropped */
	WG_EVENT_ROAMED,      /* an authenticated packet came from another address: addr, the new endpoint */
	WG_EVENT_KEYS_EXPIRED,/* every key wiped (REJECT_AFTER_TIME * 3 without a new handshake) */
	WG_EVENT_REFUSED,     /* a handshake message refused; peer may be NULL; value: enum wg_refusal */
	/*
	 * Sending to the peer failed, or an ICMP error came back for it: value
	 * the errno, addr the destination, the rest in peer->send_error. Once
	 * per change of errno, and again after a handshake completed.
	 */
	WG_EVENT_SEND_ERROR,
};

enum wg_refusal {
	WG_REFUSED_MAC1,         /* mac1 wrong: the sender uses another public key for us */
	WG_REFUSED_UNKNOWN_PEER, /* an initiation from a key that is no peer of ours */
	WG_REFUSED_STALE,        /* its timestamp is not newer than the last one: a replay, or the peer's clock went back */
	WG_REFUSED_FLOOD,        /* initiations from one peer faster than INITIATIONS_PER_SECOND */
	WG_REFUSED_UNDER_LOAD,   /* under load without a cookie (a cookie reply was sent), or rate limited */
	WG_REFUSED_BAD,          /* does not decrypt: damaged, or the keys (the preshared key too) differ */
	WG_REFUSED_COUNT,
};

struct wg_event {
	enum wg_event_kind kind;
	struct wg_peer *peer;          /* NULL for a refusal that names no peer */
	const union wg_sockaddr *addr; /* where the message came from, for ROAMED and REFUSED */
	uint64_t value;
};

struct wg_pkt {
	uint32_t id;
	uint8_t *data;
	uint32_t len;
	/*
	 * In tx_tun, one TUN write is a run of entries: the first has segs, the
	 * number of entries in the write (its data starts with the virtio-net
	 * header when the device has one); the others have segs 0 and give
	 * their bytes from data + skip on. In tx_udp, segs 0 marks a datagram that
 * must leave alone, never in a GSO run (one the kernel refused as part of a
 * run). Elsewhere segs is 1 and skip 0.
	 */
	uint16_t segs, skip;
	union wg_sockaddr addr; /* source of a received datagram, destination of one to send */
};

struct peer_slab;

/* A packet sealed or opened on the workers: set up and finished on the loop thread, in packet order. */
struct wg_seal_job {
	const struct keypair *kp;
	uint8_t *out; /* header already written; the plaintext sits right behind it */
	uint32_t plain_len, sealed_len;
};

struct wg_open_job {
	struct wg_peer *peer;
	struct keypair *kp;
	struct wg_pkt pkt; /* the data message; its buffer is the job's */
	ssize_t result;    /* of transport_open_decrypt, then of commit */
};

/* Datagrams per pass through device_receive_udp, at most. */
#define WG_RX_MAX 256

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

	/*
	 * Offloads, set before the loop runs. offload: allowed at all (--offload).
	 * tun_vnet: TUN frames carry a virtio_net_hdr (then tun_tso/tun_uso say
	 * what the kernel accepted, and decrypted TCP/UDP is coalesced); udp_gso:
	 * runs of equal datagrams to one endpoint leave in one send (cleared
	 * when the kernel refuses one with EIO, which is then sent again
	 * datagram by datagram); udp_gro: the sockets may hand over many
	 * datagrams in one buffer.
	 */
	bool offload;
	bool tun_vnet, tun_tso, tun_uso;
	bool udp_gso, udp_gro;
	/* The receive batch's decrypted packets, coalescing until the batch ends (device_tun_flush_gro). */
	struct offload_gro gro;
	struct wg_pkt gro_pkts[OFFLOAD_GRO_MAX];

	/*
	 * The crypto of a batch, spread over workers (NULL: all on the loop
	 * thread). seal_jobs are entries of tx_udp still to encrypt (done before
	 * any flush sends them); open_jobs are data messages of the receive
	 * batch, decrypted together, then committed in order (before any other
	 * message of the batch is handled). Loop thread only, outside
	 * workers_run; inside it each job's bytes are its thread's.
	 */
	struct workers *workers;
	struct wg_seal_job seal_jobs[WG_TXQ_MAX];
	unsigned int n_seal_jobs;
	struct wg_open_job open_jobs[WG_RX_MAX];
	unsigned int n_open_jobs;
	uint64_t open_now_ns; /* the clock the batch's decryptions check key ages against */

	struct wg_txq tx_udp; /* sealed datagrams and handshake messages to send */
	struct wg_txq tx_tun; /* decrypted packets to write to the TUN device */
	/* Called by the paths when a queue is full; the loop flushes it. */
	void (*flush)(struct wg_device *dev, void *ctx);
	void *flush_ctx;

	uint32_t staged_total;  /* packets staged over all peers, at most a quarter of the pool */
	uint64_t next_deadline; /* earliest timer deadline over all peers (may be early, never late) */
	uint64_t handshakes_this_second, load_window_start_ns, under_load_until_ns;
	uint64_t drops[WG_DROP_COUNT];
	uint64_t refused[WG_REFUSED_COUNT]; /* handshake messages refused, by reason (part of drops MAC, UNDER_LOAD, HANDSHAKE) */
	uint64_t handshakes_completed, handshakes_gave_up;
	size_t send_error_slot; /* the peer the last send error was for (dev->peers), looked at first */
	void (*event)(void *ctx, const struct wg_event *ev); /* NULL: nobody listens */
	void *event_ctx;
	/*
	 * What the loops moved, for the books (show --json "io"): buffers read
	 * off the UDP sockets (what the kernel counts as datagrams, a UDP GRO
	 * buffer being one), the datagrams in them, TUN writes that succeeded
	 * (what the interface counts as packets, a coalesced one being one) and
	 * the packets they held. udp_datagrams = tun_packets + drops on the
	 * receive path, exactly.
	 */
	uint64_t udp_reads, udp_datagrams, tun_writes, tun_packets;
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

/* A short stable identifier per refusal ("mac1"), for logs and metrics. */
const char *device_refusal_name(enum wg_refusal why);
/* For the paths: tell whoever listens. */
void device_event(struct wg_device *dev, enum wg_event_kind kind, struct wg_peer *peer, const union wg_sockaddr *addr,
		  uint64_t value);

/*
 * An error in sending to dst (e: err, origin, ICMP type, code and offender):
 * recorded on the peer whose endpoint dst is, told by an event once per
 * change of errno. Errors of the host rather than the path (EAGAIN,
 * ENOBUFS, ENOMEM) and destinations that are no peer's are not recorded:
 * the caller counts lost packets itself. No allocation; a linear search of
 * the peers only when dst is not the last one's.
 */
void device_send_error(struct wg_device *dev, const union wg_sockaddr *dst, const struct wg_send_error *e,
		       uint64_t now_ns);
/* Same family, address and port (IPv6 scope and flow label aside). */
bool device_same_address(const union wg_sockaddr *a, const union wg_sockaddr *b);

/* A short stable identifier per drop reason ("no_route"), for logs and show --json. */
const char *device_drop_name(enum wg_drop_reason why);

/* Helpers for the loops. */
uint64_t device_now_ns(void);
/* false: the queue was full and stayed full; the buffer is freed and counted. */
bool device_udp_enqueue(struct wg_device *dev, uint32_t id, uint8_t *data, uint32_t len, const union wg_sockaddr *dst);
/* Encrypt what tx_udp holds sealed only in name: the loops call it before they send. */
void device_seal_pending(struct wg_device *dev);
void device_tun_enqueue(struct wg_device *dev, uint32_t id, uint8_t *data, uint32_t len);
/* The TUN device's virtio-net header and what TUNSETOFFLOAD accepted (tun_set_offload). */
void device_set_tun_offload(struct wg_device *dev, bool vnet, bool tso, bool uso);
/* The coalesced packets of the batch so far go to tx_tun; called at the end of every receive batch. */
void device_tun_flush_gro(struct wg_device *dev);
/*
 * How many entries of tx_udp from i on leave in one send: a run to one
 * endpoint of equal lengths (the last may be shorter) that UDP GSO takes
 * as one, or 1.
 */
unsigned int device_udp_run(const struct wg_device *dev, unsigned int i);
/*
 * A received buffer (pool id, held by the caller) with datagrams of seg
 * bytes each, the last perhaps shorter (UDP GRO; seg >= len: one datagram),
 * from src: its datagrams into out (room for max), data messages sharing
 * the buffer, others copied to buffers of their own (handshake replies are
 * written over their buffer). The caller's hold passes to the entries.
 * Returns the number of entries; what does not fit is counted.
 */
unsigned int device_split_datagrams(struct wg_device *dev, struct wg_pkt *out, unsigned int max, uint32_t id,
				    uint8_t *data, uint32_t len, uint32_t seg, const union wg_sockaddr *src);
socklen_t device_sockaddr_len(const union wg_sockaddr *a);

#endif
