# Unit tests (cmocka, one binary per module) and integration tests that run
# the real daemon on free loopback ports.
TEST_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(CMOCKA_CFLAGS)
TEST_LIBS = src/libmsgrouter.la $(CMOCKA_LIBS) $(LIBEVENT_LIBS)

AM_TESTS_ENVIRONMENT = \
	MSGROUTERD='$(abs_top_builddir)/src/msgrouterd'; export MSGROUTERD; \
	TESTS_TMPDIR='$(abs_top_builddir)/tests'; export TESTS_TMPDIR;

UNIT_TESTS = tests/test_framing tests/test_registry tests/test_policy tests/test_parse \
	tests/test_move
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_test_framing_SOURCES = tests/test_framing.c
tests_test_framing_CFLAGS = $(TEST_CFLAGS)
tests_test_framing_LDADD = $(TEST_LIBS)
tests_test_registry_SOURCES = tests/test_registry.c
tests_test_registry_CFLAGS = $(TEST_CFLAGS)
tests_test_registry_LDADD = $(TEST_LIBS)
tests_test_policy_SOURCES = tests/test_policy.c
tests_test_policy_CFLAGS = $(TEST_CFLAGS)
tests_test_policy_LDADD = $(TEST_LIBS)
tests_test_move_SOURCES = tests/test_move.c
tests_test_move_CFLAGS = $(TEST_CFLAGS)
tests_test_move_LDADD = $(TEST_LIBS)
tests_test_parse_SOURCES = tests/test_parse.c
tests_test_parse_CFLAGS = $(TEST_CFLAGS)
tests_test_parse_LDADD = $(TEST_LIBS)

# The integration harness: the real daemon on free loopback ports.
check_LTLIBRARIES = tests/libharness.la
tests_libharness_la_SOURCES = tests/harness.c tests/harness.h
tests_libharness_la_CFLAGS = $(AM_CFLAGS)

INTEGRATION_TESTS = tests/test_routing
check_PROGRAMS += $(INTEGRATION_TESTS)
TESTS += $(INTEGRATION_TESTS)
tests_test_routing_SOURCES = tests/test_routing.c
tests_test_routing_CFLAGS = $(TEST_CFLAGS)
tests_test_routing_LDADD = tests/libharness.la $(CMOCKA_LIBS)
CLEANFILES += tests/daemon-*.log
