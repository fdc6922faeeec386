// SPDX-License-Identifier: MIT
#include "show.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "diag.h"
#include "health.h"
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

/* "1 minute, 4 seconds", as wg(8) says it; 0 seconds is "0 seconds". */
static void format_age(char *out, size_t len, uint64_t secs)
{
	static const struct {
		const char *name;
		uint64_t secs;
	} units[] = { { "day", 86400 }, { "hour", 3600 }, { "minute", 60 }, { "second", 1 } };
	size_t used = 0;
	size_t i;

	out[0] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t n = secs / units[i].secs;

		if (!n && !(i == 3 && !used))
			continue;
		secs -= n * units[i].secs;
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%llu %s%s", used ? ", " : "",
					 (unsigned long long)n, units[i].name, n == 1 ? "" : "s");
		if (used >= len)
			break;
	}
}

static void format_allowedips(struct ctl_buf *out, const struct model_peer *p, bool json)
{
	char c[64];
	size_t j;

	if (!json && !p->n_allowedips)
		ctl_buf_printf(out, "(none)");
	for (j = 0; j < p->n_allowedips; j++) {
		model_format_cidr(c, &p->allowedips[j]);
		ctl_buf_printf(out, json ? "%s\"%s\"" : "%s%s", j ? (json ? "," : ", ") : "", c);
	}
}

/*
 * The peer's last send error (peer.h struct wg_send_error), or that there
 * was none. JSON: "last_error": null, or {"errno": N, "message": strerror's
 * text, "detail": the ICMP error in words ("ICMP port unreachable from
 * ADDR") or null when the send itself failed, "at": wall-clock seconds
 * since the epoch, "seconds_ago": N}.
 */
static void format_last_error(struct ctl_buf *out, const struct wg_peer *live, uint64_t now_ns, bool json)
{
	const struct wg_send_error *e = live ? &live->send_error : NULL;
	uint64_t ago = e && now_ns > e->at_ns ? (now_ns - e->at_ns) / NSEC_PER_SEC : 0;
	char text[DIAG_SEND_ERROR_LEN], age[96];

	if (!e || !e->err) {
		ctl_buf_printf(out, json ? ",\"last_error\":null" : "  last error: none\n");
		return;
	}
	diag_format_send_error(text, sizeof(text), e);
	if (!json) {
		format_age(age, sizeof(age), ago);
		ctl_buf_printf(out, "  last error: %s, %s ago\n", text, age);
		return;
	}
	ctl_buf_printf(out, ",\"last_error\":{\"errno\":%d,\"message\":\"%s\",\"detail\":", e->err, strerror(e->err));
	diag_format_icmp(text, sizeof(text), e);
	if (text[0])
		ctl_buf_printf(out, "\"%s\"", text);
	else
		ctl_buf_printf(out, "null");
	ctl_buf_printf(out, ",\"at\":%lld,\"seconds_ago\":%llu}", (long long)e->at_sec, (unsigned long long)ago);
}

