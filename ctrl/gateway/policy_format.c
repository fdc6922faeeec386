// SPDX-License-Identifier: MIT
/*
 * The policy's two written forms: text for a person (`wgud ctl IFACE show`)
 * and JSON for a program (`show --json`, its "policy" object). Addresses
 * are written as the commands take them, so a line can be typed back.
 */
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ADDR_TEXT_LEN 64 /* an IPv6 address, '/', a prefix length, or "[addr]:port" */

static void format_addr(char out[INET6_ADDRSTRLEN], int family, const void *addr)
{
	if (!inet_ntop(family, addr, out, INET6_ADDRSTRLEN))
		snprintf(out, INET6_ADDRSTRLEN, "?");
}

/* A host as "192.0.2.1" or "[2001:db8::1]:443", a prefix as "10.0.0.0/8": what the commands take. */
static const char *format_target(char out[ADDR_TEXT_LEN], const struct cidr *c, uint16_t port)
{
	char a[INET6_ADDRSTRLEN];

	format_addr(a, c->family, c->addr);
	if (c->cidr != (c->family == AF_INET ? 32 : 128))
		snprintf(out, ADDR_TEXT_LEN, "%s/%u", a, c->cidr);
	else if (!port)
		snprintf(out, ADDR_TEXT_LEN, "%s", a);
	else if (c->family == AF_INET)
		snprintf(out, ADDR_TEXT_LEN, "%s:%u", a, port);
	else
		snprintf(out, ADDR_TEXT_LEN, "[%s]:%u", a, port);
	return out;
}

static void format_dns(char out[ADDR_TEXT_LEN], const union model_sockaddr *sa)
{
	if (sa->sa.sa_family == AF_INET)
		format_addr(out, AF_INET, &sa->sin.sin_addr);
	else
		format_addr(out, AF_INET6, &sa->sin6.sin6_addr);
}

/* Appends to a fixed buffer; the first overflow sticks, so callers check once at the end. */
struct writer {
	char *buf;
	size_t cap, len;
	bool full;
};

static void put(struct writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct writer *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->cap - w->len)
		w->full = true;
	else
		w->len += (size_t)n;
}

static int finish(struct writer *w)
{
	if (w->full)
		return -ENOSPC;
	return (int)w->len;
}

static void text_cidrs(struct writer *w, const char *label, const struct cidr *list, size_t n)
{
	char a[ADDR_TEXT_LEN];
	size_t i;

	put(w, "  %s:%s", label, n ? "" : " (none)");
	for (i = 0; i < n; i++)
		put(w, "%s %s", i ? "," : "", model_format_cidr(a, &list[i]));
	put(w, "\n");
}

int policy_format_text(const struct policy *p, char *out, size_t cap)
{
	struct writer w = { .buf = out, .cap = cap, .full = !cap };
	char a[ADDR_TEXT_LEN];
	size_t i;

	put(&w, "policy:\n  kill-switch: %s\n  masquerade: %s\n", policy_kill_switch_name(p->kill_switch),
	    p->masquerade ? "on" : "off");
	text_cidrs(&w, "allow-lan", p->allow_lan, p->n_allow_lan);
	put(&w, "  allow:%s", p->n_allow ? "" : " (none)");
	for (i = 0; i < p->n_allow; i++)
		put(&w, "%s %s %s", i ? "," : "", policy_proto_name(p->allow[i].proto),
		    format_target(a, &p->allow[i].addr, p->allow[i].port));
	put(&w, "\n");
	text_cidrs(&w, "forward-from", p->forward_from, p->n_forward_from);
	put(&w, "  port-forward:%s", p->n_port_forward ? "" : " (none)");
	for (i = 0; i < p->n_port_forward; i++) {
		const struct policy_port_forward *f = &p->port_forward[i];

		put(&w, "%s %s %u -> ", i ? "," : "", policy_proto_name(f->proto), f->port);
		if (f->has_target)
			put(&w, "%s", format_target(a, &f->target, f->target_port ? f->target_port : f->port));
		else
			put(&w, "this host:%u", f->target_port ? f->target_port : f->port);
	}
	put(&w, "\n  open:%s", p->n_open ? "" : " (none)");
	for (i = 0; i < p->n_open; i++)
		put(&w, "%s %s %u", i ? "," : "", policy_proto_name(p->open[i].proto), p->open[i].port);
	put(&w, "\n  dns:%s", p->n_dns ? "" : p->dns_from_conf ? " from the conf" : " (none)");
	for (i = 0; i < p->n_dns; i++) {
		format_dns(a, &p->dns[i]);
		put(&w, "%s %s", i ? "," : "", a);
	}
	put(&w, "%s\n", p->n_dns && p->dns_from_conf ? " (from the conf)" : "");
	put(&w, "  dns-forward: %s\n", p->dns_forward ? "on" : "off");
	return finish(&w);
}

static void json_cidrs(struct writer *w, const char *key, const struct cidr *list, size_t n)
{
	char a[ADDR_TEXT_LEN];
	size_t i;

	put(w, ",\"%s\":[", key);
	for (i = 0; i < n; i++)
		put(w, "%s\"%s\"", i ? "," : "", model_format_cidr(a, &list[i]));
	put(w, "]");
}

/* Every string here is a keyword or an address, so nothing needs escaping. */
int policy_format_json(const struct policy *p, char *out, size_t cap)
{
	struct writer w = { .buf = out, .cap = cap, .full = !cap };
	char a[ADDR_TEXT_LEN];
	size_t i;

	put(&w, "{\"kill_switch\":\"%s\",\"masquerade\":%s", policy_kill_switch_name(p->kill_switch),
	    p->masquerade ? "true" : "false");
	json_cidrs(&w, "allow_lan", p->allow_lan, p->n_allow_lan);
	put(&w, ",\"allow\":[");
	for (i = 0; i < p->n_allow; i++) {
		put(&w, "%s{\"proto\":\"%s\",\"addr\":\"%s\",\"port\":", i ? "," : "", policy_proto_name(p->allow[i].proto),
		    model_format_cidr(a, &p->allow[i].addr));
		/* null, not 0, for "any port": 0 would read as a port number. */
		if (p->allow[i].port)
			put(&w, "%u}", p->allow[i].port);
		else
			put(&w, "null}");
	}
	put(&w, "]");
	json_cidrs(&w, "forward_from", p->forward_from, p->n_forward_from);
	put(&w, ",\"port_forward\":[");
	for (i = 0; i < p->n_port_forward; i++) {
		const struct policy_port_forward *f = &p->port_forward[i];

		put(&w, "%s{\"proto\":\"%s\",\"port\":%u,\"target\":", i ? "," : "", policy_proto_name(f->proto), f->port);
		if (f->has_target) {
			format_addr(a, f->target.family, f->target.addr);
			put(&w, "\"%s\"", a);
		} else {
			put(&w, "null");
		}
		put(&w, ",\"target_port\":%u}", f->target_port ? f->target_port : f->port);
	}
	put(&w, "],\"open\":[");
	for (i = 0; i < p->n_open; i++)
		put(&w, "%s{\"proto\":\"%s\",\"port\":%u}", i ? "," : "", policy_proto_name(p->open[i].proto), p->open[i].port);
	put(&w, "],\"dns\":[");
	for (i = 0; i < p->n_dns; i++) {
		format_dns(a, &p->dns[i]);
		put(&w, "%s\"%s\"", i ? "," : "", a);
	}
	put(&w, "],\"dns_from_conf\":%s,\"dns_forward\":%s}", p->dns_from_conf ? "true" : "false",
	    p->dns_forward ? "true" : "false");
	return finish(&w);
}

