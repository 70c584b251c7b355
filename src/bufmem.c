/*
 * bufmem: libevent's allocator, placing buffer data on cache lines (see
 * bufmem.h).  The placed pointers live in an open-addressing set with
 * linear probing and backward-shift deletion, at most half full.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <event2/event.h>

#include "msgrouter/bufmem.h"
#include "msgrouter/hash.h"

#define BUFMEM_PAD		(BUFMEM_ALIGN - BUFMEM_HEADER)
#define BUFMEM_MIN_SLOTS	64

static struct {
	uintptr_t	*slots;		/* 0: empty */
	size_t		 mask;		/* slots - 1, a power of two */
	size_t		 count;
} bm;

/* p's home slot in the set. */
static inline size_t
bufmem_hash(uintptr_t p)
{
	return hash_u64((uint64_t)p) & bm.mask;
}

/* Rebuild the set with nslots slots; -1 (set unchanged) without memory. */
static int
bufmem_resize(size_t nslots)
{
	uintptr_t	*old = bm.slots, *slots;
	size_t		 oldn = bm.slots != NULL ? bm.mask + 1 : 0, i, h;

	if ((slots = calloc(nslots, sizeof *slots)) == NULL)
		return -1;
	bm.slots = slots;
	bm.mask = nslots - 1;
	for (i = 0; i < oldn; i++) {
		if (old[i] == 0)
			continue;
		for (h = bufmem_hash(old[i]); slots[h] != 0;
		    h = (h + 1) & bm.mask)
			;
		slots[h] = old[i];
	}
	free(old);
	return 0;
}

static int
bufmem_insert(uintptr_t p)
{
	size_t	h;

	if (bm.slots == NULL || (bm.count + 1) * 2 > bm.mask + 1) {
		if (bufmem_resize(bm.slots == NULL ? BUFMEM_MIN_SLOTS :
		    (bm.mask + 1) * 2) != 0)
			return -1;
	}
	for (h = bufmem_hash(p); bm.slots[h] != 0; h = (h + 1) & bm.mask)
		;
	bm.slots[h] = p;
	bm.count++;
	return 0;
}

static size_t
bufmem_find(uintptr_t p)
{
	size_t	h;

	if (bm.slots == NULL)
		return SIZE_MAX;
	for (h = bufmem_hash(p); bm.slots[h] != 0; h = (h + 1) & bm.mask) {
		if (bm.slots[h] == p)
			return h;
	}
	return SIZE_MAX;
}

/* Take slot h out, moving later entries of its probe run back. */
static void
bufmem_delete(size_t h)
{
	size_t	i = h, j = h, k;

	for (;;) {
		j = (j + 1) & bm.mask;
		if (bm.slots[j] == 0)
			break;
		k = bufmem_hash(bm.slots[j]);
		if (hash_stays(i, k, j))
			continue;
		bm.slots[i] = bm.slots[j];
		i = j;
	}
	bm.slots[i] = 0;
	bm.count--;
	/* Shrink after a peak, not at every dip. */
	if (bm.mask + 1 > BUFMEM_MIN_SLOTS && bm.count * 8 < bm.mask + 1)
		(void)bufmem_resize((bm.mask + 1) / 2);
}

/* Whether p was placed by bufmem (only those sit BUFMEM_PAD into a line). */
static inline int
bufmem_placed(const void *p)
{
	return ((uintptr_t)p & (BUFMEM_ALIGN - 1)) == BUFMEM_PAD &&
	    bufmem_find((uintptr_t)p) != SIZE_MAX;
}

void *
bufmem_malloc(size_t n)
{
	void	*b;
	char	*p;

	if (n < BUFMEM_MIN || n > SIZE_MAX - BUFMEM_ALIGN)
		return malloc(n);
	if (posix_memalign(&b, BUFMEM_ALIGN, n + BUFMEM_PAD) != 0)
		return NULL;
	p = (char *)b + BUFMEM_PAD;
	if (bufmem_insert((uintptr_t)p) != 0) {
		/* No room to remember it: unaligned is still correct. */
		free(b);
		return malloc(n);
	}
	return p;
}

void
bufmem_free(void *p)
{
	size_t	h;

	if (p == NULL)
		return;
	if (((uintptr_t)p & (BUFMEM_ALIGN - 1)) == BUFMEM_PAD &&
	    (h = bufmem_find((uintptr_t)p)) != SIZE_MAX) {
		bufmem_delete(h);
		free((char *)p - BUFMEM_PAD);
	} else
		free(p);
}

void *
bufmem_realloc(void *p, size_t n)
{
#ifdef __GLIBC__
	size_t	 have;
	void	*q;

	if (p == NULL)
		return bufmem_malloc(n);
	if (bufmem_placed(p))
		have = malloc_usable_size((char *)p - BUFMEM_PAD) - BUFMEM_PAD;
	else if (n < BUFMEM_MIN)
		return realloc(p, n);
	else
		have = malloc_usable_size(p);
	if ((q = bufmem_malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, have < n ? have : n);
	bufmem_free(p);
	return q;
#else
	return realloc(p, n);
#endif
}

void
bufmem_install(void)
{
#ifdef __GLIBC__
	event_set_mem_functions(bufmem_malloc, bufmem_realloc, bufmem_free);
#endif
}

void
bufmem_shutdown(void)
{
	if (bm.count != 0)
		return;
	free(bm.slots);
	bm.slots = NULL;
	bm.mask = 0;
}

size_t
bufmem_live(void)
{
	return bm.count;
}