static void format_peers(struct ctl_buf *out, struct wg_device *dev, const struct model_device *snap, bool json)
{
	char key[KEY_BASE64_LEN + 1], ep[64], why[160], age[96];
	uint64_t now_ns = device_now_ns();
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < snap->n_peers; i++) {
		const struct model_peer *p = &snap->peers[i];
		const struct wg_peer *live = device_find_peer(dev, p->public_key);
		const char *state = health_tunnel_name(health_peer_state(live, now_ns, why, sizeof(why)));

		key_to_base64(key, p->public_key);
		if (p->flags & MODEL_PEER_HAS_ENDPOINT)
			model_format_endpoint(ep, &p->endpoint);
		else
			snprintf(ep, sizeof(ep), "(none)");
		if (json) {
			ctl_buf_printf(out,
				       "%s{\"public_key\":\"%s\",\"endpoint\":\"%s\",\"allowed_ips\":[", i ? "," : "", key, ep);
			format_allowedips(out, p, true);
			ctl_buf_printf(out,
				       "],\"persistent_keepalive\":%u,\"rx_bytes\":%llu,\"tx_bytes\":%llu,"
				       "\"latest_handshake\":%lld,\"state\":\"%s\",\"state_reason\":",
				       p->persistent_keepalive, (unsigned long long)p->rx_bytes,
				       (unsigned long long)p->tx_bytes, (long long)p->last_handshake_sec, state);
			if (why[0])
				ctl_buf_printf(out, "\"%s\"", why);
			else
				ctl_buf_printf(out, "null");
			format_last_error(out, live, now_ns, true);
			ctl_buf_printf(out, "}");
			continue;
		}
		ctl_buf_printf(out, "peer: %s\n  endpoint: %s\n  allowed ips: ", key, ep);
		format_allowedips(out, p, false);
		if (p->last_handshake_sec && now >= p->last_handshake_sec) {
			format_age(age, sizeof(age), (uint64_t)(now - p->last_handshake_sec));
			ctl_buf_printf(out, "\n  latest handshake: %s ago\n", age);
		} else {
			ctl_buf_printf(out, "\n  latest handshake: none\n");
		}
		ctl_buf_printf(out, "  transfer: %llu B received, %llu B sent\n", (unsigned long long)p->rx_bytes,
			       (unsigned long long)p->tx_bytes);
		if (p->persistent_keepalive)
			ctl_buf_printf(out, "  persistent keepalive: every %u seconds\n", p->persistent_keepalive);
		else
			ctl_buf_printf(out, "  persistent keepalive: off\n");
		ctl_buf_printf(out, "  tunnel: %s%s%s\n", state, why[0] ? ": " : "", why);
		format_last_error(out, live, now_ns, false);
	}
	sodium_memzero(key, sizeof(key));
}

