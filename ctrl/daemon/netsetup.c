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

#define RULE_FLUSH_MAX 64 /* per priority and family: more than any run could have stacked */

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

/* Every rule at one priority; the number removed, or -errno. */
static int flush_priority(struct rtnl *rtnl, int family, uint32_t priority)
{
	int n, ret = 0;

	for (n = 0; n < RULE_FLUSH_MAX; n++) {
		ret = rtnl_rule_del_at(rtnl, family, 0, priority);
		if (ret)
			break;
	}
	return ret == -ENOENT || !ret ? n : ret;
}

int netsetup_flush_rules(struct rtnl *rtnl)
{
	int i, total = 0;

	for (i = 0; i < 2; i++) {
		int a = flush_priority(rtnl, families[i], NETSETUP_SUPPRESS_PRIORITY);
		int b = flush_priority(rtnl, families[i], NETSETUP_FWMARK_PRIORITY);

		if (a < 0 || b < 0)
			return a < 0 ? a : b;
		total += a + b;
	}
	return total;
}

/* What a crashed run left at our priorities goes before this run adds its own, once. */
static int flush_stale(struct netsetup *ns)
{
	int n;

	if (ns->rules_flushed)
		return 0;
	n = netsetup_flush_rules(ns->rtnl);
	if (n < 0) {
		log_error("removing old policy rules at priorities %d and %d: %s", NETSETUP_SUPPRESS_PRIORITY,
			  NETSETUP_FWMARK_PRIORITY, strerror(-n));
		return n;
	}
	if (n)
		log_info("replaced %d policy rule%s an earlier wgud left", n, n == 1 ? "" : "s");
	ns->rules_flushed = true;
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

/* wg-quick's Table=auto for 0.0.0.0/0 or ::/0: our UDP carries a fwmark that skips the tunnel's table. */
static int full_tunnel(struct netsetup *ns, struct wg_device *dev, int family)
{
	static const uint8_t any[16];
	uint32_t table = dev->fwmark;
	int ret;

	/* Set up already (a reload): adding again would stack duplicate rules. */
	if (ns->rule_table[fam_index(family)])
		return 0;
	ret = flush_stale(ns);
	if (ret)
		return ret;
	if (!table) {
		table = free_table(ns);
		ret = socket_set_fwmark(dev, table);
		if (ret)
			return ret;
	}
	ret = rtnl_route_add(ns->rtnl, family, any, 0, ns->ifindex, table);
	if (ret && ret != -EEXIST)
		return ret;
	ret = rtnl_rule_add_not_fwmark(ns->rtnl, family, table, table, NETSETUP_FWMARK_PRIORITY);
	if (!ret)
		ret = rtnl_rule_add_suppress_main(ns->rtnl, family, NETSETUP_SUPPRESS_PRIORITY);
	if (ret)
		return ret;
	ns->rule_table[fam_index(family)] = table;
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

	if (m->table == MODEL_TABLE_OFF)
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
	if (m->n_dns)
		log_warn("DNS= is not applied by wgud (no resolvconf integration); set resolvers yourself");
	if (m->table == MODEL_TABLE_AUTO) {
		ret = flush_stale(ns);
		if (ret)
			return ret;
	}
	return netsetup_routes(ns, dev, m);
}

void netsetup_down(struct netsetup *ns)
{
	int n;

	if (!ns->rules_flushed)
		return; /* not ours to touch: without a conf, wg-quick sets up the rules */
	n = netsetup_flush_rules(ns->rtnl);
	if (n < 0)
		log_warn("removing the policy rules at priorities %d and %d: %s; remove them with `ip rule`",
			 NETSETUP_SUPPRESS_PRIORITY, NETSETUP_FWMARK_PRIORITY, strerror(-n));
	else
		log_debug("removed %d policy rule%s", n, n == 1 ? "" : "s");
	ns->rule_table[0] = ns->rule_table[1] = 0;
	ns->rules_flushed = false;
}
