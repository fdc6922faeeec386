// SPDX-License-Identifier: MIT
/*
 * One interface from start to stop. The order matters twice over.
 *
 * Nothing is created on bad input: the policy and the conf are read, and
 * the conf's names resolved, before any device exists.
 *
 * A failed start never weakens the wall: the gateway (nftables) is started
 * last among the steps that can fail, after the control socket, and any
 * failure hands the wall to gateway_abort(), which in lockdown installs the
 * blocking table and otherwise leaves the table it finds as it is. Only a
 * clean stop removes a table, and not in lockdown. Teardown runs in reverse.
 *
 * The state all of it works on is struct daemon (daemon_internal.h); what
 * the gateway is told is in facts.c, the files and the SIGHUP reload in
 * reload.c.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "confine.h"
#include "ctl.h"
#include "daemon_internal.h"
#include "device.h"
#include "dns.h"
#include "gateway.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "netns.h"
#include "netsetup.h"
#include "nft.h"
#include "notify.h"
#include "privdrop.h"
#include "publish.h"
#include "resolve.h"
#include "rundir.h"
#include "rtnl.h"
#include "show.h"
#include "socket.h"
#include "tun.h"
#include "uapi_server.h"
#include "unixsock.h"

#define DEFAULT_BUFFERS 4096
#define BUSY_WAIT_MS 2000          /* for what a killed wgud still holds (measured: 20-40 ms) */
#define BUSY_STEP_MS 20
#define COMMAND_GRACE_MS 3000      /* `wgud run`: how long COMMAND has after SIGTERM before SIGKILL */

/* ---- the control socket's commands ---- */

/* The kill switch as the gateway and the kernel have it now, for health and metrics. */
static void daemon_wall(struct daemon *d, struct health_wall *w)
{
	w->mode = d->gw.mode;
	w->table_installed = d->gw.table_installed;
	w->table_present = d->gw.table_installed ? nft_table_exists(d->gw.ifname) : 0;
}

static int64_t tun_queue_full(struct daemon *d)
{
	uint64_t n;

	if (rtnl_link_tx_dropped(&d->rtnl, d->ifindex, &n))
		return -1;
	return n > INT64_MAX ? INT64_MAX : (int64_t)n;
}

/* `metrics` and GET /metrics: the same text. */
static int format_metrics(void *ctx, struct ctl_buf *out)
{
	struct daemon *d = ctx;
	struct health_wall wall;
	struct metrics_view v = { .ifname = d->o->ifname, .dev = &d->dev, .wall = &wall,
				  .tun_queue_full = tun_queue_full(d), .now_ns = device_now_ns() };

	daemon_wall(d, &wall);
	return metrics_format(out, &v);
}

static int on_ctl(void *ctx, char *const words[], size_t n_words, struct ctl_buf *out, char *err, size_t err_len)
{
	struct daemon *d = ctx;
	int ret;

	if (!strcmp(words[0], "show")) {
		if (n_words > 2 || (n_words == 2 && strcmp(words[1], "--json"))) {
			snprintf(err, err_len, "usage: show [--json]");
			return -EINVAL;
		}
		struct show_kernel_drops kernel = { .tun_queue_full = tun_queue_full(d) };
		struct health_wall wall;

		daemon_wall(d, &wall);
		struct show_env env = { .netns = d->o->netns, .run = d->o->run_argv, .manages_network = !d->net.no_admin,
					.table_present = wall.table_present };

		ret = show_format(out, &d->gw, &d->dev, &d->loop, &kernel, &env, n_words == 2);
	} else if (!strcmp(words[0], "health")) {
		struct health_wall wall;
		char summary[240];

		if (n_words > 1) {
			snprintf(err, err_len, "usage: health");
			return -EINVAL;
		}
		daemon_wall(d, &wall);
		if (health_judge(&d->dev, &wall, d->o->ifname, device_now_ns(), summary, sizeof(summary))) {
			snprintf(err, err_len, "unhealthy: %s", summary);
			return -EAGAIN;
		}
		ret = ctl_buf_printf(out, "%s", summary);
	} else if (!strcmp(words[0], "metrics")) {
		if (n_words > 1) {
			snprintf(err, err_len, "usage: metrics");
			return -EINVAL;
		}
		ret = format_metrics(d, out);
	} else if (!strcmp(words[0], "help")) {
		if (n_words > 1) {
			snprintf(err, err_len, "usage: help");
			return -EINVAL;
		}
		ret = show_help(out);
	} else {
		return gateway_command(&d->gw, words, n_words, err, err_len);
	}
	if (ret)
		snprintf(err, err_len, "%s: %s", words[0], strerror(-ret));
	return ret;
}

