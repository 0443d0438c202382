# Fuzzing (see FUZZING.md).  Included by the main Makefile, whose
# variables (CSTD, WARN, PKG_CFLAGS, PKG_LIBS, LIB_SRCS, VERSION,
# LIBSSH2_DEP) it uses.
#
#   make fuzz            builds the libFuzzer targets with clang and runs
#                        each for FUZZ_SECONDS over its corpus and seeds
#   make fuzz-NAME       the same for one target (fuzz-sigv4, ...)
#   make fuzz-merge      minimises what the runs found into fuzz/corpus/
#   make fuzz-replay     feeds every committed input to each target, built
#                        without libFuzzer under ASan and UBSan (in make
#                        check through CHECK_EXTRA)

FUZZ_TARGETS := ec2_xml ec2_error creds_ini creds_process_json sigv4 \
	known_hosts console nvsmi out_sanitize
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
# extra libFuzzer flags, e.g. FUZZ_ARGS=-jobs=2
FUZZ_ARGS ?=
FUZZ_FIXTURES ?= ../shared/fixtures
FUZZ_CC ?= $(shell command -v clang-14 2>/dev/null || \
	command -v clang 2>/dev/null || echo clang)
# The replay builds with the usual compiler (gcc on Debian): no clang
# needed for make check.
FUZZ_REPLAY_CC ?= $(CC)

# -max_len of each target (4096 when not listed)
FUZZ_MAXLEN_ec2_xml := 16384
FUZZ_MAXLEN_console := 16384
FUZZ_MAXLEN_known_hosts := 8192
FUZZ_MAXLEN_nvsmi := 8192
FUZZ_MAXLEN_creds_ini := 4096

# Seed folders outside fuzz/ that the runs read too (when present)
FUZZ_EXTRA_ec2_xml := $(FUZZ_FIXTURES)/ec2-responses
FUZZ_EXTRA_nvsmi := $(FUZZ_FIXTURES)/nvidia-smi tests/unit/data/nvsmi

FUZZ_CFLAGS = $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer -Iinclude \
	-Isrc -include include/gpuctl/banned.h $(PKG_CFLAGS) \
	-DGPUCTL_VERSION='"$(VERSION)"'
FUZZ_LF_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_REPLAY_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all

FUZZ_LF_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/lf/%.o)
FUZZ_REPLAY_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/replay/%.o)
FUZZ_LF_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/lf/fuzz_%)
FUZZ_REPLAY_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/replay/fuzz_%)

FUZZ_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: fuzz fuzz-build fuzz-merge fuzz-replay fuzz-clean fuzz-stats \
	$(FUZZ_TARGETS:%=fuzz-%) $(FUZZ_TARGETS:%=fuzz-merge-%)

CHECK_EXTRA += fuzz-replay

# libssh2, when the Makefile builds it (LIBSSH2_DEP), is there before
# anything includes or links it
$(FUZZ_LF_OBJS) $(FUZZ_REPLAY_OBJS): | $(LIBSSH2_DEP)
$(FUZZ_LF_BINS) $(FUZZ_REPLAY_BINS): $(LIBSSH2_DEP)

# objects and binaries made by pattern rules are kept, not deleted as
# intermediate files
.SECONDARY: $(FUZZ_LF_OBJS) $(FUZZ_REPLAY_OBJS) $(FUZZ_LF_BINS) \
	$(FUZZ_REPLAY_BINS)

# ---- libFuzzer builds (clang) ----

$(FUZZ_BUILD)/lf/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LF_SAN) -fsanitize=fuzzer-no-link \
		-MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/lf/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FUZZ_LF_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LF_SAN) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_LF_OBJS) $(PKG_LIBS)

fuzz-build: $(FUZZ_LF_BINS)

# One bounded run: new units go to $(FUZZ_BUILD)/corpus/NAME, crashes to
# $(FUZZ_BUILD)/artifacts/NAME/; one summary line, and a line in
# $(FUZZ_BUILD)/stats.txt (name execs seconds new-units crashes rc; this
# `make fuzz` only) and in stats-all.txt (every run, for the totals).
$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(FUZZ_BUILD)/lf/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/artifacts/$* \
		$(FUZZ_BUILD)/logs
	@dirs=""; for d in fuzz/corpus/$* fuzz/seeds/$* fuzz/regressions/$* \
		$(FUZZ_EXTRA_$*); do [ -d "$$d" ] && dirs="$$dirs $$d"; done; \
	before=$$(ls $(FUZZ_BUILD)/corpus/$* | wc -l); start=$$(date +%s); \
	$(FUZZ_ENV) $< -max_total_time=$(FUZZ_SECONDS) \
		-max_len=$(or $(FUZZ_MAXLEN_$*),4096) -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_BUILD)/artifacts/$*/ \
		$(if $(wildcard fuzz/dicts/$*.dict),-dict=fuzz/dicts/$*.dict) \
		$(FUZZ_ARGS) \
		$(FUZZ_BUILD)/corpus/$* $$dirs \
		>$(FUZZ_BUILD)/logs/$*.log 2>&1; rc=$$?; \
	log=$(FUZZ_BUILD)/logs/$*.log; secs=$$(( $$(date +%s) - start )); \
	execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -1); \
	eps=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$log | tail -1); \
	after=$$(ls $(FUZZ_BUILD)/corpus/$* | wc -l); \
	crashes=$$(ls $(FUZZ_BUILD)/artifacts/$* | wc -l); \
	printf 'fuzz: %-22s %11s execs %8s exec/s %5s new units %3s crashes%s\n' \
		fuzz_$* "$${execs:-?}" "$${eps:-?}" $$((after - before)) \
		$$crashes "$$( [ $$rc -eq 0 ] || echo " (exit $$rc, see $$log)")"; \
	line="$* $${execs:-0} $$secs $$((after - before)) $$crashes $$rc"; \
	echo "$$line" >>$(FUZZ_BUILD)/stats.txt; \
	echo "$$line" >>$(FUZZ_BUILD)/stats-all.txt; \
	[ $$rc -eq 0 ]

