/*
 * siphash: SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012), a keyed 64-bit pseudorandom function.  Written
 * from the paper's description; the paper's test vector and the
 * reference vectors for short inputs check it (tests/test_idmap.c).
 */
#ifndef MSGROUTER_SIPHASH_H
#define MSGROUTER_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN	16

/* The 128-bit key as the paper's two little-endian words k0 and k1. */
struct siphash_key {
	uint64_t	sk_k0;
	uint64_t	sk_k1;
};

/* Make a key from 16 bytes, read as two little-endian words. */
void		siphash_key_set(struct siphash_key *,
		    const uint8_t [SIPHASH_KEY_LEN]);
/* SipHash-2-4 of len bytes at p. */
uint64_t	siphash(const struct siphash_key *, const void *p, size_t len);
/*
 * SipHash-2-4 of one 64-bit word m, the same as siphash() of m's eight
 * bytes in little-endian order, without the byte loop (idmap's rounds).
 */
uint64_t	siphash_u64(const struct siphash_key *, uint64_t m);

#endif
