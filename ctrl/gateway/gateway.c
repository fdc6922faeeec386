// SPDX-License-Identifier: MIT
#include "gateway.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "keys.h"
#include "log.h"
#include "nft.h"
#include "socket.h"

#define DEFAULT_FWMARK 0xca6c /* 51820, as wg-quick picks */

static const char forward4_path[] = "/proc/sys/net/ipv4/ip_forward";
static const char forward6_path[] = "/proc/sys/net/ipv6/conf/all/forwarding";

/* Does the device route everything of some family into the tunnel? */
static bool device_full_tunnel(struct gateway *gw)
{
	struct model_device *snap = NULL;
	bool full;

	if (gw->conf && !gw->dev->n_peers)
		return policy_kill_switch_active(&gw->policy, gw->conf);
	if (apply_snapshot(gw->dev, &snap))
		return true; /* when in doubt, closed */
	full = policy_kill_switch_active(&(struct policy){ .kill_switch = POLICY_KILL_SWITCH_AUTO }, snap);
	model_device_free(snap);
	return full;
}

static bool kill_switch_for(struct gateway *gw, const struct policy *p)
{
	if (p->kill_switch == POLICY_KILL_SWITCH_ON)
		return true;
	if (p->kill_switch == POLICY_KILL_SWITCH_OFF)
		return false;
	return device_full_tunnel(gw);
}

/* The resolvers in force: the conf's DNS until `dns set` replaced them. */
static void effective_dns(struct gateway *gw, struct policy *p)
{
	size_t i;

	if (!p->dns_from_conf)
		return;
	p->n_dns = 0;
	for (i = 0; gw->conf && i < gw->conf->n_dns && i < POLICY_MAX_ENTRIES; i++)
		p->dns[p->n_dns++] = gw->conf->dns[i];
}

static bool needs_table(const struct policy *p, bool kill_switch)
{
	return kill_switch || p->n_forward_from || p->masquerade || p->n_port_forward || !p->dns_from_conf;
}

static int ensure_fwmark(struct gateway *gw)
{
	int ret;

	if (gw->dev->fwmark)
		return 0;
	ret = socket_set_fwmark(gw->dev, DEFAULT_FWMARK);
	if (!ret)
		log_info("marking wgud's UDP with fwmark 0x%x for the firewall", DEFAULT_FWMARK);
	return ret;
}

static void set_forwarding(const char *path, char saved[8], bool *changed, bool on)
{
	char now[8] = "";

	if (on && !*changed) {
		if (rtnl_sysctl_read(path, now, sizeof(now)) == 0 && now[0] == '1')
			return;
		snprintf(saved, 8, "%s", now[0] ? now : "0");
		if (rtnl_sysctl_write(path, "1") == 0) {
			*changed = true;
			log_info("enabled IP forwarding in this namespace (%s) for forward-from", path);
		} else {
			log_warn("could not enable IP forwarding (%s): forward-from will not work", path);
		}
	}
}

static void restore_forwarding(const char *path, char saved[8], bool *changed)
{
	if (*changed && rtnl_sysctl_write(path, saved))
		log_warn("could not restore %s to %s", path, saved);
	*changed = false;
}

static bool has_family(const struct cidr *c, size_t n, int family)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i].family == family)
			return true;
	return false;
}

static bool cidr_listed(const struct cidr *c, size_t n, const struct cidr *x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_equal(&c[i], x))
			return true;
	return false;
}

/* allow-lan destinations look up the main table before the full tunnel's rules send them into the tunnel. */
static void sync_lan_rules(struct gateway *gw, const struct policy *p)
{
	size_t i = 0;

	while (i < gw->n_lan_rules) {
		struct cidr *c = &gw->lan_rules[i];

		int ret;

		if (cidr_listed(p->allow_lan, p->n_allow_lan, c)) {
			i++;
			continue;
		}
		ret = rtnl_rule_del_to(gw->rtnl, c->family, c->addr, c->cidr, 254, GATEWAY_LAN_RULE_PRIORITY);
		if (ret && ret != -ENOENT) {
			/* Keep it listed: it still lets traffic around the tunnel, and the next change retries. */
			log_warn("allow-lan: removing a routing rule: %s", strerror(-ret));
			i++;
			continue;
		}
		gw->lan_rules[i] = gw->lan_rules[--gw->n_lan_rules];
	}
	for (i = 0; i < p->n_allow_lan; i++) {
		const struct cidr *c = &p->allow_lan[i];
		int ret;

		if (cidr_listed(gw->lan_rules, gw->n_lan_rules, c))
			continue;
		ret = rtnl_rule_add_to(gw->rtnl, c->family, c->addr, c->cidr, 254, GATEWAY_LAN_RULE_PRIORITY);
		if (ret && ret != -EEXIST) {
			log_warn("allow-lan: routing rule: %s", strerror(-ret));
			continue;
		}
		gw->lan_rules[gw->n_lan_rules++] = *c;
	}
}

