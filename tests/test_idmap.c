/*
 * Unit tests for idmap and siphash: SipHash-2-4 against the paper's
 * vectors; the keyed permutation round-trips (on a large sample of 32-bit
 * ids, and on every value of narrower ids); owners are uniform; one node's
 * ids look like anyone's; nodes never share an id; secrets give different
 * permutations; the reserved id 0 is never handed out.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msgrouter/idmap.h"
#include "msgrouter/siphash.h"

static const char secret_a[] = "0123456789abcdef-cluster-a";
static const char secret_b[] = "0123456789abcdef-cluster-b";

/* A fixed-seed xorshift64*: the samples are the same on every run. */
static uint64_t
rand_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Pearson's chi-square of 256 bins against a uniform spread of n samples.
 * With 255 degrees of freedom its mean is 255 and its deviation 22.6;
 * the tests' bound of 360 is passed by chance once in about 10,000 runs,
 * and the samples are fixed, so a pass is a pass on every run.
 */
static double
chi_square(const unsigned bins[256], unsigned n)
{
	double	e = n / 256.0, x = 0;
	int	i;

	for (i = 0; i < 256; i++)
		x += (bins[i] - e) * (bins[i] - e) / e;
	return x;
}

#define CHI_SQUARE_MAX	360.0

/* The paper's key 00..0f and messages 00, 01, ...: published outputs. */
static void
test_siphash_vectors(void **state)
{
	static const struct {
		size_t		len;
		uint64_t	out;
	} v[] = {
		{ 0, 0x726fdb47dd0e0e31ULL },
		{ 1, 0x74f839c593dc67fdULL },
		{ 7, 0xab0200f58b01d137ULL },
		{ 8, 0x93f5f5799a932462ULL },
		{ 9, 0x9e0082df0ba9e4b0ULL },
		{ 15, 0xa129ca6149be45e5ULL },	/* the paper's Appendix A */
	};
	struct siphash_key	k;
	uint8_t			key[16], msg[16];
	size_t			i;

	for (i = 0; i < sizeof key; i++)
		key[i] = msg[i] = (uint8_t)i;
	siphash_key_set(&k, key);
	assert_int_equal(k.sk_k0, 0x0706050403020100ULL);
	assert_int_equal(k.sk_k1, 0x0f0e0d0c0b0a0908ULL);
	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		assert_int_equal(siphash(&k, msg, v[i].len), v[i].out);
}

/* siphash_u64(m) is siphash() of m's eight little-endian bytes. */
static void
test_siphash_u64(void **state)
{
	struct siphash_key	k = { 0x0706050403020100ULL,
				    0x0f0e0d0c0b0a0908ULL };
	uint64_t		s = 1, m;
	uint8_t			b[8];
	int			i, j;

	for (i = 0; i < 1000; i++) {
		m = rand_next(&s);
		for (j = 0; j < 8; j++)
			b[j] = (uint8_t)(m >> (8 * j));
		assert_int_equal(siphash_u64(&k, m), siphash(&k, b, 8));
	}
	assert_int_equal(siphash_u64(&k, 0x0706050403020100ULL),
	    0x93f5f5799a932462ULL);
}

/* Short secrets in random mode and bad widths are refused. */
static void
test_init(void **state)
{
	struct idmap	im;

	assert_int_equal(idmap_init(&im, ID_MODE_RANDOM, "short", 5), -1);
	assert_int_equal(idmap_init(&im, ID_MODE_RANDOM, NULL, 0), -1);
	assert_int_equal(idmap_init(&im, ID_MODE_RANDOM, secret_a,
	    IDMAP_SECRET_MIN - 1), -1);
	assert_int_equal(idmap_init(&im, ID_MODE_RANDOM, secret_a,
	    IDMAP_SECRET_MIN), 0);
	assert_int_equal(idmap_init(&im, ID_MODE_SEQUENTIAL, NULL, 0), 0);
	assert_int_equal(idmap_init_width(&im, ID_MODE_SEQUENTIAL, NULL, 0,
	    17), -1);
	assert_int_equal(idmap_init_width(&im, ID_MODE_SEQUENTIAL, NULL, 0,
	    IDMAP_WIDTH_MIN - 2), -1);
	assert_int_equal(idmap_init_width(&im, ID_MODE_SEQUENTIAL, NULL, 0,
	    IDMAP_WIDTH + 2), -1);
}

