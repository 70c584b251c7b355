/*
 * Unit tests for the id registry: lookups, removal with backward shifts,
 * growth and shrinking, id allocation in both modes, and the walk.
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
#include "msgrouter/registry.h"

struct item {
	uint32_t	id;
};

static uint32_t
item_key(const void *e)
{
	return ((const struct item *)e)->id;
}

/* Add, find, remove: the basics, and misses return NULL. */
static void
test_add_find_remove(void **state)
{
	struct registry	*rg = registry_new(item_key);
	struct item	 a = { 1 }, b = { 2 }, c = { 0xffffffff };

	assert_non_null(rg);
	assert_int_equal(registry_add(rg, &a), 0);
	assert_int_equal(registry_add(rg, &b), 0);
	assert_int_equal(registry_add(rg, &c), 0);
	assert_int_equal(registry_count(rg), 3);
	assert_ptr_equal(registry_find(rg, 1), &a);
	assert_ptr_equal(registry_find(rg, 2), &b);
	assert_ptr_equal(registry_find(rg, 0xffffffff), &c);
	assert_null(registry_find(rg, 3));
	assert_ptr_equal(registry_remove(rg, 2), &b);
	assert_null(registry_find(rg, 2));
	assert_null(registry_remove(rg, 2));
	assert_int_equal(registry_count(rg), 2);
	registry_free(rg);
}

/*
 * Many entries, removed in a scattered order: every remaining entry stays
 * findable after each removal (backward shift keeps probe runs intact),
 * through growth and shrinking.
 */
static void
test_churn(void **state)
{
	enum { N = 5000 };
	struct registry	*rg = registry_new(item_key);
	struct item	*items = calloc(N, sizeof *items);
	int		 i, j;

	for (i = 0; i < N; i++) {
		/* Colliding ids: multiples of a large power of two. */
		items[i].id = (uint32_t)(i + 1) * 65536u;
		assert_int_equal(registry_add(rg, &items[i]), 0);
	}
	for (i = 0; i < N; i++)
		assert_ptr_equal(registry_find(rg, items[i].id), &items[i]);
	for (i = 0; i < N; i += 2)
		assert_ptr_equal(registry_remove(rg, items[i].id), &items[i]);
	for (i = 0; i < N; i++) {
		if (i % 2 == 0)
			assert_null(registry_find(rg, items[i].id));
		else
			assert_ptr_equal(registry_find(rg, items[i].id),
			    &items[i]);
	}
	for (i = 1; i < N; i += 2) {
		assert_ptr_equal(registry_remove(rg, items[i].id), &items[i]);
		if (i % 501 == 1) {
			for (j = i + 2; j < N; j += 2)
				assert_ptr_equal(registry_find(rg,
				    items[j].id), &items[j]);
		}
	}
	assert_int_equal(registry_count(rg), 0);
	free(items);
	registry_free(rg);
}

/* Sequential ids are 1, 2, 3 and skip ids in use. */
static void
test_sequential_ids(void **state)
{
	struct registry	*rg = registry_new(item_key);
	struct item	 held = { 3 };

	assert_int_equal(registry_next_id(rg, ID_MODE_SEQUENTIAL), 1);
	assert_int_equal(registry_next_id(rg, ID_MODE_SEQUENTIAL), 2);
	registry_add(rg, &held);
	assert_int_equal(registry_next_id(rg, ID_MODE_SEQUENTIAL), 4);
	registry_free(rg);
}

/* Sequential ids skip 0 when the counter wraps, and ids still in use. */
static void
test_sequential_wrap(void **state)
{
	struct registry	*rg = registry_new(item_key);
	struct item	 held = { 1 };

	registry_add(rg, &held);
	registry_seed_sequential(rg, 0xfffffffeu);
	assert_int_equal(registry_next_id(rg, ID_MODE_SEQUENTIAL), 0xffffffffu);
	/* 0 is never an id and 1 is in use. */
	assert_int_equal(registry_next_id(rg, ID_MODE_SEQUENTIAL), 2);
	registry_free(rg);
}

