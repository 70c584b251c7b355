/*
 * closed: the most recently closed clients, with their counters at close
 * and the reason, for the admin interface, in two fixed rings that share
 * one sequence of numbers (1, 2, 3... in order of time):
 *
 * - clients that had an id: the newest CLOSED_RING_SIZE closes;
 * - connections refused at accept without an id (max_clients, banned,
 *   per_address): CLOSED_REJECTED_SIZE records, one per reason and source
 *   address (an IPv4 address, an IPv6 /64: addrtab_key; all Unix-domain
 *   peers are one source).  A rejection that matches a record bumps its
 *   count and last time and gives it the next sequence number (it moves
 *   to the newest); one that does not replaces the record rejected least
 *   recently.
 *
 * So a flood of rejections, from one address or from thousands, never
 * evicts the record of a client that had an id.  Listing both rings by
 * sequence number, newest first, lists them by the time of their last
 * close.
 */
#ifndef MSGROUTER_CLOSED_H
#define MSGROUTER_CLOSED_H

#include <stddef.h>
#include <stdint.h>

#include "msgrouter/addr.h"
#include "msgrouter/conn.h"

#define CLOSED_RING_SIZE	1000
#define CLOSED_REJECTED_SIZE	100

struct closed_entry {
	uint64_t		ce_seq;		/* 1 for the first close */
	uint64_t		ce_closed;	/* monotonic ms: the last close */
	uint64_t		ce_first;	/* monotonic ms: the first close */
	uint64_t		ce_count;	/* closes it stands for: 1 but for
						   a rejection */
	int			ce_rejected;	/* refused at accept, no id */
	enum conn_reason	ce_reason;
	struct conn_info	ce_info;	/* a rejection's: the last peer */
};

struct closed;

/*
 * Rings of capacity client records and rejected_capacity rejection records
 * (at least 1 each); NULL if out of memory.
 */
struct closed		*closed_new(size_t capacity, size_t rejected_capacity);
void			 closed_free(struct closed *);
/* Record the close of a client that had an id; the oldest such goes. */
void			 closed_add(struct closed *, const struct conn_info *,
			    enum conn_reason, uint64_t now_ms);
/* Record a connection from peer refused at accept, coalescing repeats. */
void			 closed_reject(struct closed *, const union addr_any *,
			    enum conn_reason, uint64_t now_ms);
/* Sequence number of the newest record; 0 if nothing closed yet. */
uint64_t		 closed_newest(const struct closed *);
/* The record with this sequence number, or NULL if never or no longer kept. */
const struct closed_entry *closed_get(const struct closed *, uint64_t seq);
/*
 * Up to max records, newest first, from the one numbered from down (from 0:
 * from the newest), into out; *next is the number of the record that comes
 * after them, 0 if none.  Returns how many.
 */
size_t			 closed_page(const struct closed *, uint64_t from,
			    const struct closed_entry **out, size_t max,
			    uint64_t *next);

#endif
