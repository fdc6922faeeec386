/* SPDX-License-Identifier: MIT */
/*
 * One interface's daemon state, shared by the files that work on it:
 * daemon.c (start, run, stop), facts.c (what the gateway is told of the
 * tunnel) and reload.c (reading the conf and policy, at start and on
 * SIGHUP, and the conf's DNS =). Only the loop's thread touches it.
 */
#ifndef WGUD_DAEMON_INTERNAL_H
#define WGUD_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "ctl.h"
#include "daemon.h"
#include "device.h"
#include "diag.h"
#include "dns.h"
#include "failover.h"
#include "gateway.h"
#include "loop.h"
#include "metrics.h"
#include "model.h"
#include "netsetup.h"
#include "publish.h"
#include "resolve.h"
#include "rtnl.h"
#include "state.h"
#include "tun.h"
#include "uapi_server.h"
#include "workers.h"

#define DEFAULT_FWMARK 0xca6c /* 51820, as wg-quick picks */

/* How far bring_up() got: take_down() undoes exactly that much (the servers are always safe to close). */
enum stage { STAGE_NONE, STAGE_DEVICE, STAGE_TUN, STAGE_NETWORK, STAGE_LOOP };

struct daemon {
	const struct daemon_options *o;
	enum stage stage;
	struct model_device *conf;
	struct wg_device dev;
	struct diag diag;              /* the device's handshake events, logged */
	int ready_fd;                  /* the starting parent's pipe while it waits (detach_begin), else -1 */
	int wait_up_fd;                /* --wait-up's deadline (a timerfd) while it runs, else -1 */
	struct tun_device tun;
	struct uapi_server uapi;
	struct loop loop;
	struct workers workers;        /* crypto threads (--threads), started with the loop */
	struct rtnl rtnl, monitor;
	struct netsetup net;
	unsigned int ifindex;
	int signal_fd;
	struct policy start_policy; /* the file and the flags; the gateway holds the one in force */
	struct gateway_facts facts;
	bool have_facts;
	struct state state; /* what this run (or a crashed one) changed around the device */
	struct gateway gw;
	struct ctl_server ctl;
	struct metrics_server metrics; /* --metrics: HTTP */
	struct resolver resolver;      /* a reload's endpoint names, looked up off the loop */
	struct failover failover;      /* --failover: peers with several endpoints */
	struct policy *reload_policy;  /* the policy file read by a reload waiting for those names */
	bool reload_again;             /* a SIGHUP came while one waited */
	bool endpoints_capped_said;    /* the warning that lockdown knows only GATEWAY_MAX_ENDPOINTS endpoints */
	bool other_owner; /* another live process holds the interface's sockets: the wall is its own */
	int exit_code;
	char uapi_dir[80], ctl_dir[80]; /* where the sockets (and the state file) go: socket_dirs() */
	int netns_fd;        /* --netns: where the device lives; -1: here */
	bool moved;          /* the device was moved to another namespace after start: it is no longer ours to manage */
	pid_t child;         /* run: COMMAND while it runs */
	int child_status;    /* run: its wait status once it exited */
	bool child_exited;
	bool child_signalled; /* run: a stop signal was passed on to COMMAND already */
	struct dns_state dns; /* the conf's DNS = as applied: put back at stop */
	struct publish publish; /* --publish: the veth pair and the host side's table */
	bool dropped;        /* --user: the drop began; what needs root to undo is the root helper's */
};

/* The device's namespace is the tunnel's own (--netns, run): the UDP is elsewhere. */
static inline bool daemon_confined(const struct daemon *d)
{
	return d->o->netns || d->o->run_argv;
}

/* facts.c: the tunnel as the gateway needs to know it */
void daemon_dns_facts(struct gateway_facts *f, const struct model_device *m);
/* The tunnel as it is now: peers and endpoints, the mark, the link's addresses, the conf's DNS, --publish. */
void daemon_gather_facts(struct daemon *d, struct gateway_facts *f);
/* From the conf alone, when the start failed before the device had it (NULL without a conf). */
const struct gateway_facts *daemon_conf_facts(struct daemon *d);
/* After a UAPI set or an address event: the rule set again if a fact changed. */
void daemon_refresh_gateway(struct daemon *d);
void daemon_on_uapi_set(void *ctx);

/* reload.c: the files, at start and on SIGHUP */
/* The policy file first, then the flags in order, into p; a refusal says why (file:line or the flag). */
int daemon_load_policy(const struct daemon_options *o, struct policy *p);
/* The conf with its endpoint names resolved (at start nothing is served yet). */
int daemon_load_conf(const struct daemon_options *o, struct model_device **out);
/* The conf's DNS = where the tunnel's programs look (resolvconf, /etc/netns, wgud run's mount). */
int daemon_apply_dns(struct daemon *d, const struct model_device *m);
/* SIGHUP: both files again, checked before either is applied; names looked up off the loop. */
void daemon_reload(struct daemon *d);
/* The resolver's answer for a reload (resolver_init's callback). */
void daemon_on_resolved(void *ctx, struct model_device *next, int ret, const char *err);

#endif
