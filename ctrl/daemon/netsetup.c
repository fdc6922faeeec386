// SPDX-License-Identifier: MIT
#include "netsetup.h"

#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "socket.h"


static const int families[2] = { AF_INET, AF_INET6 };
static const char *const hook_names[MODEL_HOOK_COUNT] = { "PreUp", "PostUp", "PreDown", "PostDown" };

static int fam_index(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

void netsetup_run_hooks(const struct model_device *m, enum model_hook which, const char *ifname, bool run)
{
	size_t i;

	for (i = 0; m && i < m->n_hooks[which]; i++) {
		const char *cmd = m->hooks[which][i];
		char expanded[MODEL_MAX_HOOK_LEN * 2];
		size_t o = 0;
		int status;
		pid_t pid;

		if (!run) {
			log_warn("skipping %s hook (hooks run only with --run-hooks)", hook_names[which]);
			continue;
		}
		/* %i is the interface name, as in wg-quick. */
		for (; *cmd && o + IFNAMSIZ + 1 < sizeof(expanded); cmd++) {
			if (cmd[0] == '%' && cmd[1] == 'i') {
				o += (size_t)snprintf(expanded + o, sizeof(expanded) - o, "%s", ifname);
				cmd++;
			} else {
				expanded[o++] = *cmd;
			}
		}
		expanded[o] = '\0';
		log_info("running %s hook", hook_names[which]);
		pid = fork();
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
			log_warn("%s hook failed", hook_names[which]);
	}
}

static bool has_default_route(const struct model_device *m, int family)
{
	size_t i, j;

	for (i = 0; i < m->n_peers; i++)
		for (j = 0; j < m->peers[i].n_allowedips; j++)
			if (m->peers[i].allowedips[j].family == family && cidr_is_default(&m->peers[i].allowedips[j]))
				return true;
	return false;
}

static const char *const state_keys[2] = { "full_tunnel_ipv4", "full_tunnel_ipv6" };

/* The two rules of a full tunnel on table; the number removed (0..2), or -errno. */
static int remove_rules(struct rtnl *rtnl, int family, uint32_t table)
{
	int a = rtnl_rule_del_not_fwmark(rtnl, family, table, table, NETSETUP_FWMARK_PRIORITY);
	int b = rtnl_rule_del_suppress_main(rtnl, family, NETSETUP_SUPPRESS_PRIORITY);

	if (a && a != -ENOENT)
		return a;
	if (b && b != -ENOENT)
		return b;
	return !a + !b;
}

/* What the state recorded for each family: its rules go, and so does the record. */
static int remove_recorded(struct rtnl *rtnl, struct state *state)
{
	int i, total = 0;

	for (i = 0; i < 2; i++) {
		size_t cursor = 0;
		const char *text = state_next(state, state_keys[i], &cursor);
		uint32_t table;
		int n;

		if (!text)
			continue;
		if (model_parse_u32(&table, text, strlen(text)) || !table) {
			state_remove(state, state_keys[i], NULL);
			continue;
		}
		n = remove_rules(rtnl, families[i], table);
		if (n < 0)
			return n;
		total += n;
		state_remove(state, state_keys[i], NULL);
	}
	return total;
}

int netsetup_unlock(struct rtnl *rtnl, struct state *state)
{
	return remove_recorded(rtnl, state);
}

/* What a crashed run of this interface left goes before this run adds its own. */
static int remove_stale(struct netsetup *ns)
{
	int n = remove_recorded(ns->rtnl, ns->state);

	if (n < 0) {
		log_error("removing the policy rules an earlier wgud left: %s", strerror(-n));
		return n;
	}
	if (n)
		log_info("replaced %d policy rule%s an earlier wgud left", n, n == 1 ? "" : "s");
	return 0;
}

/* A free table id for the full tunnel's default route, as wg-quick looks for one. */
static uint32_t free_table(struct netsetup *ns)
{
	uint32_t table;

	for (table = NETSETUP_FULL_TUNNEL_TABLE; table < NETSETUP_FULL_TUNNEL_TABLE + 1000; table++) {
		bool v4 = true, v6 = true;

		if (rtnl_table_in_use(ns->rtnl, AF_INET, table, &v4) || rtnl_table_in_use(ns->rtnl, AF_INET6, table, &v6))
			continue;
		if (!v4 && !v6)
			return table;
	}
	return NETSETUP_FULL_TUNNEL_TABLE;
}

/* Confined: two halves of the address space through the device, more specific than any default route. */
static int half_routes(struct netsetup *ns, int family)
{
	static const uint8_t low[16], high[16] = { 0x80 };
	int ret = rtnl_route_add(ns->rtnl, family, low, 1, ns->ifindex, 254);

	if (!ret || ret == -EEXIST)
		ret = rtnl_route_add(ns->rtnl, family, high, 1, ns->ifindex, 254);
	if (ret && ret != -EEXIST)
		return ret;
	log_info("full tunnel for %s: everything in this namespace goes through the device (%s)",
		 family == AF_INET ? "IPv4" : "IPv6", family == AF_INET ? "0.0.0.0/1 and 128.0.0.0/1" : "::/1 and 8000::/1");
	return 0;
}

/* wg-quick's Table=auto for 0.0.0.0/0 or ::/0: our UDP carries a fwmark that skips the tunnel's table. */
static int full_tunnel(struct netsetup *ns, struct wg_device *dev, int family)
{
	static const uint8_t any[16];
	uint32_t table = dev->fwmark;
	char text[16];
	int ret;

	if (ns->confined)
		return half_routes(ns, family);
	/* Set up already (a reload): adding again would stack duplicate rules. */
	if (ns->rule_table[fam_index(family)])
		return 0;
	if (!table) {
		table = free_table(ns);
		ret = socket_set_fwmark(dev, table);
		if (ret)
			return ret;
	}
	ret = rtnl_route_add(ns->rtnl, family, any, 0, ns->ifindex, table);
	if (ret && ret != -EEXIST)
		return ret;
	/* Recorded first: a crash between the two leaves nothing unrecorded. */
	snprintf(text, sizeof(text), "%u", table);
	state_add(ns->state, state_keys[fam_index(family)], text);
	ns->rule_table[fam_index(family)] = table;
	/* Identical rules at the same priority are refused: one a crashed run left unrecorded is ours. */
	ret = rtnl_rule_add_not_fwmark(ns->rtnl, family, table, table, NETSETUP_FWMARK_PRIORITY);
	if (!ret || ret == -EEXIST)
		ret = rtnl_rule_add_suppress_main(ns->rtnl, family, NETSETUP_SUPPRESS_PRIORITY);
	if (ret && ret != -EEXIST)
		return ret;
	if (family == AF_INET)
		(void)rtnl_sysctl_write("/proc/sys/net/ipv4/conf/all/src_valid_mark", "1");
	log_info("full tunnel for %s: fwmark and table %u", family == AF_INET ? "IPv4" : "IPv6", table);
	return 0;
}

int netsetup_routes(struct netsetup *ns, struct wg_device *dev, const struct model_device *m)
{
	uint32_t table = m->table == MODEL_TABLE_NUMBER ? m->table_id : 254;
	size_t i, j;
	int ret, k;

	if (m->table == MODEL_TABLE_OFF || ns->no_admin)
		return 0;
	for (i = 0; i < m->n_peers; i++) {
		for (j = 0; j < m->peers[i].n_allowedips; j++) {
			const struct cidr *c = &m->peers[i].allowedips[j];

			if (cidr_is_default(c) && m->table == MODEL_TABLE_AUTO)
				continue; /* full_tunnel() handles the default route */
			ret = rtnl_route_add(ns->rtnl, c->family, c->addr, c->cidr, ns->ifindex, table);
			if (ret && ret != -EEXIST) {
				log_error("route for a peer's allowed-ips: %s", strerror(-ret));
				return ret;
			}
		}
	}
	for (k = 0; k < 2 && m->table == MODEL_TABLE_AUTO; k++) {
		if (!has_default_route(m, families[k]))
			continue;
		ret = full_tunnel(ns, dev, families[k]);
		if (ret) {
			log_error("full tunnel for %s: %s", k ? "IPv6" : "IPv4", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int netsetup_up(struct netsetup *ns, struct wg_device *dev, const struct model_device *m)
{
	size_t i;
	int ret;

	if (ns->no_admin) {
		log_warn("no CAP_NET_ADMIN: the device's MTU, addresses and routes are left as the helper that opened it "
			 "made them");
		return 0;
	}
	if (ns->confined) {
		unsigned int lo;

		/* A new namespace's loopback is down; programs there expect it. */
		ret = rtnl_link_index(ns->rtnl, "lo", &lo);
		if (!ret)
			ret = rtnl_link_set_up(ns->rtnl, lo, true);
		if (ret) {
			log_error("setting lo up: %s", strerror(-ret));
			return ret;
		}
	}
	if (ns->own_namespace && rtnl_sysctl_write("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0"))
		log_warn("COMMAND cannot bind ports below 1024 in its namespace (ip_unprivileged_port_start stays)");
	ret = rtnl_link_set_mtu(ns->rtnl, ns->ifindex, dev->mtu);
	if (ret) {
		log_error("setting MTU %u: %s", dev->mtu, strerror(-ret));
		return ret;
	}
	if (!m)
		return 0;
	for (i = 0; i < m->n_addresses; i++) {
		ret = rtnl_addr_add(ns->rtnl, ns->ifindex, m->addresses[i].family, m->addresses[i].addr,
				    m->addresses[i].cidr);
		if (ret && ret != -EEXIST) {
			log_error("adding an address: %s", strerror(-ret));
			return ret;
		}
	}
	ret = rtnl_link_set_up(ns->rtnl, ns->ifindex, true);
	if (ret) {
		log_error("setting the link up: %s", strerror(-ret));
		return ret;
	}
	ret = remove_stale(ns);
	if (ret)
		return ret;
	return netsetup_routes(ns, dev, m);
}

void netsetup_down(struct netsetup *ns)
{
	int i;

	for (i = 0; i < 2; i++) {
		int n;

		if (!ns->rule_table[i])
			continue;
		n = remove_rules(ns->rtnl, families[i], ns->rule_table[i]);
		if (n < 0)
			log_warn("removing the policy rules of table %u: %s; remove them with `ip rule`", ns->rule_table[i],
				 strerror(-n));
		else
			state_remove(ns->state, state_keys[i], NULL);
		ns->rule_table[i] = 0;
	}
}
