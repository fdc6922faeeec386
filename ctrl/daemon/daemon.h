/* SPDX-License-Identifier: MIT */
/* Start-up, running and shut-down of one interface. */
#ifndef WGUD_DAEMON_H
#define WGUD_DAEMON_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "model.h"
#include "policy.h"
#include "privdrop.h"

#define DAEMON_MAX_POLICY_FLAGS 64
#define DAEMON_MAX_PUBLISH 16

/* A start-up policy flag and its arguments, as given (applied in order after the policy file). */
struct daemon_policy_flag {
	const char *flag;
	char *args[3];
	size_t n_args;
};

/* --publish [ADDR:]HOSTPORT:PORT[/tcp|udp]: HOSTPORT on the host side reaches PORT inside the namespace. */
struct daemon_publish {
	int family;        /* of addr; AF_UNSPEC: every address of the host side */
	uint8_t addr[16];
	uint16_t host_port, port;
	uint8_t proto;     /* IPPROTO_TCP or IPPROTO_UDP */
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
	bool has_metrics;         /* --metrics ADDR:PORT: serve Prometheus metrics over HTTP there */
	union model_sockaddr metrics_addr;
	const char *netns;        /* --netns NAME|PATH: the device and its wall live there, the UDP here */
	struct daemon_publish publish[DAEMON_MAX_PUBLISH];
	size_t n_publish;
	int tun_fd;               /* --tun-fd: serve this open TUN descriptor; -1: create the device */
	struct privdrop user;     /* --user: drop to this user after setup, keeping CAP_NET_ADMIN */
	char *const *run_argv;    /* `wgud run ... -- COMMAND`: the command, run in a namespace of its own */
	unsigned int wait_up;     /* --wait-up SECONDS: start-up ends with the first handshake; 0: at once */
	bool failover;            /* --failover: a conf's Endpoint may list several (failover.h) */
	unsigned int failover_after; /* --failover-after: seconds without a handshake before the next one */
};

/* Returns the process exit code (`wgud run`: the command's). */
int daemon_run(const struct daemon_options *o);

/*
 * `wgud unlock IFACE`: remove what a stopped (lockdown) or dead wgud left
 * for IFACE in this namespace: its nftables table, its allow-lan and full
 * tunnel policy rules, and the IP forwarding it had turned on. Refused
 * while a wgud serves IFACE. Returns the process exit code.
 */
int daemon_unlock(const char *ifname);

#endif
