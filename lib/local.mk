# libmsgrouter-client: the installed client library.  It links no libevent:
# plain sockets and poll(2).  Only the mr_ API is exported; src/addr.c is
# compiled in for "HOST:PORT" parsing.
lib_LTLIBRARIES += lib/libmsgrouter-client.la
lib_libmsgrouter_client_la_SOURCES = \
	lib/client.c \
	src/addr.c \
	include/msgrouter/addr.h \
	include/msgrouter/client.h
lib_libmsgrouter_client_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 \
	-export-symbols-regex '^mr_'

msgrouterincludedir = $(includedir)/msgrouter
msgrouterinclude_HEADERS = include/msgrouter/client.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = lib/msgrouter-client.pc
