# The cluster's NATS link (issue 11; docs/CLUSTER.md): the prototype of
# our libevent adapter for libnats, and the cluster's tests, built only
# with libnats (configure --with-nats, auto by default).  The adapter and
# src/cluster.c are in libmsgrouter then (src/local.mk).
if HAVE_NATS
NATSEV_LIBS = src/libmsgrouter.la $(NATS_LIBS) $(LIBEVENT_LIBS)

# tests/natsev-proto URL: the round trip against a running nats-server.
check_PROGRAMS += tests/natsev-proto
tests_natsev_proto_SOURCES = tests/natsev_proto.c tests/natsev_roundtrip.c \
	tests/natsev_roundtrip.h
tests_natsev_proto_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(NATS_CFLAGS)
tests_natsev_proto_LDADD = $(NATSEV_LIBS)

# The same round trip against a nats-server the test starts.
check_PROGRAMS += tests/test_natsev
TESTS += tests/test_natsev
tests_test_natsev_SOURCES = tests/test_natsev.c tests/natsev_roundtrip.c \
	tests/natsev_roundtrip.h
tests_test_natsev_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(NATS_CFLAGS) \
	$(CMOCKA_CFLAGS)
tests_test_natsev_LDADD = tests/libharness.la $(NATSEV_LIBS) $(CMOCKA_LIBS) \
	$(JANSSON_LIBS)
# Three nodes over a 3-server nats-server cluster (docs/CLUSTER.md).
check_PROGRAMS += tests/test_cluster
TESTS += tests/test_cluster
tests_test_cluster_SOURCES = tests/test_cluster.c tests/natscluster.c \
	tests/natscluster.h
tests_test_cluster_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) \
	$(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
tests_test_cluster_LDADD = tests/libharness.la src/libmsgrouter.la \
	$(CMOCKA_LIBS) $(JANSSON_LIBS)

# A node's network setup (docs/CLUSTER.md): credentials in NATS URLs,
# tls:// with a CA and a client certificate, router.reuseport, and the
# template unit through systemd-analyze verify when it is there.
check_PROGRAMS += tests/test_cluster_net
TESTS += tests/test_cluster_net
tests_test_cluster_net_SOURCES = tests/test_cluster_net.c tests/natscluster.c \
	tests/natscluster.h
tests_test_cluster_net_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) \
	$(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
tests_test_cluster_net_LDADD = tests/libharness.la src/libmsgrouter.la \
	lib/libmsgrouter-client.la $(CMOCKA_LIBS) $(JANSSON_LIBS)
# (Its template unit is etc/msgrouterd@.service as make all builds it.)

# The cluster chaos soak (docs/ROBUSTNESS.md): clients on three nodes,
# nodes killed and NATS servers restarted or stalled meanwhile.  make
# check runs a short one (24 s of chaos, under a minute); SOAK_CLUSTER=1
# a long one (300 s), SOAK_CLUSTER_SECONDS=N one of N s.
check_PROGRAMS += tests/test_soak_cluster
TESTS += tests/test_soak_cluster
tests_test_soak_cluster_SOURCES = tests/test_soak_cluster.c \
	tests/natscluster.c tests/natscluster.h
tests_test_soak_cluster_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) \
	$(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
tests_test_soak_cluster_LDADD = tests/libharness.la src/libmsgrouter.la \
	$(CMOCKA_LIBS) $(JANSSON_LIBS)

# The three daemons under valgrind too (make check-valgrind): clean with
# libnats's threads, its reconnect and a killed node (checked once, about
# a minute).
VALGRIND_TESTS += tests/test_cluster
# Credentials, TLS to NATS (libnats's OpenSSL in the connector thread, its
# cleanup at exit) and reuseport under memcheck: clean, 24-57 s (loaded).
VALGRIND_TESTS += tests/test_cluster_net

AM_TESTS_ENVIRONMENT += NATS_SERVER='$(NATS_SERVER)'; export NATS_SERVER; \
	MSGROUTERD_TEMPLATE_UNIT='$(abs_top_builddir)/etc/msgrouterd@.service'; \
	export MSGROUTERD_TEMPLATE_UNIT;
endif
