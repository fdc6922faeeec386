// SPDX-License-Identifier: MIT
#include "diag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "messages.h"
#include "model.h"

void diag_format_addr(char out[64], const union wg_sockaddr *a)
{
	union model_sockaddr m;

	_Static_assert(sizeof(m) == sizeof(*a), "one socket address layout");
	if (!a || (a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6)) {
		snprintf(out, 64, "(no endpoint)");
		return;
	}
	memcpy(&m, a, sizeof(m));
	model_format_endpoint(out, &m);
}

/* What an ICMP (or ICMPv6) error says, by its type and code (RFC 792, RFC 4443). */
static const char *icmp_text(const struct wg_send_error *e, char buf[32])
{
	static const char *const unreach4[16] = {
		"network unreachable", "host unreachable", "protocol unreachable", "port unreachable",
		"fragmentation needed", "source route failed", "network unknown", "host unknown",
		"host isolated", "network prohibited", "host prohibited", "network unreachable for TOS",
		"host unreachable for TOS", "administratively prohibited", "host precedence violation",
		"precedence cutoff",
	};
	static const char *const unreach6[8] = {
		"no route", "administratively prohibited", "beyond the source's scope", "address unreachable",
		"port unreachable", "source address failed policy", "reject route", "source routing header error",
	};

	if (e->origin == WG_SEND_ERROR_ICMP) {
		if (e->icmp_type == 3 && e->icmp_code < 16)
			return unreach4[e->icmp_code];
		if (e->icmp_type == 11)
			return "time exceeded";
		if (e->icmp_type == 12)
			return "parameter problem";
	} else {
		if (e->icmp_type == 1 && e->icmp_code < 8)
			return unreach6[e->icmp_code];
		if (e->icmp_type == 2)
			return "packet too big";
		if (e->icmp_type == 3)
			return "time exceeded";
		if (e->icmp_type == 4)
			return "parameter problem";
	}
	snprintf(buf, 32, "type %u code %u", e->icmp_type, e->icmp_code);
	return buf;
}

void diag_format_icmp(char *out, size_t len, const struct wg_send_error *e)
{
	const union wg_sockaddr *o = &e->offender;
	char host[INET6_ADDRSTRLEN] = "", buf[32];

	if (e->origin == WG_SEND_ERROR_LOCAL) {
		snprintf(out, len, "%s", "");
		return;
	}
	if (o->sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &o->sin.sin_addr, host, sizeof(host));
	else if (o->sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &o->sin6.sin6_addr, host, sizeof(host));
	snprintf(out, len, "ICMP%s %s%s%s", e->origin == WG_SEND_ERROR_ICMP6 ? "v6" : "", icmp_text(e, buf),
		 host[0] ? " from " : "", host);
}

void diag_format_send_error(char *out, size_t len, const struct wg_send_error *e)
{
	char icmp[DIAG_SEND_ERROR_LEN - 40];

	diag_format_icmp(icmp, sizeof(icmp), e);
	snprintf(out, len, "%s%s%s%s", strerror(e->err), icmp[0] ? " (" : "", icmp, icmp[0] ? ")" : "");
}

/* What to look at, by the kind of error. */
static const char *send_error_hint(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return ": nothing listens on that port there; is WireGuard running on the peer, on that port?";
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENONET:
		return ": no way to that address; check the peer's Endpoint and the routes to it";
	case EPERM:
		return ": a firewall on this host refused it (its output rules)";
	case EACCES:
		return ": a firewall on the way refused it (administratively prohibited)";
	case EMSGSIZE:
		return ": the datagrams are larger than the path carries; a lower MTU may help";
	default:
		return "";
	}
}

static const char *refusal_text(enum wg_refusal why, bool response)
{
	switch (why) {
	case WG_REFUSED_MAC1:
		return "mac1 is wrong: a peer is using a different public key for us";
	case WG_REFUSED_UNKNOWN_PEER:
		return "unknown peer: its public key is not one of this interface's peers";
	case WG_REFUSED_STALE:
		return "stale timestamp: a replay, or the peer's clock went back";
	case WG_REFUSED_FLOOD:
		return "initiations from that peer come too fast";
	case WG_REFUSED_UNDER_LOAD:
		return "rate limited: wgud is under load";
	case WG_REFUSED_BAD:
	case WG_REFUSED_COUNT:
		break;
	}
	return response ? "it does not decrypt: the preshared keys differ, or it was damaged"
			: "it does not decrypt (damaged or forged)";
}

/* The peer had a session younger than REJECT_AFTER_TIME: a new handshake is only a rekey. */
static bool was_up(const struct wg_peer *peer, uint64_t now_ns)
{
	return peer->timers.have_last_handshake && now_ns - peer->timers.last_handshake_ns < REJECT_AFTER_TIME_NS;
}

