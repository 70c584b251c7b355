#!/bin/sh
# make check: mypy --strict over the Python client and its tests, for
# Python 3.9 (the oldest it supports), with the settings of its
# pyproject.toml and no cache written anywhere.  Exit 77 (SKIP) when
# configure found no Python that imports pytest and mypy.
set -u
if [ "${PYTHON_TESTS:-no}" != yes ]; then
	echo "SKIP: mypy over the Python client: ${PYTHON_TESTS_WHY:-run through make check}"
	exit 77
fi
dir=${PYTHON_CLIENT_DIR:?}
PYTHONDONTWRITEBYTECODE=1 MYPYPATH="$dir" exec "$PYTHON3" -m mypy --strict \
    --python-version 3.9 --config-file "$dir/pyproject.toml" \
    --cache-dir /dev/null "$dir/msgrouter" "$dir/tests"
