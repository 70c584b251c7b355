/*
 * siphash: SipHash-2-4.  The state is four 64-bit words v0..v3 set from
 * the key and four constants; each 8-byte message word m is mixed in by
 * v3 ^= m, two SipRounds, v0 ^= m; the last word carries the message's
 * remaining bytes and its length mod 256 in its top byte; finalization is
 * v2 ^= 0xff and four SipRounds, and the result v0 ^ v1 ^ v2 ^ v3.
 */
#include "config.h"

#include "msgrouter/siphash.h"

#define SIPHASH_C_ROUNDS	2
#define SIPHASH_D_ROUNDS	4

struct siphash_state {
	uint64_t	v0, v1, v2, v3;
};

static inline uint64_t
siphash_rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* Read 8 bytes as a little-endian word, whatever the host's order. */
static inline uint64_t
siphash_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	    (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	    (uint64_t)p[7] << 56;
}

/* One SipRound: the paper's ARX network over the four words. */
static inline void
siphash_round(struct siphash_state *s)
{
	s->v0 += s->v1;
	s->v1 = siphash_rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = siphash_rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = siphash_rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = siphash_rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = siphash_rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = siphash_rotl(s->v2, 32);
}

static inline void
siphash_init(struct siphash_state *s, const struct siphash_key *k)
{
	s->v0 = k->sk_k0 ^ 0x736f6d6570736575ULL;	/* "somepseu" */
	s->v1 = k->sk_k1 ^ 0x646f72616e646f6dULL;	/* "dorandom" */
	s->v2 = k->sk_k0 ^ 0x6c7967656e657261ULL;	/* "lygenera" */
	s->v3 = k->sk_k1 ^ 0x7465646279746573ULL;	/* "tedbytes" */
}

static inline void
siphash_compress(struct siphash_state *s, uint64_t m)
{
	int	i;

	s->v3 ^= m;
	for (i = 0; i < SIPHASH_C_ROUNDS; i++)
		siphash_round(s);
	s->v0 ^= m;
}

static inline uint64_t
siphash_finish(struct siphash_state *s)
{
	int	i;

	s->v2 ^= 0xff;
	for (i = 0; i < SIPHASH_D_ROUNDS; i++)
		siphash_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

void
siphash_key_set(struct siphash_key *k, const uint8_t key[SIPHASH_KEY_LEN])
{
	k->sk_k0 = siphash_le64(key);
	k->sk_k1 = siphash_le64(key + 8);
}

uint64_t
siphash(const struct siphash_key *k, const void *p, size_t len)
{
	struct siphash_state	 s;
	const uint8_t		*in = p;
	uint64_t		 last;
	size_t			 i, left;

	siphash_init(&s, k);
	for (i = 0; i + 8 <= len; i += 8)
		siphash_compress(&s, siphash_le64(in + i));
	/* The last word: the 0-7 bytes left, then len mod 256 on top. */
	last = (uint64_t)(len & 0xff) << 56;
	for (left = len - i; left > 0; left--)
		last |= (uint64_t)in[i + left - 1] << (8 * (left - 1));
	siphash_compress(&s, last);
	return siphash_finish(&s);
}

uint64_t
siphash_u64(const struct siphash_key *k, uint64_t m)
{
	struct siphash_state	s;

	siphash_init(&s, k);
	siphash_compress(&s, m);
	siphash_compress(&s, (uint64_t)8 << 56);
	return siphash_finish(&s);
}
