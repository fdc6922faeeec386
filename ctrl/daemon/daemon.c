// SPDX-License-Identifier: MIT
/*
 * One interface from start to stop. The order matters for "nothing is
 * created on bad input": the conf is parsed and its names resolved before
 * any device exists; teardown runs in reverse. In conf mode the network is
 * set up as wg-quick would (MTU, addresses, link, routes, Table=auto policy
 * rules for full tunnels), through rtnetlink.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apply.h"
#include "conf.h"
#include "ctl.h"
#include "device.h"
#include "gateway.h"
#include "log.h"
#include "rtnl.h"
#include "socket.h"
#include "tun.h"
#include "uapi_server.h"

#define DEFAULT_BUFFERS 4096
#define FULL_TUNNEL_TABLE 51820

struct daemon {
	const struct daemon_options *o;
	struct model_device *conf;
	struct wg_device dev;
	struct tun_device tun;
	struct uapi_server uapi;
	struct loop loop;
	struct rtnl rtnl, monitor;
	unsigned int ifindex;
	int signal_fd;
	/* What conf mode added outside the device, to remove at stop. */
	uint32_t rule_table[2]; /* per family index 0 = v4, 1 = v6; 0 = none */
	struct policy start_policy;
	struct gateway gw;
	bool gw_started;
	struct ctl_server ctl;
	int exit_code;
};

/* The start-up policy: the file first, then the flags in order. Checked before anything is created. */
static int load_policy(struct daemon *d)
{
	const struct daemon_options *o = d->o;
	char err[512] = "";
	size_t i;
	int ret;

	policy_init(&d->start_policy);
	if (o->policy_path) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = fopen(o->policy_path, "r");

		if (!f) {
			fprintf(stderr, "wgud: %s: %s\n", o->policy_path, strerror(errno));
			return -errno;
		}
		text = malloc(POLICY_MAX_LINE * POLICY_MAX_ENTRIES);
		if (text)
			len = fread(text, 1, POLICY_MAX_LINE * POLICY_MAX_ENTRIES, f);
		fclose(f);
		if (!text)
			return -ENOMEM;
		ret = policy_apply_file(&d->start_policy, o->policy_path, text, len, err, sizeof(err));
		free(text);
		if (ret) {
			fprintf(stderr, "wgud: %s\n", err);
			return ret;
		}
	}
	for (i = 0; i < o->n_policy_flags; i++) {
		const struct daemon_policy_flag *f = &o->policy_flags[i];

		ret = policy_apply_flag(&d->start_policy, f->flag, f->args, f->n_args, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "wgud: %s: %s\n", f->flag, err);
			return ret;
		}
	}
	return 0;
}

static void on_uapi_set(void *ctx)
{
	struct daemon *d = ctx;

	if (d->gw_started)
		gateway_refresh(&d->gw);
}

static int fam_index(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

static void report_kernel_module(void)
{
	struct stat st;
	bool present = stat("/sys/module/wireguard", &st) == 0;

	log_info("kernel WireGuard module %s; wgud runs its own data plane", present ? "present" : "not present");
}

/* Endpoint names in a conf are resolved once, at start, as wg(8) does. */
static int resolve_endpoints(struct model_device *m, const char *file)
{
	size_t i;

	for (i = 0; i < m->n_peers; i++) {
		struct model_peer *p = &m->peers[i];
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM }, *res = NULL;
		char port[8];
		int ret;

		if (!(p->flags & MODEL_PEER_HAS_ENDPOINT_HOST))
			continue;
		snprintf(port, sizeof(port), "%u", p->endpoint_port);
		ret = getaddrinfo(p->endpoint_host, port, &hints, &res);
		if (ret || !res) {
			fprintf(stderr, "wgud: %s:%u: cannot resolve endpoint '%s': %s\n", file, p->conf_line,
				p->endpoint_host, ret ? gai_strerror(ret) : "no address");
			return -EINVAL;
		}
		memset(&p->endpoint, 0, sizeof(p->endpoint));
		memcpy(&p->endpoint, res->ai_addr, res->ai_addrlen);
		p->flags |= MODEL_PEER_HAS_ENDPOINT;
		freeaddrinfo(res);
	}
	return 0;
}