/* What each drop counter means, in one line, for show. */
static const char *drop_meaning(enum wg_drop_reason why)
{
	switch (why) {
	case WG_DROP_INVALID_MESSAGE: return "a datagram that is no WireGuard message (wrong type or length)";
	case WG_DROP_MAC: return "a handshake message with a wrong mac1: its sender uses a different public key for us";
	case WG_DROP_UNDER_LOAD: return "a handshake message refused under load (cookie needed, or rate limited)";
	case WG_DROP_HANDSHAKE: return "a handshake message Noise refused (unknown peer, replay, or keys that do not match)";
	case WG_DROP_UNKNOWN_INDEX: return "a message for a session or handshake that is not (or no longer) here";
	case WG_DROP_DECRYPT: return "data that failed authentication, was replayed, or came on an expired key";
	case WG_DROP_INNER_INVALID: return "a packet that is not IPv4 or IPv6 of its stated length";
	case WG_DROP_SOURCE_NOT_ALLOWED: return "a packet from a peer whose source is outside that peer's allowed ips";
	case WG_DROP_NO_ROUTE: return "a packet to an address no peer's allowed ips cover";
	case WG_DROP_NO_ENDPOINT: return "a packet for a peer whose endpoint is not known yet";
	case WG_DROP_NO_BUFFER: return "no packet buffer was free";
	case WG_DROP_STAGED_OVERFLOW: return "more packets waited for a handshake than the queue holds";
	case WG_DROP_STAGED_EXPIRED: return "packets that waited for a handshake that never completed";
	case WG_DROP_SEND_ERROR: return "the UDP send failed (see the log for the error)";
	case WG_DROP_RX_TRUNCATED: return "a datagram larger than a packet buffer";
	case WG_DROP_RX_ERROR: return "a receive that completed with an error";
	case WG_DROP_SOCKET_OVERFLOW: return "the kernel dropped it: the UDP socket's receive buffer was full";
	case WG_DROP_CQ_OVERFLOW: return "io_uring completions the kernel could not post";
	case WG_DROP_TX_QUEUE_FULL: return "no room to queue a send or a TUN write";
	case WG_DROP_TUN_WRITE_ERROR: return "the write to the TUN device failed";
	case WG_DROP_TUN_TRUNCATED: return "a packet from the TUN device larger than a buffer";
	case WG_DROP_COUNT: break;
	}
	return "";
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
			ctl_buf_printf(out, "  %s: %llu (%s)\n", device_drop_name(i), (unsigned long long)dev->drops[i],
				       drop_meaning(i));
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

/* Whether a session to any peer may send now: the tunnel, as the kill switch sees it. */
static bool any_peer_up(const struct wg_device *dev, uint64_t now_ns)
{
	char why[160];
	size_t i;

	for (i = 0; i < dev->n_peers; i++)
		if (health_peer_state(dev->peers[i], now_ns, why, sizeof(why)) == HEALTH_UP)
			return true;
	return false;
}

/*
 * What the kill switch enforces right now, not only what it is set to: its
 * table may be gone from the kernel, and with no session up it holds
 * everything back rather than letting it through.
 */
static void format_kill_switch(struct ctl_buf *out, const struct gateway *gw, const struct wg_device *dev,
			       const struct show_env *env, bool json)
{
	struct health_wall wall = { .mode = gw->mode, .table_installed = gw->table_installed,
				    .table_present = env->table_present };
	bool up = any_peer_up(dev, device_now_ns());
	char why[256];
	bool enforced = health_wall_enforced(&wall, gw->ifname, why, sizeof(why));
	const char *now;

	if (gw->mode == POLICY_KILL_SWITCH_OFF)
		now = gw->no_firewall ? "off: nothing but the data plane's rule holds traffic in (nftables unusable)"
				      : "off: traffic outside the tunnel is not stopped";
	else if (!enforced)
		now = why;
	else if (up)
		now = gw->mode == POLICY_KILL_SWITCH_LOCKDOWN
			      ? "only the tunnel and wgud's UDP to its peers leave; stays in force after wgud stops"
			      : "only the tunnel and wgud's UDP to its peers leave";
	else
		now = gw->mode == POLICY_KILL_SWITCH_LOCKDOWN
			      ? "no session is up: traffic is held, only handshakes leave; stays in force after wgud stops"
			      : "no session is up: traffic is held, only handshakes leave";
	if (json) {
		ctl_buf_printf(out, "\"kill_switch_enforced\":%s,\"kill_switch_now\":\"%s\",",
			       gw->mode != POLICY_KILL_SWITCH_OFF && enforced ? "true" : "false", now);
		return;
	}
	ctl_buf_printf(out, "  kill switch: %s%s: %s\n", policy_kill_switch_name(gw->mode),
		       gw->mode == POLICY_KILL_SWITCH_OFF ? "" : enforced ? ", enforced" : ", NOT ENFORCED", now);
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
		ctl_buf_printf(out, "\"kill_switch_active\":%s,\"kill_switch_mode\":\"%s\",",
			       gw->mode != POLICY_KILL_SWITCH_OFF ? "true" : "false", mode);
		format_kill_switch(out, gw, dev, env, true);
		ctl_buf_printf(out, "\"firewall\":%s,\"policy\":%s,\"peers\":[", gw->table_installed ? "true" : "false",
			       pol);
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
		format_kill_switch(out, gw, dev, env, false);
		ctl_buf_printf(out, "  firewall: %s%s\n%s", gw->table_installed ? "table inet wgud_" : "none",
			       gw->table_installed ? gw->ifname : "", pol);
		format_enforcement(out, gw, env, false);
	}
	format_peers(out, dev, snap, json);
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
		ctl_buf_printf(out, "%-52s %s\n", "health",
			       "exit 0 when every peer with an endpoint had a handshake within 180 s and the kill switch");
		ctl_buf_printf(out, "%-52s %s\n", "", "is in force as set; else exit 1 and say why, on one line");
		ctl_buf_printf(out, "%-52s %s\n", "metrics", "Prometheus metrics, in the text format --metrics serves");
		ctl_buf_printf(out, "%-52s %s\n", "help", "this list");
	}
	free(text);
	return n < 0 ? n : 0;
}
