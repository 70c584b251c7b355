/*
 * departed: a ring of the ids of the last clients that left, with an
 * open-addressing index (linear probing, backward-shift deletion) from id
 * to ring place.  The rule is in departed.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "msgrouter/departed.h"
#include "msgrouter/hash.h"

struct departed {
	uint32_t	*dp_ring;	/* ids, dp_size of them */
	uint32_t	*dp_index;	/* ring place + 1; 0: free slot */
	size_t		 dp_size;	/* departures remembered at most */
	size_t		 dp_head;	/* the ring place written next */
	size_t		 dp_count;	/* ring places in use */
	size_t		 dp_mask;	/* index capacity - 1 (a power of 2) */
};

/* The smallest power of 2 that holds size places at most half full. */
static size_t
departed_capacity(size_t size)
{
	size_t	cap = 1024;

	while (cap / 2 < size)
		cap <<= 1;
	return cap;
}

/* Fill dp (zeroed) for size departures; 0, or -1 if out of memory. */
static int
departed_init(struct departed *dp, size_t size)
{
	size_t	cap;

	if (size < DEPARTED_SIZE_MIN)
		size = DEPARTED_SIZE_MIN;
	if (size > UINT32_MAX - 1)
		return -1;
	cap = departed_capacity(size);
	if ((dp->dp_ring = calloc(size, sizeof *dp->dp_ring)) == NULL)
		return -1;
	if ((dp->dp_index = calloc(cap, sizeof *dp->dp_index)) == NULL) {
		free(dp->dp_ring);
		dp->dp_ring = NULL;
		return -1;
	}
	dp->dp_size = size;
	dp->dp_mask = cap - 1;
	return 0;
}

struct departed *
departed_new(size_t size)
{
	struct departed	*dp;

	if ((dp = calloc(1, sizeof *dp)) == NULL)
		return NULL;
	if (departed_init(dp, size) != 0) {
		free(dp);
		return NULL;
	}
	return dp;
}

void
departed_free(struct departed *dp)
{
	if (dp == NULL)
		return;
	free(dp->dp_index);
	free(dp->dp_ring);
	free(dp);
}

static inline size_t
departed_home(const struct departed *dp, uint32_t id)
{
	return hash_u64(id) & dp->dp_mask;
}

/* The index slot of id, or the free slot that ends its probe run. */
static size_t
departed_slot(const struct departed *dp, uint32_t id)
{
	size_t	i = departed_home(dp, id);

	while (dp->dp_index[i] != 0 && dp->dp_ring[dp->dp_index[i] - 1] != id)
		i = (i + 1) & dp->dp_mask;
	return i;
}

/* Empty index slot i, shifting back the entries of its run that may move. */
static void
departed_unindex(struct departed *dp, size_t i)
{
	uint32_t	*s = dp->dp_index;
	size_t		 j = i, home;

	for (;;) {
		j = (j + 1) & dp->dp_mask;
		if (s[j] == 0)
			break;
		home = departed_home(dp, dp->dp_ring[s[j] - 1]);
		if (hash_stays(i, home, j))
			continue;
		s[i] = s[j];
		i = j;
	}
	s[i] = 0;
}

void
departed_add(struct departed *dp, uint32_t id)
{
	size_t		pos = dp->dp_head, i;
	uint32_t	old;

	if (id == 0)
		return;
	if (dp->dp_count == dp->dp_size) {
		/* Push out the oldest, unless it moved on to a newer place. */
		old = dp->dp_ring[pos];
		i = departed_slot(dp, old);
		if (dp->dp_index[i] == pos + 1)
			departed_unindex(dp, i);
	} else
		dp->dp_count++;
	dp->dp_ring[pos] = id;
	/* A repeated id: its slot now points at its newest place. */
	dp->dp_index[departed_slot(dp, id)] = (uint32_t)(pos + 1);
	dp->dp_head = pos + 1 == dp->dp_size ? 0 : pos + 1;
}

int
departed_has(const struct departed *dp, uint32_t id)
{
	return id != 0 && dp->dp_index[departed_slot(dp, id)] != 0;
}

size_t
departed_count(const struct departed *dp)
{
	return dp->dp_count;
}

size_t
departed_size(const struct departed *dp)
{
	return dp->dp_size;
}

size_t
departed_memory(const struct departed *dp)
{
	return sizeof *dp + dp->dp_size * sizeof *dp->dp_ring +
	    (dp->dp_mask + 1) * sizeof *dp->dp_index;
}

int
departed_grow(struct departed *dp, size_t size)
{
	struct departed	n;
	size_t		k, first;

	if (size <= dp->dp_size)
		return 0;
	memset(&n, 0, sizeof n);
	if (departed_init(&n, size) != 0)
		return -1;
	/* Oldest first, so that the order of pushing out is kept. */
	first = dp->dp_count == dp->dp_size ? dp->dp_head : 0;
	for (k = 0; k < dp->dp_count; k++)
		departed_add(&n, dp->dp_ring[(first + k) % dp->dp_size]);
	free(dp->dp_index);
	free(dp->dp_ring);
	*dp = n;
	return 0;
}
