// SPDX-License-Identifier: MIT
/* What the gateway is told of the tunnel: its facts, from the device, the link and the conf. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "allowedips.h"
#include "daemon_internal.h"
#include "log.h"
#include "socket.h"

/* The firewall tells wgud's own UDP apart by a mark; sockets without one get wg-quick's. */
static void ensure_fwmark(struct daemon *d)
{
	int ret;

	/* Confined, the UDP is not in the wall's namespace: nothing there can carry its mark. */
	if (d->o->no_firewall || d->dev.fwmark || daemon_confined(d) || d->net.no_admin)
		return;
	ret = socket_set_fwmark(&d->dev, DEFAULT_FWMARK);
	if (ret)
		log_warn("setting fwmark 0x%x on the UDP sockets: %s", DEFAULT_FWMARK, strerror(-ret));
	else
		log_info("marking wgud's UDP with fwmark 0x%x for the firewall", DEFAULT_FWMARK);
}

/* An endpoint a lockdown lets wgud's UDP out to, once. */
static void add_endpoint(struct gateway_facts *f, const void *addr)
{
	size_t i;

	for (i = 0; i < f->n_endpoints; i++)
		if (!memcmp(&f->endpoints[i], addr, sizeof(f->endpoints[i])))
			return;
	if (f->n_endpoints < GATEWAY_MAX_ENDPOINTS)
		memcpy(&f->endpoints[f->n_endpoints++], addr, sizeof(f->endpoints[0]));
}

static void peer_facts(struct gateway_facts *f, const struct model_device *m)
{
	size_t i, j;

	for (i = 0; i < m->n_peers; i++) {
		const struct model_peer *p = &m->peers[i];

		for (j = 0; j < p->n_allowedips; j++)
			if (cidr_is_default(&p->allowedips[j]))
				f->full_tunnel[p->allowedips[j].family == AF_INET6] = true;
		if ((p->flags & MODEL_PEER_HAS_ENDPOINT) && f->n_endpoints < GATEWAY_MAX_ENDPOINTS)
			f->endpoints[f->n_endpoints++] = p->endpoint;
		for (j = 0; j < p->n_alt_endpoints; j++)
			if (p->alt_endpoints[j].has_addr)
				add_endpoint(f, &p->alt_endpoints[j].addr);
	}
}

void daemon_dns_facts(struct gateway_facts *f, const struct model_device *m)
{
	size_t i;

	f->n_dns = 0;
	for (i = 0; m && i < m->n_dns && i < POLICY_MAX_ENTRIES; i++)
		f->dns[f->n_dns++] = m->dns[i];
}

/* fe80::/10 means something on one link only: no other link can reach the tunnel's through it. */
static void drop_link_local(struct gateway_facts *f)
{
	static const struct cidr link_local = { .family = AF_INET6, .addr = { 0xfe, 0x80 }, .cidr = 10 };
	size_t i = 0;

	while (i < f->n_addresses) {
		if (cidr_contains(&link_local, &f->addresses[i]))
			f->addresses[i] = f->addresses[--f->n_addresses];
		else
			i++;
	}
}

static int note_default_route(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	bool *full_tunnel = ctx;

	(void)addr;
	if (cidr == 0)
		full_tunnel[family == AF_INET6] = true;
	return 0;
}

/* The peers' part of the facts, read off the device: each peer's own allowed-ips, no copy of the table. */
static void device_peer_facts(struct gateway_facts *f, const struct wg_device *dev, bool *capped_said)
{
	size_t i;

	for (i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *peer = dev->peers[i];

		(void)allowedips_walk_by_peer(&dev->allowedips, (void *)peer, note_default_route, f->full_tunnel);
		if (peer->has_endpoint && f->n_endpoints < GATEWAY_MAX_ENDPOINTS) {
			_Static_assert(sizeof(f->endpoints[0]) == sizeof(peer->endpoint), "the two sockaddr unions agree");
			memcpy(&f->endpoints[f->n_endpoints++], &peer->endpoint, sizeof(peer->endpoint));
		} else if (peer->has_endpoint && !*capped_said) {
			log_warn("more than %d peers have endpoints: a lockdown left at stop lets wgud's UDP out to the "
				 "first %d only (the others wait for the next start)",
				 GATEWAY_MAX_ENDPOINTS, GATEWAY_MAX_ENDPOINTS);
			*capped_said = true;
		}
	}
}

/* Every endpoint --failover may move to, so that a lockdown left at stop lets out the next one too. */
static void failover_facts(struct gateway_facts *f, const struct failover *fo)
{
	size_t i, j;

	for (i = 0; i < fo->n_peers; i++)
		for (j = 0; j < fo->peers[i].n_endpoints; j++)
			add_endpoint(f, &fo->peers[i].endpoints[j]);
}

/* Confined, and a wall to say so with: the kill switch is on by default there. */
static bool wall_confined(const struct daemon *d)
{
	return daemon_confined(d) && !d->gw.no_firewall;
}

/* The tunnel as it is now: peers and endpoints, the mark, the link's addresses, the conf's DNS. */
void daemon_gather_facts(struct daemon *d, struct gateway_facts *f)
{
	int ret;

	memset(f, 0, sizeof(*f));
	ensure_fwmark(d);
	/* confined, wgud's UDP is at home: nothing in the wall's namespace may pass by a mark */
	f->fwmark = daemon_confined(d) ? 0 : d->dev.fwmark;
	f->confined = wall_confined(d);
	device_peer_facts(f, &d->dev, &d->endpoints_capped_said);
	failover_facts(f, &d->failover);
	ret = rtnl_addr_list(&d->rtnl, d->ifindex, f->addresses, GATEWAY_MAX_ADDRESSES, &f->n_addresses);
	if (ret)
		log_warn("listing the addresses of %s: %s%s", d->o->ifname, strerror(-ret),
			 ret == -E2BIG ? " (the first ones are kept silent on other links)" : "");
	drop_link_local(f);
	daemon_dns_facts(f, d->conf);
	publish_facts(&d->publish, d->o->publish, d->o->n_publish, f);
	d->have_facts = true;
}

/* From the conf alone, when the start failed before the device had it. */
const struct gateway_facts *daemon_conf_facts(struct daemon *d)
{
	if (d->have_facts)
		return &d->facts;
	if (!d->conf)
		return NULL;
	memset(&d->facts, 0, sizeof(d->facts));
	d->facts.confined = wall_confined(d);
	publish_facts(&d->publish, d->o->publish, d->o->n_publish, &d->facts);
	peer_facts(&d->facts, d->conf);
	daemon_dns_facts(&d->facts, d->conf);
	return &d->facts;
}

/*
 * After a UAPI set or an address event. Most sets (a keepalive, one peer's
 * endpoint among thousands) change no fact: then the rule set stays as it is.
 */
void daemon_refresh_gateway(struct daemon *d)
{
	if (!d->gw.started)
		return;
	daemon_gather_facts(d, &d->facts);
	/* Against what the rule set in force was made for: a failed update is tried again. */
	if (!gateway_facts_equal(&d->facts, &d->gw.facts))
		gateway_update(&d->gw, &d->facts);
}

void daemon_on_uapi_set(void *ctx)
{
	daemon_refresh_gateway(ctx);
}