/* ---- running ---- */

static void log_drops(struct daemon *d)
{
	uint64_t n;
	int i;

	for (i = 0; i < WG_DROP_COUNT; i++)
		if (d->dev.drops[i])
			log_info("dropped %llu packets: %s", (unsigned long long)d->dev.drops[i], device_drop_name(i));
	if (!rtnl_link_tx_dropped(&d->rtnl, d->ifindex, &n) && n)
		log_info("the kernel dropped %llu packets: tun_queue_full (the TUN device's queue to wgud was full)",
			 (unsigned long long)n);
}

static void on_signal(void *ctx, int fd)
{
	struct daemon *d = ctx;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			daemon_reload(d);
		} else if (si.ssi_signo == SIGCHLD) {
			/* Only COMMAND's end is news here: hooks are waited for where they run. */
			if (d->child > 0 && waitpid(d->child, &d->child_status, WNOHANG) == d->child) {
				d->child = 0;
				d->child_exited = true;
				log_info("the command exited (status %d); stopping", confine_exit_code(d->child_status));
				loop_stop(&d->loop);
			}
		} else if (d->child > 0 && si.ssi_code == SI_KERNEL) {
			/* a terminal's ^C or ^\: the command's process group got it too; its end ends wgud */
			log_info("signal %u from the terminal: waiting for the command to end", si.ssi_signo);
		} else if (d->child > 0) {
			/* `wgud run`: the command ends first, and wgud with it (a second signal kills it) */
			if (d->child_signalled)
				log_info("signal %u again: killing the command", si.ssi_signo);
			else
				log_info("passing signal %u on to the command (another one kills it)", si.ssi_signo);
			(void)kill(d->child, d->child_signalled ? SIGKILL : (int)si.ssi_signo);
			d->child_signalled = true;
		} else {
			log_info("stopping on signal %u", si.ssi_signo);
			loop_stop(&d->loop);
		}
	}
}

/*
 * The link's MTU, changed by `ip link set` (wg-quick raises it on a jumbo
 * uplink after start): padding follows it. One the buffers cannot hold is
 * set back, with a word on why, rather than left to truncate every packet.
 */
static void follow_mtu(struct daemon *d, uint32_t told)
{
	uint32_t mtu = told;
	int ret;

	if (!mtu && rtnl_link_info(&d->rtnl, d->ifindex, &mtu, NULL))
		return;
	if (!mtu || mtu == d->dev.mtu)
		return;
	ret = device_set_mtu(&d->dev, mtu);
	if (!ret) {
		log_info("MTU %u (from the link)", mtu);
		return;
	}
	log_error("MTU %u on %s is refused: wgud's packet buffers hold at most MTU %u (start wgud with that MTU in "
		  "the config to size them for it); setting it back to %u",
		  mtu, d->o->ifname, d->dev.max_mtu, d->dev.mtu);
	ret = rtnl_link_set_mtu(&d->rtnl, d->ifindex, d->dev.mtu);
	if (ret)
		log_error("setting MTU %u back on %s: %s", d->dev.mtu, d->o->ifname, strerror(-ret));
}

static void on_link_event(void *ctx, int fd)
{
	struct daemon *d = ctx;
	struct rtnl_link_events ev;

	(void)fd;
	if (rtnl_monitor_read(&d->monitor, d->ifindex, &ev))
		return;
	if (ev.gone && !d->moved && tun_attached(&d->tun)) {
		/* `ip link set IFACE netns NS`: the device works on; its addresses, routes and wall are the mover's */
		log_warn("%s was moved to another network namespace: it keeps working, but wgud no longer manages its "
			 "addresses, routes, MTU or kill switch (start wgud with --netns NS to have them there)",
			 d->o->ifname);
		d->moved = true;
		loop_del_fd(&d->loop, rtnl_monitor_fd(&d->monitor));
		return;
	}
	if (ev.gone) {
		log_info("interface deleted; stopping");
		loop_stop(&d->loop);
		return;
	}
	if (ev.link)
		follow_mtu(d, ev.mtu);
	if (ev.addresses) {
		/* wg-quick puts the addresses on after start: they must be silent elsewhere too */
		daemon_refresh_gateway(d);
	}
}

