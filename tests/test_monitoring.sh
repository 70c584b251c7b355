#!/bin/sh
# make check: the monitoring kit (docs/MONITORING.md) with the real tools.
# promtool checks the rules and runs their unit tests; then
# tests/monitoring_scrape.py runs the daemon built here with traffic,
# requires promtool check metrics to find nothing in its /metrics, and
# checks that every metric the rules and the Grafana dashboard name is
# exported (or is a recording rule).  Nothing is written into the source
# tree (distcheck makes it read-only).  Exit 77 (SKIP) without promtool
# (Debian: apt-get install prometheus) or python3.
set -u
PROMTOOL=${PROMTOOL:-promtool}
PYTHON3=${PYTHON3:-python3}
src=${srcdir:-.}
if ! command -v "$PROMTOOL" >/dev/null 2>&1; then
	echo "SKIP: promtool not found (apt-get install prometheus, or PROMTOOL=...)"
	exit 77
fi
if ! command -v "$PYTHON3" >/dev/null 2>&1; then
	echo "SKIP: $PYTHON3 not found"
	exit 77
fi
rules=$src/etc/prometheus/msgrouter-rules.yml
rules_test=$src/etc/prometheus/msgrouter-rules_test.yml
"$PROMTOOL" --version | head -n 1

echo "== promtool check rules $rules"
"$PROMTOOL" check rules "$rules" || exit 1
echo "== promtool test rules $rules_test"
"$PROMTOOL" test rules "$rules_test" || exit 1
echo "== the daemon's /metrics, the rules' and the dashboard's metric names"
PYTHONDONTWRITEBYTECODE=1 exec "$PYTHON3" "$src/tests/monitoring_scrape.py" \
    --msgrouterd "${MSGROUTERD:?}" --bench "${MSGROUTER_BENCH:?}" \
    --promtool "$PROMTOOL" --rules "$rules" --rules-test "$rules_test" \
    --dashboard "$src/etc/grafana/msgrouter.json"
