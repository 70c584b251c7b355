/*
 * closed: a ring of the most recently closed clients, with their counters
 * at close and the reason, for the admin interface.  Records are numbered
 * 1, 2, 3... in closing order; the ring keeps the newest CLOSED_RING_SIZE.
 */
#ifndef MSGROUTER_CLOSED_H
#define MSGROUTER_CLOSED_H

#include <stddef.h>
#include <stdint.h>

#include "msgrouter/conn.h"

#define CLOSED_RING_SIZE	1000

struct closed_entry {
	uint64_t		ce_seq;		/* 1 for the first close */
	uint64_t		ce_closed;	/* monotonic ms */
	enum conn_reason	ce_reason;
	struct conn_info	ce_info;
};

struct closed;

/* A ring of capacity records (at least 1); NULL if out of memory. */
struct closed		*closed_new(size_t capacity);
void			 closed_free(struct closed *);
/* Record one close, overwriting the oldest record when full. */
void			 closed_add(struct closed *, const struct conn_info *,
			    enum conn_reason, uint64_t now_ms);
/* Sequence number of the newest record; 0 if nothing closed yet. */
uint64_t		 closed_newest(const struct closed *);
/* Sequence number of the oldest record kept; 0 if empty. */
uint64_t		 closed_oldest(const struct closed *);
/* The record with this sequence number, or NULL if never or no longer kept. */
const struct closed_entry *closed_get(const struct closed *, uint64_t seq);

#endif
