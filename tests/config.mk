# Configuration and operations tests: the config parser (cmocka) and the
# daemon as operators run it (check-config, reload, drain), on the harness.
CONFIG_TESTS = tests/test_config tests/test_reload tests/test_ops
check_PROGRAMS += $(CONFIG_TESTS)
TESTS += $(CONFIG_TESTS)

tests_test_config_SOURCES = tests/test_config.c
tests_test_config_CFLAGS = $(TEST_CFLAGS)
tests_test_config_LDADD = $(TEST_LIBS)
tests_test_reload_SOURCES = tests/test_reload.c
tests_test_reload_CFLAGS = $(TEST_CFLAGS)
tests_test_reload_LDADD = $(TEST_LIBS)
tests_test_ops_SOURCES = tests/test_ops.c tests/http_client.c \
	tests/http_client.h
tests_test_ops_CFLAGS = $(TEST_CFLAGS)
tests_test_ops_LDADD = tests/libharness.la $(TEST_LIBS)

# The daemon logs the harness keeps for failing tests, and test_ops' files.
CLEANFILES += tests/daemon-*.log tests/test_ops-*
