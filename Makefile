# gpuctl build.  `make check` and `make demo` install what is missing first
# (scripts/install-deps.sh), so on a fresh Debian 12 machine each is the
# only command needed.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=
PYTHON ?= /usr/bin/python3
PYTEST ?= $(PYTHON) -m pytest
BUILD ?= build

PKGS := libcurl libcrypto libxml-2.0 libssh2 jansson
CC ?= cc
CSTD := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
	-Wno-format-nonliteral
OPT ?= -O2 -g
SAN ?=
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS = $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)
ALL_CFLAGS = $(CSTD) $(WARN) $(OPT) $(SAN) -Iinclude -include \
	include/gpuctl/banned.h $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SAN) $(LDFLAGS)

SRCS := $(sort $(wildcard src/*.c src/*/*.c))
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
OBJS := $(SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

# Quiet by default, as git's build; V=1 shows the commands.
V ?= 0
ifeq ($(V),0)
QUIET_CC = @echo "  CC      $@";
QUIET_LINK = @echo "  LINK    $@";
endif

.PHONY: all check unit-check e2e-check asan-check install uninstall clean \
	format format-check deps demo bench layers-check

all: gpuctl

gpuctl: $(BUILD)/gpuctl
	cp $< $@

$(BUILD)/gpuctl: $(OBJS)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $(OBJS) $(PKG_LIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -DGPUCTL_VERSION='"$(VERSION)"' -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(QUIET_LINK)$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(LIB_OBJS) \
		$(ALL_LDFLAGS) $(PKG_LIBS) $(CMOCKA_LIBS)

deps:
	@./scripts/install-deps.sh

# Unit tests: each binary prints cmocka's summary; the run stops at the
# first failing binary.  Fixtures are read from ../shared/fixtures.
unit-check: $(TEST_BINS)
	@set -e; for t in $(TEST_BINS); do \
		echo "== $$t"; GPUCTL_FIXTURES=$(CURDIR)/../shared/fixtures \
		GPUCTL_TESTDATA=$(CURDIR)/tests/unit/data $$t; done

e2e-check: gpuctl
	GPUCTL_BIN=$(CURDIR)/$(BUILD)/gpuctl $(PYTEST) -q -p no:cacheprovider \
		tests/e2e

# Extra suites (fuzz corpus replay, the fault campaign...) add themselves
# to CHECK_EXTRA from mk/*.mk.
CHECK_EXTRA ?=

check: deps
	$(MAKE) all
	$(MAKE) unit-check
	$(MAKE) e2e-check
	$(if $(strip $(CHECK_EXTRA)),$(MAKE) $(CHECK_EXTRA))

# The same tests, built into build-asan/ with ASan and UBSan.
asan-check: deps
	$(MAKE) BUILD=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
		SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' \
		unit-check e2e-check-asan

e2e-check-asan: $(BUILD)/gpuctl
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 LSAN_OPTIONS=exitcode=23 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	GPUCTL_BIN=$(CURDIR)/$(BUILD)/gpuctl $(PYTEST) -q -p no:cacheprovider \
		tests/e2e

# The main job end to end on the local simulator.
demo: deps
	$(MAKE) all
	./scripts/demo.sh

install: gpuctl
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 gpuctl $(DESTDIR)$(BINDIR)/gpuctl

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/gpuctl

clean:
	rm -rf build build-asan gpuctl

# The layering: which folder may include which library and which module
# (scripts/layers-check.py says why for each violation).
layers-check:
	@$(PYTHON) scripts/layers-check.py

FORMAT_FILES = $(wildcard src/*.c src/*/*.c include/gpuctl/*.h tests/unit/*.c)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

# Targets of their own: benchmarks, fuzzing, the fault campaign.
-include $(sort $(wildcard mk/*.mk))

-include $(OBJS:.o=.d) $(TEST_BINS:=.d)
