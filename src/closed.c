/*
 * closed: the ring of recently closed clients.  A fixed array indexed by
 * sequence number modulo capacity: adding is a copy, never an allocation.
 */
#include "config.h"

#include <stdlib.h>

#include "msgrouter/closed.h"

struct closed {
	struct closed_entry	*cl_ring;
	size_t			 cl_capacity;
	uint64_t		 cl_newest;	/* sequence of the last added */
};

struct closed *
closed_new(size_t capacity)
{
	struct closed	*cl;

	if (capacity == 0 || (cl = calloc(1, sizeof *cl)) == NULL)
		return NULL;
	if ((cl->cl_ring = calloc(capacity, sizeof *cl->cl_ring)) == NULL) {
		free(cl);
		return NULL;
	}
	cl->cl_capacity = capacity;
	return cl;
}

void
closed_free(struct closed *cl)
{
	if (cl == NULL)
		return;
	free(cl->cl_ring);
	free(cl);
}

void
closed_add(struct closed *cl, const struct conn_info *ci,
    enum conn_reason reason, uint64_t now_ms)
{
	struct closed_entry	*ce;

	cl->cl_newest++;
	ce = &cl->cl_ring[(cl->cl_newest - 1) % cl->cl_capacity];
	ce->ce_seq = cl->cl_newest;
	ce->ce_closed = now_ms;
	ce->ce_reason = reason;
	ce->ce_info = *ci;
}

uint64_t
closed_newest(const struct closed *cl)
{
	return cl->cl_newest;
}

uint64_t
closed_oldest(const struct closed *cl)
{
	if (cl->cl_newest == 0)
		return 0;
	if (cl->cl_newest <= cl->cl_capacity)
		return 1;
	return cl->cl_newest - cl->cl_capacity + 1;
}

const struct closed_entry *
closed_get(const struct closed *cl, uint64_t seq)
{
	if (seq == 0 || seq > cl->cl_newest || seq < closed_oldest(cl))
		return NULL;
	return &cl->cl_ring[(seq - 1) % cl->cl_capacity];
}
