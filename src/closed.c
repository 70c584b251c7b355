/*
 * closed: the rings of recently closed clients and refused connections.
 * Fixed arrays allocated once: adding is a copy, never an allocation.  The
 * client ring is kept in order of sequence numbers (oldest at cl_head); the
 * rejection records sit in fixed slots, and cl_rorder lists their slots in
 * order of sequence numbers, so a bump moves one slot number to the end
 * (at most CLOSED_REJECTED_SIZE of them: a rejection's search and move are
 * a scan of a few hundred bytes, next to an accept(2) and a close(2)).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "msgrouter/addrtab.h"
#include "msgrouter/closed.h"

struct closed {
	struct closed_entry	*cl_ring;	/* clients with an id */
	size_t			 cl_capacity;
	size_t			 cl_head;	/* the oldest */
	size_t			 cl_count;
	struct closed_entry	*cl_rej;	/* rejections, by slot */
	struct addrtab_key	*cl_rkey;	/* each slot's source address */
	size_t			*cl_rorder;	/* slots, oldest first */
	size_t			 cl_rcapacity;
	size_t			 cl_rcount;
	uint64_t		 cl_newest;	/* sequence of the last added */
};

struct closed *
closed_new(size_t capacity, size_t rejected_capacity)
{
	struct closed	*cl;

	if (capacity == 0 || rejected_capacity == 0 ||
	    (cl = calloc(1, sizeof *cl)) == NULL)
		return NULL;
	cl->cl_ring = calloc(capacity, sizeof *cl->cl_ring);
	cl->cl_rej = calloc(rejected_capacity, sizeof *cl->cl_rej);
	cl->cl_rkey = calloc(rejected_capacity, sizeof *cl->cl_rkey);
	cl->cl_rorder = calloc(rejected_capacity, sizeof *cl->cl_rorder);
	if (cl->cl_ring == NULL || cl->cl_rej == NULL || cl->cl_rkey == NULL ||
	    cl->cl_rorder == NULL) {
		closed_free(cl);
		return NULL;
	}
	cl->cl_capacity = capacity;
	cl->cl_rcapacity = rejected_capacity;
	return cl;
}

void
closed_free(struct closed *cl)
{
	if (cl == NULL)
		return;
	free(cl->cl_rorder);
	free(cl->cl_rkey);
	free(cl->cl_rej);
	free(cl->cl_ring);
	free(cl);
}

void
closed_add(struct closed *cl, const struct conn_info *ci,
    enum conn_reason reason, uint64_t now_ms)
{
	struct closed_entry	*ce;

	if (cl->cl_count < cl->cl_capacity)
		ce = &cl->cl_ring[(cl->cl_head + cl->cl_count++) %
		    cl->cl_capacity];
	else {
		ce = &cl->cl_ring[cl->cl_head];
		cl->cl_head = (cl->cl_head + 1) % cl->cl_capacity;
	}
	memset(ce, 0, sizeof *ce);
	ce->ce_seq = ++cl->cl_newest;
	ce->ce_closed = ce->ce_first = now_ms;
	ce->ce_count = 1;
	ce->ce_reason = reason;
	ce->ce_info = *ci;
}

/* The source a rejection is coalesced by: addrtab's key, else the family. */
static void
closed_source(const union addr_any *peer, struct addrtab_key *k)
{
	if (addrtab_key(&peer->sa, k) != 0) {
		memset(k, 0, sizeof *k);
		k->ak_family = (uint8_t)peer->sa.sa_family;
	}
}

void
closed_reject(struct closed *cl, const union addr_any *peer,
    enum conn_reason reason, uint64_t now_ms)
{
	struct closed_entry	*ce;
	struct addrtab_key	 k;
	size_t			 i, slot;