static int open_signals(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (d->o->run_argv)
		sigaddset(&set, SIGCHLD);
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

/* The child is up (or, --wait-up, gave up waiting: failed): let the parent go with that, and leave its terminal. */
static void detach_ready(int *ready_fd, bool failed)
{
	char ok = failed ? 1 : 0;
	int null;

	if (*ready_fd < 0)
		return;
	if (write(*ready_fd, &ok, 1) != 1)
		log_warn("could not tell the starting process that the interface is up");
	close(*ready_fd);
	*ready_fd = -1;
	log_use_syslog(); /* stderr is about to be /dev/null */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
}

/* ---- --wait-up: start-up ends with the first handshake ---- */

/* NOTIFY_SOCKET (systemd's Type=notify): READY=1 once up, STOPPING=1 as the stop begins. */
static void tell_systemd(const char *state)
{
	int ret = notify_send(state);

	if (ret)
		log_warn("telling the service manager %s over NOTIFY_SOCKET: %s", state, strerror(-ret));
}

static void wait_up_end(struct daemon *d, bool failed)
{
	if (d->wait_up_fd >= 0) {
		loop_del_fd(&d->loop, d->wait_up_fd);
		close(d->wait_up_fd);
		d->wait_up_fd = -1;
	}
	d->diag.first_up = NULL;
	if (!failed)
		tell_systemd("READY=1");
	detach_ready(&d->ready_fd, failed);
}

static void on_first_up(void *ctx)
{
	struct daemon *d = ctx;

	log_info("up: the first handshake completed within --wait-up %u", d->o->wait_up);
	wait_up_end(d, false);
}

static void on_wait_up_timeout(void *ctx, int fd)
{
	struct daemon *d = ctx;
	uint64_t n;

	(void)fd;
	if (read(d->wait_up_fd, &n, sizeof(n)) != sizeof(n))
		return;
	log_error("no handshake within %u s: %s; wgud keeps running and keeps trying, its kill switch in force "
		  "(stop it with SIGTERM or `ip link del %s`)", d->o->wait_up,
		  d->diag.last_problem[0] ? d->diag.last_problem : "no peer answered (is an Endpoint set?)", d->o->ifname);
	wait_up_end(d, true);
}

/* The deadline, and the handshake that beats it: 0 once both are armed. */
static int wait_up_begin(struct daemon *d)
{
	struct itimerspec when = { .it_value.tv_sec = d->o->wait_up };
	int ret;

	d->wait_up_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->wait_up_fd < 0)
		return -errno;
	if (timerfd_settime(d->wait_up_fd, 0, &when, NULL) < 0)
		return -errno;
	ret = loop_add_fd(&d->loop, d->wait_up_fd, on_wait_up_timeout, d);
	if (ret)
		return ret;
	d->diag.first_up = on_first_up;
	d->diag.first_up_ctx = d;
	log_info("waiting up to %u s for the first handshake (--wait-up)", d->o->wait_up);
	return 0;
}

/* ---- start and stop ---- */

static void report_kernel_module(void)
{
	struct stat st;
	bool present = stat("/sys/module/wireguard", &st) == 0;

	log_info("kernel WireGuard module %s; wgud runs its own data plane", present ? "present" : "not present");
}

static const char *tun_permission_hint(void)
{
	return geteuid() ? " (/dev/net/tun must be open to this user: mode 0666, as udev makes it; or let a privileged "
			   "helper open the device and pass it with --tun-fd)"
			 : "";
}

/* CAP_NET_ADMIN in effect: without it (--tun-fd as anybody) nothing around the device can be changed. */
static bool have_net_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, c) < 0)
		return false;
	return c[CAP_TO_INDEX(CAP_NET_ADMIN)].effective & CAP_TO_MASK(CAP_NET_ADMIN);
}

static int open_tun(struct daemon *d)
{
	return tun_open(&d->tun, d->o->ifname, d->dev.offload);
}

/* --tun-fd: a device someone else opened; its name is the interface's from now on. */
static int adopt_tun(struct daemon *d)
{
	char err[160];
	int ret = tun_adopt(&d->tun, d->o->tun_fd, err, sizeof(err));

	if (ret) {
		log_error("--tun-fd: %s", err);
		return ret;
	}
	if (!d->tun.vnet_hdr && d->dev.offload)
		log_info("the TUN descriptor was opened without IFF_VNET_HDR: no TUN offloads");
	d->dev.offload = d->dev.offload && d->tun.vnet_hdr;
	return 0;
}

