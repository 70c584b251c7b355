# libmsgrouter-client: the installed client library.  It links no libevent:
# plain sockets and poll(2), and OpenSSL for TLS.  Only the mr_ API is
# exported; src/addr.c is compiled in for "HOST:PORT" parsing.  Interfaces
# were added in 1:0:1 (TLS), none removed: current:revision:age per libtool.
lib_LTLIBRARIES += lib/libmsgrouter-client.la
lib_libmsgrouter_client_la_SOURCES = \
	lib/client.c \
	src/addr.c \
	include/msgrouter/addr.h \
	include/msgrouter/client.h
lib_libmsgrouter_client_la_CFLAGS = $(AM_CFLAGS) $(LIBSSL_CFLAGS)
lib_libmsgrouter_client_la_LIBADD = $(LIBSSL_LIBS)
lib_libmsgrouter_client_la_LDFLAGS = $(AM_LDFLAGS) -version-info 1:0:1 \
	-export-symbols-regex '^mr_'

msgrouterincludedir = $(includedir)/msgrouter
msgrouterinclude_HEADERS = include/msgrouter/client.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = lib/msgrouter-client.pc
