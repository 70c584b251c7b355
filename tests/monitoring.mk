# The monitoring kit (etc/prometheus, etc/grafana; docs/MONITORING.md)
# checked with promtool: the rules, their unit tests, promtool check
# metrics over a live scrape of the daemon with traffic, and the metric
# names the rules and the dashboard use.  SKIP without promtool.
EXTRA_DIST += tests/test_monitoring.sh tests/monitoring_scrape.py
TESTS += tests/test_monitoring.sh
AM_TESTS_ENVIRONMENT += \
	MSGROUTER_BENCH='$(abs_top_builddir)/tools/msgrouter-bench'; \
	export MSGROUTER_BENCH;