static void refused(struct diag *g, const struct wg_event *ev, uint64_t now_ns)
{
	enum wg_refusal why = ev->value < WG_REFUSED_COUNT ? (enum wg_refusal)ev->value : WG_REFUSED_BAD;
	char from[64], more[96] = "";

	if (g->refusal_said_ns[why] && now_ns - g->refusal_said_ns[why] < DIAG_REFUSAL_INTERVAL_NS) {
		g->refusal_unsaid[why]++;
		return;
	}
	if (g->refusal_unsaid[why])
		snprintf(more, sizeof(more), " (and %llu more like it since the last such line)",
			 (unsigned long long)g->refusal_unsaid[why]);
	g->refusal_said_ns[why] = now_ns;
	g->refusal_unsaid[why] = 0;
	diag_format_addr(from, ev->addr);
	snprintf(g->last_problem, sizeof(g->last_problem), "a handshake %s from %s was refused: %s",
		 ev->peer ? "response" : "message", from, refusal_text(why, ev->peer != NULL));
	log_warn("refused a handshake %s from %s: %s%s", ev->peer ? "response" : "message", from,
		 refusal_text(why, ev->peer != NULL), more);
}

void diag_event(struct diag *g, const struct wg_event *ev, uint64_t now_ns)
{
	struct wg_peer *peer = ev->peer;
	char ep[64], why[DIAG_SEND_ERROR_LEN];

	if (ev->kind == WG_EVENT_REFUSED) {
		refused(g, ev, now_ns);
		return;
	}
	if (!peer)
		return;
	diag_format_addr(ep, peer->has_endpoint ? &peer->endpoint : NULL);
	switch (ev->kind) {
	case WG_EVENT_INITIATED:
		if (ev->value > 1)
			snprintf(g->last_problem, sizeof(g->last_problem),
				 "no response from %s to %llu handshake initiations (a wrong public key on either side, "
				 "UDP blocked, or nothing answers there)", ep, (unsigned long long)(ev->value - 1));
		if (ev->value == 1) {
			log_msg(was_up(peer, now_ns) ? LOG_DEBUG : LOG_INFO, "handshake initiated with peer %s", ep);
		} else if (ev->value == DIAG_NO_RESPONSE_ATTEMPT) {
			log_warn("no response from %s after %u handshake initiations (%llu s): the peer may have a "
				 "different public key for us, or we the wrong one for it; UDP may be blocked on the way; "
				 "or nothing answers there; still trying (attempt %llu)",
				 ep, DIAG_NO_RESPONSE_ATTEMPT - 1,
				 (unsigned long long)((DIAG_NO_RESPONSE_ATTEMPT - 1) * REKEY_TIMEOUT_NS / NSEC_PER_SEC),
				 (unsigned long long)ev->value);
		} else {
			log_debug("handshake with %s: retrying (attempt %llu)", ep, (unsigned long long)ev->value);
		}
		break;
	case WG_EVENT_COMPLETED:
		if (g->first_up) {
			void (*up)(void *) = g->first_up;

			g->first_up = NULL;
			up(g->first_up_ctx);
		}
		if (ev->value)
			log_msg(was_up(peer, now_ns) ? LOG_DEBUG : LOG_INFO, "handshake completed with peer %s (RTT %.1f ms)",
				ep, (double)ev->value / 1e6);
		else
			log_msg(was_up(peer, now_ns) ? LOG_DEBUG : LOG_INFO,
				"handshake completed with peer %s (it initiated)", ep);
		/* Told before, now answered: the device forgets that it was told once this event is over. */
		if (peer->send_error.said)
			log_info("peer %s: sending works again (the last error was: %s)", ep, strerror(peer->send_error.err));
		break;
	case WG_EVENT_SEND_ERROR:
		diag_format_send_error(why, sizeof(why), &peer->send_error);
		diag_format_addr(ep, ev->addr);
		log_warn("peer %s: sending failed: %s%s", ep, why, send_error_hint(peer->send_error.err));
		break;
	case WG_EVENT_GAVE_UP:
		log_warn("gave up on a handshake with %s after %llu s: packets for that peer are dropped until new "
			 "traffic tries again", ep, (unsigned long long)(REKEY_ATTEMPT_TIME_NS / NSEC_PER_SEC));
		break;
	case WG_EVENT_ROAMED:
		if (g->roam_said_ns && now_ns - g->roam_said_ns < DIAG_REFUSAL_INTERVAL_NS) {
			g->roam_unsaid++;
			break;
		}
		g->roam_said_ns = now_ns;
		log_info("a peer roamed: its endpoint is now %s%s", ep, g->roam_unsaid ? " (it moved before, unsaid)" : "");
		g->roam_unsaid = 0;
		break;
	case WG_EVENT_KEYS_EXPIRED:
		log_info("the session keys of peer %s expired and were wiped (no handshake for %llu s)", ep,
			 (unsigned long long)(3 * REJECT_AFTER_TIME_NS / NSEC_PER_SEC));
		break;
	case WG_EVENT_REFUSED:
		break;
	}
}

static void on_event(void *ctx, const struct wg_event *ev)
{
	diag_event(ctx, ev, device_now_ns());
}

void diag_attach(struct diag *g, struct wg_device *dev)
{
	memset(g, 0, sizeof(*g));
	dev->event = on_event;
	dev->event_ctx = g;
}
