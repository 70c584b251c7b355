# Client tools: msgrouter-cat (netcat for msgrouterd) and msgrouter-bench.
# Both use only the installed client library.
bin_PROGRAMS += tools/msgrouter-cat
tools_msgrouter_cat_SOURCES = tools/msgrouter-cat.c
tools_msgrouter_cat_LDADD = lib/libmsgrouter-client.la