static int load_conf(const char *path, struct model_device **out)
{
	struct conf_error err;
	bool world_readable = false;
	int ret = conf_read_file(path, out, &err, &world_readable);

	if (ret) {
		fprintf(stderr, "wgud: %s\n", err.message[0] ? err.message : strerror(-ret));
		return ret;
	}
	if (world_readable)
		log_warn("%s is readable by others (it holds a private key); chmod 600 it", path);
	ret = resolve_endpoints(*out, path);
	if (ret) {
		model_device_free(*out);
		*out = NULL;
	}
	return ret;
}

static void run_hooks(struct daemon *d, enum model_hook which, const char *name)
{
	size_t i;

	if (!d->conf)
		return;
	for (i = 0; i < d->conf->n_hooks[which]; i++) {
		const char *cmd = d->conf->hooks[which][i];
		char expanded[MODEL_MAX_HOOK_LEN * 2];
		size_t o = 0;
		int status;

		if (!d->o->run_hooks) {
			log_warn("skipping %s hook (hooks run only with --run-hooks)", name);
			continue;
		}
		/* %i is the interface name, as in wg-quick. */
		for (; *cmd && o + IFNAMSIZ + 1 < sizeof(expanded); cmd++) {
			if (cmd[0] == '%' && cmd[1] == 'i') {
				o += (size_t)snprintf(expanded + o, sizeof(expanded) - o, "%s", d->o->ifname);
				cmd++;
			} else {
				expanded[o++] = *cmd;
			}
		}
		expanded[o] = '\0';
		log_info("running %s hook", name);
		pid_t pid = fork();

		if (pid == 0) {
			sigset_t none;

			/* The hook gets the signal state of an ordinary command, not the daemon's. */
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			signal(SIGPIPE, SIG_DFL);
			execl("/bin/sh", "sh", "-c", expanded, (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			log_warn("%s hook failed", name);
	}
}

static bool has_default_route(const struct model_device *m, int family)
{
	size_t i, j;

	for (i = 0; i < m->n_peers; i++)
		for (j = 0; j < m->peers[i].n_allowedips; j++)
			if (m->peers[i].allowedips[j].family == family && m->peers[i].allowedips[j].cidr == 0)
				return true;
	return false;
}

/* wg-quick's Table=auto for 0.0.0.0/0 or ::/0: our UDP carries a fwmark that skips the tunnel's table. */
static int full_tunnel(struct daemon *d, int family)
{
	static const uint8_t any[16];
	uint32_t table = d->dev.fwmark ? d->dev.fwmark : FULL_TUNNEL_TABLE;
	bool in_use = true;
	int ret;

	/* Set up already (a reload): adding again would stack duplicate rules. */
	if (d->rule_table[fam_index(family)])
		return 0;
	if (!d->dev.fwmark) {
		for (; table < FULL_TUNNEL_TABLE + 1000; table++) {
			bool v4 = true, v6 = true;

			if (rtnl_table_in_use(&d->rtnl, AF_INET, table, &v4) ||
			    rtnl_table_in_use(&d->rtnl, AF_INET6, table, &v6))
				continue;
			in_use = v4 || v6;
			if (!in_use)
				break;
		}
		ret = socket_set_fwmark(&d->dev, table);
		if (ret)
			return ret;
	}
	ret = rtnl_route_add(&d->rtnl, family, any, 0, d->ifindex, table);
	if (ret && ret != -EEXIST)
		return ret;
	ret = rtnl_rule_add_not_fwmark(&d->rtnl, family, table, table, 0);
	if (ret && ret != -EEXIST)
		return ret;
	ret = rtnl_rule_add_suppress_main(&d->rtnl, family, 0);
	if (ret && ret != -EEXIST)
		return ret;
	d->rule_table[fam_index(family)] = table;
	if (family == AF_INET)
		(void)rtnl_sysctl_write("/proc/sys/net/ipv4/conf/all/src_valid_mark", "1");
	log_info("full tunnel for %s: fwmark and table %u", family == AF_INET ? "IPv4" : "IPv6", table);
	return 0;
}

static int add_routes(struct daemon *d, const struct model_device *m)
{
	uint32_t table = m->table == MODEL_TABLE_NUMBER ? m->table_id : 254;
	size_t i, j;
	int ret;

	if (m->table == MODEL_TABLE_OFF)
		return 0;
	for (i = 0; i < m->n_peers; i++) {
		for (j = 0; j < m->peers[i].n_allowedips; j++) {
			const struct cidr *c = &m->peers[i].allowedips[j];

			if (c->cidr == 0 && m->table == MODEL_TABLE_AUTO)
				continue; /* full_tunnel() handles the default route */
			ret = rtnl_route_add(&d->rtnl, c->family, c->addr, c->cidr, d->ifindex, table);
			if (ret && ret != -EEXIST) {
				log_error("route for a peer's allowed-ips: %s", strerror(-ret));
				return ret;
			}
		}
	}
	if (m->table == MODEL_TABLE_AUTO) {
		if (has_default_route(m, AF_INET) && (ret = full_tunnel(d, AF_INET)))
			return ret;
		if (has_default_route(m, AF_INET6) && (ret = full_tunnel(d, AF_INET6)))
			return ret;
	}
	return 0;
}

static int setup_network(struct daemon *d)
{
	const struct model_device *m = d->conf;
	size_t i;
	int ret;

	ret = rtnl_link_set_mtu(&d->rtnl, d->ifindex, d->dev.mtu);
	if (ret) {
		log_error("setting MTU %u: %s", d->dev.mtu, strerror(-ret));
		return ret;
	}
	if (!m)
		return 0;
	for (i = 0; i < m->n_addresses; i++) {
		ret = rtnl_addr_add(&d->rtnl, d->ifindex, m->addresses[i].family, m->addresses[i].addr,
				    m->addresses[i].cidr);
		if (ret && ret != -EEXIST) {
			log_error("adding an address: %s", strerror(-ret));
			return ret;
		}
	}
	ret = rtnl_link_set_up(&d->rtnl, d->ifindex, true);
	if (ret) {
		log_error("setting the link up: %s", strerror(-ret));
		return ret;
	}
	if (m->n_dns)
		log_warn("DNS= is not applied by wgud (no resolvconf integration); set resolvers yourself");
	return add_routes(d, m);
}

static void teardown_network(struct daemon *d)
{
	int i;

	for (i = 0; i < 2; i++) {
		int family = i ? AF_INET6 : AF_INET;
		uint32_t table = d->rule_table[i];

		int n, r1 = 0, r2 = 0;

		if (!table)
			continue;
		/* Rules added without a priority can stack; delete until none is left. */
		for (n = 0; n < 16 && !r1; n++)
			r1 = rtnl_rule_del_not_fwmark(&d->rtnl, family, table, table, 0);
		for (n = 0; n < 16 && !r2; n++)
			r2 = rtnl_rule_del_suppress_main(&d->rtnl, family, 0);
		if (r1 != -ENOENT || r2 != -ENOENT)
			log_warn("removing the policy rules for table %u failed; remove them with `ip rule`", table);
		d->rule_table[i] = 0;
	}
}

static void log_drops(const struct wg_device *dev)
{
	int i;

	for (i = 0; i < WG_DROP_COUNT; i++)
		if (dev->drops[i])
			log_info("dropped %llu packets: %s", (unsigned long long)dev->drops[i], device_drop_name(i));
}

static void reload(struct daemon *d)
{
	struct model_device *next = NULL;
	int ret;

	if (!d->o->conf_path) {
		log_info("SIGHUP ignored: no conf file (configure with wg)");
		return;
	}
	if (load_conf(d->o->conf_path, &next)) {
		log_error("reload refused; the running configuration stays");
		return;
	}
	/* Absent from the file means "as it is": keep the bound port and the full-tunnel fwmark. */
	if (!next->listen_port)
		next->flags &= ~MODEL_DEVICE_HAS_LISTEN_PORT;
	if (!next->fwmark)
		next->flags &= ~MODEL_DEVICE_HAS_FWMARK;
	ret = apply_model(&d->dev, &d->loop, next, APPLY_SYNC);
	if (!ret)
		ret = add_routes(d, next);
	/* The gateway reads the conf (DNS, full tunnel or not): it follows the new one. */
	model_device_free(d->conf);
	d->conf = next;
	d->gw.conf = next;
	if (d->gw_started)
		gateway_refresh(&d->gw);
	if (ret)
		log_error("reload applied in part: %s", strerror(-ret));
	else
		log_info("configuration reloaded");
}

static void on_signal(void *ctx, int fd)
{
	struct daemon *d = ctx;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
		} else {
			log_info("stopping on signal %u", si.ssi_signo);
			loop_stop(&d->loop);
		}
	}
}

static void on_link_event(void *ctx, int fd)
{
	struct daemon *d = ctx;
	bool gone = false;

	(void)fd;
	if (!rtnl_monitor_link_gone(&d->monitor, d->ifindex, &gone) && gone) {
		log_info("interface deleted; stopping");
		loop_stop(&d->loop);
	}
}

static int open_signals(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* An ignored signal is discarded before signalfd sees it; nohup and some shells pass SIGHUP ignored. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	d->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return d->signal_fd < 0 ? -errno : 0;
}

/*
 * Into the background, wireguard-go style, before anything is created (so
 * locked memory belongs to the process that keeps running). The parent
 * waits on a pipe and exits with the child's start-up result: 0 once the
 * interface is up, 1 if the child failed or died first.
 */
static int detach_begin(int *ready_fd)
{
	int fds[2];
	pid_t pid;
	char c = 1;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(fds[1]);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(c == 0 ? 0 : 1);
	}
	close(fds[0]);
	setsid();
	*ready_fd = fds[1];
	return 0;
}

