// SPDX-License-Identifier: MIT
/*
 * The conf and the policy file: read and checked at start, read again on
 * SIGHUP and applied as a difference (endpoint names looked up off the loop
 * meanwhile), and the conf's DNS = applied where the tunnel's programs look.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "conf.h"
#include "daemon_internal.h"
#include "log.h"
#include "nft.h"

#define POLICY_FILE_MAX (1U << 20) /* every list full takes about 100 KiB */

/* ---- reading the start-up policy ---- */

/* The whole file or a refusal: a file cut short could turn 10.0.0.0/24 into 10.0.0.0/2. */
static int read_whole(const char *path, char **text, size_t *len)
{
	size_t cap = POLICY_FILE_MAX + 1, n = 0;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (n < cap) {
		ssize_t got = read(fd, buf + n, cap - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			break;
		}
		if (!got)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (!ret && n > POLICY_FILE_MAX)
		ret = -EFBIG;
	if (ret) {
		free(buf);
		return ret;
	}
	*text = buf;
	*len = n;
	return 0;
}

/* The file first, then the flags in order, into p; on a refusal says why (naming file:line or the flag). */
int daemon_load_policy(const struct daemon_options *o, struct policy *p)
{
	char err[512] = "", *text = NULL;
	size_t i, len = 0;
	int ret;

	policy_init(p);
	if (o->policy_path) {
		ret = read_whole(o->policy_path, &text, &len);
		if (ret) {
			log_error("%s: %s", o->policy_path,
				  ret == -EFBIG ? "larger than 1 MiB: not a policy file" : strerror(-ret));
			return ret;
		}
		ret = policy_apply_file(p, o->policy_path, text, len, err, sizeof(err));
		free(text);
		if (ret) {
			log_error("%s", err);
			return ret;
		}
	}
	for (i = 0; i < o->n_policy_flags; i++) {
		const struct daemon_policy_flag *f = &o->policy_flags[i];

		ret = policy_apply_flag(p, f->flag, f->args, f->n_args, err, sizeof(err));
		if (ret) {
			log_error("%s", err);
			return ret;
		}
	}
	return 0;
}

/* ---- reading the conf ---- */

/* A lookup an earlier run's wall blocks: say so, not just "no name". */
static void explain_resolve_failure(const char *err, const char *ifname)
{
	log_error("%s", err);
	if (nft_table_exists(ifname) == 1)
		log_error("table inet wgud_%s, left by an earlier wgud, blocks DNS outside the tunnel: give "
			  "the endpoint as an address, or run `wgud unlock %s` first",
			  ifname, ifname);
}

/* The conf, its endpoint names left unresolved. */
static int read_conf(const struct daemon_options *o, struct model_device **out)
{
	const char *path = o->conf_path;
	struct conf_error err;
	bool world_readable = false;
	int ret = conf_read_file(path, out, &err, &world_readable);

	if (ret) {
		log_error("%s", err.message[0] ? err.message : strerror(-ret));
		return ret;
	}
	ret = failover_check(*out, path, o->failover, err.message, sizeof(err.message));
	if (ret) {
		log_error("%s", err.message);
		model_device_free(*out);
		*out = NULL;
		return ret;
	}
	if (world_readable)
		log_warn("%s is readable by others (it holds a private key); chmod 600 it", path);
	return 0;
}

/* At start nothing is served yet: endpoint names are resolved here, once, as wg(8) does. */
int daemon_load_conf(const struct daemon_options *o, struct model_device **out)
{
	const char *path = o->conf_path, *ifname = o->ifname;
	char err[RESOLVE_ERR_LEN];
	int ret = read_conf(o, out);

	if (ret)
		return ret;
	ret = resolve_model(*out, path, err, sizeof(err));
	if (ret) {
		explain_resolve_failure(err, ifname);
		model_device_free(*out);
		*out = NULL;
	}
	return ret;
}

/* ---- DNS = ---- */

/*
 * The conf's resolvers where the tunnel's programs look: the namespace's
 * resolv.conf for --netns NAME (`ip netns exec` binds it) and `wgud run` (a
 * private mount), resolvconf(8) for the host as wg-quick does. A resolvconf
 * that fails fails the start, as in wg-quick; none at all is a warning.
 */
int daemon_apply_dns(struct daemon *d, const struct model_device *m)
{
	int ret;

	if (!m || (!m->n_dns && d->dns.kind == DNS_NONE))
		return 0;
	if (d->o->run_argv)
		return dns_bind_private("/tmp", NULL, m);
	if (d->o->netns) {
		if (!strchr(d->o->netns, '/'))
			return dns_netns_apply(&d->dns, NULL, d->o->netns, m);
		log_warn("DNS = is not applied: --netns %s is a path, and only a named namespace has an /etc/netns "
			 "folder; bind a resolv.conf into it yourself",
			 d->o->netns);
		return 0;
	}
	if (geteuid()) {
		/* after --user: what was applied as root cannot be changed any more */
		if (d->dns.kind != DNS_NONE)
			return -EPERM;
		log_warn("DNS = is not applied: resolvconf needs root; set the resolvers yourself");
		return 0;
	}
	ret = dns_resolvconf_apply(&d->dns, d->o->ifname, m);
	if (ret == -ENOENT) {
		log_warn("DNS = is not applied: there is no resolvconf on PATH; set the resolvers yourself (wgud's "
			 "firewall, when in force, lets DNS go only to them)");
		ret = 0;
	}
	return ret;
}

/* A reload changes the resolvers only when the text would change (resolvconf is a process to wait for). */
/* next takes was's resolvers (and was next's, freed with it): the ones in force stay, in the wall too. */
static void keep_dns(struct model_device *next, struct model_device *was)
{
	struct model_device t = *next;

	next->dns = was->dns, next->n_dns = was->n_dns, next->cap_dns = was->cap_dns;
	next->dns_search = was->dns_search, next->n_dns_search = was->n_dns_search;
	next->cap_dns_search = was->cap_dns_search;
	was->dns = t.dns, was->n_dns = t.n_dns, was->cap_dns = t.cap_dns;
	was->dns_search = t.dns_search, was->n_dns_search = t.n_dns_search, was->cap_dns_search = t.cap_dns_search;
}

/*
 * A reload changes the resolvers only when the text would change
 * (resolvconf is a process to wait for); when they cannot be applied, the
 * ones in force stay, for resolv.conf and for the wall alike.
 */
static void reload_dns(struct daemon *d, struct model_device *next)
{
	char *was = malloc(2 * DNS_TEXT_MAX), *now = was + DNS_TEXT_MAX;
	ssize_t a, b;

	if (!was)
		return;
	a = dns_render(d->conf, was, DNS_TEXT_MAX);
	b = dns_render(next, now, DNS_TEXT_MAX);
	if ((a != b || (a > 0 && memcmp(was, now, (size_t)a))) && daemon_apply_dns(d, next)) {
		log_error("reload: DNS = could not be applied; the resolvers stay as they were");
		keep_dns(next, d->conf);
	}
	free(was);
}

/*
 * The MTU a re-read conf asks for, 0 for none: only a change of the conf's
 * own MTU, so that one set since with `ip link set` stays otherwise.
 */
static uint32_t reload_mtu(const struct daemon *d, const struct model_device *next)
{
	uint32_t was = d->conf && (d->conf->flags & MODEL_DEVICE_HAS_MTU) ? d->conf->mtu : 0;

	if (!next || !(next->flags & MODEL_DEVICE_HAS_MTU) || next->mtu == was || next->mtu == d->dev.mtu)
		return 0;
	return next->mtu;
}

/* The checked conf (NULL: only the policy file) and policy file (NULL: none) of a daemon_reload, applied. */
static void reload_apply(struct daemon *d, struct model_device *next, struct policy *policy)
{
	uint32_t mtu = reload_mtu(d, next); /* before d->conf becomes next */
	struct gateway_facts *facts;
	char err[320] = "";
	int ret = 0;

	/* The policy that will be in force must hold with the conf's new resolvers, before either changes. */
	if (!(facts = malloc(sizeof(*facts)))) {
		ret = -ENOMEM;
	} else {
		*facts = d->facts;
		if (next)
			daemon_dns_facts(facts, next);
		ret = gateway_check(&d->gw, policy ? policy : &d->gw.policy, facts, err, sizeof(err));
		free(facts);
	}
	if (!ret && mtu > d->dev.max_mtu) {
		snprintf(err, sizeof(err), "MTU %u: the packet buffers hold at most %u; restart wgud to size them for it",
			 mtu, d->dev.max_mtu);
		ret = -EINVAL;
	} else if (!ret && mtu && mtu < WG_MIN_MTU) {
		snprintf(err, sizeof(err), "MTU %u: at least %u", mtu, WG_MIN_MTU);
		ret = -EINVAL;
	}
	if (ret) {
		log_error("reload refused (%s%s%s); the running configuration and policy stay", policy ? d->o->policy_path : "",
			  policy ? ": " : "", err[0] ? err : strerror(-ret));
		model_device_free(next);
		free(policy);
		return;
	}
	if (next) {
		/* Absent from the file means "as it is": keep the bound port and the full-tunnel fwmark. */
		if (!next->listen_port)
			next->flags &= ~MODEL_DEVICE_HAS_LISTEN_PORT;
		if (!next->fwmark)
			next->flags &= ~MODEL_DEVICE_HAS_FWMARK;
		ret = apply_model(&d->dev, &d->loop, next, APPLY_SYNC);
		/* The link first: the device never pads for an MTU the link refused. */
		if (!ret && mtu) {
			ret = rtnl_link_set_mtu(&d->rtnl, d->ifindex, mtu);
			if (!ret)
				ret = device_set_mtu(&d->dev, mtu);
			if (!ret)
				log_info("MTU %u (from %s)", mtu, d->o->conf_path);
		}
		if (!ret)
			ret = netsetup_routes(&d->net, &d->dev, next);
		reload_dns(d, next);
		model_device_free(d->conf);
		d->conf = next;
		/* The lists as the file has them now, each from its first endpoint (the one apply_model set). */
		failover_uninit(&d->failover);
		if (failover_init(&d->failover, &d->dev, &d->loop, next, d->o->failover_after))
			log_error("reload: --failover is off until the next reload: out of memory or descriptors");
	}
	/* One rendering of the new policy (or the one in force) for the tunnel as it is now. */
	if (policy && !policy_equal(policy, &d->gw.policy)) {
		daemon_gather_facts(d, &d->facts);
		if (gateway_set_policy(&d->gw, policy, &d->facts, err, sizeof(err))) {
			log_error("%s: %s; the policy in force stays", d->o->policy_path, err);
			gateway_update(&d->gw, &d->facts);
			ret = ret ? ret : -EINVAL;
		} else {
			log_info("policy as %s and the start-up flags say (changes made since with wgud ctl are replaced)",
				 d->o->policy_path);
		}
	} else {
		daemon_refresh_gateway(d);
	}
	free(policy);
	if (ret)
		log_error("reload applied in part: %s", strerror(-ret));
	else
		log_info("configuration reloaded");
}

/* On the loop thread, once a reload's endpoint names were looked up. */
void daemon_on_resolved(void *ctx, struct model_device *next, int ret, const char *err)
{
	struct daemon *d = ctx;
	struct policy *policy = d->reload_policy;

	d->reload_policy = NULL;
	if (ret) {
		log_error("%s", err);
		log_error("reload refused; the running configuration and policy stay");
		model_device_free(next);
		free(policy);
	} else {
		reload_apply(d, next, policy);
	}
	if (d->reload_again) {
		d->reload_again = false;
		daemon_reload(d);
	}
}

/*
 * SIGHUP: the conf and the policy file again, both checked before either is
 * applied. Endpoint names are looked up off the loop: with a full tunnel the
 * query can only go through the TUN device this thread serves.
 */
void daemon_reload(struct daemon *d)
{
	struct model_device *next = NULL;
	struct policy *policy = NULL;
	int ret;

	if (!d->o->conf_path && !d->o->policy_path) {
		log_info("SIGHUP ignored: no conf or policy file (configure with wg and wgud ctl)");
		return;
	}
	if (resolver_busy(&d->resolver)) {
		log_info("SIGHUP: the last reload still waits for endpoint names; reading the files again after it");
		d->reload_again = true;
		return;
	}
	if (d->o->policy_path) {
		policy = malloc(sizeof(*policy));
		if (!policy || daemon_load_policy(d->o, policy)) {
			log_error("reload refused; the running configuration and policy stay");
			free(policy);
			return;
		}
	}
	if (d->o->conf_path && read_conf(d->o, &next)) {
		log_error("reload refused; the running configuration and policy stay");
		free(policy);
		return;
	}
	if (!next || !resolve_needed(next)) {
		reload_apply(d, next, policy);
		return;
	}
	ret = resolver_start(&d->resolver, next, d->o->conf_path);
	if (ret) {
		log_error("reload refused: looking up endpoint names: %s; the running configuration and policy stay",
			  strerror(-ret));
		model_device_free(next);
		free(policy);
		return;
	}
	d->reload_policy = policy;
	log_info("reload: looking up endpoint names; the tunnel runs as it is meanwhile");
}
