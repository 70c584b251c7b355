/*
 * bufmem: libevent's allocator, placing buffer data on cache lines.
 *
 * An evbuffer chain is one allocation: a BUFMEM_HEADER-byte header, then
 * the data.  From malloc the data starts on any 16-byte boundary, and the
 * kernel's copies into it (readv) and out of it (writev) then ran at about
 * two thirds of their speed with 64-byte aligned data (docs/PERFORMANCE.md).
 * bufmem places every allocation of BUFMEM_MIN bytes or more (the chains
 * that take a read or a run of messages) BUFMEM_ALIGN - BUFMEM_HEADER
 * bytes into a BUFMEM_ALIGN-aligned block, so that what follows a chain's
 * header starts a cache line.  free() is given only the pointer: those
 * pointers are kept in a set.  Smaller allocations are plain malloc and
 * cost nothing more: libevent's structures, and its smallest chains (1024
 * bytes, such as the one that carries a new client's id), whose placement
 * cost an idle client 11 bytes.
 *
 * Single-threaded, like the daemon.  bufmem_install must come before any
 * other libevent call; without glibc it does nothing.
 */
#ifndef MSGROUTER_BUFMEM_H
#define MSGROUTER_BUFMEM_H

#include <stddef.h>

#define BUFMEM_ALIGN	64
/* sizeof (struct evbuffer_chain) in libevent 2.1 on LP64 (test_bufmem). */
#define BUFMEM_HEADER	48
#define BUFMEM_MIN	2048

/* Make libevent allocate through bufmem. */
void	 bufmem_install(void);
/* Free bufmem's own table if nothing it placed is still allocated. */
void	 bufmem_shutdown(void);
/* Allocations placed by bufmem and not yet freed. */
size_t	 bufmem_live(void);

void	*bufmem_malloc(size_t);
void	*bufmem_realloc(void *, size_t);
void	 bufmem_free(void *);

#endif