/* Out of home, once the UDP is bound there: into --netns, or into namespaces of our own for `wgud run`. */
static int leave_home(struct daemon *d)
{
	char err[256];
	int ret;

	if (d->o->run_argv) {
		ret = confine_unshare(err, sizeof(err));
		if (ret) {
			log_error("wgud run: %s", err);
			return ret;
		}
		return 0;
	}
	ret = netns_enter(d->netns_fd);
	if (ret)
		log_error("entering network namespace %s: %s%s", d->o->netns, strerror(-ret),
			  ret == -EPERM ? " (setns needs CAP_SYS_ADMIN)" : "");
	return ret;
}

static int bind_sockets(struct daemon *d)
{
	if (d->dev.sock4 >= 0)
		return 0; /* confined: bound at home already */
	return socket_bind(&d->dev, d->conf && (d->conf->flags & MODEL_DEVICE_HAS_LISTEN_PORT) ? d->conf->listen_port : 0);
}

/*
 * A wgud killed a moment ago may still hold its TUN device and UDP port:
 * its io_uring lets go of them after the process is gone. A restart (as
 * systemd's Restart= makes) waits for them a little instead of failing.
 */
static int patiently(struct daemon *d, int (*step)(struct daemon *), int busy, const char *what)
{
	const struct timespec pause = { .tv_nsec = BUSY_STEP_MS * 1000000L };
	int ret, waited;

	for (waited = 0; (ret = step(d)) == busy && waited < BUSY_WAIT_MS; waited += BUSY_STEP_MS) {
		if (!waited)
			log_info("%s is busy, perhaps still held by a wgud that was just killed; waiting up to %d s",
				 what, BUSY_WAIT_MS / 1000);
		nanosleep(&pause, NULL);
	}
	if (!ret && waited)
		log_info("%s free after %d ms", what, waited);
	return ret;
}

/* Once, at start: which offloads the kernel took, and which it refused. */
static void log_offloads(const struct wg_device *dev)
{
	if (!dev->offload) {
		log_info("offloads off: one packet per TUN read and write, one datagram per send");
		return;
	}
	log_info("offloads: TUN %s, UDP GSO %s, UDP GRO %s", dev->tun_tso ? (dev->tun_uso ? "TSO and USO" : "TSO (USO refused)")
									      : "none (refused)",
		 dev->udp_gso ? "on" : "refused", dev->udp_gro ? "on" : "refused");
}

/* In the root helper once wgud is gone (--user): what a wgud that dropped root cannot undo itself. */
static void janitor(void *ctx, bool dropped)
{
	struct daemon *d = ctx;

	sockserver_remove_file(&d->uapi.core);
	sockserver_remove_file(&d->ctl.core);
	state_tidy(&d->state);
	if (!dropped)
		return; /* the daemon, still root, undid the rest itself (or was killed before the drop) */
	publish_down(&d->publish, d->o->ifname); /* the host side is reached through the home namespace: setns */
	dns_restore(&d->dns);
}

/* --user: the sockets and the state file become the user's, then the drop. */
static int drop_privileges(struct daemon *d)
{
	const struct privdrop *u = &d->o->user;
	const char *const paths[] = { d->uapi.core.path, d->ctl.core.path };
	int ret = state_hand_over(&d->state, u->uid, u->gid);

	if (ret) {
		log_error("--user %s: handing %s over: %s", u->name, d->state.path, strerror(-ret));
		return ret;
	}
	/* From here only the root helper can remove them, whatever happens next. */
	sockserver_leave_file(&d->uapi.core);
	sockserver_leave_file(&d->ctl.core);
	d->dropped = true;
	return privdrop_apply(u, paths, 2);
}