/* Render next and, when the kernel took it, make it the policy in force. */
static int enforce(struct gateway *gw, const struct policy *next, char *err, size_t err_len)
{
	struct policy eff = *next;
	bool ks = kill_switch_for(gw, next);
	int ret;

	effective_dns(gw, &eff);
	if (needs_table(&eff, ks)) {
		struct nft_params np = { .ifname = gw->ifname, .kill_switch = ks, .policy = &eff };

		if (gw->no_firewall) {
			if (ks || eff.n_forward_from || eff.masquerade || eff.n_port_forward) {
				snprintf(err, err_len, "the policy needs nftables, and wgud runs with --no-firewall");
				return -EPROTONOSUPPORT;
			}
		} else {
			ret = ensure_fwmark(gw);
			if (ret) {
				snprintf(err, err_len, "setting a fwmark on the UDP sockets: %s", strerror(-ret));
				return ret;
			}
			np.fwmark = gw->dev->fwmark;
			ret = nft_replace(&np);
			if (ret) {
				snprintf(err, err_len, "nftables refused the rule set: %s", strerror(-ret));
				return ret;
			}
			gw->table_installed = true;
		}
	} else if (gw->table_installed || !gw->no_firewall) {
		/* Nothing to enforce: no table, not even one an earlier run left. */
		ret = gw->no_firewall ? 0 : nft_delete(gw->ifname);
		if (ret && ret != -ENOENT)
			log_warn("removing table inet wgud_%s: %s", gw->ifname, strerror(-ret));
		gw->table_installed = false;
	}
	if (eff.n_forward_from) {
		if (has_family(eff.forward_from, eff.n_forward_from, AF_INET))
			set_forwarding(forward4_path, gw->saved_forward4, &gw->changed_forward4, true);
		if (has_family(eff.forward_from, eff.n_forward_from, AF_INET6))
			set_forwarding(forward6_path, gw->saved_forward6, &gw->changed_forward6, true);
	}
	sync_lan_rules(gw, &eff);
	if (ks != gw->kill_switch_active)
		log_info("kill switch %s", ks ? "on: nothing leaves but through the tunnel" : "off");
	gw->kill_switch_active = ks;
	gw->policy = *next;
	return 0;
}

int gateway_start(struct gateway *gw, const struct policy *initial)
{
	char err[256] = "";
	int ret;

	if (!gw->no_firewall && nft_probe()) {
		struct policy eff = *initial;

		effective_dns(gw, &eff);
		if (needs_table(&eff, kill_switch_for(gw, initial))) {
			log_error("the policy needs a firewall but nftables is not usable here; start with --no-firewall to "
				  "run with the data plane's guarantee only");
			return -EPROTONOSUPPORT;
		}
		gw->no_firewall = true;
	}
	if (gw->no_firewall)
		log_warn("running without a firewall (--no-firewall): only the data plane keeps traffic in the tunnel, "
			 "nothing stops other traffic from leaving");
	ret = enforce(gw, initial, err, sizeof(err));
	if (ret)
		log_error("%s", err);
	return ret;
}

void gateway_refresh(struct gateway *gw)
{
	char err[256] = "";
	struct policy same = gw->policy;

	if (enforce(gw, &same, err, sizeof(err)))
		log_error("re-applying the policy after a change: %s (the previous rule set stays)", err);
}

void gateway_stop(struct gateway *gw)
{
	struct policy none;

	/* Forwarding and bypass rules go first, while the table still guards them. */
	policy_init(&none);
	none.kill_switch = POLICY_KILL_SWITCH_OFF;
	sync_lan_rules(gw, &none);
	restore_forwarding(forward4_path, gw->saved_forward4, &gw->changed_forward4);
	restore_forwarding(forward6_path, gw->saved_forward6, &gw->changed_forward6);
	if (gw->table_installed && !gw->no_firewall) {
		int ret = nft_delete(gw->ifname);

		if (ret && ret != -ENOENT)
			log_warn("removing table inet wgud_%s: %s; remove it with `nft delete table inet wgud_%s`",
				 gw->ifname, strerror(-ret), gw->ifname);
		gw->table_installed = false;
	}
}

