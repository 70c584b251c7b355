/*
 * hash: what the open-addressing tables share (registry's ids, bufmem's
 * pointers and addrtab's source addresses, all linear probing with
 * backward-shift deletion): the hashes and the test that moves an entry
 * back into a hole.  Inline: registry_find is on the routing hot path.
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

#define HASH_ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))
#define HASH_SIPROUND(v0, v1, v2, v3) do {				\
	v0 += v1; v1 = HASH_ROTL(v1, 13); v1 ^= v0; v0 = HASH_ROTL(v0, 32); \
	v2 += v3; v3 = HASH_ROTL(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = HASH_ROTL(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = HASH_ROTL(v1, 17); v1 ^= v2; v2 = HASH_ROTL(v2, 32); \
} while (0)

/*
 * SipHash-2-4 of one 64-bit word (its 8 bytes little-endian) under the
 * 128-bit key k0, k1: for tables keyed by what a stranger chooses (source
 * addresses), where hash_u64's fixed multiplier would let him aim every key
 * at one probe run.  With a per-process random key he cannot.
 */
static inline uint64_t
hash_sip64(uint64_t k0, uint64_t k1, uint64_t m)
{
	uint64_t	v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t	v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t	v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t	v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t	b = (uint64_t)8 << 56;	/* the length, no tail */

	v3 ^= m;
	HASH_SIPROUND(v0, v1, v2, v3);
	HASH_SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v3 ^= b;
	HASH_SIPROUND(v0, v1, v2, v3);
	HASH_SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	HASH_SIPROUND(v0, v1, v2, v3);
	HASH_SIPROUND(v0, v1, v2, v3);
	HASH_SIPROUND(v0, v1, v2, v3);
	HASH_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

#endif
