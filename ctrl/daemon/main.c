// SPDX-License-Identifier: MIT
/*
 * wgud's entry point: the command line, then daemon_run() for the two ways
 * to run an interface, or the key commands.
 *   wgud --conf wg0.conf [--interface NAME]   foreground, from a wg-quick file
 *   wgud [-f] wg0                             wireguard-go style, for wg-quick
 *   wgud run --conf wg0.conf -- COMMAND       COMMAND in a namespace that has only the tunnel
 *   wgud ctl wg0 WORDS...                     the control socket's client
 *   wgud unlock wg0                           remove what a stopped wgud left
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <sodium.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "daemon.h"
#include "failover.h"
#include "keys.h"
#include "noise.h"
#include "privdrop.h"
#include "publish.h"
#include "rundir.h"
#include "tun.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: wgud --conf FILE [--interface NAME] [options]\n"
		"       wgud [-f] [options] IFACE\n"
		"       wgud run --conf FILE [options] -- COMMAND [ARGS...]\n"
		"       wgud ctl IFACE COMMAND... | unlock IFACE\n"
		"       wgud genkey | pubkey | genpsk | --version | --help\n"
		"\n"
		"  --conf FILE         run in the foreground configured from a wg-quick file\n"
		"                      (interface named after the file unless --interface)\n"
		"  IFACE               create IFACE and its UAPI socket for wg(8), like wireguard-go;\n"
		"                      detaches unless -f or WG_PROCESS_FOREGROUND=1\n"
		"  -f, --foreground    stay in the foreground\n"
		"  --wait-up SECONDS   with --conf: start-up ends with the first completed handshake (then\n"
		"                      READY=1 to NOTIFY_SOCKET); without NOTIFY_SOCKET or -f wgud detaches\n"
		"                      and the starter exits 0 then, or 1 after SECONDS with the reason, the\n"
		"                      daemon going on trying with its kill switch in force\n"
		"  run ... -- COMMAND  run COMMAND in new namespaces (a user namespace too when not root) that\n"
		"                      have only the tunnel and the conf's DNS; exit with COMMAND's status\n"
		"  --netns NAME|PATH   the device, its addresses, routes, DNS and kill switch in that network\n"
		"                      namespace (ip netns add NAME, or /proc/PID/ns/net); the UDP stays here\n"
		"  --publish [ADDR:]HOSTPORT:PORT[/tcp|udp]  with --netns or run: HOSTPORT here reaches PORT in the\n"
		"                      namespace (over a veth pair wgud makes and removes)\n"
		"  --tun-fd N          serve the TUN device already open on descriptor N (no privilege needed)\n"
		"  --user NAME         (as root) drop to NAME after setup, keeping only CAP_NET_ADMIN\n"
		"  -v, --verbose       more messages\n"
		"  -q, --quiet         only warnings and errors\n"
		"  --io uring|epoll    force the event loop (default: io_uring, else epoll; env WGUD_IO)\n"
		"  --offload on|off    TUN TSO/USO and UDP GSO/GRO where the kernel has them (default on;\n"
		"                      env WGUD_OFFLOAD)\n"
		"  --threads N         crypto threads, the loop's included (default: one per core; 1: none;\n"
		"                      env WGUD_THREADS)\n"
		"  --run-hooks         run PreUp/PostUp/PreDown/PostDown from the conf\n"
		"  --failover          a peer's Endpoint may list several (a:51820, b:51820): move to the next\n"
		"                      when no handshake completes for --failover-after SECONDS (default 30)\n"
		"  --buffers N         packet buffers (default 4096, each 64 KiB of address space: room for\n"
		"                      any datagram; resident only where packets touched them)\n"
		"\n"
		"Gateway and kill switch (the same words as `wgud ctl`; lists take ';' or ','):\n"
		"  --kill-switch on|off|auto|lockdown  auto: lockdown with --forward-from, on when a peer's\n"
		"                                  AllowedIPs hold 0.0.0.0/0 or ::/0; lockdown: a blocking\n"
		"                                  table stays after wgud stops, until `wgud unlock IFACE`\n"
		"  --allow-lan CIDR[;CIDR...]      reach CIDR directly, not through the tunnel\n"
		"  --allow PROTO ADDR[:PORT]       one host or port directly (tcp, udp, icmp, any)\n"
		"  --forward-from CIDR[;CIDR...]   forward this subnet out through the tunnel, only through it\n"
		"  --masquerade                    NAT forwarded traffic to the tunnel address\n"
		"  --port-forward PROTO PORT [ADDR[:PORT]]   inbound on the tunnel to this host or ADDR\n"
		"  --open PROTO PORT[;PORT...]     accept connections through the tunnel to PORT (tcp, udp)\n"
		"  --dns ADDR[;ADDR...]            DNS only to ADDR, only through the tunnel (default: the conf's DNS)\n"
		"  --dns-forward                   DNS from forward-from subnets to this host goes to those resolvers\n"
		"  --policy FILE                   one command per line (read again on SIGHUP)\n"
		"  --no-firewall                   run without nftables (the data plane still never sends outside a session)\n"
		"  --ctl-group GROUP               let GROUP use the control socket\n"
		"  --metrics ADDR:PORT             serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                                  (in wgud's own namespace; `wgud ctl IFACE metrics` prints them)\n"
		"\n"
		"  wgud ctl IFACE COMMAND...       change or show the policy of a running wgud\n"
		"                                  (`wgud ctl IFACE help` lists every command)\n"
		"  wgud unlock IFACE               remove the table, rules and forwarding a stopped wgud left\n"
		"\n"
		"  genkey              print a new private key (base64)\n"
		"  pubkey              read a private key on stdin, print its public key\n"
		"  genpsk              print a new preshared key\n");
}

/* Reads one key line from stdin (at most 44 characters and a newline). */
static int read_key_line(uint8_t key[KEY_LEN])
{
	char line[KEY_BASE64_LEN + 3];
	size_t len;
	int ret = -EINVAL;

	if (!fgets(line, sizeof(line), stdin))
		goto out;
	len = strcspn(line, "\r\n");
	if (line[len] == '\0' && !feof(stdin))
		goto out; /* longer than a key */
	ret = key_from_base64(key, line, len);
out:
	sodium_memzero(line, sizeof(line));
	return ret;
}

