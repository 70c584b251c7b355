# The admin interface's tests: the ring of closed clients and the
# formatters as units, the admin module in one process (router, evhttp and
# an evhttp client on one loop), and the real daemon over HTTP.
ADMIN_TEST_CFLAGS = $(TEST_CFLAGS) $(JANSSON_CFLAGS)
ADMIN_TEST_LIBS = $(TEST_LIBS) $(JANSSON_LIBS)

ADMIN_TESTS = tests/test_closed tests/test_report tests/test_admin \
	tests/test_admin_daemon
check_PROGRAMS += $(ADMIN_TESTS)
TESTS += $(ADMIN_TESTS)

tests_test_closed_SOURCES = tests/test_closed.c
tests_test_closed_CFLAGS = $(ADMIN_TEST_CFLAGS)
tests_test_closed_LDADD = $(ADMIN_TEST_LIBS)
tests_test_report_SOURCES = tests/test_report.c
tests_test_report_CFLAGS = $(ADMIN_TEST_CFLAGS)
tests_test_report_LDADD = $(ADMIN_TEST_LIBS)
tests_test_admin_SOURCES = tests/test_admin.c
tests_test_admin_CFLAGS = $(ADMIN_TEST_CFLAGS)
tests_test_admin_LDADD = $(ADMIN_TEST_LIBS)
tests_test_admin_daemon_SOURCES = tests/test_admin_daemon.c \
	tests/http_client.c tests/http_client.h
tests_test_admin_daemon_CFLAGS = $(ADMIN_TEST_CFLAGS)
tests_test_admin_daemon_LDADD = tests/libharness.la $(ADMIN_TEST_LIBS)
