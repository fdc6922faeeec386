// SPDX-License-Identifier: MIT
#include "failover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "diag.h"
#include "keys.h"
#include "log.h"
#include "messages.h"
#include "peer.h"
#include "timers.h"

int failover_check(const struct model_device *m, const char *file, bool enabled, char *err, size_t err_len)
{
	size_t i;

	for (i = 0; !enabled && i < m->n_peers; i++) {
		const struct model_peer *p = &m->peers[i];

		if (!p->n_alt_endpoints)
			continue;
		snprintf(err, err_len,
			 "%s:%u: Endpoint lists %zu endpoints: several endpoints need --failover (wg-quick files allow one)",
			 file, p->endpoint_line, p->n_alt_endpoints + 1);
		return -EINVAL;
	}
	return 0;
}

static void on_timer(void *ctx, int fd)
{
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
	failover_tick(ctx, device_now_ns());
}

static int start_timer(struct failover *f)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	int ret;

	f->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (f->timer_fd < 0)
		return -errno;
	if (timerfd_settime(f->timer_fd, 0, &its, NULL) < 0 || (ret = loop_add_fd(f->loop, f->timer_fd, on_timer, f))) {
		ret = -errno;
		close(f->timer_fd);
		f->timer_fd = -1;
		return ret ? ret : -EIO;
	}
	return 0;
}

static void take_peer(struct failover_peer *fp, const struct model_peer *p)
{
	size_t i;

	memset(fp, 0, sizeof(*fp));
	memcpy(fp->public_key, p->public_key, sizeof(fp->public_key));
	_Static_assert(sizeof(fp->endpoints[0]) == sizeof(p->endpoint), "the two sockaddr unions agree");
	memcpy(&fp->endpoints[fp->n_endpoints++], &p->endpoint, sizeof(p->endpoint));
	for (i = 0; i < p->n_alt_endpoints; i++)
		memcpy(&fp->endpoints[fp->n_endpoints++], &p->alt_endpoints[i].addr, sizeof(p->endpoint));
}

int failover_init(struct failover *f, struct wg_device *dev, struct loop *loop, const struct model_device *m,
		  unsigned int after_sec)
{
	size_t i, n = 0;
	int ret;

	memset(f, 0, sizeof(*f));
	f->dev = dev;
	f->loop = loop;
	f->after_ns = (uint64_t)after_sec * NSEC_PER_SEC;
	f->timer_fd = -1;
	for (i = 0; m && i < m->n_peers; i++)
		n += m->peers[i].n_alt_endpoints && (m->peers[i].flags & MODEL_PEER_HAS_ENDPOINT);
	if (!n)
		return 0;
	f->peers = calloc(n, sizeof(*f->peers));
	if (!f->peers)
		return -ENOMEM;
	for (i = 0; i < m->n_peers; i++)
		if (m->peers[i].n_alt_endpoints && (m->peers[i].flags & MODEL_PEER_HAS_ENDPOINT))
			take_peer(&f->peers[f->n_peers++], &m->peers[i]);
	ret = loop ? start_timer(f) : 0;
	if (ret) {
		free(f->peers);
		f->peers = NULL;
		f->n_peers = 0;
	}
	return ret;
}

void failover_uninit(struct failover *f)
{
	/* Never initialised (a start that failed early): all zero, and 0 is no timer of ours. */
	if (f->loop && f->timer_fd >= 0) {
		loop_del_fd(f->loop, f->timer_fd);
		close(f->timer_fd);
	}
	free(f->peers);
	memset(f, 0, sizeof(*f));
	f->timer_fd = -1;
}

static void move_on(const struct failover *f, struct failover_peer *fp, struct wg_peer *peer)
{
	char key[64], from[64], to[64];

	key_to_base64(key, fp->public_key);
	diag_format_addr(from, &peer->endpoint);
	fp->cur = (fp->cur + 1) % fp->n_endpoints;
	diag_format_addr(to, &fp->endpoints[fp->cur]);
	log_warn("peer %.8s...: no handshake with %s for %llu s, failing over to %s", key, from,
		 (unsigned long long)(f->after_ns / NSEC_PER_SEC), to);
	peer_set_endpoint(peer, &fp->endpoints[fp->cur]);
}

static void look_at(struct failover *f, struct failover_peer *fp, uint64_t now_ns)
{
	struct wg_peer *peer = device_find_peer(f->dev, fp->public_key);
	uint64_t since;

	/* A handshake in flight is what "trying" means: the retransmit timer runs until one completes. */
	if (!peer || peer->timers.deadline[TIMERS_RETRANSMIT_HANDSHAKE] == TIMERS_NEVER) {
		fp->trying_since_ns = 0;
		return;
	}
	if (!fp->trying_since_ns)
		fp->trying_since_ns = now_ns;
	since = fp->trying_since_ns;
	if (peer->timers.have_last_handshake && peer->timers.last_handshake_ns > since)
		since = peer->timers.last_handshake_ns;
	if (now_ns - since < f->after_ns)
		return;
	move_on(f, fp, peer);
	fp->trying_since_ns = now_ns;
}

void failover_tick(struct failover *f, uint64_t now_ns)
{
	size_t i;

	for (i = 0; i < f->n_peers; i++)
		look_at(f, &f->peers[i], now_ns);
}
