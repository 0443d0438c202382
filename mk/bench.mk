# Benchmarks (see BENCHMARKS.md).  Included by the main Makefile, whose
# variables (BUILD, ALL_CFLAGS, PKG_LIBS, PYTHON, LIBSSH2_DEP) it uses.
#
#   make bench              everything, on one simulator (needs root), in
#                           under 10 minutes on 2 cores; prints the figures as
#                           it goes, writes bench/results/results.json and
#                           bench/results/BENCHMARKS-table.md and refreshes the
#                           table in BENCHMARKS.md
#   make bench BENCH_ARGS='--only ssh,sigv4 --runs 7'   a part of it
#   make bench-sigv4        the SigV4 microbenchmark alone (no root needed)
#
# No benchmark fails on a timing: they print figures.

BENCH_ARGS ?=
BENCH_SIGV4 := $(BUILD)/bench/sigv4_bench
BENCH_SIGV4_OBJS := $(BUILD)/src/sigv4/sigv4.o $(BUILD)/src/util/util.o \
	$(BUILD)/src/util/err.o $(BUILD)/src/util/log.o

.PHONY: bench bench-sigv4

$(BENCH_SIGV4): bench/sigv4_bench.c $(BENCH_SIGV4_OBJS) $(LIBSSH2_DEP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BENCH_SIGV4_OBJS) $(ALL_LDFLAGS) \
		$(PKG_LIBS)

bench-sigv4: $(BENCH_SIGV4)
	$(BENCH_SIGV4)

bench: all $(BENCH_SIGV4)
	$(PYTHON) bench/run.py --gpuctl $(CURDIR)/$(BUILD)/gpuctl \
		--sigv4-bench $(CURDIR)/$(BENCH_SIGV4) $(BENCH_ARGS)
