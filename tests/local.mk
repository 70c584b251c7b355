# Unit tests (cmocka, one binary per module) and integration tests that run
# the real daemon on free loopback ports.
#
# Every test program builds from tests/NAME.c (automake's default source)
# with the same flags and libraries.  Automake has no per-directory flags:
# the test libraries' include paths join AM_CPPFLAGS (pkg-config -I flags;
# the daemon and the tools add their own per-target flags), and LDADD is
# the default of every program without its own, which the daemon, the
# tools and tests/test_client each have.
AM_CPPFLAGS += $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
LDADD = tests/libharness.la src/libmsgrouter.la $(CMOCKA_LIBS) \
	$(LIBEVENT_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS)

TEST_MSGROUTERD = $(abs_top_builddir)/src/msgrouterd
AM_TESTS_ENVIRONMENT = \
	MSGROUTERD='$(TEST_MSGROUTERD)'; export MSGROUTERD; \
	TESTS_TMPDIR='$(abs_top_builddir)/tests'; export TESTS_TMPDIR; \
	TLS_CERTS_SH='$(abs_top_srcdir)/tests/tls-certs.sh'; export TLS_CERTS_SH;

UNIT_TESTS = tests/test_framing tests/test_registry tests/test_policy tests/test_parse \
	tests/test_conn tests/test_move tests/test_bufmem tests/test_listener \
	tests/test_idmap tests/test_clusterproto \
	tests/test_addrtab tests/test_departed
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

# The integration harness: the real daemon on free loopback ports, and a
# small HTTP client for its admin port; and inproc, a router in the test's
# own process with clients on socketpairs, for the unit tests.
check_LTLIBRARIES = tests/libharness.la
tests_libharness_la_SOURCES = tests/harness.c tests/harness.h \
	tests/http_client.c tests/http_client.h tests/inproc.c tests/inproc.h \
	tests/soakmsg.c tests/soakmsg.h

INTEGRATION_TESTS = tests/test_routing tests/test_unix tests/test_scan
check_PROGRAMS += $(INTEGRATION_TESTS)
TESTS += $(INTEGRATION_TESTS)
# The daemon logs the harness keeps when a test fails, and the tests' files.
CLEANFILES += tests/daemon-*.log tests/tmp-*

# Robustness: the chaos soak (SOAK_SECONDS, default 120; Unix-socket, TLS
# and TCP clients, certificates made by tests/tls-certs.sh) and the storms
# (10,000 clients, descriptors running out, the admin port abused).  The
# cluster's chaos soak, tests/test_soak_cluster, is in tests/nats.mk (built
# with libnats only; SOAK_CLUSTER=1 for its long run).
ROBUST_TESTS = tests/test_soak tests/test_storm
check_PROGRAMS += $(ROBUST_TESTS)
TESTS += $(ROBUST_TESTS)

# make check-valgrind: the integration tests with the daemon under valgrind
# memcheck; any invalid access or leak makes the daemon exit 99, which fails
# the test that stops it.  ASan and valgrind do not mix, so the daemon run
# is a plain build of the same sources, tests/msgrouterd-plain, whatever
# configure was told; the tests themselves may be sanitized.  Deadlines
# scale by HARNESS_TIMEOUT_SCALE.
EXTRA_PROGRAMS = tests/msgrouterd-plain
tests_msgrouterd_plain_SOURCES = src/msgrouterd.c $(src_libmsgrouter_la_SOURCES)
nodist_tests_msgrouterd_plain_SOURCES = $(DASHBOARD_GENERATED)
tests_msgrouterd_plain_CFLAGS = $(WARN_CFLAGS) $(LIBEVENT_CFLAGS) \
	$(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) $(INIH_CFLAGS)
tests_msgrouterd_plain_LDFLAGS =
tests_msgrouterd_plain_LDADD = $(LIBEVENT_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) $(INIH_LIBS)
if HAVE_NATS
tests_msgrouterd_plain_CFLAGS += $(NATS_CFLAGS)
tests_msgrouterd_plain_LDADD += $(NATS_LIBS)
endif
CLEANFILES += tests/msgrouterd-plain

VALGRIND = valgrind
VALGRIND_FLAGS = -q --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible
# test_tools is left out: msgrouter-bench runs for fixed durations (0.2 s),
# too short for a daemon under valgrind to fill a stalled client's queue.
VALGRIND_TESTS = tests/test_routing tests/test_admin_daemon tests/test_storm \
	tests/test_ops tests/test_unix tests/test_tls tests/test_scan
check-valgrind: tests/msgrouterd-plain
	@command -v $(VALGRIND) >/dev/null 2>&1 || { echo "make $@:" \
	    "valgrind not found (apt-get install valgrind)" >&2; exit 1; }
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(VALGRIND_TESTS)' \
	    TEST_SUITE_LOG=tests/valgrind-suite.log \
	    TEST_MSGROUTERD='$(abs_top_builddir)/tests/msgrouterd-plain' \
	    TESTS_ENVIRONMENT='MSGROUTERD_WRAPPER="$(VALGRIND) $(VALGRIND_FLAGS)"; export MSGROUTERD_WRAPPER; HARNESS_TIMEOUT_SCALE=4; export HARNESS_TIMEOUT_SCALE;'
.PHONY: check-valgrind

# TLS: the TLS port, client certificates, rotation, bad input and the
# handshake deadline, and the admin interface over HTTPS, against the real
# daemon with certificates made at test time by tests/tls-certs.sh (the
# openssl command).
TLS_TESTS = tests/test_tls
check_PROGRAMS += $(TLS_TESTS)
TESTS += $(TLS_TESTS)
EXTRA_DIST += tests/tls-certs.sh