static int show(struct gateway *gw, bool json, struct ctl_buf *out)
{
	struct policy eff = gw->policy;
	struct model_device *snap = NULL;
	char *pol = malloc(POLICY_FORMAT_MAX), key[64];
	size_t i;
	int ret, n;

	if (!pol)
		return -ENOMEM;
	effective_dns(gw, &eff);
	n = json ? policy_format_json(&eff, pol, POLICY_FORMAT_MAX) : policy_format_text(&eff, pol, POLICY_FORMAT_MAX);
	ret = n < 0 ? n : apply_snapshot(gw->dev, &snap);
	if (ret) {
		free(pol);
		return ret;
	}
	if (json) {
		ctl_buf_printf(out, "{\"interface\":\"%s\",\"listen_port\":%u,\"fwmark\":%u,\"event_loop\":\"%s\",", gw->ifname,
			       gw->dev->listen_port, gw->dev->fwmark, loop_backend_name(gw->loop));
		ctl_buf_printf(out, "\"kill_switch_active\":%s,\"firewall\":%s,\"policy\":%s,\"peers\":[",
			       gw->kill_switch_active ? "true" : "false", gw->table_installed ? "true" : "false", pol);
	} else {
		ctl_buf_printf(out, "interface: %s\n  listen port: %u\n  fwmark: 0x%x\n  event loop: %s\n", gw->ifname,
			       gw->dev->listen_port, gw->dev->fwmark, loop_backend_name(gw->loop));
		ctl_buf_printf(out, "  kill switch: %s\n  firewall: %s%s\n%s", gw->kill_switch_active ? "active" : "inactive",
			       gw->table_installed ? "table inet wgud_" : "none", gw->table_installed ? gw->ifname : "", pol);
	}
	for (i = 0; i < snap->n_peers; i++) {
		const struct model_peer *p = &snap->peers[i];
		char ep[64];

		key_to_base64(key, p->public_key);
		if (p->flags & MODEL_PEER_HAS_ENDPOINT)
			model_format_endpoint(ep, &p->endpoint);
		else
			snprintf(ep, sizeof(ep), "(none)");
		if (json)
			ctl_buf_printf(out,
				       "%s{\"public_key\":\"%s\",\"endpoint\":\"%s\",\"rx_bytes\":%llu,\"tx_bytes\":%llu,"
				       "\"latest_handshake\":%lld}",
				       i ? "," : "", key, ep, (unsigned long long)p->rx_bytes,
				       (unsigned long long)p->tx_bytes, (long long)p->last_handshake_sec);
		else
			ctl_buf_printf(out, "peer: %s\n  endpoint: %s\n  transfer: %llu B received, %llu B sent\n  latest handshake: %lld\n",
				       key, ep, (unsigned long long)p->rx_bytes, (unsigned long long)p->tx_bytes,
				       (long long)p->last_handshake_sec);
	}
	ctl_buf_printf(out, json ? "],\"drops\":{" : "drops:\n");
	for (i = 0; i < WG_DROP_COUNT; i++) {
		if (json)
			ctl_buf_printf(out, "%s\"%s\":%llu", i ? "," : "", device_drop_name(i),
				       (unsigned long long)gw->dev->drops[i]);
		else if (gw->dev->drops[i])
			ctl_buf_printf(out, "  %s: %llu\n", device_drop_name(i), (unsigned long long)gw->dev->drops[i]);
	}
	if (json)
		ctl_buf_printf(out, "}}\n");
	free(pol);
	model_device_free(snap);
	sodium_memzero(key, sizeof(key));
	return 0;
}

int gateway_ctl(void *ctx, char *const words[], size_t n_words, struct ctl_buf *out, char *err, size_t err_len)
{
	struct gateway *gw = ctx;
	struct policy next = gw->policy;
	int ret;

	if (n_words >= 1 && !strcmp(words[0], "show")) {
		if (n_words > 2 || (n_words == 2 && strcmp(words[1], "--json"))) {
			snprintf(err, err_len, "usage: show [--json]");
			return -EINVAL;
		}
		ret = show(gw, n_words == 2, out);
		if (ret)
			snprintf(err, err_len, "show: %s", strerror(-ret));
		return ret;
	}
	ret = policy_apply_words(&next, words, n_words, err, err_len);
	if (ret)
		return ret;
	ret = enforce(gw, &next, err, err_len);
	if (!ret)
		log_info("policy changed: %s%s%s%s", words[0], n_words > 1 ? " " : "", n_words > 1 ? words[1] : "",
			 n_words > 2 ? " ..." : "");
	return ret;
}
