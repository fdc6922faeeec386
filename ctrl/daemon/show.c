// SPDX-License-Identifier: MIT
#include "show.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "apply.h"
#include "keys.h"

/* The policy's own text, then what only the running daemon knows. */
static int format_policy(const struct gateway *gw, bool json, char **out)
{
	struct policy *eff = malloc(sizeof(*eff));
	char *text = malloc(POLICY_FORMAT_MAX);
	int n;

	if (!eff || !text) {
		free(eff);
		free(text);
		return -ENOMEM;
	}
	gateway_effective(gw, eff);
	n = json ? policy_format_json(eff, text, POLICY_FORMAT_MAX) : policy_format_text(eff, text, POLICY_FORMAT_MAX);
	free(eff);
	if (n < 0) {
		free(text);
		return n;
	}
	*out = text;
	return 0;
}

static void format_peers(struct ctl_buf *out, const struct model_device *snap, bool json)
{
	char key[KEY_BASE64_LEN + 1], ep[64];
	size_t i;

	for (i = 0; i < snap->n_peers; i++) {
		const struct model_peer *p = &snap->peers[i];

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
			ctl_buf_printf(out,
				       "peer: %s\n  endpoint: %s\n  transfer: %llu B received, %llu B sent\n"
				       "  latest handshake: %lld\n",
				       key, ep, (unsigned long long)p->rx_bytes, (unsigned long long)p->tx_bytes,
				       (long long)p->last_handshake_sec);
	}
	sodium_memzero(key, sizeof(key));
}

static void format_drops(struct ctl_buf *out, const struct wg_device *dev, const struct show_kernel_drops *k,
			 bool json)
{
	int i;

	ctl_buf_printf(out, json ? "],\"drops\":{" : "drops:\n");
	for (i = 0; i < WG_DROP_COUNT; i++) {
		if (json)
			ctl_buf_printf(out, "%s\"%s\":%llu", i ? "," : "", device_drop_name(i),
				       (unsigned long long)dev->drops[i]);
		else if (dev->drops[i])
			ctl_buf_printf(out, "  %s: %llu\n", device_drop_name(i), (unsigned long long)dev->drops[i]);
	}
	if (json) {
		ctl_buf_printf(out, "},\"kernel_drops\":{");
		if (k->tun_queue_full >= 0)
			ctl_buf_printf(out, "\"tun_queue_full\":%lld", (long long)k->tun_queue_full);
		ctl_buf_printf(out, "}}\n");
	} else if (k->tun_queue_full > 0) {
		ctl_buf_printf(out, "  tun_queue_full: %lld (in the kernel: the TUN device's queue to wgud was full)\n",
			       (long long)k->tun_queue_full);
	}
}

/* A namespace name or path fit for a JSON string and a terminal, or a placeholder. */
static const char *safe_name(const char *s)
{
	const char *c;

	for (c = s; *c; c++)
		if (*c < 0x20 || *c == 0x7f || *c == '"' || *c == '\\')
			return "(unprintable)";
	return s;
}

/* What keeps traffic in the tunnel right now, and what does not. */
static void format_enforcement(struct ctl_buf *out, const struct gateway *gw, const struct show_env *env, bool json)
{
	const char *where = env->netns ? safe_name(env->netns) : NULL;

	if (json) {
		ctl_buf_printf(out, "\"enforced\":{\"data_plane\":true,\"nftables\":%s,\"nftables_unusable\":",
			       gw->table_installed ? "true" : "false");
		if (gw->no_firewall)
			ctl_buf_printf(out, "\"%s\"", gw->no_firewall_why);
		else
			ctl_buf_printf(out, "null");
		ctl_buf_printf(out, ",\"manages_network\":%s},\"netns\":", env->manages_network ? "true" : "false");
		if (where)
			ctl_buf_printf(out, "\"%s\",", where);
		else
			ctl_buf_printf(out, "%s,", env->run ? "\"(wgud run)\"" : "null");
		return;
	}
	ctl_buf_printf(out, "  enforced: data plane (nothing is sent outside a session)%s%s\n",
		       gw->table_installed ? ", nftables table inet wgud_" : "", gw->table_installed ? gw->ifname : "");
	if (gw->no_firewall)
		ctl_buf_printf(out, "  not enforced: nftables (%s): nothing stops other traffic in this namespace\n",
			       gw->no_firewall_why);
	if (!env->manages_network)
		ctl_buf_printf(out, "  not managed: MTU, addresses and routes (no CAP_NET_ADMIN: they are as the "
				    "device's opener made them)\n");
	if (where)
		ctl_buf_printf(out, "  namespace: the device in %s, the encrypted UDP in wgud's own\n", where);
	else if (env->run)
		ctl_buf_printf(out, "  namespace: wgud run's own, with only lo and the device\n");
}

