# Unit tests (cmocka, one binary per module) and integration tests that run
# the real daemon on free loopback ports.
TEST_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(CMOCKA_CFLAGS)
TEST_LIBS = src/libmsgrouter.la $(CMOCKA_LIBS) $(LIBEVENT_LIBS)

AM_TESTS_ENVIRONMENT = \
	MSGROUTERD='$(abs_top_builddir)/src/msgrouterd'; export MSGROUTERD; \
	TESTS_TMPDIR='$(abs_top_builddir)/tests'; export TESTS_TMPDIR;
