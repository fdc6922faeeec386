/* SPDX-License-Identifier: MIT */
/*
 * The one data model that the wg-quick parser (conf.c), the UAPI (uapi.c)
 * and the device snapshot all fill, in the way of wireguard-tools: a device
 * with peers with allowed-ips, and HAS_* flags so that a partial update says
 * which fields it carries. Parsing fills it, apply.c pushes it into the data
 * plane, uapi.c prints it; nothing here does I/O.
 *
 * Keys in here are secret: model_device_free() wipes them.
 */
#ifndef WGUD_MODEL_H
#define WGUD_MODEL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cidr.h"

#define MODEL_KEY_LEN 32
#define MODEL_MAX_PEERS 65536
#define MODEL_MAX_ALLOWEDIPS 1048576 /* over all peers of one device */
#define MODEL_MAX_HOOK_LEN 4096
#define MODEL_HOST_LEN 256

union model_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

/* Endpoint = a:1, b:2 (wgud --failover only): the first and up to MODEL_MAX_ENDPOINTS - 1 to fail over to. */
#define MODEL_MAX_ENDPOINTS 8

/* One alternative endpoint: an address, or a name to resolve first (has_addr false). */
struct model_endpoint {
	union model_sockaddr addr;
	char host[MODEL_HOST_LEN];
	uint16_t port;
	bool has_addr;
};

enum model_peer_flags {
	MODEL_PEER_REMOVE_ME = 1U << 0,
	MODEL_PEER_REPLACE_ALLOWEDIPS = 1U << 1,
	MODEL_PEER_HAS_PUBLIC_KEY = 1U << 2,
	MODEL_PEER_HAS_PRESHARED_KEY = 1U << 3,
	MODEL_PEER_HAS_PERSISTENT_KEEPALIVE = 1U << 4,
	MODEL_PEER_HAS_ENDPOINT = 1U << 5,     /* endpoint holds an address */
	MODEL_PEER_HAS_ENDPOINT_HOST = 1U << 6, /* endpoint_host/port need resolving first (conf files only) */
	MODEL_PEER_UPDATE_ONLY = 1U << 7,
};

struct model_peer {
	unsigned int flags;
	uint8_t public_key[MODEL_KEY_LEN];
	uint8_t preshared_key[MODEL_KEY_LEN]; /* all zero = none */
	union model_sockaddr endpoint;
	char endpoint_host[MODEL_HOST_LEN]; /* a name from a conf file, before resolution */
	uint16_t endpoint_port;
	uint16_t persistent_keepalive; /* seconds, 0 = off */
	/* conf files only: the Endpoint list past its first entry, and the Endpoint's line */
	struct model_endpoint *alt_endpoints;
	size_t n_alt_endpoints;
	unsigned int endpoint_line;
	struct cidr *allowedips;
	size_t n_allowedips, cap_allowedips;
	/* Filled by snapshots for `get`, never by parsers. */
	int64_t last_handshake_sec;
	int64_t last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes;
	unsigned int conf_line; /* where a conf file defined it, for error messages */
};

enum model_device_flags {
	MODEL_DEVICE_REPLACE_PEERS = 1U << 0,
	MODEL_DEVICE_HAS_PRIVATE_KEY = 1U << 1, /* with an all-zero key: remove it */
	MODEL_DEVICE_HAS_LISTEN_PORT = 1U << 2,
	MODEL_DEVICE_HAS_FWMARK = 1U << 3,
	/* wg-quick [Interface] fields, from conf files only */
	MODEL_DEVICE_HAS_MTU = 1U << 4,
	MODEL_DEVICE_HAS_TABLE = 1U << 5,
};

enum model_table { MODEL_TABLE_AUTO, MODEL_TABLE_OFF, MODEL_TABLE_NUMBER };

enum model_hook { MODEL_HOOK_PRE_UP, MODEL_HOOK_POST_UP, MODEL_HOOK_PRE_DOWN, MODEL_HOOK_POST_DOWN, MODEL_HOOK_COUNT };

struct model_device {
	unsigned int flags;
	uint8_t private_key[MODEL_KEY_LEN];
	uint8_t public_key[MODEL_KEY_LEN]; /* snapshots only */
	uint16_t listen_port;
	uint32_t fwmark;
	struct model_peer *peers; /* moves when it grows: keep indexes, not pointers, across model_add_peer() */
	size_t n_peers, cap_peers;
	size_t n_allowedips_total; /* over all peers; kept by model_peer_add_allowedip() for MODEL_MAX_ALLOWEDIPS */

	/* wg-quick [Interface] extras */
	struct cidr *addresses; /* addr with the interface prefix length */
	size_t n_addresses, cap_addresses;
	union model_sockaddr *dns; /* resolver addresses (port unused) */
	size_t n_dns, cap_dns;
	char **dns_search; /* DNS entries that are not addresses: search domains */
	size_t n_dns_search, cap_dns_search;
	uint32_t mtu;
	enum model_table table;
	uint32_t table_id; /* with MODEL_TABLE_NUMBER */
	char **hooks[MODEL_HOOK_COUNT];
	size_t n_hooks[MODEL_HOOK_COUNT], cap_hooks[MODEL_HOOK_COUNT];
	bool save_config;
};

/* Allocators return 0 or -ENOMEM (-E2BIG past the MODEL_MAX_* limits); the model is unchanged on error. */
struct model_device *model_device_new(void);
void model_device_free(struct model_device *dev); /* wipes keys; NULL is fine */
int model_add_peer(struct model_device *dev, struct model_peer **out);
int model_peer_add_allowedip(struct model_device *dev, struct model_peer *peer, const struct cidr *c);
int model_add_address(struct model_device *dev, const struct cidr *c);
int model_add_dns(struct model_device *dev, const union model_sockaddr *addr);
int model_add_dns_search(struct model_device *dev, const char *domain);
/* Appends an alternative endpoint; -E2BIG past MODEL_MAX_ENDPOINTS in all. */
int model_peer_add_alt_endpoint(struct model_peer *peer, const struct model_endpoint *e);
int model_add_hook(struct model_device *dev, enum model_hook hook, const char *command);
struct model_peer *model_find_peer(struct model_device *dev, const uint8_t public_key[MODEL_KEY_LEN]);

/*
 * Text forms shared by both parsers. Each returns 0 or -EINVAL and writes
 * nothing on error.
 *  - "10.0.0.1/24", "fd00::1/64", "10.0.0.1" (cidr = 32 / 128 when absent)
 *  - endpoints "192.0.2.1:51820", "[2001:db8::1]:51820", "[fe80::1%eth0]:51820",
 *    "[fe80::1%2]:51820" (literal addresses only; the zone goes to sin6_scope_id)
 *  - port numbers 0..65535, fwmark "off" or 0..2^32-1 (decimal or 0x hex)
 */
int model_parse_cidr(struct cidr *out, const char *text, size_t len);
/* An IPv6 zone: an interface index, or a name; -ENODEV when no interface has that name. */
int model_parse_scope(uint32_t *out, const char *text, size_t len);
int model_parse_endpoint(union model_sockaddr *out, const char *text, size_t len);
int model_parse_u16(uint16_t *out, const char *text, size_t len);
int model_parse_u32(uint32_t *out, const char *text, size_t len);
/* Formats "192.0.2.1:51820", "[2001:db8::1]:51820" or "[fe80::1%2]:51820"; out needs 64 bytes. */
void model_format_endpoint(char out[64], const union model_sockaddr *addr);
/* Formats "10.0.0.0/8" or "fd00::/64"; returns out, which needs 64 bytes. */
const char *model_format_cidr(char out[64], const struct cidr *c);

#endif
