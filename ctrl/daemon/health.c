// SPDX-License-Identifier: MIT
#include "health.h"

#include <stdio.h>

#include "diag.h"
#include "messages.h"
#include "timers.h"

const char *health_tunnel_name(enum health_tunnel t)
{
	return t == HEALTH_UP ? "up" : t == HEALTH_CONNECTING ? "connecting" : "down";
}

bool health_peer_fresh(const struct wg_peer *p, uint64_t now_ns)
{
	return p->timers.have_last_handshake && now_ns >= p->timers.last_handshake_ns &&
	       now_ns - p->timers.last_handshake_ns < REJECT_AFTER_TIME_NS;
}

enum health_tunnel health_peer_state(const struct wg_peer *p, uint64_t now_ns, char *why, size_t len)
{
	const struct timers *t;

	why[0] = '\0';
	if (!p)
		return HEALTH_DOWN;
	t = &p->timers;
	if (p->keypairs.current && keypair_can_send(&p->keypairs.current->kp, now_ns))
		return HEALTH_UP;
	if (t->deadline[TIMERS_RETRANSMIT_HANDSHAKE] != TIMERS_NEVER) {
		snprintf(why, len, "no handshake response yet (attempt %u)", p->unanswered ? p->unanswered : 1);
		return HEALTH_CONNECTING;
	}
	if (!p->has_endpoint)
		snprintf(why, len, "no endpoint: waiting for the peer to reach us");
	else if (t->have_last_handshake)
		snprintf(why, len, "the session expired (no handshake for over %llu s)",
			 (unsigned long long)(REJECT_AFTER_TIME_NS / NSEC_PER_SEC));
	else if (p->sent_initiation_ever)
		snprintf(why, len, "no handshake completed; wgud gave up after %llu s of attempts",
			 (unsigned long long)(REKEY_ATTEMPT_TIME_NS / NSEC_PER_SEC));
	else
		snprintf(why, len, "no handshake yet: nothing has been sent to this peer");
	return HEALTH_DOWN;
}

bool health_wall_enforced(const struct health_wall *w, const char *ifname, char *why, size_t len)
{
	why[0] = '\0';
	if (w->mode == POLICY_KILL_SWITCH_OFF)
		return true; /* the policy asks for nothing, and nothing is what it gets */
	if (!w->table_installed)
		snprintf(why, len, "the kill switch is on but its nftables table was never put in");
	else if (!w->table_present)
		snprintf(why, len, "the kill switch is on but table inet wgud_%s is gone from the kernel (removed by "
			 "someone else: `wgud ctl %s kill-switch on` or a restart puts it back)", ifname, ifname);
	return !why[0];
}

int health_judge(const struct wg_device *dev, const struct health_wall *w, const char *ifname, uint64_t now_ns,
		 char *summary, size_t len)
{
	size_t i, with_endpoint = 0;
	char why[160];

	if (!health_wall_enforced(w, ifname, why, sizeof(why))) {
		snprintf(summary, len, "%s", why);
		return 1;
	}
	for (i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = dev->peers[i];
		char where[64];

		if (!p->has_endpoint)
			continue;
		with_endpoint++;
		if (health_peer_fresh(p, now_ns))
			continue;
		diag_format_addr(where, &p->endpoint);
		health_peer_state(p, now_ns, why, sizeof(why));
		if (p->timers.have_last_handshake)
			snprintf(summary, len, "no handshake with the peer at %s for over %llu s: %s", where,
				 (unsigned long long)(REJECT_AFTER_TIME_NS / NSEC_PER_SEC),
				 why[0] ? why : "the session is up but older than allowed");
		else
			snprintf(summary, len, "no handshake with the peer at %s yet: %s", where,
				 why[0] ? why : "none completed");
		return 1;
	}
	if (!with_endpoint)
		snprintf(summary, len, "healthy: no peer has an endpoint to reach (%zu waiting to be reached)",
			 dev->n_peers);
	else
		snprintf(summary, len, "healthy: %zu of %zu peers with an endpoint had a handshake within %llu s%s",
			 with_endpoint, with_endpoint, (unsigned long long)(REJECT_AFTER_TIME_NS / NSEC_PER_SEC),
			 w->mode == POLICY_KILL_SWITCH_OFF ? "" : "; the kill switch is in force");
	return 0;
}
