# The Python client, clients/python (see its README.md).  The package and
# its tests ship in the tarball; make check runs the tests with pytest
# against the daemon and msgrouter-cat built here, and mypy --strict over
# the package, with the Python that configure found (--with-python-tests).
# Without one they SKIP, saying why; configure said so too.
PYTHON_CLIENT_PACKAGE = \
	clients/python/msgrouter/__init__.py \
	clients/python/msgrouter/__main__.py \
	clients/python/msgrouter/_address.py \
	clients/python/msgrouter/_base.py \
	clients/python/msgrouter/_frame.py \
	clients/python/msgrouter/_timeout.py \
	clients/python/msgrouter/aio.py \
	clients/python/msgrouter/bench.py \
	clients/python/msgrouter/client.py \
	clients/python/msgrouter/errors.py \
	clients/python/msgrouter/py.typed
PYTHON_CLIENT_TESTS = \
	clients/python/tests/conftest.py \
	clients/python/tests/support.py \
	clients/python/tests/test_aio.py \
	clients/python/tests/test_cli.py \
	clients/python/tests/test_client.py \
	clients/python/tests/test_frame.py \
	clients/python/tests/test_package.py \
	clients/python/tests/test_unix_tls.py
PYTHON_CLIENT_CHECKS = \
	clients/python/tests/run-pytest.sh \
	clients/python/tests/run-mypy.sh
EXTRA_DIST += clients/python/README.md clients/python/pyproject.toml \
	$(PYTHON_CLIENT_PACKAGE) $(PYTHON_CLIENT_TESTS) $(PYTHON_CLIENT_CHECKS)
TESTS += $(PYTHON_CLIENT_CHECKS)

AM_TESTS_ENVIRONMENT += \
	PYTHON3='$(PYTHON3)'; export PYTHON3; \
	PYTHON_TESTS='$(PYTHON_TESTS)'; export PYTHON_TESTS; \
	PYTHON_TESTS_WHY='$(PYTHON_TESTS_WHY)'; export PYTHON_TESTS_WHY; \
	PYTHON_CLIENT_DIR='$(abs_top_srcdir)/clients/python'; \
	export PYTHON_CLIENT_DIR;