/* The device, its sockets and the network around it, in conf mode as wg-quick would. */
static int bring_up(struct daemon *d)
{
	const struct daemon_options *o = d->o;
	uint32_t mtu = d->conf && (d->conf->flags & MODEL_DEVICE_HAS_MTU) ? d->conf->mtu : WG_DEFAULT_MTU;
	const char *why = NULL;
	unsigned int offloads;
	int ret;

	ret = device_init(&d->dev, mtu, o->buffers ? o->buffers : DEFAULT_BUFFERS);
	if (ret) {
		log_error("setting up the device: %s", strerror(-ret));
		return ret;
	}
	d->stage = STAGE_DEVICE;
	diag_attach(&d->diag, &d->dev);
	ret = uapi_server_open(&d->uapi, d->uapi_dir, o->ifname, &d->dev);
	d->other_owner = ret == -EADDRINUSE;
	if (ret) {
		log_error("UAPI socket %s/%s.sock: %s%s", d->uapi_dir, o->ifname, strerror(-ret),
			  ret == -EADDRINUSE ? " (another process serves this interface)" : "");
		return ret;
	}
	ret = ctl_server_open(&d->ctl, d->ctl_dir, o->ifname, o->ctl_gid);
	d->other_owner = ret == -EADDRINUSE;
	if (ret) {
		log_error("control socket %s/%s.ctl: %s%s", d->ctl_dir, o->ifname, strerror(-ret),
			  ret == -EEXIST ? " (something that is not a socket is in the way; it was left alone)" : "");
		return ret;
	}
	if (o->has_metrics) {
		/* Here, before leaving for --netns's namespace: scraped where wgud itself is. */
		char where[64];

		model_format_endpoint(where, &o->metrics_addr);
		ret = metrics_server_open(&d->metrics, &o->metrics_addr);
		if (ret) {
			log_error("--metrics %s: %s", where, strerror(-ret));
			return ret;
		}
		log_info("metrics: serving http://%s/metrics", where);
	}
	/* Super-packets and GRO'd datagrams are up to 64 KiB: only with buffers that hold them. */
	d->dev.offload = !o->no_offload && d->dev.max_mtu >= WG_LARGEST_MTU;
	if (!o->no_offload && !d->dev.offload)
		log_warn("offloads off: the packet buffers hold %u bytes, not the 64 KiB of a super-packet", d->dev.max_mtu);
	if (daemon_confined(d)) {
		/* The UDP here first; everything of the device's side is made after leaving (netns.h). */
		ret = patiently(d, bind_sockets, -EADDRINUSE, "the UDP port");
		if (ret) {
			log_error("binding UDP port: %s", strerror(-ret));
			return ret;
		}
		ret = leave_home(d);
		if (ret)
			return ret;
	}
	if (o->tun_fd >= 0) {
		ret = adopt_tun(d);
		if (ret)
			return ret;
	} else {
		ret = patiently(d, open_tun, -EBUSY, "the TUN device");
		if (ret) {
			log_error("creating TUN device: %s%s", strerror(-ret),
				  ret == -EACCES || ret == -EPERM ? tun_permission_hint() : "");
			return ret;
		}
	}
	d->stage = STAGE_TUN;
	d->dev.tun_fd = d->tun.fd;
	offloads = tun_set_offload(&d->tun);
	device_set_tun_offload(&d->dev, d->tun.vnet_hdr, offloads & TUN_OFFLOAD_TSO, offloads & TUN_OFFLOAD_USO);
	ret = rtnl_open(&d->rtnl);
	if (!ret)
		ret = rtnl_monitor_open(&d->monitor);
	if (!ret)
		ret = rtnl_link_index(&d->rtnl, d->tun.name, &d->ifindex);
	if (ret) {
		log_error("rtnetlink: %s", strerror(-ret));
		return ret;
	}
	d->net.rtnl = &d->rtnl;
	d->net.ifindex = d->ifindex;
	d->net.confined = daemon_confined(d);
	d->net.own_namespace = o->run_argv;
	d->net.no_admin = o->tun_fd >= 0 && !have_net_admin();
	/* The sockets exist from the start, on the conf's port or a free one, as wireguard-go's do. */
	ret = patiently(d, bind_sockets, -EADDRINUSE, "the UDP port");
	if (ret) {
		log_error("binding UDP port: %s", strerror(-ret));
		return ret;
	}
	log_offloads(&d->dev);
	if (d->conf) {
		/* No ListenPort: the port bound above is the one; applying 0 would bind another (at home, confined). */
		if (!d->conf->listen_port)
			d->conf->flags &= ~MODEL_DEVICE_HAS_LISTEN_PORT;
		ret = apply_model(&d->dev, NULL, d->conf, APPLY_UAPI);
		if (ret) {
			log_error("applying %s: %s", o->conf_path, strerror(-ret));
			return ret;
		}
		netsetup_run_hooks(d->conf, MODEL_HOOK_PRE_UP, o->ifname, o->run_hooks);
	}
	d->stage = STAGE_NETWORK;
	ret = netsetup_up(&d->net, &d->dev, d->conf);
	if (!ret)
		ret = daemon_apply_dns(d, d->conf);
	if (!ret)
		ret = publish_up(&d->publish, o->ifname, &d->rtnl, o->publish, o->n_publish, d->dev.listen_port);
	if (ret)
		return ret;
	/* Before the ring and the threads exist (the helper's copy of the memory must hold neither), after DNS. */
	if (o->user.set) {
		const int home[1] = { netns_home_fd() };

		ret = privdrop_janitor(janitor, d, home, home[0] >= 0);
		if (ret) {
			log_error("--user: starting the root helper: %s", strerror(-ret));
			return ret;
		}
	}
	ret = loop_init(&d->loop, &d->dev, o->io, &why);
	if (ret) {
		log_error("event loop (%s): %s", o->io == LOOP_URING ? "io_uring" : "epoll", strerror(-ret));
		return ret;
	}
	d->stage = STAGE_LOOP;
	if (why)
		log_warn("io_uring not used: %s; falling back to epoll with recvmmsg/sendmmsg", why);
	ret = workers_start(&d->workers, o->threads);
	if (ret)
		log_warn("crypto threads: %s; all crypto runs on the loop thread", strerror(-ret));
	d->dev.workers = d->workers.n_threads > 1 ? &d->workers : NULL;
	log_info("crypto on %u thread%s", d->workers.n_threads, d->workers.n_threads > 1 ? "s" : "");
	return 0;
}