int show_format(struct ctl_buf *out, const struct gateway *gw, struct wg_device *dev, struct loop *loop,
		const struct show_kernel_drops *kernel, const struct show_env *env, bool json)
{
	const char *mode = policy_kill_switch_name(gw->mode);
	struct model_device *snap = NULL;
	char *pol = NULL;
	int ret;

	ret = format_policy(gw, json, &pol);
	if (!ret)
		ret = apply_snapshot(dev, &snap);
	if (ret) {
		free(pol);
		return ret;
	}
	if (json) {
		ctl_buf_printf(out, "{\"interface\":\"%s\",\"listen_port\":%u,\"fwmark\":%u,\"event_loop\":\"%s\",", gw->ifname,
			       dev->listen_port, dev->fwmark, loop_backend_name(loop));
		ctl_buf_printf(out, "\"mtu\":%u,\"max_mtu\":%u,", dev->mtu, dev->max_mtu);
		ctl_buf_printf(out,
			       "\"offloads\":{\"tun_vnet_hdr\":%s,\"tun_tso\":%s,\"tun_uso\":%s,\"udp_gso\":%s,"
			       "\"udp_gro\":%s},\"crypto_threads\":%u,",
			       dev->tun_vnet ? "true" : "false", dev->tun_tso ? "true" : "false",
			       dev->tun_uso ? "true" : "false", dev->udp_gso ? "true" : "false",
			       dev->udp_gro ? "true" : "false", dev->workers ? dev->workers->n_threads : 1);
		ctl_buf_printf(out, "\"io\":{\"udp_reads\":%llu,\"udp_datagrams\":%llu,\"tun_writes\":%llu,\"tun_packets\":%llu},",
			       (unsigned long long)dev->udp_reads, (unsigned long long)dev->udp_datagrams,
			       (unsigned long long)dev->tun_writes, (unsigned long long)dev->tun_packets);
		format_enforcement(out, gw, env, true);
		ctl_buf_printf(out, "\"kill_switch_active\":%s,\"kill_switch_mode\":\"%s\",\"firewall\":%s,\"policy\":%s,\"peers\":[",
			       gw->mode != POLICY_KILL_SWITCH_OFF ? "true" : "false", mode,
			       gw->table_installed ? "true" : "false", pol);
	} else {
		ctl_buf_printf(out, "interface: %s\n  listen port: %u\n  fwmark: 0x%x\n  event loop: %s\n", gw->ifname,
			       dev->listen_port, dev->fwmark, loop_backend_name(loop));
		ctl_buf_printf(out, "  mtu: %u (buffers hold up to %u)\n", dev->mtu, dev->max_mtu);
		if (dev->offload)
			ctl_buf_printf(out, "  offloads: TUN %s, UDP GSO %s, UDP GRO %s\n",
				       dev->tun_tso ? (dev->tun_uso ? "TSO+USO" : "TSO") : "none",
				       dev->udp_gso ? "on" : "off", dev->udp_gro ? "on" : "off");
		else
			ctl_buf_printf(out, "  offloads: off\n");
		ctl_buf_printf(out, "  crypto threads: %u\n", dev->workers ? dev->workers->n_threads : 1);
		ctl_buf_printf(out, "  kill switch: %s\n  firewall: %s%s\n%s",
			       gw->mode == POLICY_KILL_SWITCH_LOCKDOWN ? "lockdown (active; stays after a stop)"
			       : gw->mode == POLICY_KILL_SWITCH_ON	? "active"
									: "inactive",
			       gw->table_installed ? "table inet wgud_" : "none", gw->table_installed ? gw->ifname : "", pol);
		format_enforcement(out, gw, env, false);
	}
	format_peers(out, snap, json);
	format_drops(out, dev, kernel, json);
	free(pol);
	model_device_free(snap);
	return 0;
}

int show_help(struct ctl_buf *out)
{
	char *text = malloc(POLICY_FORMAT_MAX);
	int n;

	if (!text)
		return -ENOMEM;
	n = policy_format_help(text, POLICY_FORMAT_MAX);
	if (n >= 0) {
		ctl_buf_printf(out, "%s", text);
		ctl_buf_printf(out, "%-52s %s\n", "show [--json]", "the policy, the tunnel, peers and drop counters");
		ctl_buf_printf(out, "%-52s %s\n", "help", "this list");
	}
	free(text);
	return n < 0 ? n : 0;
}
