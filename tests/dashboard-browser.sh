#!/bin/sh
# make check: the admin dashboard in headless Chromium against the real
# daemon (tests/dashboard_browser.py); with $NATS_SERVER (a build with
# libnats) also the cluster panel, two nodes over a nats-server it starts.
# The screenshots it takes stay in the build directory, tests/dashboard.png,
# tests/dashboard-phone.png and tests/dashboard-cluster.png.
# Exit 77 (SKIP) without chromium (apt-get install chromium; .ci/run
# installs it) or python3.
set -u
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
python=${PYTHON3:-python3}
if [ -z "$chromium" ]; then
	echo "SKIP: the dashboard's browser test: no chromium (apt-get install chromium)"
	exit 77
fi
if ! command -v "$python" >/dev/null 2>&1; then
	echo "SKIP: the dashboard's browser test: no python3"
	exit 77
fi
exec env PYTHONDONTWRITEBYTECODE=1 "$python" \
    "${srcdir:-.}/tests/dashboard_browser.py" "${MSGROUTERD:?}" \
    "$chromium" "${TESTS_TMPDIR:-.}"
