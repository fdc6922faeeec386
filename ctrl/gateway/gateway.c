// SPDX-License-Identifier: MIT
#include "gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nft.h"

#define MAX_LOCAL_ADDRESSES 1024

static const char *const family_names[2] = { "IPv4", "IPv6" };

static bool full_tunnel(const struct gateway_facts *f)
{
	return f && (f->full_tunnel[0] || f->full_tunnel[1] || f->confined);
}

/* The resolvers in force: the conf's DNS until `dns set` replaced them. */
static void effective_dns(const struct gateway_facts *f, struct policy *p)
{
	size_t i;

	if (!p->dns_from_conf)
		return;
	p->n_dns = 0;
	for (i = 0; f && i < f->n_dns && i < POLICY_MAX_ENTRIES; i++)
		p->dns[p->n_dns++] = f->dns[i];
}

void gateway_effective(const struct gateway *gw, struct policy *out)
{
	*out = gw->policy;
	effective_dns(&gw->facts, out);
}

/* A copy of p with the resolvers in force (policies are tens of kilobytes: on the heap); NULL without memory. */
static struct policy *effective_copy(const struct policy *p, const struct gateway_facts *f)
{
	struct policy *eff = malloc(sizeof(*eff));

	if (eff) {
		*eff = *p;
		effective_dns(f, eff);
	}
	return eff;
}

/* What only a firewall can do. */
/* What in the policy needs nftables, in words for a person; NULL: nothing does. */
static const char *firewall_reason(const struct policy *eff, enum policy_kill_switch mode)
{
	if (mode == POLICY_KILL_SWITCH_LOCKDOWN)
		return "the kill switch in lockdown";
	if (mode == POLICY_KILL_SWITCH_ON)
		return "the kill switch (on for a full tunnel or a namespace of its own, unless --kill-switch off)";
	if (eff->n_forward_from || eff->masquerade)
		return "forward-from or masquerade";
	if (eff->n_port_forward || eff->n_open)
		return "port-forward or open";
	if (eff->dns_forward || !eff->dns_from_conf)
		return "the DNS rules (dns, dns-forward)";
	return NULL;
}

static bool needs_firewall(const struct policy *eff, enum policy_kill_switch mode)
{
	return firewall_reason(eff, mode) != NULL;
}

/* ---- IP forwarding, and what it was before wgud ---- */

void gateway_init(struct gateway *gw, const char *ifname, struct state *state, bool no_firewall)
{
	memset(gw, 0, sizeof(*gw));
	snprintf(gw->ifname, sizeof(gw->ifname), "%s", ifname);
	gw->state = state;
	gw->no_firewall = no_firewall;
	gw->mode = POLICY_KILL_SWITCH_OFF;
	gw->forwarding[0] = (struct gateway_forwarding){ .path = "/proc/sys/net/ipv4/ip_forward", .key = "forward_ipv4" };
	gw->forwarding[1] = (struct gateway_forwarding){ .path = "/proc/sys/net/ipv6/conf/all/forwarding",
							 .key = "forward_ipv6" };
}

/* An earlier run that died had turned forwarding on: what it found is what goes back, whatever this run does. */
static void adopt_forwarding(struct gateway *gw)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		struct gateway_forwarding *fw = &gw->forwarding[i];
		size_t cursor = 0;
		const char *before = state_next(gw->state, fw->key, &cursor);

		if (!before || (strcmp(before, "0") && strcmp(before, "1")))
			continue;
		snprintf(fw->before, sizeof(fw->before), "%s", before);
		fw->changed = true;
		log_info("%s forwarding was turned on by an earlier wgud; it goes back to %s at stop", family_names[i],
			 fw->before);
	}
}