static int cmd_pubkey(void)
{
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	char text[KEY_BASE64_LEN + 1];
	int ret = 1;

	if (read_key_line(priv)) {
		fprintf(stderr, "wgud pubkey: stdin does not hold a base64 private key (44 characters)\n");
		goto out;
	}
	if (noise_public_from_private(pub, priv)) {
		fprintf(stderr, "wgud pubkey: that private key has no usable public key\n");
		goto out;
	}
	key_to_base64(text, pub);
	puts(text);
	ret = 0;
out:
	sodium_memzero(priv, sizeof(priv));
	return ret;
}

static int cmd_genkey(bool clamp)
{
	uint8_t key[KEY_LEN];
	char text[KEY_BASE64_LEN + 1];

	if (clamp)
		key_generate_private(key);
	else
		randombytes_buf(key, sizeof(key));
	key_to_base64(text, key);
	puts(text);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(text, sizeof(text));
	return 0;
}

static int parse_threads(const char *s, unsigned int *out)
{
	char *end;
	unsigned long n = strtoul(s, &end, 10);

	if (*end || !*s || n < 1 || n > WORKERS_MAX)
		return -1;
	*out = (unsigned int)n;
	return 0;
}

static int parse_failover_after(const char *s, unsigned int *out)
{
	char *end;
	unsigned long n;

	if (*s < '0' || *s > '9')
		return -1;
	n = strtoul(s, &end, 10);
	if (*end || n < FAILOVER_MIN_AFTER || n > FAILOVER_MAX_AFTER)
		return -1;
	*out = (unsigned int)n;
	return 0;
}

