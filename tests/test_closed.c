/*
 * Unit tests for the ring of closed clients: numbering, wrap-around, what
 * is kept and what is forgotten.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "msgrouter/closed.h"

/* A record whose fields all derive from id, so any mix-up shows. */
static void
fill(struct conn_info *ci, uint32_t id)
{
	memset(ci, 0, sizeof *ci);
	ci->ci_id = id;
	ci->ci_msgs_in = id * 10;
	ci->ci_bytes_in = id * 100;
	ci->ci_dropped = id + 1;
}

/* Close clients 1..n, each with fill()'s record, for reason, at time id. */
static void
add_closes(struct closed *cl, uint32_t n, int reason)
{
	struct conn_info	ci;
	uint32_t		id;

	for (id = 1; id <= n; id++) {
		fill(&ci, id);
		closed_add(cl, &ci, reason, id);
	}
}

static void
test_empty(void **state)
{
	struct closed	*cl = closed_new(4);

	assert_non_null(cl);
	assert_int_equal(closed_newest(cl), 0);
	assert_int_equal(closed_oldest(cl), 0);
	assert_null(closed_get(cl, 0));
	assert_null(closed_get(cl, 1));
	closed_free(cl);
	assert_null(closed_new(0));
	closed_free(NULL);
}

/* Below capacity every record is kept with its sequence number. */
static void
test_fill(void **state)
{
	struct closed			*cl = closed_new(4);
	const struct closed_entry	*ce;
	struct conn_info		 ci;
	uint32_t			 id;

	for (id = 1; id <= 3; id++) {
		fill(&ci, id);
		closed_add(cl, &ci, CONN_REASON_EOF + (int)id, 1000 + id);
	}
	assert_int_equal(closed_newest(cl), 3);
	assert_int_equal(closed_oldest(cl), 1);
	for (id = 1; id <= 3; id++) {
		ce = closed_get(cl, id);
		assert_non_null(ce);
		assert_int_equal(ce->ce_seq, id);
		assert_int_equal(ce->ce_info.ci_id, id);
		assert_int_equal(ce->ce_info.ci_bytes_in, id * 100);
		assert_int_equal(ce->ce_info.ci_dropped, id + 1);
		assert_int_equal(ce->ce_reason, CONN_REASON_EOF + (int)id);
		assert_int_equal(ce->ce_closed, 1000 + id);
	}
	assert_null(closed_get(cl, 4));
	closed_free(cl);
}

/* Past capacity the oldest go first; the newest capacity records stay. */
static void
test_wrap(void **state)
{
	struct closed			*cl = closed_new(4);
	const struct closed_entry	*ce;
	uint64_t			 seq;

	add_closes(cl, 11, CONN_REASON_SLOW_CONSUMER);
	assert_int_equal(closed_newest(cl), 11);
	assert_int_equal(closed_oldest(cl), 8);
	for (seq = 1; seq <= 7; seq++)
		assert_null(closed_get(cl, seq));
	for (seq = 8; seq <= 11; seq++) {
		ce = closed_get(cl, seq);
		assert_non_null(ce);
		assert_int_equal(ce->ce_seq, seq);
		assert_int_equal(ce->ce_info.ci_id, (uint32_t)seq);
		assert_int_equal(ce->ce_info.ci_msgs_in, seq * 10);
	}
	assert_null(closed_get(cl, 12));
	closed_free(cl);
}

/* The daemon's ring holds exactly the last CLOSED_RING_SIZE closes. */
static void
test_daemon_size(void **state)
{
	struct closed	*cl = closed_new(CLOSED_RING_SIZE);

	add_closes(cl, CLOSED_RING_SIZE + 1, CONN_REASON_EOF);
	assert_int_equal(closed_newest(cl), CLOSED_RING_SIZE + 1);
	assert_int_equal(closed_oldest(cl), 2);
	assert_null(closed_get(cl, 1));
	assert_int_equal(closed_get(cl, 2)->ce_info.ci_id, 2);
	assert_int_equal(closed_get(cl, CLOSED_RING_SIZE + 1)->ce_info.ci_id,
	    CLOSED_RING_SIZE + 1);
	closed_free(cl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_daemon_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
