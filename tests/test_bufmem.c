/*
 * Unit tests for bufmem: libevent's chains start their data on a cache
 * line, and malloc, realloc and free keep their meaning for every size.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "msgrouter/bufmem.h"

#define ALIGNED(p)	(((uintptr_t)(p) & (BUFMEM_ALIGN - 1)) == 0)

/*
 * What the daemon relies on: the space libevent hands out for reads and
 * for queued output begins on a cache line, for a read chain (64 KiB), a
 * queue chain of one 4 KiB message and the smallest placed chain.  This
 * also checks BUFMEM_HEADER against the libevent we link.
 */
static void
test_chain_data_aligned(void **state)
{
	static const size_t	 sizes[] = { BUFMEM_MIN - BUFMEM_HEADER, 4097,
	    65408 };
	struct evbuffer		*b;
	struct evbuffer_iovec	 v[2];
	size_t			 i;

	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		assert_non_null(b = evbuffer_new());
		assert_int_equal(evbuffer_reserve_space(b,
		    (ev_ssize_t)sizes[i], v, 1), 1);
		assert_true(ALIGNED(v[0].iov_base));
		evbuffer_free(b);

		/* Data added to an empty buffer starts a chain. */
		assert_non_null(b = evbuffer_new());
		assert_int_equal(evbuffer_expand(b, sizes[i]), 0);
		assert_int_equal(evbuffer_add(b, "x", 1), 0);
		assert_true(ALIGNED(evbuffer_pullup(b, 1)));
		evbuffer_free(b);
	}
	assert_int_equal(bufmem_live(), 0);
}

/* libevent's smallest chain (a new client's id) is left to malloc. */
static void
test_small_chain_plain(void **state)
{
	struct evbuffer	*b;

	assert_non_null(b = evbuffer_new());
	assert_int_equal(evbuffer_add(b, "1234", 4), 0);
	assert_int_equal(bufmem_live(), 0);
	evbuffer_free(b);
}

/* Small requests are plain malloc; large ones are placed and counted. */
static void
test_placement(void **state)
{
	char	*small, *large;

	assert_non_null(small = bufmem_malloc(BUFMEM_MIN - 1));
	assert_int_equal(bufmem_live(), 0);
	assert_non_null(large = bufmem_malloc(BUFMEM_MIN));
	assert_int_equal(bufmem_live(), 1);
	assert_true(ALIGNED(large + BUFMEM_HEADER));
	memset(small, 1, BUFMEM_MIN - 1);
	memset(large, 2, BUFMEM_MIN);
	bufmem_free(small);
	bufmem_free(large);
	bufmem_free(NULL);
	assert_int_equal(bufmem_live(), 0);
}

/* realloc keeps the contents across every pair of small and large. */
static void
test_realloc_sizes(void **state)
{
	static const size_t	 steps[] = { 10, 2000, 70000, 3000, 500, 1024,
	    100, 0 };
	unsigned char		*p = NULL;
	size_t			 i, j, have = 0, keep;

	for (i = 0; steps[i] != 0; i++) {
		assert_non_null(p = bufmem_realloc(p, steps[i]));
		keep = have < steps[i] ? have : steps[i];
		for (j = 0; j < keep; j++)
			assert_int_equal(p[j], (unsigned char)(j * 7));
		for (j = 0; j < steps[i]; j++)
			p[j] = (unsigned char)(j * 7);
		have = steps[i];
		assert_int_equal(bufmem_live(), steps[i] >= BUFMEM_MIN);
		if (steps[i] >= BUFMEM_MIN)
			assert_true(ALIGNED(p + BUFMEM_HEADER));
	}
	bufmem_free(p);
	assert_int_equal(bufmem_live(), 0);
}

/*
 * Many at once, freed in an order unlike the allocation's: the set grows,
 * deletes move entries back correctly (every one is still found, or free
 * would hand glibc an inner pointer and ASan would abort), and it shrinks.
 */
static void
test_many(void **state)
{
	enum { N = 5000 };
	static char	*p[N];
	size_t		 i;

	for (i = 0; i < N; i++) {
		assert_non_null(p[i] = bufmem_malloc(BUFMEM_MIN + i % 3000));
		p[i][0] = (char)i;
	}
	assert_int_equal(bufmem_live(), N);
	for (i = 0; i < N; i += 2)
		bufmem_free(p[i]);
	for (i = N - 1; i < N; i -= 2) {
		assert_int_equal(p[i][0], (char)i);
		bufmem_free(p[i]);
	}
	assert_int_equal(bufmem_live(), 0);
	bufmem_shutdown();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_data_aligned),
		cmocka_unit_test(test_small_chain_plain),
		cmocka_unit_test(test_placement),
		cmocka_unit_test(test_realloc_sizes),
		cmocka_unit_test(test_many),
	};

	/* Before libevent allocates anything, as in msgrouterd. */
	bufmem_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