static void enable_forwarding(struct gateway *gw, int i)
{
	struct gateway_forwarding *fw = &gw->forwarding[i];

	if (fw->changed || fw->noted)
		return;
	if (rtnl_sysctl_read(fw->path, fw->before, sizeof(fw->before)))
		snprintf(fw->before, sizeof(fw->before), "0");
	if (!strcmp(fw->before, "1")) {
		fw->noted = true;
		log_info("%s forwarding was already on (%s); it stays on at stop", family_names[i], fw->path);
		return;
	}
	if (rtnl_sysctl_write(fw->path, "1")) {
		log_warn("could not enable %s forwarding (%s): forward-from will not work", family_names[i], fw->path);
		return;
	}
	fw->changed = true;
	state_add(gw->state, fw->key, fw->before);
	log_info("enabled %s forwarding in this namespace for forward-from (it was %s; put back at stop)",
		 family_names[i], fw->before);
}

static void restore_one(struct gateway *gw, int i)
{
	struct gateway_forwarding *fw = &gw->forwarding[i];

	if (fw->changed && rtnl_sysctl_write(fw->path, fw->before))
		log_warn("could not put %s back to %s", fw->path, fw->before);
	else if (fw->changed)
		log_info("%s forwarding back to %s, as before wgud started", family_names[i], fw->before);
	else if (fw->noted)
		log_info("%s forwarding stays on, as it was before wgud started", family_names[i]);
	if (fw->changed)
		state_remove(gw->state, fw->key, NULL);
	fw->changed = fw->noted = fw->warned = false;
}

static void restore_forwarding(struct gateway *gw)
{
	restore_one(gw, 0);
	restore_one(gw, 1);
}

/* Forwarding wgud turned on goes back as soon as no forward-from subnet of that family is left. */
static void follow_forwarding(struct gateway *gw, const struct policy *p, enum policy_kill_switch mode)
{
	bool wanted[2] = { false, false };
	size_t i;

	for (i = 0; i < p->n_forward_from; i++)
		wanted[p->forward_from[i].family == AF_INET6] = true;
	for (i = 0; i < 2; i++) {
		if (wanted[i])
			enable_forwarding(gw, (int)i);
		else if (gw->forwarding[i].changed)
			restore_one(gw, (int)i);
		/* on before wgud, it stays on after: without lockdown the clients then find the plain route */
		if (wanted[i] && gw->forwarding[i].noted && mode != POLICY_KILL_SWITCH_LOCKDOWN && !gw->forwarding[i].warned) {
			gw->forwarding[i].warned = true;
			log_warn("%s forwarding was on before wgud and stays on after it; without lockdown, forwarded "
				 "clients are routed in the clear once wgud stops (--kill-switch lockdown keeps them in)",
				 family_names[i]);
		}
	}
}

/* ---- allow-lan routing rules ---- */

static int lan_rule(struct gateway *gw, const struct cidr *c, bool add)
{
	char text[64];
	int ret;

	model_format_cidr(text, c);
	if (add) {
		ret = rtnl_rule_add_to(gw->rtnl, c->family, c->addr, c->cidr, 254, GATEWAY_LAN_RULE_PRIORITY);
		if (ret == -EEXIST)
			ret = 0; /* one a crashed run made before it could write it down: ours */
		if (!ret)
			state_add(gw->state, "allow_lan", text);
	} else {
		ret = rtnl_rule_del_to(gw->rtnl, c->family, c->addr, c->cidr, 254, GATEWAY_LAN_RULE_PRIORITY);
		if (ret == -ENOENT)
			ret = 0;
		if (!ret)
			state_remove(gw->state, "allow_lan", text);
	}
	return ret;
}

/*
 * allow-lan destinations look up the main table before the full tunnel's
 * rules send them into the tunnel. The rules in place are those the state
 * records (this run's, and a crashed one's): what is recorded and not
 * wanted goes, what is wanted and not recorded comes, and no one else's
 * rule is touched. A rule that will not go stays recorded: it still routes
 * around the tunnel, and the next change tries again.
 */
