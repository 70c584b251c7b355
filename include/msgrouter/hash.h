/*
 * hash: what the open-addressing tables share (registry's ids, bufmem's
 * pointers and addrtab's source addresses, all linear probing with
 * backward-shift deletion): the hash and the test that moves an entry
 * back into a hole.  Tables keyed by what a stranger chooses (addrtab's
 * source addresses) use SipHash under a per-process key instead
 * (siphash.h), so that he cannot aim every key at one probe run.  Inline: registry_find is on the routing hot path.
 */
#ifndef MSGROUTER_HASH_H
#define MSGROUTER_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * Spread a key over a table (Fibonacci hashing: multiply by 2^64 / phi,
 * keep bits 32 and up), so that keys in sequence, such as ids counted up
 * or pointers a cache line apart, do not cluster.  Mask it to the table.
 */
static inline size_t
hash_u64(uint64_t key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 32);
}

/*
 * Backward-shift deletion with a hole at slot i: whether the entry at
 * slot j of the same probe run stays where it is, its home slot lying
 * cyclically in (i, j].  _Bool, not int: GCC 12 then compiles the callers'
 * loops to the same code as with the test written out in them.
 */
static inline _Bool
hash_stays(size_t i, size_t home, size_t j)
{
	return i <= j ? (i < home && home <= j) : (i < home || home <= j);
}

#endif
