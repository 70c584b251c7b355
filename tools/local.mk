# Client tools: msgrouter-cat (netcat for msgrouterd) and msgrouter-bench.
# Both use only the installed client library and share tools/tool.c (flags,
# flag errors, the clock); msgrouter-cat also compiles in src/parse.c to
# read sizes as the daemon does.
bin_PROGRAMS += tools/msgrouter-cat
tools_msgrouter_cat_SOURCES = tools/msgrouter-cat.c tools/tool.c \
	tools/tool.h src/parse.c include/msgrouter/parse.h
tools_msgrouter_cat_LDADD = lib/libmsgrouter-client.la

bin_PROGRAMS += tools/msgrouter-bench
tools_msgrouter_bench_SOURCES = tools/msgrouter-bench.c tools/tool.c \
	tools/tool.h
tools_msgrouter_bench_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_msgrouter_bench_LDADD = lib/libmsgrouter-client.la $(JANSSON_LIBS)

dist_man1_MANS = man/msgrouter-cat.1 man/msgrouter-bench.1