/* The wall, then the sockets on the loop: once this returns 0, only a clean stop removes anything. */
static int start_serving(struct daemon *d)
{
	int ret;

	resolver_init(&d->resolver, &d->loop, daemon_on_resolved, d);
	ret = failover_init(&d->failover, &d->dev, &d->loop, d->conf, d->o->failover_after);
	if (ret) {
		log_error("--failover: %s", strerror(-ret));
		return ret;
	}
	daemon_gather_facts(d, &d->facts);
	ret = gateway_start(&d->gw, &d->rtnl, &d->start_policy, &d->facts);
	if (ret)
		return ret;
	d->uapi.after_set = daemon_on_uapi_set;
	d->uapi.after_set_ctx = d;
	ret = uapi_server_start(&d->uapi, &d->loop);
	if (!ret)
		ret = ctl_server_start(&d->ctl, &d->loop, on_ctl, d);
	if (!ret && d->o->has_metrics)
		ret = metrics_server_start(&d->metrics, &d->loop, format_metrics, d);
	if (!ret)
		ret = loop_add_fd(&d->loop, d->signal_fd, on_signal, d);
	if (!ret)
		ret = loop_add_fd(&d->loop, rtnl_monitor_fd(&d->monitor), on_link_event, d);
	if (ret)
		log_error("event loop: %s", strerror(-ret));
	return ret;
}

/* What bring_up() made, in reverse, as far as it got. */
static void take_down(struct daemon *d)
{
	resolver_uninit(&d->resolver);
	failover_uninit(&d->failover);
	free(d->reload_policy);
	d->reload_policy = NULL;
	ctl_server_close(&d->ctl);
	metrics_server_close(&d->metrics);
	uapi_server_close(&d->uapi);
	if (d->stage >= STAGE_LOOP) {
		loop_uninit(&d->loop);
		d->dev.workers = NULL;
		workers_stop(&d->workers);
	}
	if (d->stage >= STAGE_NETWORK) {
		if (!d->dropped)
			publish_down(&d->publish, d->o->ifname); /* else the root helper's: setns needs CAP_SYS_ADMIN */
		netsetup_down(&d->net);
		if (!d->dropped)
			dns_restore(&d->dns); /* else the root helper's: resolvconf and /etc/netns are root's */
	}
	if (d->stage >= STAGE_DEVICE)
		socket_close(&d->dev); /* confined, the UDP was bound before the device existed */
	if (d->stage >= STAGE_TUN) {
		rtnl_close(&d->monitor);
		rtnl_close(&d->rtnl);
		tun_close(&d->tun);
		d->dev.tun_fd = -1;
	}
	if (d->stage >= STAGE_DEVICE) {
		if (d->conf && d->exit_code == 0)
			netsetup_run_hooks(d->conf, MODEL_HOOK_POST_DOWN, d->o->ifname, d->o->run_hooks);
		device_uninit(&d->dev);
	}
	d->stage = STAGE_NONE;
}

static int run(struct daemon *d)
{
	int ret;

	log_info("up: listening on UDP port %u, %s event loop, %zu peer%s", d->dev.listen_port,
		 loop_backend_name(&d->loop), d->dev.n_peers, d->dev.n_peers == 1 ? "" : "s");
	ret = loop_run(&d->loop);
	if (ret == -EBADFD) {
		/* a TUN read after `ip link del`, sometimes before the link event says so: a stop, not a failure */
		log_info("interface deleted (its TUN device is gone); stopping");
		ret = 0;
	}
	if (ret)
		log_error("event loop stopped: %s", strerror(-ret));
	log_drops(d);
	if (d->conf)
		netsetup_run_hooks(d->conf, MODEL_HOOK_PRE_DOWN, d->o->ifname, d->o->run_hooks);
	return ret ? 1 : 0;
}