static void sync_lan_rules(struct gateway *gw, const struct cidr *want, size_t n_want)
{
	char text[STATE_LINE_MAX];
	const char *rec;
	size_t cursor = 0, i;
	int ret;

	while (gw->rtnl && (rec = state_next(gw->state, "allow_lan", &cursor))) {
		struct cidr c;

		snprintf(text, sizeof(text), "%s", rec);
		if (model_parse_cidr(&c, text, strlen(text))) {
			state_remove(gw->state, "allow_lan", text); /* not ours: we write only prefixes */
			cursor = 0;
			continue;
		}
		if (cidr_find(want, n_want, &c) < n_want)
			continue;
		ret = lan_rule(gw, &c, false);
		if (ret)
			log_warn("allow-lan: removing the routing rule for %s: %s", text, strerror(-ret));
		else
			cursor = 0; /* the record went: look again from the start */
	}
	for (i = 0; gw->rtnl && i < n_want; i++) {
		if (state_has(gw->state, "allow_lan", model_format_cidr(text, &want[i])))
			continue;
		ret = lan_rule(gw, &want[i], true);
		if (ret)
			log_warn("allow-lan: routing rule for %s: %s", text, strerror(-ret));
	}
}

/* ---- checks across the whole policy ---- */

/* One of this host's addresses, on any link. */
static bool is_local(struct gateway *gw, const struct cidr *host, struct cidr *local, size_t *n_local, bool *listed)
{
	size_t i;

	if (!*listed) {
		*listed = true;
		if (rtnl_addr_list(gw->rtnl, 0, local, MAX_LOCAL_ADDRESSES, n_local) && !*n_local)
			return false;
	}
	for (i = 0; i < *n_local; i++)
		if (local[i].family == host->family &&
		    !memcmp(local[i].addr, host->addr, (size_t)cidr_addr_len(host->family)))
			return true;
	return false;
}

static int check(struct gateway *gw, const struct policy *eff, char *err, size_t err_len)
{
	static const struct cidr loopback[2] = {
		{ .family = AF_INET, .addr = { 127 }, .cidr = 8 },
		{ .family = AF_INET6, .addr = { [15] = 1 }, .cidr = 128 },
	};
	struct cidr *local = NULL;
	size_t i, n_local = 0;
	bool listed = false;
	int ret = 0;

	if (eff->dns_forward && !eff->n_dns) {
		snprintf(err, err_len, "dns-forward: no resolvers to forward to (DNS = in the conf, --dns ADDR, or dns set ADDR)");
		return -EINVAL;
	}
	for (i = 0; i < eff->n_port_forward && !ret; i++) {
		const struct policy_port_forward *pf = &eff->port_forward[i];
		char a[64];

		if (!pf->has_target)
			continue;
		inet_ntop(pf->target.family, pf->target.addr, a, sizeof(a));
		if (cidr_covered(&loopback[pf->target.family == AF_INET6], 1, &pf->target)) {
			snprintf(err, err_len,
				 "port-forward: %s is a loopback address, which packets from the tunnel cannot reach; give no "
				 "address to forward to this host on the same port",
				 a);
			ret = -EINVAL;
			break;
		}
		if (cidr_covered(eff->forward_from, eff->n_forward_from, &pf->target))
			continue;
		if (!local && !(local = malloc(MAX_LOCAL_ADDRESSES * sizeof(*local))))
			return -ENOMEM;
		if (is_local(gw, &pf->target, local, &n_local, &listed))
			continue;
		snprintf(err, err_len,
			 "port-forward: %s is neither in a forward-from subnet nor an address of this host; "
			 "forward-from add its subnet first",
			 a);
		ret = -EINVAL;
	}
	free(local);
	return ret;
}

/* ---- the table ---- */

