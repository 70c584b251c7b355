/*
 * Unit tests for the set of departed ids: insert and look-up, id 0, the
 * order of pushing out (oldest first, exactly at the size), an id that
 * leaves twice (its newer place counts), the bound (a million departures
 * leave memory as it was), and growth that keeps what was remembered in
 * its order.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "msgrouter/departed.h"

/* Ids far apart and none 0, as the router's random ids are. */
static uint32_t
id_of(uint32_t n)
{
	return n * 2654435761u + 1;
}

static void
test_insert_lookup(void **state)
{
	struct departed	*dp;
	uint32_t	 n;

	assert_non_null(dp = departed_new(0));
	assert_int_equal(departed_size(dp), DEPARTED_SIZE_MIN);
	assert_int_equal(departed_count(dp), 0);
	assert_false(departed_has(dp, 0));
	assert_false(departed_has(dp, 42));
	departed_add(dp, 42);
	assert_true(departed_has(dp, 42));
	assert_false(departed_has(dp, 43));
	/* Id 0 is no id: neither remembered nor found. */
	departed_add(dp, 0);
	assert_false(departed_has(dp, 0));
	assert_int_equal(departed_count(dp), 1);
	/* Sequential ids, as id_mode sequential gives them. */
	for (n = 1000; n < 3000; n++)
		departed_add(dp, n);
	for (n = 1000; n < 3000; n++)
		assert_true(departed_has(dp, n));
	assert_false(departed_has(dp, 999));
	assert_false(departed_has(dp, 3000));
	assert_true(departed_has(dp, 42));
	assert_int_equal(departed_count(dp), 2001);
	departed_free(dp);
}

/*
 * The oldest departure goes first, exactly when size newer ones came;
 * every look-up of the ones still remembered succeeds after the
 * backward-shift deletions.
 */
static void
test_eviction_order(void **state)
{
	struct departed	*dp;
	size_t		 size;
	uint32_t	 n;

	assert_non_null(dp = departed_new(DEPARTED_SIZE_MIN));
	size = departed_size(dp);
	for (n = 0; n < size; n++)
		departed_add(dp, id_of(n));
	assert_int_equal(departed_count(dp), size);
	for (n = 0; n < size; n++)
		assert_true(departed_has(dp, id_of(n)));
	/* One more: the first is forgotten, the second is not. */
	departed_add(dp, id_of((uint32_t)size));
	assert_false(departed_has(dp, id_of(0)));
	assert_true(departed_has(dp, id_of(1)));
	assert_int_equal(departed_count(dp), size);
	/* Half the size more: the oldest half goes, in order. */
	for (n = (uint32_t)size + 1; n < size + size / 2; n++)
		departed_add(dp, id_of(n));
	for (n = 0; n < size / 2; n++)
		assert_false(departed_has(dp, id_of(n)));
	for (n = (uint32_t)size / 2; n < size + size / 2; n++)
		assert_true(departed_has(dp, id_of(n)));
	departed_free(dp);
}

/*
 * An id that leaves again while remembered is remembered from its newer
 * departure: pushing out its older place forgets nothing.
 */
static void
test_repeat(void **state)
{
	struct departed	*dp;
	size_t		 size;
	uint32_t	 n;

	assert_non_null(dp = departed_new(DEPARTED_SIZE_MIN));
	size = departed_size(dp);
	departed_add(dp, 7);
	for (n = 0; n < 10; n++)
		departed_add(dp, id_of(n));
	departed_add(dp, 7);
	/* Fill it: the next departure pushes out the first 7's place only. */
	for (n = 10; n < 10 + size - 12; n++)
		departed_add(dp, id_of(n));
	assert_int_equal(departed_count(dp), size);
	departed_add(dp, id_of(100000));
	assert_true(departed_has(dp, 7));
	assert_true(departed_has(dp, id_of(0)));
	/* Ten more push out the ten after it, then the second 7 goes. */
	for (n = 0; n < 10; n++)
		departed_add(dp, id_of(200000 + n));
	assert_false(departed_has(dp, id_of(9)));
	assert_true(departed_has(dp, 7));
	departed_add(dp, id_of(300000));
	assert_false(departed_has(dp, 7));
	/* The oldest pushed out is itself again: still one entry for it. */
	departed_free(dp);
	assert_non_null(dp = departed_new(DEPARTED_SIZE_MIN));
	for (n = 0; n < size; n++)
		departed_add(dp, 9);
	assert_true(departed_has(dp, 9));
	departed_add(dp, 9);
	assert_true(departed_has(dp, 9));
	for (n = 0; n < size; n++)
		departed_add(dp, id_of(n));
	assert_false(departed_has(dp, 9));
	departed_free(dp);
}

/*
 * The bound: a million departures leave the memory and the count where a
 * full set has them, and only the last size are remembered.
 */
static void
test_bound(void **state)
{
	struct departed	*dp;
	size_t		 size, mem, found = 0;
	uint32_t	 n;

	assert_non_null(dp = departed_new(10000));
	size = departed_size(dp);
	assert_int_equal(size, 10000);
	mem = departed_memory(dp);
	/* 4 bytes of ring, under 16 of index (at most half full) each. */
	assert_true(mem < 64 + size * 20);
	for (n = 0; n < 1000000; n++)
		departed_add(dp, id_of(n));
	assert_int_equal(departed_memory(dp), mem);
	assert_int_equal(departed_count(dp), size);
	for (n = 0; n < 1000000; n++)
		found += departed_has(dp, id_of(n)) != 0;
	assert_int_equal(found, size);
	for (n = 1000000 - (uint32_t)size; n < 1000000; n++)
		assert_true(departed_has(dp, id_of(n)));
	departed_free(dp);
}

/* Growing keeps what is remembered and its order of pushing out. */
static void
test_grow(void **state)
{
	struct departed	*dp;
	size_t		 size;
	uint32_t	 n;

	assert_non_null(dp = departed_new(DEPARTED_SIZE_MIN));
	size = departed_size(dp);
	/* Full and wrapped: the oldest is in the middle of the ring. */
	for (n = 0; n < size + 100; n++)
		departed_add(dp, id_of(n));
	assert_int_equal(departed_grow(dp, size / 2), 0);
	assert_int_equal(departed_size(dp), size);
	assert_int_equal(departed_grow(dp, 2 * size), 0);
	assert_int_equal(departed_size(dp), 2 * size);
	assert_int_equal(departed_count(dp), size);
	assert_false(departed_has(dp, id_of(99)));
	for (n = 100; n < size + 100; n++)
		assert_true(departed_has(dp, id_of(n)));
	/* Room for size more before the oldest kept (id_of(100)) goes. */
	for (n = 0; n < size; n++)
		departed_add(dp, id_of(500000 + n));
	assert_true(departed_has(dp, id_of(100)));
	departed_add(dp, id_of(600000));
	assert_false(departed_has(dp, id_of(100)));
	assert_true(departed_has(dp, id_of(101)));
	departed_free(dp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_lookup),
		cmocka_unit_test(test_eviction_order),
		cmocka_unit_test(test_repeat),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_grow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