/* 2^20 random 32-bit ids decode to a (node, local) that encodes back. */
static void
test_roundtrip_sample(void **state)
{
	struct idmap	im;
	uint64_t	s = 0x1234567;
	uint32_t	id, local;
	unsigned	node, i;

	assert_int_equal(idmap_init(&im, ID_MODE_RANDOM, secret_a,
	    sizeof secret_a - 1), 0);
	for (i = 0; i < (1u << 20); i++) {
		id = (uint32_t)rand_next(&s);
		node = idmap_decode(&im, id, &local);
		assert_true(node < IDMAP_NODES);
		assert_true(local <= 0xffffffu);
		assert_int_equal(idmap_encode(&im, node, local), id);
	}
}

/*
 * Narrower ids, every value: encoding all (node, local) pairs hits every
 * id exactly once (a permutation), and each decodes back.
 */
static void
test_roundtrip_exhaustive(void **state)
{
	static const unsigned	 widths[] = { IDMAP_WIDTH_MIN, 16, 18 };
	struct idmap		 im;
	uint8_t			*seen;
	uint32_t		 v, id, local, n;
	unsigned		 w, node;

	for (w = 0; w < sizeof widths / sizeof widths[0]; w++) {
		n = 1u << widths[w];
		assert_int_equal(idmap_init_width(&im, ID_MODE_RANDOM,
		    secret_a, sizeof secret_a - 1, widths[w]), 0);
		assert_non_null(seen = calloc(n, 1));
		for (v = 0; v < n; v++) {
			node = v >> (widths[w] - IDMAP_NODE_BITS);
			id = idmap_encode(&im, node, v & im.im_local_mask);
			assert_true(id < n);
			assert_int_equal(seen[id], 0);
			seen[id] = 1;
			assert_int_equal(idmap_decode(&im, id, &local), node);
			assert_int_equal(local, v & im.im_local_mask);
		}
		free(seen);
	}
}

/* The owners of 10^6 random ids are spread evenly over the 256 nodes. */
static void
test_owners_uniform(void **state)
{
	struct idmap	im;
	unsigned	bins[256] = { 0 }, i, n = 1000000;
	uint64_t	s = 42;

	assert_int_equal(idmap_init(&im, ID_MODE_RANDOM, secret_a,
	    sizeof secret_a - 1), 0);
	for (i = 0; i < n; i++)
		bins[idmap_decode(&im, (uint32_t)rand_next(&s), NULL)]++;
	assert_true(chi_square(bins, n) < CHI_SQUARE_MAX);
}

/*
 * What an observer sees: one node's ids, for local ids handed out in a
 * row, have top and bottom bytes spread evenly, so they do not tell the
 * node (an identity map would put every top byte in one bin).
 */
static void
test_node_ids_uniform(void **state)
{
	struct idmap	im;
	unsigned	top[256] = { 0 }, low[256] = { 0 }, i, n = 200000;
	uint32_t	id;

	assert_int_equal(idmap_init(&im, ID_MODE_RANDOM, secret_a,
	    sizeof secret_a - 1), 0);
	for (i = 1; i <= n; i++) {
		id = idmap_encode(&im, 7, i);
		top[id >> 24]++;
		low[id & 0xff]++;
	}
	assert_true(chi_square(top, n) < CHI_SQUARE_MAX);
	assert_true(chi_square(low, n) < CHI_SQUARE_MAX);
}

/*
 * Ids of different nodes never collide: the same local ids on every node
 * give 256 x 2000 distinct ids, each decoding to its node.
 */
static void
test_nodes_disjoint(void **state)
{
	enum { PER_NODE = 2000 };
	struct idmap	 im;
	uint32_t	*ids, local;
	unsigned	 node, i, n = 0;
	uint64_t	 s = 99;

	assert_int_equal(idmap_init(&im, ID_MODE_RANDOM, secret_a,
	    sizeof secret_a - 1), 0);
	assert_non_null(ids = calloc(IDMAP_NODES * PER_NODE, sizeof *ids));
	for (i = 0; i < PER_NODE; i++) {
		local = (uint32_t)rand_next(&s) & 0xffffff;
		for (node = 0; node < IDMAP_NODES; node++) {
			ids[n] = idmap_encode(&im, node, local);
			assert_int_equal(idmap_decode(&im, ids[n], NULL), node);
			n++;
		}
	}
	qsort(ids, n, sizeof *ids, cmp_u32);
	for (i = 1; i < n; i++)
		assert_true(ids[i - 1] != ids[i]);
	free(ids);
}

