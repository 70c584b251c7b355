# The admin interface's tests: the ring of closed clients and the
# formatters as units, the admin module in one process (router, evhttp and
# an evhttp client on one loop), and the real daemon over HTTP.
ADMIN_TESTS = tests/test_closed tests/test_report tests/test_admin \
	tests/test_admin_daemon
check_PROGRAMS += $(ADMIN_TESTS)
TESTS += $(ADMIN_TESTS)

# The dashboard in headless Chromium against the real daemon with traffic,
# a slow consumer and a closed client (SKIP without chromium); with
# NATS_SERVER (nats.mk) also two cluster nodes over a nats-server.
DASHBOARD_TESTS = tests/dashboard-browser.sh
EXTRA_DIST += $(DASHBOARD_TESTS) tests/dashboard_browser.py
TESTS += $(DASHBOARD_TESTS)
CLEANFILES += tests/dashboard.png tests/dashboard-phone.png \
	tests/dashboard-cluster.png
