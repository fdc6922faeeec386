/* SPDX-License-Identifier: MIT */
/*
 * Packet buffers: one allocation made at start, handed out by id. Nothing on
 * the packet path allocates; when the pool is empty, packets are dropped and
 * counted, never queued without bound. Single-threaded: the event loop owns it.
 *
 * A buffer may hold several packets at once (UDP GRO hands over one buffer
 * with many datagrams): each holder has a reference, and the buffer is free
 * when the last one puts it.
 */
#ifndef WGUD_POOL_H
#define WGUD_POOL_H

#include <stddef.h>
#include <stdint.h>

#define POOL_NONE UINT32_MAX

struct pool {
	uint8_t *mem;
	uint32_t *free_ids; /* a stack */
	uint16_t *refs;     /* holders per buffer; 0: free */
	uint32_t n_free;
	uint32_t count;
	uint32_t buf_size;
};

int pool_init(struct pool *p, uint32_t count, uint32_t buf_size);
void pool_uninit(struct pool *p);
/* POOL_NONE when empty. */
uint32_t pool_get(struct pool *p);
/* One more holder of a buffer already held. */
void pool_hold(struct pool *p, uint32_t id);
/* A holder lets go; the last one frees the buffer. */
void pool_put(struct pool *p, uint32_t id);

static inline uint8_t *pool_buf(const struct pool *p, uint32_t id)
{
	return p->mem + (size_t)id * p->buf_size;
}

#endif