static int lock(struct gateway *gw, const struct policy *p, const struct gateway_facts *f)
{
	struct nft_lockdown l = { .ifname = gw->ifname, .policy = p };
	int ret;

	if (f) {
		l.fwmark = f->fwmark;
		l.endpoints = f->endpoints;
		l.n_endpoints = f->n_endpoints;
	}
	ret = nft_lock(&l);
	if (ret)
		log_error("lockdown: nftables refused the blocking table: %s", strerror(-ret));
	else
		log_info("lockdown: table inet wgud_%s is in force and lets out only loopback, allow-lan and allow entries "
			 "(no DNS) and wgud's UDP to %zu endpoint%s, until wgud is back or `wgud unlock %s`",
			 gw->ifname, l.fwmark ? l.n_endpoints : 0, l.fwmark && l.n_endpoints == 1 ? "" : "s", gw->ifname);
	return ret;
}

static int render(struct gateway *gw, const struct policy *eff, enum policy_kill_switch mode,
		  const struct gateway_facts *f, char *err, size_t err_len)
{
	struct nft_params np = {
		.ifname = gw->ifname,
		.fwmark = f->confined ? 0 : f->fwmark,
		.udp_elsewhere = f->confined,
		.kill_switch = mode != POLICY_KILL_SWITCH_OFF,
		.filter_inbound = mode != POLICY_KILL_SWITCH_OFF,
		.policy = eff,
		.addresses = f->addresses,
		.n_addresses = f->n_addresses,
		.publish_ifname = f->publish_ifname[0] ? f->publish_ifname : NULL,
		.publish = f->publish,
		.n_publish = f->n_publish,
	};
	int ret;

	if (gw->no_firewall) {
		if (!needs_firewall(eff, mode))
			return 0;
		snprintf(err, err_len, "%s needs nftables, and wgud runs with --no-firewall",
			 firewall_reason(eff, mode));
		return -EPROTONOSUPPORT;
	}
	if (!f->fwmark && !f->confined) {
		snprintf(err, err_len, "wgud's UDP sockets carry no fwmark, so the firewall cannot tell them apart");
		return -EINVAL;
	}
	ret = nft_replace(&np);
	if (ret) {
		snprintf(err, err_len, "nftables refused the rule set: %s", strerror(-ret));
		return ret;
	}
	gw->table_installed = true;
	return 0;
}

/* Check, render and, when the kernel took it, make it the policy in force. */
static int enforce(struct gateway *gw, const struct policy *next, const struct gateway_facts *f, bool checked,
		   char *err, size_t err_len)
{
	enum policy_kill_switch mode = policy_kill_switch_mode(next, full_tunnel(f));
	struct policy *eff = effective_copy(next, f);
	int ret;

	if (!eff)
		return -ENOMEM;
	ret = checked ? 0 : check(gw, eff, err, err_len);
	if (!ret && needs_firewall(eff, mode)) {
		ret = render(gw, eff, mode, f, err, err_len);
	} else if (!ret && !gw->no_firewall) {
		/* Nothing to enforce: no table, not even one an earlier run left. */
		int gone = nft_delete(gw->ifname);

		if (gone && gone != -ENOENT)
			log_warn("removing table inet wgud_%s: %s", gw->ifname, strerror(-gone));
		gw->table_installed = false;
	}
	if (!ret) {
		follow_forwarding(gw, eff, mode);
		sync_lan_rules(gw, eff->allow_lan, eff->n_allow_lan);
		if (mode != gw->mode || !gw->started)
			log_info("kill switch %s", mode == POLICY_KILL_SWITCH_LOCKDOWN ? "in lockdown: nothing leaves but "
							"through the tunnel, and nothing at all once wgud stops"
				 : mode == POLICY_KILL_SWITCH_ON ? "on: nothing leaves but through the tunnel"
								 : "off");
		gw->mode = mode;
		gw->policy = *next;
		if (f != &gw->facts)
			gw->facts = *f;
	}
	free(eff);
	return ret;
}

/* Two walls in one namespace each let out only their own tunnel: say so before it puzzles anyone. */
static void warn_other(const char *other, void *ctx)
{
	(void)ctx;
	log_warn("table inet wgud_%s of another wgud is in force here too: it blocks what it does not know, this "
		 "tunnel's traffic included; `wgud unlock %s` if that wgud is gone",
		 other, other);
}