/*
 * A failed start's wall goes where the device was to be: in --netns's
 * namespace (entered for it if the start failed before), never at home,
 * where it would block the host's own traffic; `wgud run`'s namespace
 * dies with wgud, so there is nothing to guard.
 */
static void abort_wall(struct daemon *d, const struct gateway_facts *f)
{
	int ret;

	if (d->o->run_argv)
		return;
	if (d->o->netns && !netns_away()) {
		ret = netns_enter(d->netns_fd);
		if (ret) {
			log_error("the wall is not put up in %s (entering it: %s); nothing changed here", d->o->netns,
				  strerror(-ret));
			return;
		}
	}
	gateway_abort(&d->gw, &d->start_policy, f);
}

/* A live wgud (or wireguard-go) for the interface owns its wall: a second start must not touch it. */
static const char *served_by_other(const char *uapi_dir, const char *ctl_dir, const char *ifname, char path[108])
{
	if ((size_t)snprintf(path, 108, "%s/%s.ctl", ctl_dir, ifname) < 108 && unixsock_alive(path))
		return path;
	if ((size_t)snprintf(path, 108, "%s/%s.sock", uapi_dir, ifname) < 108 && unixsock_alive(path))
		return path;
	return NULL;
}

int daemon_run(const struct daemon_options *o)
{
	struct daemon *d = calloc(1, sizeof(*d));
	int ret, code;
	char path[108];

	if (!d) {
		fprintf(stderr, "wgud: out of memory\n");
		return 1;
	}
	d->o = o;
	d->signal_fd = -1;
	d->ready_fd = -1;
	d->wait_up_fd = -1;
	d->tun.fd = -1;
	d->exit_code = 1;
	uapi_server_init(&d->uapi);
	ctl_server_init(&d->ctl);
	metrics_server_init(&d->metrics);
	d->netns_fd = -1;
	log_set_interface(o->ifname);
	log_set_verbose(o->verbose);
	rundir_paths(d->uapi_dir, d->ctl_dir);
	if (rundir_own(d->uapi_dir) || rundir_own(d->ctl_dir)) {
		log_error("%s or %s cannot be made, or belongs to someone else or is writable by others", d->uapi_dir,
			  d->ctl_dir);
		goto out;
	}
	if (strcmp(d->uapi_dir, UAPI_SOCKET_DIR))
		log_info("not root: the sockets are in %s and %s (wg(8) looks only in %s)", d->uapi_dir, d->ctl_dir,
			 UAPI_SOCKET_DIR);
	if (o->netns) {
		char err[300];

		if (netns_open(o->netns, &d->netns_fd, err, sizeof(err))) {
			log_error("--netns: %s; nothing changed", err);
			goto out;
		}
	}
	if (served_by_other(d->uapi_dir, d->ctl_dir, o->ifname, path)) {
		log_error("another process serves %s already (%s answers); its firewall and sockets are left alone", o->ifname,
			  path);
		goto out;
	}
	state_init_for(&d->state, d->ctl_dir, o->ifname, o->run_argv ? STATE_NOWHERE : d->netns_fd);
	ret = state_load(&d->state);
	if (ret)
		log_warn("reading %s: %s; what a crashed wgud changed may stay", d->state.path, strerror(-ret));
	gateway_init(&d->gw, o->ifname, &d->state, o->no_firewall);
	d->net.state = &d->state;

	/* Everything that can be refused for bad input is checked before anything is created. */
	if (daemon_load_policy(o, &d->start_policy))
		goto out;
	if (o->conf_path && daemon_load_conf(o, &d->conf)) {
		struct stat st;

		/*
		 * In lockdown the wall goes up even so: the clients behind wgud must
		 * not find the plain route. Not for a file that is not there at all:
		 * a mistyped path names no interface of anyone's.
		 */
		if (stat(o->conf_path, &st) == 0)
			abort_wall(d, NULL);
		else
			log_info("nothing changed in this namespace");
		goto out;
	}
	if (!o->foreground) {
		ret = detach_begin(&d->ready_fd);
		if (ret) {
			log_error("detaching: %s", strerror(-ret));
			goto out;
		}
	}
	report_kernel_module();
	ret = open_signals(d);
	if (!ret)
		ret = bring_up(d);
	if (!ret)
		ret = start_serving(d);
	if (ret) {
		if (!d->other_owner)
			abort_wall(d, daemon_conf_facts(d));
		take_down(d);
		goto out;
	}
	if (d->conf)
		netsetup_run_hooks(d->conf, MODEL_HOOK_POST_UP, o->ifname, o->run_hooks);
	if (o->user.set && drop_privileges(d)) {
		abort_wall(d, daemon_conf_facts(d));
		take_down(d);
		goto out;
	}
	if (o->run_argv) {
		ret = confine_spawn(o->run_argv, &d->child);
		if (ret) {
			log_error("starting %s: %s", o->run_argv[0], strerror(-ret));
			gateway_stop(&d->gw);
			take_down(d);
			goto out;
		} else {
			log_info("running %s in the tunnel's namespace (pid %d)", o->run_argv[0], (int)d->child);
		}
	}
	ret = o->wait_up ? wait_up_begin(d) : 0;
	if (ret) {
		log_error("--wait-up: %s; not waiting", strerror(-ret));
		wait_up_end(d, false);
	} else if (!o->wait_up) {
		detach_ready(&d->ready_fd, false);
		tell_systemd("READY=1");
	}
	if (o->user.set && !o->foreground)
		privdrop_janitor_quiet(); /* it leaves the terminal too */
	d->exit_code = run(d);
	if (d->wait_up_fd >= 0) {
		log_error("stopped before any handshake completed (--wait-up %u)", o->wait_up);
		wait_up_end(d, true);
	}
	tell_systemd("STOPPING=1");
	if (o->run_argv) {
		/* wgud stopped on its own (a deleted device, a loop error): the command does not stay behind */
		confine_reap(d->child, COMMAND_GRACE_MS);
		d->child = 0;
		if (d->child_exited)
			d->exit_code = confine_exit_code(d->child_status);
	}
	/* The control socket first: no command may change the wall while it is taken down. */
	ctl_server_close(&d->ctl);
	uapi_server_close(&d->uapi);
	/* the veth goes while the wall still filters it */
	publish_unlink(&d->publish, &d->rtnl);
	gateway_stop(&d->gw);
	take_down(d);

out:
	if (d->ready_fd >= 0)
		close(d->ready_fd); /* the waiting parent reads EOF and exits 1 */
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	if (d->netns_fd >= 0)
		close(d->netns_fd);
	rundir_remove(d->uapi_dir, d->ctl_dir);
	model_device_free(d->conf);
	code = d->exit_code;
	free(d);
	return code;
}

