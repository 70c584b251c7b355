#!/bin/sh
# make check: the Python client's tests, with pytest, against the daemon
# and msgrouter-cat built here (MSGROUTERD, MSGROUTER_CAT from the
# Makefile).  Nothing is written into the source tree, which distcheck
# makes read-only: no bytecode, no pytest cache, temporary files under
# $TMPDIR (kept, and named, when a test fails).  Exit 77 (SKIP) when
# configure found no Python that imports pytest and mypy.
set -u
if [ "${PYTHON_TESTS:-no}" != yes ]; then
	echo "SKIP: the Python client's tests: ${PYTHON_TESTS_WHY:-run through make check}"
	exit 77
fi
dir=${PYTHON_CLIENT_DIR:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/msgrouter-python.XXXXXX") || exit 99
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$dir" "$PYTHON3" -m pytest -q -rs \
    -p no:cacheprovider --basetemp="$tmp" "$dir/tests"
rc=$?
if [ "$rc" -eq 0 ]; then
	rm -rf "$tmp"
else
	echo "pytest exited $rc; its temporary files are in $tmp"
fi
exit "$rc"
