// SPDX-License-Identifier: MIT
#include "pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int pool_init(struct pool *p, uint32_t count, uint32_t buf_size)
{
	size_t bytes;
	uint32_t i;

	memset(p, 0, sizeof(*p));
	if (!count || buf_size < 64 || buf_size % 64)
		return -EINVAL;
	bytes = (size_t)count * buf_size;
	/*
	 * Page-aligned, and resident only where touched: a buffer holds a jumbo
	 * MTU, but a 1420-byte packet touches one or two of its pages, and the
	 * free list is a stack, so the pages in use are those of the few
	 * buffers in flight. Locking them all would make an idle wgud 40 MiB;
	 * they hold plaintext only for the moment before sealing and after
	 * opening. Never in a core dump; no huge pages (one byte would bring
	 * in 2 MiB).
	 */
	p->mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		return -ENOMEM;
	}
	(void)madvise(p->mem, bytes, MADV_DONTDUMP);
	(void)madvise(p->mem, bytes, MADV_NOHUGEPAGE);
	p->free_ids = calloc(count, sizeof(*p->free_ids));
	p->refs = calloc(count, sizeof(*p->refs));
	if (!p->free_ids || !p->refs) {
		free(p->free_ids);
		free(p->refs);
		munmap(p->mem, bytes);
		p->mem = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < count; i++)
		p->free_ids[i] = count - 1 - i;
	p->n_free = count;
	p->count = count;
	p->buf_size = buf_size;
	return 0;
}

void pool_uninit(struct pool *p)
{
	if (p->mem) {
		size_t bytes = (size_t)p->count * p->buf_size;

		/*
		 * No wipe first: that would fault in every page never touched.
		 * Unmapped anonymous pages go back to the kernel, which clears a
		 * page before anyone else gets it.
		 */
		munmap(p->mem, bytes);
	}
	free(p->free_ids);
	free(p->refs);
	memset(p, 0, sizeof(*p));
}

uint32_t pool_get(struct pool *p)
{
	uint32_t id;

	if (!p->n_free)
		return POOL_NONE;
	id = p->free_ids[--p->n_free];
	p->refs[id] = 1;
	return id;
}

void pool_hold(struct pool *p, uint32_t id)
{
	if (id < p->count && p->refs[id] && p->refs[id] < UINT16_MAX)
		p->refs[id]++;
}

void pool_put(struct pool *p, uint32_t id)
{
	/* A put of a free buffer (a bug) must not put it on the stack twice. */
	if (id >= p->count || !p->refs[id])
		return;
	if (--p->refs[id] == 0 && p->n_free < p->count)
		p->free_ids[p->n_free++] = id;
}