/*
 * Two secrets, even one bit apart, give unrelated permutations: of 10^5
 * values hardly any map to the same id (2^-32 each by chance).
 */
static void
test_secrets_differ(void **state)
{
	struct idmap	a, b, c;
	char		flipped[sizeof secret_a];
	unsigned	i, same_ab = 0, same_ac = 0;

	memcpy(flipped, secret_a, sizeof flipped);
	flipped[3] ^= 1;
	assert_int_equal(idmap_init(&a, ID_MODE_RANDOM, secret_a,
	    sizeof secret_a - 1), 0);
	assert_int_equal(idmap_init(&b, ID_MODE_RANDOM, secret_b,
	    sizeof secret_b - 1), 0);
	assert_int_equal(idmap_init(&c, ID_MODE_RANDOM, flipped,
	    sizeof flipped - 1), 0);
	for (i = 0; i < 100000; i++) {
		same_ab += idmap_encode(&a, i >> 24, i) ==
		    idmap_encode(&b, i >> 24, i);
		same_ac += idmap_encode(&a, i >> 24, i) ==
		    idmap_encode(&c, i >> 24, i);
	}
	assert_true(same_ab <= 1);
	assert_true(same_ac <= 1);
	assert_true(idmap_fingerprint(&a) != idmap_fingerprint(&b));
	assert_true(idmap_fingerprint(&a) != idmap_fingerprint(&c));
	assert_int_equal(idmap_init(&b, ID_MODE_RANDOM, secret_a,
	    sizeof secret_a - 1), 0);
	assert_int_equal(idmap_fingerprint(&a), idmap_fingerprint(&b));
}

/*
 * Sequential mode: node << 24 | local, owner in the top byte; its
 * fingerprint differs from any random mode's, so a node in the other mode
 * is refused.
 */
static void
test_sequential(void **state)
{
	struct idmap	im, rnd;
	uint32_t	local;

	assert_int_equal(idmap_init(&im, ID_MODE_SEQUENTIAL, NULL, 0), 0);
	assert_int_equal(idmap_encode(&im, 3, 5), 0x03000005u);
	assert_int_equal(idmap_encode(&im, 255, 0xffffff), 0xffffffffu);
	assert_int_equal(idmap_encode(&im, 1, 0x1000001), 0x01000001u);
	assert_int_equal(idmap_decode(&im, 0xab123456u, &local), 0xab);
	assert_int_equal(local, 0x123456);
	assert_int_equal(idmap_init(&rnd, ID_MODE_RANDOM, secret_a,
	    sizeof secret_a - 1), 0);
	assert_true(idmap_fingerprint(&im) != idmap_fingerprint(&rnd));
}

/*
 * Id 0 is reserved: exactly one (node, local) pair maps to it, and
 * idmap_encode returns 0 for that pair alone, in both modes.
 */
static void
test_reserved_zero(void **state)
{
	struct idmap	im;
	uint32_t	local;
	unsigned	node;

	assert_int_equal(idmap_init(&im, ID_MODE_RANDOM, secret_a,
	    sizeof secret_a - 1), 0);
	node = idmap_decode(&im, 0, &local);
	assert_int_equal(idmap_encode(&im, node, local), 0);
	assert_int_not_equal(idmap_encode(&im, node, local ^ 1), 0);
	assert_int_not_equal(idmap_encode(&im, node ^ 1, local), 0);
	assert_int_equal(idmap_init(&im, ID_MODE_SEQUENTIAL, NULL, 0), 0);
	assert_int_equal(idmap_encode(&im, 0, 0), 0);
	assert_int_not_equal(idmap_encode(&im, 0, 1), 0);
	assert_int_not_equal(idmap_encode(&im, 1, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_siphash_u64),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_roundtrip_sample),
		cmocka_unit_test(test_roundtrip_exhaustive),
		cmocka_unit_test(test_owners_uniform),
		cmocka_unit_test(test_node_ids_uniform),
		cmocka_unit_test(test_nodes_disjoint),
		cmocka_unit_test(test_secrets_differ),
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_reserved_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
