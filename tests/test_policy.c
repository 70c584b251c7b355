/*
 * Unit tests for the slow-consumer decision.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "msgrouter/policy.h"

/* Under the limit every policy forwards; at the limit exactly too. */
static void
test_room(void **state)
{
	assert_int_equal(policy_decide(0, 10, 100, SLOW_CONSUMER_DROP),
	    POLICY_FORWARD);
	assert_int_equal(policy_decide(90, 10, 100, SLOW_CONSUMER_DROP),
	    POLICY_FORWARD);
	assert_int_equal(policy_decide(90, 10, 100,
	    SLOW_CONSUMER_DISCONNECT), POLICY_FORWARD);
	assert_int_equal(policy_decide(90, 10, 100,
	    SLOW_CONSUMER_BACKPRESSURE), POLICY_FORWARD);
}

/* One byte past the limit: each policy does its own thing. */
static void
test_full(void **state)
{
	assert_int_equal(policy_decide(91, 10, 100,
	    SLOW_CONSUMER_BACKPRESSURE), POLICY_PAUSE);
	assert_int_equal(policy_decide(91, 10, 100, SLOW_CONSUMER_DROP),
	    POLICY_DROP);
	assert_int_equal(policy_decide(91, 10, 100,
	    SLOW_CONSUMER_DISCONNECT), POLICY_DISCONNECT);
}

/* A message larger than the limit still goes to an empty queue. */
static void
test_huge_message_empty_queue(void **state)
{
	assert_int_equal(policy_decide(0, 1000, 100,
	    SLOW_CONSUMER_BACKPRESSURE), POLICY_FORWARD);
	assert_int_equal(policy_decide(1, 1000, 100,
	    SLOW_CONSUMER_BACKPRESSURE), POLICY_PAUSE);
}

static void
test_resume_mark(void **state)
{
	assert_int_equal(policy_resume_mark(8 << 20), 4 << 20);
	assert_int_equal(policy_resume_mark(1025), 512);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_room),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_huge_message_empty_queue),
		cmocka_unit_test(test_resume_mark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