# All targets one after the other (make -j2 fuzz runs two at a time), then
# the totals of this run.
fuzz:
	@mkdir -p $(FUZZ_BUILD); rm -f $(FUZZ_BUILD)/stats.txt
	@$(MAKE) --no-print-directory -k $(FUZZ_TARGETS:%=fuzz-%); rc=$$?; \
	awk '{ e += $$2; c += $$5 } END { printf "fuzz: %d targets, %d executions, %d crash files in $(FUZZ_BUILD)/artifacts/\n", NR, e, c }' \
		$(FUZZ_BUILD)/stats.txt; exit $$rc

# Minimise: of the inputs in fuzz/corpus, the runs' finds and the extra
# seed folders, keep the ones of at most FUZZ_KEEP_MAX bytes that add edge
# coverage beyond fuzz/seeds/NAME, and make them fuzz/corpus/NAME.
FUZZ_KEEP_MAX ?= 4096
$(FUZZ_TARGETS:%=fuzz-merge-%): fuzz-merge-%: $(FUZZ_BUILD)/lf/fuzz_%
	@m=$(FUZZ_BUILD)/merge/$*; rm -rf $$m; mkdir -p $$m/out $$m/in \
		fuzz/corpus/$*; \
	if [ -d fuzz/seeds/$* ]; then cp fuzz/seeds/$*/* $$m/out/; fi; \
	ls $$m/out >$$m/seeds.list; \
	for d in fuzz/corpus/$* $(FUZZ_BUILD)/corpus/$* $(FUZZ_EXTRA_$*); do \
		[ -d "$$d" ] && find "$$d" -maxdepth 1 -type f \
			-size -$$(($(FUZZ_KEEP_MAX) + 1))c -exec cp {} $$m/in/ \; ; \
	done; \
	$(FUZZ_ENV) $< -merge=1 -use_counters=0 \
		-max_len=$(or $(FUZZ_MAXLEN_$*),4096) -timeout=10 \
		-rss_limit_mb=2048 $$m/out $$m/in >$$m/log 2>&1 || \
		{ tail -20 $$m/log; exit 1; }; \
	(cd $$m/out && rm -f $$(cat ../seeds.list)); \
	rm -f fuzz/corpus/$*/*; cp $$m/out/* fuzz/corpus/$*/ 2>/dev/null; \
	echo "fuzz-merge: fuzz_$*: $$(ls fuzz/corpus/$* | wc -l) inputs," \
		"$$(cat fuzz/corpus/$*/* 2>/dev/null | wc -c) bytes"

fuzz-merge: $(FUZZ_TARGETS:%=fuzz-merge-%)

# Totals per target over every run recorded in stats-all.txt.
fuzz-stats:
	@awk '{ e[$$1] += $$2; t[$$1] += $$3; c[$$1] += $$5; E += $$2 } \
	END { for (k in e) printf "%-20s %12d execs %6d s %3d crash files\n", \
		k, e[k], t[k], c[k]; printf "total %d executions\n", E }' \
		$(FUZZ_BUILD)/stats-all.txt

# ---- replay of the committed inputs (no libFuzzer) ----

$(FUZZ_BUILD)/replay/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_REPLAY_CC) $(FUZZ_CFLAGS) $(FUZZ_REPLAY_SAN) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/replay/fuzz_%: fuzz/fuzz_%.c fuzz/replay_main.c fuzz/fuzz.h \
		$(FUZZ_REPLAY_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_REPLAY_CC) $(FUZZ_CFLAGS) $(FUZZ_REPLAY_SAN) -o $@ $< \
		fuzz/replay_main.c $(FUZZ_REPLAY_OBJS) $(PKG_LIBS)

fuzz-replay: $(FUZZ_REPLAY_BINS)
	@pass=0; fail=0; inputs=0; mkdir -p $(FUZZ_BUILD)/logs; \
	for t in $(FUZZ_TARGETS); do \
		log=$(FUZZ_BUILD)/logs/replay-$$t.log; \
		if $(FUZZ_ENV) $(FUZZ_BUILD)/replay/fuzz_$$t fuzz_$$t \
			fuzz/corpus/$$t fuzz/seeds/$$t fuzz/regressions/$$t \
			>$$log 2>&1; then \
			grep '^fuzz-replay:' $$log; pass=$$((pass + 1)); \
			n=$$(sed -n 's/.*: \([0-9]*\) inputs.*/\1/p' $$log); \
			inputs=$$((inputs + n)); \
		else \
			tail -40 $$log; \
			echo "fuzz-replay: fuzz_$$t: FAILED (log: $$log)"; \
			fail=$$((fail + 1)); \
		fi; \
	done; \
	echo "fuzz-replay: $$inputs inputs, $$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

-include $(FUZZ_LF_OBJS:.o=.d) $(FUZZ_REPLAY_OBJS:.o=.d)
