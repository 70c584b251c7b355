/*
 * idmap: ids to nodes.  The permutation is a balanced Feistel network over
 * the id's two halves: round i maps (L, R) to (R, L ^ f(i, R)), and its
 * inverse maps (L, R) back to (R ^ f(i, L), L), so any round function
 * gives a permutation.  f is SipHash-2-4 of (width, round, half) under
 * the key derived from the secret, cut to a half's width: a keyed PRF, so
 * the network is a keyed pseudorandom permutation (Luby-Rackoff; more
 * rounds than the 4 of the proof because the halves are only 16 bits).
 */
#include "config.h"

#include <string.h>

#include "msgrouter/idmap.h"

/*
 * Fixed, public keys that compress a secret of any length into the 128-bit
 * key: k0 and k1 are SipHash of the secret under each.  The secret must
 * carry the entropy (at least IDMAP_SECRET_MIN bytes of it).
 */
static const struct siphash_key idmap_kdf_keys[2] = {
	{ 0x6d73677270696431ULL, 0x6b64662d6b657930ULL },
	{ 0x6d73677270696431ULL, 0x6b64662d6b657931ULL },
};

/* The fingerprint's label: the hash of a fixed text under the key. */
static const char idmap_fp_label[] = "msgrouter idmap fingerprint";

int
idmap_init_width(struct idmap *im, enum id_mode mode, const void *secret,
    size_t len, unsigned width)
{
	if (width < IDMAP_WIDTH_MIN || width > IDMAP_WIDTH || width % 2 != 0)
		return -1;
	if (mode == ID_MODE_RANDOM && (secret == NULL || len < IDMAP_SECRET_MIN))
		return -1;
	memset(im, 0, sizeof *im);
	im->im_mode = mode;
	im->im_width = width;
	im->im_half = width / 2;
	im->im_half_mask = (1u << im->im_half) - 1;
	im->im_local_mask = (1u << (width - IDMAP_NODE_BITS)) - 1;
	if (mode == ID_MODE_RANDOM) {
		im->im_key.sk_k0 = siphash(&idmap_kdf_keys[0], secret, len);
		im->im_key.sk_k1 = siphash(&idmap_kdf_keys[1], secret, len);
	}
	return 0;
}

int
idmap_init(struct idmap *im, enum id_mode mode, const void *secret,
    size_t len)
{
	return idmap_init_width(im, mode, secret, len, IDMAP_WIDTH);
}

/* The round function: round i of the half x, a half's width of SipHash. */
static inline uint32_t
idmap_f(const struct idmap *im, unsigned i, uint32_t x)
{
	uint64_t	m = (uint64_t)im->im_width << 40 | (uint64_t)i << 32 | x;

	return (uint32_t)siphash_u64(&im->im_key, m) & im->im_half_mask;
}

/* F_k: the keyed permutation of width-bit values. */
static uint32_t
idmap_permute(const struct idmap *im, uint32_t v)
{
	uint32_t	l = v >> im->im_half, r = v & im->im_half_mask, t;
	unsigned	i;

	for (i = 0; i < IDMAP_ROUNDS; i++) {
		t = l ^ idmap_f(im, i, r);
		l = r;
		r = t;
	}
	return l << im->im_half | r;
}

/* F_k^-1: the rounds undone in reverse order. */
static uint32_t
idmap_unpermute(const struct idmap *im, uint32_t v)
{
	uint32_t	l = v >> im->im_half, r = v & im->im_half_mask, t;
	unsigned	i;

	for (i = IDMAP_ROUNDS; i-- > 0;) {
		t = r ^ idmap_f(im, i, l);
		r = l;
		l = t;
	}
	return l << im->im_half | r;
}

uint32_t
idmap_encode(const struct idmap *im, unsigned node, uint32_t local)
{
	uint32_t	v;

	v = (uint32_t)(node & (IDMAP_NODES - 1)) <<
	    (im->im_width - IDMAP_NODE_BITS) | (local & im->im_local_mask);
	return im->im_mode == ID_MODE_RANDOM ? idmap_permute(im, v) : v;
}

unsigned
idmap_decode(const struct idmap *im, uint32_t id, uint32_t *local)
{
	uint32_t	v = id;

	if (im->im_width < 32)
		v &= (1u << im->im_width) - 1;
	if (im->im_mode == ID_MODE_RANDOM)
		v = idmap_unpermute(im, id);
	if (local != NULL)
		*local = v & im->im_local_mask;
	return v >> (im->im_width - IDMAP_NODE_BITS);
}

uint64_t
idmap_fingerprint(const struct idmap *im)
{
	uint8_t	buf[sizeof idmap_fp_label + 2];

	memcpy(buf, idmap_fp_label, sizeof idmap_fp_label);
	buf[sizeof idmap_fp_label] = (uint8_t)im->im_mode;
	buf[sizeof idmap_fp_label + 1] = (uint8_t)im->im_width;
	return siphash(&im->im_key, buf, sizeof buf);
}
