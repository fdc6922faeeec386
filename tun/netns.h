/* SPDX-License-Identifier: MIT */
/*
 * Where the tunnel device lives, when that is not where wgud's UDP lives.
 *
 * With `--netns NAME` the device, its addresses and routes and the kill
 * switch belong to another network namespace, while the encrypted UDP
 * stays in wgud's own (home). The control thread enters the target once,
 * after the UDP sockets are bound, and stays there: every netlink socket,
 * TUN open and /proc/sys/net write it makes from then on lands in the
 * target. What must stay at home (a UDP socket bound again for a new
 * listen-port, the resolver's lookups of endpoint names) goes there with
 * netns_home_begin() and back with netns_home_end(). setns() moves only the
 * calling thread, so the other threads are never affected.
 *
 * `wgud run` makes its namespaces with unshare() instead: the home
 * namespace is kept as a descriptor too, but a user namespace's process may
 * not go back into it, so a UDP socket cannot be made at home any more and
 * netns_home_begin() then fails with -EPERM.
 */
#ifndef WGUD_NETNS_H
#define WGUD_NETNS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Open the namespace named by spec: a name from `ip netns add` (in
 * /var/run/netns) or a path such as /proc/PID/ns/net. 0 and a descriptor
 * in *fd, or -errno with the reason in err.
 */
int netns_open(const char *spec, int *fd, char *err, size_t err_len);

/* Remember the namespace this thread is in as home (before leaving it). 0 or -errno. */
int netns_keep_home(void);

/* Enter target (a descriptor from netns_open) for good on this thread; home is kept first. */
int netns_enter(int target_fd);

/* Whether this thread left home through netns_enter() or the caller said so (`wgud run`). */
bool netns_away(void);
void netns_mark_away(void);

/*
 * Around a socket that must be made at home: no-ops when not away. begin
 * returns 0 or -errno (-EPERM in `wgud run` without root); end always
 * returns to where the thread was.
 */
int netns_home_begin(void);
void netns_home_end(void);

/* The home namespace's descriptor (-1 while at home all along), for IFLA_NET_NS_FD. */
int netns_home_fd(void);

/* For a thread that works at home only (the resolver): go home for good. */
int netns_go_home(void);

#endif
