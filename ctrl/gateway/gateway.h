/* SPDX-License-Identifier: MIT */
/*
 * The gateway: the policy in force and everything that enforces it outside
 * the data plane. The nftables table (nft.c), IP forwarding in this
 * namespace, and the routing rules that let allow-lan destinations bypass a
 * full tunnel. It knows the tunnel only by its facts (gateway_facts), which
 * the daemon fills from the conf, the device and the link; it knows nothing
 * of sockets, the conf or the data plane.
 *
 * A change is checked against the whole policy, rendered from a copy, sent
 * as one nftables batch, and becomes the policy in force only when the
 * kernel took it. A refused change leaves table, rules and policy as they
 * were.
 *
 * What stays when wgud goes. A clean stop deletes the table, unless the
 * kill switch is in lockdown: then a blocking table replaces it (nft.h). A
 * failed start never weakens what is there: in lockdown it installs the
 * blocking table, otherwise it leaves the table it found (or made) as it
 * is. SIGKILL leaves the running table. gateway_unlock() removes whatever
 * is left, and puts back the IP forwarding wgud changed. What this and
 * earlier runs changed (forwarding, allow-lan rules) is recorded in the
 * state (state.h), and only the record says which rules are in place, so
 * exactly that is undone, never another instance's rules.
 *
 * One thread (the loop's) calls all of these.
 */
#ifndef WGUD_GATEWAY_H
#define WGUD_GATEWAY_H

#include <net/if.h>
#include <stdbool.h>

#include "cidr.h"
#include "model.h"
#include "nft.h"
#include "policy.h"
#include "rtnl.h"
#include "state.h"

#define GATEWAY_LAN_RULE_PRIORITY 5000 /* "to CIDR lookup main": before a full tunnel's rules */
#define GATEWAY_MAX_ADDRESSES 64
#define GATEWAY_MAX_ENDPOINTS POLICY_MAX_ENTRIES
#define GATEWAY_MAX_PUBLISH 16

/* What the gateway needs to know of the tunnel. */
struct gateway_facts {
	bool full_tunnel[2]; /* [0] IPv4, [1] IPv6: some peer's AllowedIPs hold the default route */
	uint32_t fwmark;     /* on wgud's UDP sockets; nonzero whenever a firewall may be needed */
	struct cidr addresses[GATEWAY_MAX_ADDRESSES]; /* the tunnel device's own */
	size_t n_addresses;
	union model_sockaddr dns[POLICY_MAX_ENTRIES]; /* the conf's DNS = */
	size_t n_dns;
	union model_sockaddr endpoints[GATEWAY_MAX_ENDPOINTS]; /* the peers': lockdown lets UDP to them out */
	size_t n_endpoints;
	bool confined; /* the device lives in a namespace of its own (--netns, run): all of it goes through the tunnel */
	char publish_ifname[IFNAMSIZ]; /* --publish: the namespace's end of the veth; "" none */
	struct nft_publish publish[GATEWAY_MAX_PUBLISH];
	size_t n_publish;
};

/*
 * The same tunnel, field by field (padding aside). Addresses as prefixes;
 * socket addresses byte for byte, so two spellings of one address differ:
 * that only costs a rendering.
 */
bool gateway_facts_equal(const struct gateway_facts *a, const struct gateway_facts *b);

struct gateway_forwarding {
	const char *path; /* /proc/sys/... */
	const char *key;  /* its line in the state file */
	char before[8];   /* the value before wgud started, put back at stop */
	bool changed;     /* wgud turned it on */
	bool noted;       /* it was on already, and wgud said so */
	bool warned;      /* ... and that it stays on for forwarded clients without lockdown */
};

struct gateway {
	char ifname[IFNAMSIZ];
	struct state *state; /* what this and earlier runs changed: forwarding, allow-lan rules */
	bool no_firewall; /* --no-firewall, or nftables unusable and nothing needed it */
	char no_firewall_why[96]; /* which of the two, for show */
	struct rtnl *rtnl;
	bool started;
	/* in force once started */
	struct policy policy; /* as given: the conf's resolvers are not filled in */
	struct gateway_facts facts;
	enum policy_kill_switch mode; /* ON, OFF or LOCKDOWN */
	bool table_installed;
	struct gateway_forwarding forwarding[2]; /* IPv4, IPv6 */
};

/* Before anything else can fail, so that gateway_abort() always has something to go by. */
void gateway_init(struct gateway *gw, const char *ifname, struct state *state, bool no_firewall);

/*
 * Install the start-up policy. Refuses (with a message) when the policy
 * needs a firewall that nftables cannot provide, unless --no-firewall, and
 * when the policy is inconsistent (a port forward to nowhere). With nothing
 * to enforce, removes a table an earlier run left. Stale allow-lan rules of
 * a crashed run are replaced.
 */
int gateway_start(struct gateway *gw, struct rtnl *rtnl, const struct policy *initial,
		  const struct gateway_facts *facts);

/* The tunnel changed (peers, fwmark, addresses): render again. On a refusal the rule set in force stays. */
int gateway_update(struct gateway *gw, const struct gateway_facts *facts);

/* Whether next would be taken with these facts (a reload asks before it changes anything): 0 or -errno and err. */
int gateway_check(struct gateway *gw, const struct policy *next, const struct gateway_facts *facts, char *err,
		  size_t err_len);

/* A whole new policy (a policy file read again), with the tunnel as it is now: in force, or refused and nothing changed. */
int gateway_set_policy(struct gateway *gw, const struct policy *next, const struct gateway_facts *facts, char *err,
		       size_t err_len);

/* One control-socket command of the policy's words. */
int gateway_command(struct gateway *gw, char *const words[], size_t n_words, char *err, size_t err_len);

/* Clean stop: lockdown's table or none, rules removed, forwarding as it was before wgud. */
void gateway_stop(struct gateway *gw);

/*
 * A start that failed, started or not (then p and f are what start would
 * have enforced; f may be NULL when the conf could not be read). Never
 * weakens the wall; says what it left.
 */
void gateway_abort(struct gateway *gw, const struct policy *p, const struct gateway_facts *f);

/* The policy in force with its resolvers (the conf's until `dns set`). */
void gateway_effective(const struct gateway *gw, struct policy *out);

/*
 * `wgud unlock IFACE`: delete what a stopped or dead wgud left (its table
 * and allow-lan rules) and put back the forwarding it had changed. 0, or
 * -errno with a message logged; nothing there is not an error.
 */
int gateway_unlock(const char *ifname, struct state *state, struct rtnl *rtnl);

#endif