/* Random ids are non-zero, unique among registered entries. */
static void
test_random_ids(void **state)
{
	enum { N = 20000 };
	struct registry	*rg = registry_new(item_key);
	struct item	*items = calloc(N, sizeof *items);
	int		 i;

	for (i = 0; i < N; i++) {
		items[i].id = registry_next_id(rg, ID_MODE_RANDOM);
		assert_int_not_equal(items[i].id, 0);
		assert_null(registry_find(rg, items[i].id));
		assert_int_equal(registry_add(rg, &items[i]), 0);
	}
	assert_int_equal(registry_count(rg), N);
	free(items);
	registry_free(rg);
}

/*
 * A cluster node's ids: every one decodes to the node, none repeats, and
 * none is another node's (random mode); sequential mode counts the local
 * ids of the node's top byte and wraps past 2^24-1 to 1.
 */
static void
test_local_ids(void **state)
{
	enum { N = 20000 };
	static const char	 secret[] = "0123456789abcdef-registry";
	struct registry		*rg = registry_new(item_key);
	struct registry		*other = registry_new(item_key);
	struct item		*items = calloc(2 * N, sizeof *items);
	struct idmap		 im;
	uint32_t		 local;
	int			 i;

	assert_int_equal(idmap_init(&im, ID_MODE_RANDOM, secret,
	    sizeof secret - 1), 0);
	for (i = 0; i < N; i++) {
		items[i].id = registry_next_local_id(rg, &im, 7);
		assert_int_not_equal(items[i].id, 0);
		assert_int_equal(idmap_decode(&im, items[i].id, &local), 7);
		assert_int_not_equal(local, 0);
		assert_int_equal(registry_add(rg, &items[i]), 0);
		items[N + i].id = registry_next_local_id(other, &im, 8);
		assert_int_equal(idmap_decode(&im, items[N + i].id, NULL), 8);
		assert_null(registry_find(rg, items[N + i].id));
		assert_int_equal(registry_add(other, &items[N + i]), 0);
	}
	for (i = 0; i < N; i++)
		assert_null(registry_find(other, items[i].id));
	assert_int_equal(registry_count(rg), N);
	registry_free(rg);
	registry_free(other);

	rg = registry_new(item_key);
	assert_int_equal(idmap_init(&im, ID_MODE_SEQUENTIAL, NULL, 0), 0);
	assert_int_equal(registry_next_local_id(rg, &im, 3), 0x03000001u);
	items[0].id = 0x03000002u;
	registry_add(rg, &items[0]);
	assert_int_equal(registry_next_local_id(rg, &im, 3), 0x03000003u);
	registry_seed_sequential(rg, 0xfffffe);
	assert_int_equal(registry_next_local_id(rg, &im, 3), 0x03ffffffu);
	/* Local 0 is skipped. */
	assert_int_equal(registry_next_local_id(rg, &im, 3), 0x03000001u);
	registry_free(rg);
	free(items);
}

/* A paged walk visits every entry exactly once. */
static void
test_walk(void **state)
{
	enum { N = 1000 };
	struct registry	*rg = registry_new(item_key);
	struct item	*items = calloc(N, sizeof *items);
	unsigned char	*seen = calloc(N + 1, 1);
	void		*page[37];
	size_t		 cursor = 0, n, k, total = 0;
	int		 i;

	for (i = 0; i < N; i++) {
		items[i].id = (uint32_t)i + 1;
		registry_add(rg, &items[i]);
	}
	do {
		n = registry_walk(rg, &cursor, page, 37);
		for (k = 0; k < n; k++) {
			uint32_t id = ((struct item *)page[k])->id;
			assert_int_equal(seen[id], 0);
			seen[id] = 1;
		}
		total += n;
	} while (cursor != 0);
	assert_int_equal(total, N);
	free(seen);
	free(items);
	registry_free(rg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_remove),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_sequential_ids),
		cmocka_unit_test(test_sequential_wrap),
		cmocka_unit_test(test_random_ids),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_local_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