	closed_source(peer, &k);
	for (i = 0; i < cl->cl_rcount; i++) {
		slot = cl->cl_rorder[i];
		if (cl->cl_rej[slot].ce_reason == reason &&
		    cl->cl_rkey[slot].ak_family == k.ak_family &&
		    cl->cl_rkey[slot].ak_prefix == k.ak_prefix)
			break;
	}
	if (i < cl->cl_rcount) {
		/* A repeat: the same record, now the newest. */
		ce = &cl->cl_rej[slot];
		ce->ce_count++;
	} else if (cl->cl_rcount < cl->cl_rcapacity) {
		slot = cl->cl_rorder[cl->cl_rcount] = cl->cl_rcount;
		i = cl->cl_rcount++;
		ce = &cl->cl_rej[slot];
		ce->ce_count = 1;
		ce->ce_first = now_ms;
	} else {
		/* Full: the record rejected least recently goes. */
		slot = cl->cl_rorder[i = 0];
		ce = &cl->cl_rej[slot];
		ce->ce_count = 1;
		ce->ce_first = now_ms;
	}
	memmove(&cl->cl_rorder[i], &cl->cl_rorder[i + 1],
	    (cl->cl_rcount - i - 1) * sizeof *cl->cl_rorder);
	cl->cl_rorder[cl->cl_rcount - 1] = slot;
	cl->cl_rkey[slot] = k;
	ce->ce_seq = ++cl->cl_newest;
	ce->ce_closed = now_ms;
	ce->ce_rejected = 1;
	ce->ce_reason = reason;
	memset(&ce->ce_info, 0, sizeof ce->ce_info);
	ce->ce_info.ci_peer = *peer;
	ce->ce_info.ci_connected = now_ms;
}

uint64_t
closed_newest(const struct closed *cl)
{
	return cl->cl_newest;
}

/* The client record i places from the oldest. */
static inline const struct closed_entry *
closed_client(const struct closed *cl, size_t i)
{
	return &cl->cl_ring[(cl->cl_head + i) % cl->cl_capacity];
}

/* How many client records are numbered seq or less (a binary search). */
static size_t
closed_clients_upto(const struct closed *cl, uint64_t seq)
{
	size_t	lo = 0, hi = cl->cl_count, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (closed_client(cl, mid)->ce_seq <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* How many rejection records are numbered seq or less. */
static size_t
closed_rejected_upto(const struct closed *cl, uint64_t seq)
{
	size_t	n = cl->cl_rcount;

	while (n > 0 && cl->cl_rej[cl->cl_rorder[n - 1]].ce_seq > seq)
		n--;
	return n;
}

const struct closed_entry *
closed_get(const struct closed *cl, uint64_t seq)
{
	const struct closed_entry	*ce;
	size_t				 n;

	if (seq == 0 || seq > cl->cl_newest)
		return NULL;
	if ((n = closed_clients_upto(cl, seq)) > 0 &&
	    (ce = closed_client(cl, n - 1))->ce_seq == seq)
		return ce;
	if ((n = closed_rejected_upto(cl, seq)) > 0 &&
	    (ce = &cl->cl_rej[cl->cl_rorder[n - 1]])->ce_seq == seq)
		return ce;
	return NULL;
}

size_t
closed_page(const struct closed *cl, uint64_t from,
    const struct closed_entry **out, size_t max, uint64_t *next)
{
	const struct closed_entry	*c, *r;
	size_t				 nc, nr, n = 0;

	if (from == 0 || from > cl->cl_newest)
		from = cl->cl_newest;
	/* A merge of the two rings, each walked from from down. */
	nc = closed_clients_upto(cl, from);
	nr = closed_rejected_upto(cl, from);
	for (;;) {
		c = nc > 0 ? closed_client(cl, nc - 1) : NULL;
		r = nr > 0 ? &cl->cl_rej[cl->cl_rorder[nr - 1]] : NULL;
		if (c != NULL && r != NULL && r->ce_seq > c->ce_seq)
			c = NULL;
		else if (c != NULL)
			r = NULL;
		if (c == NULL && r == NULL) {
			*next = 0;
			break;
		}
		if (n == max) {
			*next = (c != NULL ? c : r)->ce_seq;
			break;
		}
		if (c != NULL) {
			out[n++] = c;
			nc--;
		} else {
			out[n++] = r;
			nr--;
		}
	}
	return n;
}
