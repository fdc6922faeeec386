/* SPDX-License-Identifier: MIT */
/*
 * The gateway and kill-switch policy: one model, filled the same way from
 * start-up flags, a policy file (--policy FILE) and the control socket,
 * with the same words in each:
 *
 *   kill-switch on|off|auto|lockdown
 *   allow-lan add|del CIDR
 *   allow add|del PROTO ADDR[:PORT]        PROTO: tcp, udp, icmp, any
 *   forward-from add|del CIDR
 *   masquerade on|off
 *   port-forward add|del PROTO PORT [ADDR[:PORT]]
 *   open [add|del] PROTO PORT               PROTO: tcp, udp (inbound through the tunnel; add if no verb)
 *   dns set ADDR...                         (no ADDR: back to the conf's DNS)
 *   dns-forward on|off
 *
 * (The control socket adds `show [--json]` and `help`.)
 *
 * A command is parsed and validated completely into a copy of the policy
 * before anything changes (policy_apply_words); the caller then renders the
 * copy into nftables and only on success makes it the policy.
 */
#ifndef WGUD_POLICY_H
#define WGUD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define POLICY_MAX_ENTRIES 256 /* per list */
#define POLICY_MAX_LINE 1024   /* a control socket line, a policy file line */
#define POLICY_MAX_WORDS 32
#define POLICY_FORMAT_MAX 131072 /* room for either format of a policy with every list full */

enum policy_proto { POLICY_PROTO_ANY, POLICY_PROTO_TCP, POLICY_PROTO_UDP, POLICY_PROTO_ICMP };

enum policy_kill_switch {
	POLICY_KILL_SWITCH_AUTO, /* lockdown with forward-from, else on when a peer's AllowedIPs hold a /0 */
	POLICY_KILL_SWITCH_ON,
	POLICY_KILL_SWITCH_OFF,
	POLICY_KILL_SWITCH_LOCKDOWN, /* on, and a blocking table stays after wgud stops or fails */
};

struct policy_allow {
	enum policy_proto proto;
	struct cidr addr; /* a host (/32, /128) or a prefix */
	uint16_t port;          /* 0 = any port (tcp/udp only) */
};

struct policy_port_forward {
	enum policy_proto proto; /* tcp or udp */
	uint16_t port;           /* on the tunnel */
	bool has_target;         /* else: wgud's own host */
	struct cidr target; /* host address (cidr 32/128) */
	uint16_t target_port;    /* 0 = same as port */
};

/* A port opened to connections that come in through the tunnel. */
struct policy_open {
	enum policy_proto proto; /* tcp or udp */
	uint16_t port;
};

struct policy {
	enum policy_kill_switch kill_switch;
	bool masquerade;
	bool dns_forward; /* DNS to this host from forward-from subnets goes to the resolvers, through the tunnel */
	struct cidr allow_lan[POLICY_MAX_ENTRIES];
	size_t n_allow_lan;
	struct policy_allow allow[POLICY_MAX_ENTRIES];
	size_t n_allow;
	struct cidr forward_from[POLICY_MAX_ENTRIES];
	size_t n_forward_from;
	struct policy_port_forward port_forward[POLICY_MAX_ENTRIES];
	size_t n_port_forward;
	struct policy_open open[POLICY_MAX_ENTRIES];
	size_t n_open;
	/* DNS resolvers the firewall lets through (53/udp, 53/tcp, 853/tcp), only via the tunnel. */
	union model_sockaddr dns[POLICY_MAX_ENTRIES];
	size_t n_dns;
	bool dns_from_conf; /* true until `dns set` replaced the conf's list */
};

void policy_init(struct policy *p);

/*
 * The kill switch in force, never AUTO: AUTO is LOCKDOWN when forward-from
 * lists a subnet (a gateway), else ON when full_tunnel (some peer's
 * AllowedIPs hold 0.0.0.0/0 or ::/0), else OFF.
 */
enum policy_kill_switch policy_kill_switch_mode(const struct policy *p, bool full_tunnel);

/* "on", "lockdown", ...; "tcp", "any", ...; "?" for a value out of range. */
const char *policy_kill_switch_name(enum policy_kill_switch k);
const char *policy_proto_name(enum policy_proto p);

/*
 * Split a line into words (blanks separate; no quoting). -EINVAL for
 * control characters or too many words, -E2BIG for an overlong line.
 */
int policy_split(char *line, char *words[POLICY_MAX_WORDS], size_t *n_words);

/*
 * Apply one command (words as from policy_split, without "show") to *p.
 * On error returns -EINVAL/-E2BIG/-ENOENT/-EEXIST, leaves *p untouched and
 * writes a one-line reason for a person into err (e.g. "allow-lan: bad
 * CIDR '10.0.0.0/33'"). `del` of an absent entry is -ENOENT; `add` of a
 * present one is -EEXIST.
 */
int policy_apply_words(struct policy *p, char *const words[], size_t n_words, char *err, size_t err_len);

/*
 * Start-up flags (--kill-switch on, --forward-from CIDR, --masquerade, --allow-lan CIDR, ...) to the same commands.
 * The flags of lists take several values in their last argument, separated
 * by ';' or ',' as gluetun's variables are (--forward-from
 * "172.20.0.0/24;10.30.0.0/24", --open tcp 51413,6881): all of them or none.
 * A refusal's message names the flag once ("--allow-lan: bad CIDR '...'").
 */
int policy_apply_flag(struct policy *p, const char *flag, char *const args[], size_t n_args, char *err,
		      size_t err_len);

/*
 * How many arguments a flag takes (--masquerade 0..1, --port-forward 2..3,
 * the others a fixed count); -EINVAL if it is not a policy flag.
 */
int policy_flag_arity(const char *flag, size_t *min_args, size_t *max_args);

/* "--open tcp|udp PORT[;PORT...]" for "--open"; "" for a word that is not a policy flag. */
const char *policy_flag_usage(const char *flag);

/* Every line of a policy file (comments with '#', blank lines) in order; err names file:line. */
int policy_apply_file(struct policy *p, const char *file_name, const char *text, size_t len, char *err,
		      size_t err_len);

/* Every command with its arguments and what it does, one per line, for `wgud ctl IFACE help`. */
int policy_format_help(char *out, size_t cap);

/* Same settings (list order included); unused slots and padding are ignored. */
bool policy_equal(const struct policy *a, const struct policy *b);

/* Human-readable and JSON forms of the policy alone (the caller adds tunnel state and counters); policy_format.c. */
int policy_format_text(const struct policy *p, char *out, size_t cap);
int policy_format_json(const struct policy *p, char *out, size_t cap);

#endif
