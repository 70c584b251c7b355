# The cluster's NATS link (issue 11; docs/CLUSTER.md): our libevent
# adapter for libnats and its prototype, built only with libnats
# (configure --with-nats, auto by default).  Not in the daemon yet: the
# adapter is a library of its own, so msgrouterd and libmsgrouter are the
# same with or without libnats.
if HAVE_NATS
noinst_LTLIBRARIES += src/libnatsev.la
src_libnatsev_la_SOURCES = src/natsev.c include/msgrouter/natsev.h
src_libnatsev_la_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(NATS_CFLAGS)
src_libnatsev_la_LIBADD = $(NATS_LIBS)

NATSEV_LIBS = src/libnatsev.la src/libmsgrouter.la $(NATS_LIBS) \
	$(LIBEVENT_LIBS)

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
AM_TESTS_ENVIRONMENT += NATS_SERVER='$(NATS_SERVER)'; export NATS_SERVER;
endif
