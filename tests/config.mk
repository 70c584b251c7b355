# Configuration and operations tests: the config parser (cmocka), a reload
# on live connections (in one process), and the daemon as operators run it
# (check-config, reload, drain), on the harness.
CONFIG_TESTS = tests/test_config tests/test_reload tests/test_ops
check_PROGRAMS += $(CONFIG_TESTS)
TESTS += $(CONFIG_TESTS)
