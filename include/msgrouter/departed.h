/*
 * departed: the ids of the clients that left most recently, for the
 * id-scanning defence.  A frame to an id that was live a moment ago comes
 * from a client whose peer just left (or restarted), not from a scanner,
 * who aims at ids that never existed; router_scanning does not count it.
 * No sockets, no clock: cmocka drives it alone.
 *
 * Retention: a departed id is remembered until size newer departures
 * push it out, whatever the time (the router sizes it max_clients,
 * DEPARTED_SIZE_MIN at least; it only grows).  A fixed ring of the
 * departures and an open-addressing index into it (linear probing,
 * backward-shift deletion, hash_u64 like the registry: ids are the
 * router's, not chosen by the peer).  Memory is fixed by the size: under
 * 20 bytes per departure remembered (the index is at most half full).
 * An id that leaves again while still remembered (a sequential id
 * reused, or a random one drawn twice) moves to the newest place; its
 * older place in the ring is then stale and forgets nothing when pushed
 * out.
 */
#ifndef MSGROUTER_DEPARTED_H
#define MSGROUTER_DEPARTED_H

#include <stddef.h>
#include <stdint.h>

/* The fewest departures remembered, whatever max_clients is. */
#define DEPARTED_SIZE_MIN	4096

struct departed;

/*
 * A set that remembers the last size departures (DEPARTED_SIZE_MIN at
 * least); NULL if out of memory.
 */
struct departed	*departed_new(size_t size);
void		 departed_free(struct departed *);
/*
 * Client id left (id 0 is no id and is ignored); the oldest departure is
 * forgotten when size are remembered already.
 */
void		 departed_add(struct departed *, uint32_t id);
/* Whether id is among the departures remembered. */
int		 departed_has(const struct departed *, uint32_t id);
/* Departures remembered (at most the size; a repeated id counts twice). */
size_t		 departed_count(const struct departed *);
size_t		 departed_size(const struct departed *);
/* The bytes the set holds: fixed by the size. */
size_t		 departed_memory(const struct departed *);
/*
 * Remember up to size departures from now on (never fewer), keeping those
 * remembered; 0, or -1 and unchanged.
 */
int		 departed_grow(struct departed *, size_t size);

#endif
