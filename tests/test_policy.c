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

/* What each policy decides for a message of len bytes to a queue. */
static void
test_decide(void **state)
{
	static const struct {
		size_t			 queued, len, limit;
		enum slow_consumer	 sc;
		enum policy_action	 want;
	} cases[] = {
		/* Under the limit every policy forwards; at the limit too. */
		{ 0, 10, 100, SLOW_CONSUMER_DROP, POLICY_FORWARD },
		{ 90, 10, 100, SLOW_CONSUMER_DROP, POLICY_FORWARD },
		{ 90, 10, 100, SLOW_CONSUMER_DISCONNECT, POLICY_FORWARD },
		{ 90, 10, 100, SLOW_CONSUMER_BACKPRESSURE, POLICY_FORWARD },
		/* One byte past the limit: each policy does its own thing. */
		{ 91, 10, 100, SLOW_CONSUMER_BACKPRESSURE, POLICY_PAUSE },
		{ 91, 10, 100, SLOW_CONSUMER_DROP, POLICY_DROP },
		{ 91, 10, 100, SLOW_CONSUMER_DISCONNECT, POLICY_DISCONNECT },
		/* Larger than the limit: it still goes to an empty queue. */
		{ 0, 1000, 100, SLOW_CONSUMER_BACKPRESSURE, POLICY_FORWARD },
		{ 1, 1000, 100, SLOW_CONSUMER_BACKPRESSURE, POLICY_PAUSE },
	};
	enum policy_action	got;
	size_t			i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		got = policy_decide(cases[i].queued, cases[i].len,
		    cases[i].limit, cases[i].sc);
		if (got != cases[i].want)
			fail_msg("case %zu: queued %zu, len %zu, limit %zu, "
			    "policy %d: action %d, not %d", i,
			    cases[i].queued, cases[i].len, cases[i].limit,
			    (int)cases[i].sc, (int)got, (int)cases[i].want);
	}
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
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_resume_mark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
