// SPDX-License-Identifier: MIT
#include "resolve.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "netns.h"

struct resolve_job {
	pthread_mutex_t lock; /* guards finished and abandoned, and the eventfd write against its close */
	pthread_t thread;
	int efd;
	struct model_device *m; /* the thread's until finished */
	char *file;
	int ret;
	char err[RESOLVE_ERR_LEN];
	bool finished;  /* the thread is done with m, ret and err */
	bool abandoned; /* the resolver went: the thread frees the job */
};

static bool peer_needs(const struct model_peer *p)
{
	size_t i;

	if (p->flags & MODEL_PEER_HAS_ENDPOINT_HOST)
		return true;
	for (i = 0; i < p->n_alt_endpoints; i++)
		if (!p->alt_endpoints[i].has_addr)
			return true;
	return false;
}

bool resolve_needed(const struct model_device *m)
{
	size_t i;

	for (i = 0; i < m->n_peers; i++)
		if (peer_needs(&m->peers[i]))
			return true;
	return false;
}

/* The first address, as wg(8) takes it. */
static int lookup(union model_sockaddr *out, const char *host, uint16_t port, const char *file, unsigned int line,
		  char *err, size_t err_len)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM }, *res = NULL;
	char service[8];
	int ret;

	snprintf(service, sizeof(service), "%u", port);
	ret = getaddrinfo(host, service, &hints, &res);
	if (ret || !res || res->ai_addrlen > sizeof(*out)) {
		snprintf(err, err_len, "%s:%u: cannot resolve endpoint '%s': %s", file, line, host,
			 ret ? gai_strerror(ret) : "no usable address");
		if (res)
			freeaddrinfo(res);
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

int resolve_model(struct model_device *m, const char *file, char *err, size_t err_len)
{
	size_t i, j;
	int ret;

	for (i = 0; i < m->n_peers; i++) {
		struct model_peer *p = &m->peers[i];
		unsigned int line = p->endpoint_line ? p->endpoint_line : p->conf_line;

		if (p->flags & MODEL_PEER_HAS_ENDPOINT_HOST) {
			ret = lookup(&p->endpoint, p->endpoint_host, p->endpoint_port, file, line, err, err_len);
			if (ret)
				return ret;
			p->flags |= MODEL_PEER_HAS_ENDPOINT;
		}
		for (j = 0; j < p->n_alt_endpoints; j++) {
			struct model_endpoint *e = &p->alt_endpoints[j];

			if (e->has_addr)
				continue;
			ret = lookup(&e->addr, e->host, e->port, file, line, err, err_len);
			if (ret)
				return ret;
			e->has_addr = true;
		}
	}
	return 0;
}

static void job_free(struct resolve_job *job)
{
	pthread_mutex_destroy(&job->lock);
	if (job->efd >= 0)
		close(job->efd);
	model_device_free(job->m);
	free(job->file);
	free(job);
}

static void *run_job(void *arg)
{
	struct resolve_job *job = arg;
	uint64_t one = 1;
	int ret;

	/* Endpoint names are looked up where the UDP goes, not inside a --netns tunnel (netns.h). */
	(void)netns_go_home();
	ret = resolve_model(job->m, job->file, job->err, sizeof(job->err));

	pthread_mutex_lock(&job->lock);
	job->ret = ret;
	job->finished = true;
	if (job->abandoned) {
		pthread_mutex_unlock(&job->lock);
		job_free(job);
		return NULL;
	}
	/* An eventfd write of 1 cannot block or fail short of the counter's 2^64 - 2. */
	(void)!write(job->efd, &one, sizeof(one));
	pthread_mutex_unlock(&job->lock);
	return NULL;
}

static void on_done(void *ctx, int fd)
{
	struct resolver *r = ctx;
	struct resolve_job *job = r->job;
	struct model_device *m;
	char err[RESOLVE_ERR_LEN];
	uint64_t n;
	bool finished;
	int ret;

	(void)!read(fd, &n, sizeof(n));
	if (!job)
		return;
	pthread_mutex_lock(&job->lock);
	finished = job->finished;
	pthread_mutex_unlock(&job->lock);
	if (!finished)
		return;
	/* The thread only has its return left to do. */
	pthread_join(job->thread, NULL);
	loop_del_fd(r->loop, job->efd);
	m = job->m;
	ret = job->ret;
	memcpy(err, job->err, sizeof(err));
	job->m = NULL;
	job_free(job);
	r->job = NULL;
	r->done(r->ctx, m, ret, err);
}

void resolver_init(struct resolver *r, struct loop *loop, resolver_done_cb done, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->done = done;
	r->ctx = ctx;
}

bool resolver_busy(const struct resolver *r)
{
	return r->job != NULL;
}

int resolver_start(struct resolver *r, struct model_device *m, const char *file)
{
	struct resolve_job *job;
	int ret;

	if (r->job)
		return -EBUSY;
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	job->file = strdup(file);
	if (job->efd < 0 || !job->file) {
		ret = job->efd < 0 ? -errno : -ENOMEM;
		goto err_job;
	}
	ret = pthread_mutex_init(&job->lock, NULL);
	if (ret) {
		ret = -ret;
		goto err_job;
	}
	ret = loop_add_fd(r->loop, job->efd, on_done, r);
	if (ret)
		goto err_mutex;
	job->m = m;
	ret = pthread_create(&job->thread, NULL, run_job, job);
	if (ret) {
		job->m = NULL;
		loop_del_fd(r->loop, job->efd);
		ret = -ret;
		goto err_mutex;
	}
	r->job = job;
	return 0;

err_mutex:
	pthread_mutex_destroy(&job->lock);
err_job:
	if (job->efd >= 0)
		close(job->efd);
	free(job->file);
	free(job);
	return ret;
}

void resolver_uninit(struct resolver *r)
{
	struct resolve_job *job = r->job;
	bool finished;

	if (!job)
		return;
	r->job = NULL;
	loop_del_fd(r->loop, job->efd);
	pthread_mutex_lock(&job->lock);
	finished = job->finished;
	job->abandoned = !finished;
	pthread_mutex_unlock(&job->lock);
	if (finished) {
		pthread_join(job->thread, NULL);
		job_free(job);
	} else {
		pthread_detach(job->thread);
	}
}

