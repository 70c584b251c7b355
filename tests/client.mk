# Tests of libmsgrouter-client and the client tools.
check_PROGRAMS += tests/test_client
TESTS += tests/test_client
tests_test_client_SOURCES = tests/test_client.c
tests_test_client_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_test_client_LDADD = lib/libmsgrouter-client.la $(CMOCKA_LIBS) -lpthread
