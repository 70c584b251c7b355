# Tests of libmsgrouter-client and the client tools.
check_PROGRAMS += tests/test_client
TESTS += tests/test_client
tests_test_client_LDADD = lib/libmsgrouter-client.la $(CMOCKA_LIBS) -lpthread

# Integration: the library, msgrouter-cat and msgrouter-bench against the
# real daemon, started by the harness.
check_PROGRAMS += tests/test_tools
TESTS += tests/test_tools
tests_test_tools_LDADD = lib/libmsgrouter-client.la $(LDADD)

AM_TESTS_ENVIRONMENT += \
	MSGROUTER_CAT='$(abs_top_builddir)/tools/msgrouter-cat'; \
	export MSGROUTER_CAT; \
	MSGROUTER_BENCH='$(abs_top_builddir)/tools/msgrouter-bench'; \
	export MSGROUTER_BENCH;

# The library and msgrouter-cat over TLS against a fake router in the test
# (OpenSSL in a thread), with certificates made by tests/tls-certs.sh.
check_PROGRAMS += tests/test_tls_client
TESTS += tests/test_tls_client
tests_test_tls_client_CFLAGS = $(AM_CFLAGS) $(LIBSSL_CFLAGS)
tests_test_tls_client_LDADD = lib/libmsgrouter-client.la $(CMOCKA_LIBS) \
	$(LIBSSL_LIBS) -lpthread