int gateway_start(struct gateway *gw, struct rtnl *rtnl, const struct policy *initial,
		  const struct gateway_facts *facts)
{
	char err[320] = "";
	int ret, probe;

	gw->rtnl = rtnl;
	if (gw->no_firewall)
		snprintf(gw->no_firewall_why, sizeof(gw->no_firewall_why), "--no-firewall");
	if (!gw->no_firewall && (probe = nft_probe())) {
		struct policy *eff = effective_copy(initial, facts);
		const char *why = eff ? firewall_reason(eff, policy_kill_switch_mode(initial, full_tunnel(facts)))
				      : "the policy (out of memory to tell)";

		free(eff);
		if (why) {
			log_error("%s needs a firewall, but nftables is not usable here (%s); without that part (for the "
				  "kill switch: --kill-switch off) wgud runs on the data plane's guarantee alone",
				  why, probe == -EOPNOTSUPP ? "this build has no nftables: -DWGUD_NFTABLES=OFF" : strerror(-probe));
			return -EPROTONOSUPPORT;
		}
		gw->no_firewall = true;
		snprintf(gw->no_firewall_why, sizeof(gw->no_firewall_why), "nftables is not usable here: %s",
			 probe == -EOPNOTSUPP ? "this build has no nftables (-DWGUD_NFTABLES=OFF)" : strerror(-probe));
		log_warn("%s; the policy needs no firewall, so wgud carries on: only the data plane keeps traffic in the "
			 "tunnel, nothing stops other traffic from leaving",
			 gw->no_firewall_why);
	} else if (gw->no_firewall) {
		log_warn("running without a firewall (--no-firewall): only the data plane keeps traffic in the tunnel, "
			 "nothing stops other traffic from leaving");
	} else {
		(void)nft_other_tables(gw->ifname, warn_other, NULL);
	}
	adopt_forwarding(gw);
	sync_lan_rules(gw, NULL, 0);
	ret = enforce(gw, initial, facts, false, err, sizeof(err));
	if (ret) {
		log_error("%s", err);
		return ret;
	}
	gw->started = true;
	return 0;
}

bool gateway_facts_equal(const struct gateway_facts *a, const struct gateway_facts *b)
{
	size_t i;

	if (a->full_tunnel[0] != b->full_tunnel[0] || a->full_tunnel[1] != b->full_tunnel[1] || a->confined != b->confined ||
	    a->fwmark != b->fwmark ||
	    a->n_addresses != b->n_addresses || a->n_dns != b->n_dns || a->n_endpoints != b->n_endpoints)
		return false;
	for (i = 0; i < a->n_addresses; i++)
		if (!cidr_equal(&a->addresses[i], &b->addresses[i]))
			return false;
	if (strcmp(a->publish_ifname, b->publish_ifname) || a->n_publish != b->n_publish ||
	    memcmp(a->publish, b->publish, a->n_publish * sizeof(a->publish[0])))
		return false;
	return !memcmp(a->dns, b->dns, a->n_dns * sizeof(a->dns[0])) &&
	       !memcmp(a->endpoints, b->endpoints, a->n_endpoints * sizeof(a->endpoints[0]));
}

int gateway_update(struct gateway *gw, const struct gateway_facts *facts)
{
	struct policy *same = malloc(sizeof(*same));
	char err[320] = "";
	int ret;

	if (!same)
		return -ENOMEM;
	*same = gw->policy;
	/* A policy once taken stays taken: a port forward's local address gone from the link breaks nothing. */
	ret = enforce(gw, same, facts, true, err, sizeof(err));
	if (ret)
		log_error("applying the policy to the changed tunnel: %s (the rule set in force stays)", err);
	free(same);
	return ret;
}

int gateway_check(struct gateway *gw, const struct policy *next, const struct gateway_facts *facts, char *err,
		  size_t err_len)
{
	struct policy *eff = effective_copy(next, facts);
	int ret;

	if (!eff)
		return -ENOMEM;
	ret = check(gw, eff, err, err_len);
	free(eff);
	return ret;
}

