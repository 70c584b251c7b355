# libFuzzer targets, built with clang only (configure looks for it):
# `make fuzz` builds them, `make fuzz-check` runs each for FUZZ_SECONDS with
# AddressSanitizer and UndefinedBehaviorSanitizer from its seed corpus in
# fuzz/corpus/NAME.  New inputs go to fuzz/work/NAME in the build tree, a
# crash, leak or timeout to fuzz/NAME-crash-... and fails the target.
FUZZ_SECONDS = 60
FUZZ_TARGETS = fuzz/fuzz_framing fuzz/fuzz_router fuzz/fuzz_admin_query \
	fuzz/fuzz_admin_http fuzz/fuzz_config
FUZZ_SRC = fuzz/fuzz_framing.c fuzz/fuzz_router.c fuzz/fuzz_admin_query.c \
	fuzz/fuzz_admin_http.c fuzz/fuzz_config.c
EXTRA_DIST += fuzz/local.mk $(FUZZ_SRC) fuzz/corpus

FUZZ_SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CPPFLAGS = -I$(top_builddir) -I$(top_srcdir)/include $(LIBEVENT_CFLAGS) \
	$(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) $(INIH_CFLAGS)
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer $(FUZZ_SANITIZE) $(WARN_CFLAGS)
FUZZ_LIBS = $(LIBEVENT_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) $(INIH_LIBS)
FUZZ_LIB = fuzz/libmsgrouter-fuzz.a

if HAVE_FUZZ
# The daemon's modules (the same sources as src/libmsgrouter.la), compiled
# once with coverage for the fuzzer, and the dashboard's generated files
# (in the build directory).
$(FUZZ_LIB): $(src_libmsgrouter_la_SOURCES) $(DASHBOARD_GENERATED) config.h
	$(AM_V_GEN)$(MKDIR_P) fuzz/obj && rm -f $@ fuzz/obj/*.o && \
	for f in $(src_libmsgrouter_la_SOURCES); do \
		case $$f in *.c) ;; *) continue ;; esac; \
		o=fuzz/obj/`basename $$f .c`.o; \
		$(CLANG) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) \
		    -Wno-format-nonliteral -fsanitize=fuzzer-no-link -c -o $$o $(srcdir)/$$f || exit 1; \
	done && for f in $(DASHBOARD_GENERATED); do \
		$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c \
		    -o fuzz/obj/`basename $$f .c`.o $$f || exit 1; \
	done && $(AR) cr $@ fuzz/obj/*.o

FUZZ_LINK = $(CLANG) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer \
	-o $@ $(srcdir)/$@.c $(FUZZ_LIB) $(FUZZ_LIBS)
fuzz/fuzz_framing: fuzz/fuzz_framing.c $(FUZZ_LIB)
	$(AM_V_CCLD)$(FUZZ_LINK)
fuzz/fuzz_router: fuzz/fuzz_router.c $(FUZZ_LIB)
	$(AM_V_CCLD)$(FUZZ_LINK)
fuzz/fuzz_admin_query: fuzz/fuzz_admin_query.c $(FUZZ_LIB)
	$(AM_V_CCLD)$(FUZZ_LINK)
fuzz/fuzz_admin_http: fuzz/fuzz_admin_http.c $(FUZZ_LIB)
	$(AM_V_CCLD)$(FUZZ_LINK)
fuzz/fuzz_config: fuzz/fuzz_config.c $(FUZZ_LIB)
	$(AM_V_CCLD)$(FUZZ_LINK)

fuzz: $(FUZZ_TARGETS)

# Each target for FUZZ_SECONDS; any crash, leak, UB or timeout fails.
fuzz-check: fuzz
	@for t in $(FUZZ_TARGETS); do \
		n=`basename $$t`; \
		$(MKDIR_P) fuzz/work/$$n || exit 1; \
		echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
		if ! ASAN_OPTIONS=detect_leaks=1 ./$$t \
		    -max_total_time=$(FUZZ_SECONDS) -timeout=30 \
		    -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
		    -artifact_prefix=fuzz/$$n- fuzz/work/$$n \
		    $(srcdir)/fuzz/corpus/$$n >fuzz/$$n.log 2>&1; then \
			tail -n 60 fuzz/$$n.log; \
			echo "fuzz: $$n FAILED (log: fuzz/$$n.log)"; exit 1; \
		fi; \
		grep -E '^stat::number_of_executed_units|^stat::peak_rss' \
		    fuzz/$$n.log | tr '\n' ' '; echo; \
	done
else
fuzz fuzz-check:
	@echo "make $@: the fuzz targets need clang with libFuzzer, and" \
	    "configure found none (apt-get install clang libclang-rt-14-dev," \
	    "then run configure again)" >&2; exit 1
endif
.PHONY: fuzz fuzz-check

clean-local: clean-fuzz
clean-fuzz:
	-rm -rf fuzz/obj fuzz/work $(FUZZ_LIB) $(FUZZ_TARGETS) fuzz/*.log \
	    fuzz/*-crash-* fuzz/*-leak-* fuzz/*-timeout-* fuzz/*-oom-*
.PHONY: clean-fuzz