/* The child is up: let the parent go and leave its terminal. */
static void detach_ready(int *ready_fd)
{
	char ok = 0;
	int null;

	if (*ready_fd < 0)
		return;
	if (write(*ready_fd, &ok, 1) != 1)
		log_warn("could not tell the starting process that the interface is up");
	close(*ready_fd);
	*ready_fd = -1;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
}

int daemon_run(const struct daemon_options *o)
{
	struct daemon d;
	const char *why = NULL;
	uint32_t mtu = WG_DEFAULT_MTU;
	int ret, ready_fd = -1;

	memset(&d, 0, sizeof(d));
	d.o = o;
	d.signal_fd = -1;
	d.tun.fd = -1;
	d.exit_code = 1;
	log_set_interface(o->ifname);
	log_set_verbose(o->verbose);

	/* Everything that can be refused for bad input is checked before anything is created. */
	if (o->conf_path) {
		if (load_conf(o->conf_path, &d.conf))
			return 1;
		if (d.conf->flags & MODEL_DEVICE_HAS_MTU)
			mtu = d.conf->mtu;
	}
	if (load_policy(&d)) {
		model_device_free(d.conf);
		return 1;
	}
	if (!o->foreground) {
		ret = detach_begin(&ready_fd);
		if (ret) {
			log_error("detaching: %s", strerror(-ret));
			goto out_conf;
		}
	}
	report_kernel_module();
	ret = open_signals(&d);
	if (ret)
		goto out_conf;
	ret = device_init(&d.dev, mtu, o->buffers ? o->buffers : DEFAULT_BUFFERS);
	if (ret) {
		log_error("setting up the device: %s", strerror(-ret));
		goto out_conf;
	}
	ret = uapi_server_open(&d.uapi, o->ifname, &d.dev);
	if (ret) {
		log_error("UAPI socket %s/%s.sock: %s%s", UAPI_SOCKET_DIR, o->ifname, strerror(-ret),
			  ret == -EADDRINUSE ? " (another process serves this interface)" : "");
		goto out_device;
	}
	ret = tun_open(&d.tun, o->ifname, false);
	if (ret) {
		log_error("creating TUN device: %s", strerror(-ret));
		goto out_uapi;
	}
	d.dev.tun_fd = d.tun.fd;
	ret = rtnl_open(&d.rtnl);
	if (!ret)
		ret = rtnl_monitor_open(&d.monitor);
	if (!ret)
		ret = rtnl_link_index(&d.rtnl, d.tun.name, &d.ifindex);
	if (ret) {
		log_error("rtnetlink: %s", strerror(-ret));
		goto out_tun;
	}
	/* The sockets exist from the start, on the conf's port or a free one, as wireguard-go's do. */
	ret = socket_bind(&d.dev, d.conf && (d.conf->flags & MODEL_DEVICE_HAS_LISTEN_PORT) ? d.conf->listen_port : 0);
	if (ret) {
		log_error("binding UDP port: %s", strerror(-ret));
		goto out_rtnl;
	}
	if (d.conf) {
		ret = apply_model(&d.dev, NULL, d.conf, APPLY_UAPI);
		if (ret) {
			log_error("applying %s: %s", o->conf_path, strerror(-ret));
			goto out_sockets;
		}
		run_hooks(&d, MODEL_HOOK_PRE_UP, "PreUp");
	}
	ret = setup_network(&d);
	if (ret)
		goto out_network;

	ret = loop_init(&d.loop, &d.dev, o->io, &why);
	if (ret) {
		log_error("event loop (%s): %s", o->io == LOOP_URING ? "io_uring" : "epoll", strerror(-ret));
		goto out_network;
	}
	if (why)
		log_warn("io_uring not used: %s; falling back to epoll with recvmmsg/sendmmsg", why);
	d.gw.ifname = o->ifname;
	d.gw.dev = &d.dev;
	d.gw.rtnl = &d.rtnl;
	d.gw.loop = &d.loop;
	d.gw.conf = d.conf;
	d.gw.no_firewall = o->no_firewall;
	ret = gateway_start(&d.gw, &d.start_policy);
	if (ret)
		goto out_loop;
	d.gw_started = true;
	ret = ctl_server_open(&d.ctl, CTL_SOCKET_DIR, o->ifname, o->ctl_gid);
	if (ret) {
		log_error("control socket %s/%s.ctl: %s", CTL_SOCKET_DIR, o->ifname, strerror(-ret));
		goto out_gateway;
	}
	d.uapi.after_set = on_uapi_set;
	d.uapi.after_set_ctx = &d;
	ret = uapi_server_start(&d.uapi, &d.loop);
	if (!ret)
		ret = ctl_server_start(&d.ctl, &d.loop, gateway_ctl, &d.gw);
	if (!ret)
		ret = loop_add_fd(&d.loop, d.signal_fd, on_signal, &d);
	if (!ret)
		ret = loop_add_fd(&d.loop, rtnl_monitor_fd(&d.monitor), on_link_event, &d);
	if (ret) {
		log_error("event loop: %s", strerror(-ret));
		goto out_ctl;
	}
	if (d.conf)
		run_hooks(&d, MODEL_HOOK_POST_UP, "PostUp");
	log_info("up: listening on UDP port %u, %s event loop, %zu peer%s", d.dev.listen_port,
		 loop_backend_name(&d.loop), d.dev.n_peers, d.dev.n_peers == 1 ? "" : "s");
	detach_ready(&ready_fd);

	ret = loop_run(&d.loop);
	if (ret)
		log_error("event loop stopped: %s", strerror(-ret));
	d.exit_code = ret ? 1 : 0;
	log_drops(&d.dev);
	if (d.conf)
		run_hooks(&d, MODEL_HOOK_PRE_DOWN, "PreDown");

out_ctl:
	ctl_server_close(&d.ctl);
out_gateway:
	uapi_server_close(&d.uapi);
	gateway_stop(&d.gw);
	d.gw_started = false;
out_loop:
	uapi_server_close(&d.uapi);
	loop_uninit(&d.loop);
out_network:
	teardown_network(&d);
out_sockets:
	socket_close(&d.dev);
out_rtnl:
	rtnl_close(&d.monitor);
	rtnl_close(&d.rtnl);
out_tun:
	tun_close(&d.tun);
	d.dev.tun_fd = -1;
out_uapi:
	uapi_server_close(&d.uapi);
out_device:
	if (d.conf && d.exit_code == 0)
		run_hooks(&d, MODEL_HOOK_POST_DOWN, "PostDown");
	device_uninit(&d.dev);
out_conf:
	if (ready_fd >= 0)
		close(ready_fd); /* the waiting parent reads EOF and exits 1 */
	if (d.signal_fd >= 0)
		close(d.signal_fd);
	model_device_free(d.conf);
	return d.exit_code;
}