int gateway_set_policy(struct gateway *gw, const struct policy *next, const struct gateway_facts *facts, char *err,
		       size_t err_len)
{
	return enforce(gw, next, facts, false, err, err_len);
}

int gateway_command(struct gateway *gw, char *const words[], size_t n_words, char *err, size_t err_len)
{
	struct policy *next = malloc(sizeof(*next));
	int ret;

	if (!next)
		return -ENOMEM;
	*next = gw->policy;
	ret = policy_apply_words(next, words, n_words, err, err_len);
	if (!ret)
		ret = enforce(gw, next, &gw->facts, false, err, err_len);
	if (!ret) {
		/* the words as given: printable ASCII, split by the control socket, a line at most */
		char line[POLICY_MAX_LINE + 1];
		size_t len = 0, i;

		for (i = 0; i < n_words && len < sizeof(line); i++)
			len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", i ? " " : "", words[i]);
		log_info("policy changed: %s", line);
	}
	free(next);
	return ret;
}

/* The running table goes only when a lockdown table replaced it or nothing is to stay. */
static void leave(struct gateway *gw, const struct policy *p, const struct gateway_facts *f, bool clean)
{
	struct policy *eff = effective_copy(p, f);
	enum policy_kill_switch mode = policy_kill_switch_mode(p, full_tunnel(f));
	int ret;

	if (!eff) {
		log_error("out of memory: table inet wgud_%s stays as it is", gw->ifname);
		return;
	}
	if (gw->no_firewall) {
		/* nothing of ours in nftables */
	} else if (mode == POLICY_KILL_SWITCH_LOCKDOWN) {
		if (lock(gw, eff, f))
			log_error("table inet wgud_%s stays as it was", gw->ifname);
	} else if (clean && gw->table_installed) {
		ret = nft_delete(gw->ifname);
		if (ret && ret != -ENOENT)
			log_warn("removing table inet wgud_%s: %s; remove it with `wgud unlock %s`", gw->ifname,
				 strerror(-ret), gw->ifname);
	} else if (!clean && nft_table_exists(gw->ifname) == 1) {
		log_warn("table inet wgud_%s stays as it is (fail-closed): it blocks what it blocked; `wgud unlock %s` "
			 "removes it",
			 gw->ifname, gw->ifname);
	}
	gw->table_installed = false;
	free(eff);
}

void gateway_stop(struct gateway *gw)
{
	if (!gw->started)
		return;
	/* Forwarding and bypass rules go first, while the table still guards them. */
	sync_lan_rules(gw, NULL, 0);
	restore_forwarding(gw);
	leave(gw, &gw->policy, &gw->facts, true);
	gw->started = false;
}

void gateway_abort(struct gateway *gw, const struct policy *p, const struct gateway_facts *f)
{
	if (gw->started) {
		sync_lan_rules(gw, NULL, 0);
		restore_forwarding(gw);
		p = &gw->policy;
		f = &gw->facts;
	}
	leave(gw, p, f, false);
	gw->started = false;
}

int gateway_unlock(const char *ifname, struct state *state, struct rtnl *rtnl)
{
	struct gateway gw;
	int ret;

	gateway_init(&gw, ifname, state, false);
	gw.rtnl = rtnl;
	ret = nft_delete(ifname);
	if (!ret)
		log_info("removed table inet wgud_%s", ifname);
	else if (ret == -ENOENT || ret == -EOPNOTSUPP)
		log_info("no table inet wgud_%s to remove%s", ifname, ret == -EOPNOTSUPP ? " (this build has no nftables)" : "");
	else
		log_error("removing table inet wgud_%s: %s", ifname, strerror(-ret));
	sync_lan_rules(&gw, NULL, 0);
	adopt_forwarding(&gw);
	restore_forwarding(&gw);
	return ret == -ENOENT || ret == -EOPNOTSUPP ? 0 : ret;
}