/* "on" or "off" into *off. */
static int parse_on_off(const char *s, bool *off)
{
	if (!strcmp(s, "on"))
		*off = false;
	else if (!strcmp(s, "off"))
		*off = true;
	else
		return -1;
	return 0;
}

static int parse_fd(const char *s, int *fd)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (!*s || *end || n < 0 || n > 1 << 20)
		return -1;
	*fd = (int)n;
	return 0;
}

static int parse_io(const char *s, enum loop_backend *out)
{
	if (!strcmp(s, "uring") || !strcmp(s, "io_uring"))
		*out = LOOP_URING;
	else if (!strcmp(s, "epoll"))
		*out = LOOP_EPOLL;
	else if (!strcmp(s, "auto"))
		*out = LOOP_AUTO;
	else
		return -EINVAL;
	return 0;
}

/* Take the policy flags out of argv (they take several arguments, which getopt cannot), keeping the rest in order. */
static int extract_policy_flags(int *argc, char **argv, struct daemon_options *o)
{
	int i, out = 1;

	for (i = 1; i < *argc; i++) {
		struct daemon_policy_flag *f;
		size_t min, max, n = 0;

		if (policy_flag_arity(argv[i], &min, &max)) {
			argv[out++] = argv[i];
			continue;
		}
		if (o->n_policy_flags == DAEMON_MAX_POLICY_FLAGS) {
			fprintf(stderr, "wgud: too many policy flags (at most %d)\n", DAEMON_MAX_POLICY_FLAGS);
			return -E2BIG;
		}
		f = &o->policy_flags[o->n_policy_flags++];
		f->flag = argv[i];
		/* `--port-forward "tcp 8080 172.20.0.5:80"`, as compose files and env variables write it */
		if (max > 1 && i + 1 < *argc && strchr(argv[i + 1], ' ') && argv[i + 1][0] != '-') {
			char *word, *save = NULL;

			for (word = strtok_r(argv[++i], " ", &save); word && n < max; word = strtok_r(NULL, " ", &save))
				f->args[n++] = word;
			if (word || n < min) {
				fprintf(stderr, "wgud: %s takes %zu%s%.0zu words: %s\n", f->flag, min, min < max ? " to " : "",
					min < max ? max : 0, policy_flag_usage(f->flag));
				return -EINVAL;
			}
			f->n_args = n;
			continue;
		}
		while (n < max && i + 1 < *argc && (n < min || argv[i + 1][0] != '-')) {
			/* An optional argument is taken only when it cannot be the interface name. */
			if (n >= min && !strpbrk(argv[i + 1], ".:") && strcmp(argv[i + 1], "on") &&
			    strcmp(argv[i + 1], "off"))
				break;
			f->args[n++] = argv[++i];
		}
		if (n < min) {
			fprintf(stderr, "wgud: %s needs %zu argument%s: %s\n", f->flag, min, min == 1 ? "" : "s",
				policy_flag_usage(f->flag));
			return -EINVAL;
		}
		f->n_args = n;
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

#define WAIT_UP_MAX 3600

static int parse_wait_up(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < 1 || v > WAIT_UP_MAX)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int run_daemon(int argc, char **argv, char *const *run_argv)
{
	static const struct option longopts[] = {
		{ "conf", required_argument, NULL, 'c' },
		{ "interface", required_argument, NULL, 'i' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "io", required_argument, NULL, 'o' },
		{ "offload", required_argument, NULL, 'O' },
		{ "threads", required_argument, NULL, 'T' },
		{ "run-hooks", no_argument, NULL, 'H' },
		{ "buffers", required_argument, NULL, 'b' },
		{ "policy", required_argument, NULL, 'P' },
		{ "no-firewall", no_argument, NULL, 'N' },
		{ "ctl-group", required_argument, NULL, 'G' },
		{ "netns", required_argument, NULL, 'n' },
		{ "publish", required_argument, NULL, 'p' },
		{ "tun-fd", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "wait-up", required_argument, NULL, 'W' },
		{ "failover", no_argument, NULL, 'F' },
		{ "failover-after", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	static struct daemon_options o;
	const char *ifname = NULL, *env;
	bool told_foreground = false;
	int opt;

	memset(&o, 0, sizeof(o));
	o.io = LOOP_AUTO;
	o.ctl_gid = -1;
	o.tun_fd = -1;
	o.run_argv = run_argv;
	o.failover_after = FAILOVER_DEFAULT_AFTER;
	if (extract_policy_flags(&argc, argv, &o))
		return 2;

	env = getenv("WG_PROCESS_FOREGROUND");
	o.foreground = env && !strcmp(env, "1");
	env = getenv("WGUD_IO");
	if (env && *env && parse_io(env, &o.io)) {
		fprintf(stderr, "wgud: WGUD_IO must be uring, epoll or auto, not '%s'\n", env);
		return 2;
	}
	env = getenv("WGUD_THREADS");
	if (env && *env && parse_threads(env, &o.threads)) {
		fprintf(stderr, "wgud: WGUD_THREADS must be a number from 1 to %d, not '%s'\n", WORKERS_MAX, env);
		return 2;
	}
	env = getenv("WGUD_OFFLOAD");
	if (env && *env && parse_on_off(env, &o.no_offload)) {
		fprintf(stderr, "wgud: WGUD_OFFLOAD must be on or off, not '%s'\n", env);
		return 2;
	}
	while ((opt = getopt_long(argc, argv, "fvq", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o.conf_path = optarg;
			break;
		case 'i':
			ifname = optarg;
			break;
		case 'f':
			o.foreground = told_foreground = true;
			break;
		case 'W':
			if (parse_wait_up(optarg, &o.wait_up)) {
				fprintf(stderr, "wgud: --wait-up takes seconds, 1 to %u, not '%s'\n", WAIT_UP_MAX, optarg);
				return 2;
			}
			break;
		case 'v':
			o.verbose++;
			break;
		case 'q':
			o.verbose = -1;
			break;
		case 'o':
			if (parse_io(optarg, &o.io)) {
				fprintf(stderr, "wgud: --io takes uring, epoll or auto, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'O':
			if (parse_on_off(optarg, &o.no_offload)) {
				fprintf(stderr, "wgud: --offload takes on or off, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'H':
			o.run_hooks = true;
			break;
		case 'F':
			o.failover = true;
			break;
		case 'A':
			if (parse_failover_after(optarg, &o.failover_after)) {
				fprintf(stderr, "wgud: --failover-after takes seconds from %d to %d (below the 90 s "
					"a handshake is tried for), not '%s'\n", FAILOVER_MIN_AFTER, FAILOVER_MAX_AFTER, optarg);
				return 2;
			}
			break;
		case 'P':
			o.policy_path = optarg;
			break;
		case 'N':
			o.no_firewall = true;
			break;
		case 'G': {
			struct group *g = getgrnam(optarg);

			if (!g) {
				fprintf(stderr, "wgud: --ctl-group: no group '%s'\n", optarg);
				return 2;
			}
			o.ctl_gid = (int)g->gr_gid;
			break;
		}
		case 'n':
			o.netns = optarg;
			break;
		case 'M':
			if (model_parse_endpoint(&o.metrics_addr, optarg, strlen(optarg)) ||
			    !o.metrics_addr.sin.sin_port) {
				fprintf(stderr, "wgud: --metrics takes ADDR:PORT with a numeric address and a port "
						"(127.0.0.1:9586, [::1]:9586, 0.0.0.0:9586), not '%s'\n", optarg);
				return 2;
			}
			o.has_metrics = true;
			break;
		case 'p':
			if (o.n_publish == DAEMON_MAX_PUBLISH) {
				fprintf(stderr, "wgud: at most %d --publish\n", DAEMON_MAX_PUBLISH);
				return 2;
			}
			switch (publish_parse(optarg, &o.publish[o.n_publish])) {
			case 0:
				break;
			case -EAFNOSUPPORT:
				fprintf(stderr, "wgud: --publish %s: only IPv4 host addresses (the veth carries IPv4)\n", optarg);
				return 2;
			default:
				fprintf(stderr, "wgud: --publish takes [ADDR:]HOSTPORT:PORT[/tcp|udp] (ADDR IPv4, ports 1-65535), "
					"not '%s'\n", optarg);
				return 2;
			}
			o.n_publish++;
			break;
		case 't':
			if (parse_fd(optarg, &o.tun_fd) || fcntl(o.tun_fd, F_GETFD) < 0) {
				fprintf(stderr, "wgud: --tun-fd takes an open descriptor number, and '%s' is not one\n", optarg);
				return 2;
			}
			if (o.tun_fd <= STDERR_FILENO) {
				/* detaching puts /dev/null on 0 to 2 */
				fprintf(stderr, "wgud: --tun-fd %d is a standard stream; pass the device on 3 or above\n", o.tun_fd);
				return 2;
			}
			break;
		case 'u': {
			char err[256];

			if (privdrop_lookup(&o.user, optarg, err, sizeof(err))) {
				fprintf(stderr, "wgud: %s\n", err);
				return 2;
			}
			break;
		}
		case 'T':
			if (parse_threads(optarg, &o.threads)) {
				fprintf(stderr, "wgud: --threads takes a number from 1 to %d\n", WORKERS_MAX);
				return 2;
			}
			break;
		case 'b': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end || n < 256 || n > 65536) {
				fprintf(stderr, "wgud: --buffers takes a number from 256 to 65536\n");
				return 2;
			}
			o.buffers = (unsigned int)n;
			break;
		}
		default:
			/* getopt said which option; the rest of the help is a command away */
			fprintf(stderr, "wgud: see `wgud --help`\n");
			return 2;
		}
	}
	if (optind < argc) {
		if (optind + 1 != argc || ifname || o.conf_path) {
			fprintf(stderr, "wgud: unexpected argument '%s'%s; see `wgud --help`\n", argv[optind],
				o.conf_path ? " (with --conf the interface is named after the file, or --interface NAME)"
					    : "");
			return 2;
		}
		ifname = argv[optind];
	}
	if (run_argv && !o.conf_path) {
		fprintf(stderr, "wgud run: give --conf FILE (the tunnel COMMAND gets)\n");
		return 2;
	}
	if (run_argv && (o.netns || o.tun_fd >= 0)) {
		fprintf(stderr, "wgud run makes its own namespace and device: --netns and --tun-fd are for --conf\n");
		return 2;
	}
	for (size_t i = 0; i < o.n_publish; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct daemon_publish *a = &o.publish[i], *b = &o.publish[j];

			if (a->proto == b->proto && a->host_port == b->host_port &&
			    (!a->family || !b->family || !memcmp(a->addr, b->addr, 4))) {
				fprintf(stderr, "wgud: --publish %u/%s is given twice: one host port, one place inside\n",
					a->host_port, a->proto == IPPROTO_UDP ? "udp" : "tcp");
				return 2;
			}
		}
	}
	if (o.n_publish && run_argv && geteuid()) {
		fprintf(stderr, "wgud run: --publish makes a veth pair into this namespace, which needs root here\n");
		return 2;
	}
	if (o.n_publish && !o.netns && !run_argv) {
		fprintf(stderr, "wgud: --publish maps ports into a namespace: use it with --netns or `wgud run`\n");
		return 2;
	}
	if (o.netns && o.tun_fd >= 0) {
		fprintf(stderr, "wgud: --tun-fd serves a device that exists already, so it cannot also be made in --netns\n");
		return 2;
	}
	if (o.wait_up && (!o.conf_path || run_argv)) {
		fprintf(stderr, "wgud: --wait-up waits for a handshake with the conf's peers: use it with --conf\n");
		return 2;
	}
	if (o.conf_path) {
		/*
		 * The conf mode is for systemd and containers: in the foreground. Only
		 * --wait-up outside a service manager (no NOTIFY_SOCKET, no -f) detaches,
		 * so that the starter can return once the tunnel is up.
		 */
		o.foreground = !o.wait_up || told_foreground || getenv("NOTIFY_SOCKET");
		if (!ifname && conf_interface_name(o.ifname, o.conf_path)) {
			fprintf(stderr,
				"wgud: cannot name an interface after '%s' (the name before .conf must be 1 to 15 of "
				"A-Z a-z 0-9 _ = + . -); give --interface NAME\n",
				o.conf_path);
			return 2;
		}
	} else if (!ifname) {
		usage(stderr);
		return 2;
	}
	if (o.tun_fd >= 0) {
		/* The device exists: it names the interface (and a name given must be its name). */
		struct tun_device t;
		char err[160];

		if (tun_adopt(&t, o.tun_fd, err, sizeof(err))) {
			fprintf(stderr, "wgud: --tun-fd: %s\n", err);
			return 2;
		}
		if (ifname && strcmp(ifname, t.name)) {
			fprintf(stderr, "wgud: --tun-fd %d is device %s, not %s\n", o.tun_fd, t.name, ifname);
			return 2;
		}
		snprintf(o.ifname, sizeof(o.ifname), "%s", t.name);
	}
	if (ifname) {
		if (!tun_ifname_valid(ifname)) {
			fprintf(stderr, "wgud: '%s' is not a valid interface name (1 to 15 of A-Z a-z 0-9 _ = + . -)\n",
				ifname);
			return 2;
		}
		snprintf(o.ifname, sizeof(o.ifname), "%s", ifname);
	}
	return daemon_run(&o);
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "wgud: libsodium failed to initialise\n");
		return 1;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("wgud %s\n", WGUD_VERSION);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "genkey")) {
		if (isatty(STDOUT_FILENO))
			fprintf(stderr, "wgud: writing a private key to a terminal\n");
		return cmd_genkey(true);
	}
	if (argc == 2 && !strcmp(argv[1], "genpsk"))
		return cmd_genkey(false);
	if (argc == 2 && !strcmp(argv[1], "pubkey"))
		return cmd_pubkey();
	if (argc >= 2 && !strcmp(argv[1], "unlock")) {
		if (argc != 3 || !tun_ifname_valid(argv[2])) {
			fprintf(stderr, "usage: wgud unlock IFACE\n");
			return 2;
		}
		return daemon_unlock(argv[2]);
	}
	if (argc >= 2 && !strcmp(argv[1], "ctl")) {
		if (argc < 4) {
			fprintf(stderr, "usage: wgud ctl IFACE COMMAND...\n");
			return 2;
		}
		char uapi_dir[80], ctl_dir[80], path[160];
		struct stat st;

		rundir_paths(uapi_dir, ctl_dir);
		/* A wgud started as root keeps its socket there, whoever it runs as since (--user). */
		snprintf(path, sizeof(path), "%s/%s.ctl", ctl_dir, argv[2]);
		if (strcmp(ctl_dir, CTL_SOCKET_DIR) && lstat(path, &st) < 0)
			snprintf(ctl_dir, sizeof(ctl_dir), "%s", CTL_SOCKET_DIR);
		return ctl_client_main(ctl_dir, argv[2], argc - 3, argv + 3);
	}
	if (argc >= 2 && !strcmp(argv[1], "run")) {
		int i;

		/* `wgud run [options] -- COMMAND...`: the options end at "--", the command follows */
		for (i = 2; i < argc && strcmp(argv[i], "--"); i++)
			;
		if (i + 1 >= argc) {
			fprintf(stderr, "usage: wgud run --conf FILE [options] -- COMMAND [ARGS...]\n");
			return 2;
		}
		argv[i] = NULL;
		argv[1] = argv[0];
		return run_daemon(i - 1, argv + 1, argv + i + 1);
	}
	return run_daemon(argc, argv, NULL);
}