/* What a killed wgud left at DIR/IFNAME.SUFFIX, if it is a socket nobody answers on. */
static void remove_stale_socket(const char *dir, const char *ifname, const char *suffix)
{
	char path[108];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.%s", dir, ifname, suffix) >= sizeof(path) ||
	    lstat(path, &st) || !S_ISSOCK(st.st_mode))
		return;
	if (unlink(path) == 0)
		log_info("removed %s, left by a wgud that is gone", path);
}

int daemon_unlock(const char *ifname)
{
	char path[108];
	struct state *state = calloc(1, sizeof(*state));
	struct rtnl rtnl;
	int ret, rules;

	log_set_interface(ifname);
	if (!state)
		return 1;
	if (served_by_other(UAPI_SOCKET_DIR, CTL_SOCKET_DIR, ifname, path)) {
		log_error("wgud is running for %s (%s answers): stop it first, or `wgud ctl %s kill-switch off`", ifname,
			  path, ifname);
		free(state);
		return 1;
	}
	remove_stale_socket(CTL_SOCKET_DIR, ifname, "ctl");
	remove_stale_socket(UAPI_SOCKET_DIR, ifname, "sock");
	state_init(state, CTL_SOCKET_DIR, ifname);
	ret = state_load(state);
	if (ret)
		log_warn("reading %s: %s; only the table can be removed", state->path, strerror(-ret));
	ret = rtnl_open(&rtnl);
	if (ret) {
		log_error("rtnetlink: %s", strerror(-ret));
		free(state);
		return 1;
	}
	ret = gateway_unlock(ifname, state, &rtnl);
	publish_unlock(ifname, &rtnl);
	rules = netsetup_unlock(&rtnl, state);
	if (rules > 0)
		log_info("removed %d policy rule%s of a full tunnel", rules, rules == 1 ? "" : "s");
	else if (rules < 0)
		log_error("removing the policy rules of a full tunnel: %s", strerror(-rules));
	rtnl_close(&rtnl);
	free(state);
	return ret || rules < 0 ? 1 : 0;
}
