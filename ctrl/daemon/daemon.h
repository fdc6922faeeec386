/* SPDX-License-Identifier: MIT */
/* Start-up, running and shut-down of one interface. */
#ifndef WGUD_DAEMON_H
#define WGUD_DAEMON_H

#include <net/if.h>
#include <stdbool.h>

#include "loop.h"
#include "policy.h"

#define DAEMON_MAX_POLICY_FLAGS 64

/* A start-up policy flag and its arguments, as given (applied in order after the policy file). */
struct daemon_policy_flag {
	const char *flag;
	char *args[3];
	size_t n_args;
};

struct daemon_options {
	const char *conf_path; /* --conf: configure from a wg-quick file; NULL: wireguard-go style */
	char ifname[IFNAMSIZ];
	bool foreground;
	bool run_hooks;
	int verbose;
	enum loop_backend io;
	bool no_offload;          /* --offload off: no virtio-net header on TUN, no UDP GSO/GRO */
	unsigned int buffers;
	unsigned int threads;     /* --threads: crypto threads, the loop's included; 0: one per core */
	const char *policy_path;  /* --policy FILE */
	struct daemon_policy_flag policy_flags[DAEMON_MAX_POLICY_FLAGS];
	size_t n_policy_flags;
	bool no_firewall;
	int ctl_gid;              /* --ctl-group, -1 = none */
};

/* Returns the process exit code. */
int daemon_run(const struct daemon_options *o);

/*
 * `wgud unlock IFACE`: remove what a stopped (lockdown) or dead wgud left
 * for IFACE in this namespace: its nftables table, its allow-lan and full
 * tunnel policy rules, and the IP forwarding it had turned on. Refused
 * while a wgud serves IFACE. Returns the process exit code.
 */
int daemon_unlock(const char *ifname);

#endif
