# The daemon's modules build into one convenience library that msgrouterd
# and every test link, so tests run the real code.
noinst_LTLIBRARIES += src/libmsgrouter.la
src_libmsgrouter_la_SOURCES = \
	src/addr.c \
	src/addrtab.c \
	src/admin.c \
	src/bufmem.c \
	src/clock.c \
	src/closed.c \
	src/config.c \
	src/dashboard.c \
	src/departed.c \
	src/conn.c \
	src/framing.c \
	src/listener.c \
	src/log.c \
	src/parse.c \
	src/registry.c \
	src/report.c \
	src/router.c \
	src/stats.c \
	src/tls.c \
	include/msgrouter/addr.h \
	include/msgrouter/addrtab.h \
	include/msgrouter/admin.h \
	include/msgrouter/bufmem.h \
	include/msgrouter/clock.h \
	include/msgrouter/closed.h \
	include/msgrouter/config.h \
	include/msgrouter/dashboard.h \
	include/msgrouter/departed.h \
	include/msgrouter/conn.h \
	include/msgrouter/framing.h \
	include/msgrouter/hash.h \
	include/msgrouter/listener.h \
	include/msgrouter/log.h \
	include/msgrouter/parse.h \
	include/msgrouter/policy.h \
	include/msgrouter/registry.h \
	include/msgrouter/report.h \
	include/msgrouter/router.h \
	include/msgrouter/stats.h \
	include/msgrouter/tls.h
# The dashboard's page, stylesheet and script (src/dashboard/) are built
# in: each becomes a C string in the build directory (embed.sh, sh + awk).
DASHBOARD_FILES = src/dashboard/index.html src/dashboard/dashboard.css \
	src/dashboard/dashboard.js
DASHBOARD_GENERATED = src/dashboard-index-html.c src/dashboard-css.c \
	src/dashboard-js.c
nodist_src_libmsgrouter_la_SOURCES = $(DASHBOARD_GENERATED)
BUILT_SOURCES = $(DASHBOARD_GENERATED)
CLEANFILES += $(DASHBOARD_GENERATED)
EXTRA_DIST += $(DASHBOARD_FILES) src/dashboard/embed.sh
DASHBOARD_EMBED = $(SHELL) $(srcdir)/src/dashboard/embed.sh
src/dashboard-index-html.c: src/dashboard/index.html src/dashboard/embed.sh
	$(AM_V_GEN)$(MKDIR_P) src && \
	$(DASHBOARD_EMBED) index_html $(srcdir)/src/dashboard/index.html >$@.tmp && mv $@.tmp $@
src/dashboard-css.c: src/dashboard/dashboard.css src/dashboard/embed.sh
	$(AM_V_GEN)$(MKDIR_P) src && \
	$(DASHBOARD_EMBED) dashboard_css $(srcdir)/src/dashboard/dashboard.css >$@.tmp && mv $@.tmp $@
src/dashboard-js.c: src/dashboard/dashboard.js src/dashboard/embed.sh
	$(AM_V_GEN)$(MKDIR_P) src && \
	$(DASHBOARD_EMBED) dashboard_js $(srcdir)/src/dashboard/dashboard.js >$@.tmp && mv $@.tmp $@

src_libmsgrouter_la_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) $(INIH_CFLAGS)
src_libmsgrouter_la_LIBADD = $(LIBEVENT_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) $(INIH_LIBS)

sbin_PROGRAMS += src/msgrouterd
src_msgrouterd_SOURCES = src/msgrouterd.c
src_msgrouterd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
src_msgrouterd_LDADD = src/libmsgrouter.la
