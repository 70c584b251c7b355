# Unit tests (cmocka, one binary per module) and integration tests that run
# the real daemon on free loopback ports.
TEST_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(CMOCKA_CFLAGS)
TEST_LIBS = src/libmsgrouter.la $(CMOCKA_LIBS) $(LIBEVENT_LIBS)

TEST_MSGROUTERD = $(abs_top_builddir)/src/msgrouterd
AM_TESTS_ENVIRONMENT = \
	MSGROUTERD='$(TEST_MSGROUTERD)'; export MSGROUTERD; \
	TESTS_TMPDIR='$(abs_top_builddir)/tests'; export TESTS_TMPDIR;

UNIT_TESTS = tests/test_framing tests/test_registry tests/test_policy tests/test_parse \
	tests/test_conn tests/test_move tests/test_bufmem tests/test_listener
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
tests_test_conn_SOURCES = tests/test_conn.c
tests_test_conn_CFLAGS = $(TEST_CFLAGS)
tests_test_conn_LDADD = $(TEST_LIBS)
tests_test_bufmem_SOURCES = tests/test_bufmem.c
tests_test_bufmem_CFLAGS = $(TEST_CFLAGS)
tests_test_bufmem_LDADD = $(TEST_LIBS)
tests_test_move_SOURCES = tests/test_move.c
tests_test_move_CFLAGS = $(TEST_CFLAGS)
tests_test_move_LDADD = $(TEST_LIBS)
tests_test_parse_SOURCES = tests/test_parse.c
tests_test_parse_CFLAGS = $(TEST_CFLAGS)
tests_test_parse_LDADD = $(TEST_LIBS)
tests_test_listener_SOURCES = tests/test_listener.c
tests_test_listener_CFLAGS = $(TEST_CFLAGS)
tests_test_listener_LDADD = $(TEST_LIBS)

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

# Robustness: the chaos soak (SOAK_SECONDS, default 120) and the storms
# (10,000 clients, descriptors running out, the admin port abused).
ROBUST_TESTS = tests/test_soak tests/test_storm
check_PROGRAMS += $(ROBUST_TESTS)
TESTS += $(ROBUST_TESTS)
tests_test_soak_SOURCES = tests/test_soak.c tests/http_client.c \
	tests/http_client.h
tests_test_soak_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
tests_test_soak_LDADD = tests/libharness.la $(CMOCKA_LIBS) $(JANSSON_LIBS)
tests_test_storm_SOURCES = tests/test_storm.c tests/http_client.c \
	tests/http_client.h
tests_test_storm_CFLAGS = $(TEST_CFLAGS)
tests_test_storm_LDADD = tests/libharness.la $(CMOCKA_LIBS)

# make check-valgrind: the integration tests with the daemon under valgrind
# memcheck; any invalid access or leak makes the daemon exit 99, which fails
# the test that stops it.  ASan and valgrind do not mix, so the daemon run
# is a plain build of the same sources, tests/msgrouterd-plain, whatever
# configure was told; the tests themselves may be sanitized.  Deadlines
# scale by HARNESS_TIMEOUT_SCALE.
EXTRA_PROGRAMS = tests/msgrouterd-plain
tests_msgrouterd_plain_SOURCES = src/msgrouterd.c $(src_libmsgrouter_la_SOURCES)
tests_msgrouterd_plain_CFLAGS = $(WARN_CFLAGS) $(LIBEVENT_CFLAGS) \
	$(JANSSON_CFLAGS) $(INIH_CFLAGS)
tests_msgrouterd_plain_LDFLAGS =
tests_msgrouterd_plain_LDADD = $(LIBEVENT_LIBS) $(JANSSON_LIBS) $(INIH_LIBS)
CLEANFILES += tests/msgrouterd-plain

VALGRIND = valgrind
VALGRIND_FLAGS = -q --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible
# test_tools is left out: msgrouter-bench runs for fixed durations (0.2 s),
# too short for a daemon under valgrind to fill a stalled client's queue.
VALGRIND_TESTS = tests/test_routing tests/test_admin_daemon tests/test_storm \
	tests/test_ops
check-valgrind: tests/msgrouterd-plain
	@command -v $(VALGRIND) >/dev/null 2>&1 || { echo "make $@:" \
	    "valgrind not found (apt-get install valgrind)" >&2; exit 1; }
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(VALGRIND_TESTS)' \
	    TEST_SUITE_LOG=tests/valgrind-suite.log \
	    TEST_MSGROUTERD='$(abs_top_builddir)/tests/msgrouterd-plain' \
	    TESTS_ENVIRONMENT='MSGROUTERD_WRAPPER="$(VALGRIND) $(VALGRIND_FLAGS)"; export MSGROUTERD_WRAPPER; HARNESS_TIMEOUT_SCALE=4; export HARNESS_TIMEOUT_SCALE;'
.PHONY: check-valgrind
