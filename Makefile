# gpuctl build.  `make check` and `make demo` install what is missing first
# (scripts/install-deps.sh), so on a fresh Debian 12 machine each is the
# only command needed.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=
PYTHON ?= /usr/bin/python3
PYTEST ?= $(PYTHON) -m pytest
BUILD ?= build

PKGS := libcurl libcrypto libxml-2.0 jansson

# libssh2, 1.11.1 or later (RSA logins with rsa-sha2, strict key exchange,
# AES-GCM).  LIBSSH2=auto (the default): the system's when pkg-config finds
# 1.11.1 or later, else built from Debian's own source package (trixie's) by
# scripts/build-libssh2.sh into LIBSSH2_DIR, once for every build directory,
# and linked statically.  LIBSSH2=system: the system's, whatever its version
# (an older one loses RSA logins to OpenSSH 8.8+, strict key exchange and
# AES-GCM; the link says so).  LIBSSH2=build: built even when the system's
# would do.
LIBSSH2 ?= auto
LIBSSH2_MIN := 1.11.1
LIBSSH2_DIR ?= build/libssh2
ifeq ($(LIBSSH2),auto)
LIBSSH2_USE := $(if $(shell pkg-config --atleast-version=$(LIBSSH2_MIN) \
	libssh2 2>/dev/null && echo y),system,build)
else ifneq ($(filter system build,$(LIBSSH2)),)
LIBSSH2_USE := $(LIBSSH2)
else
$(error LIBSSH2 is auto, system or build, not '$(LIBSSH2)')
endif
ifeq ($(LIBSSH2_USE),system)
PKGS += libssh2
LIBSSH2_DEP :=
LIBSSH2_CFLAGS :=
LIBSSH2_LIBS :=
LIBSSH2_OLD := $(shell pkg-config --atleast-version=$(LIBSSH2_MIN) libssh2 \
	2>/dev/null || pkg-config --modversion libssh2 2>/dev/null)
LIBSSH2_WARNING = warning: gpuctl uses the system's libssh2 $(LIBSSH2_OLD), \
	older than $(LIBSSH2_MIN): RSA keys cannot log in to OpenSSH 8.8 or \
	later (it signs them with ssh-rsa, SHA-1), no strict key exchange \
	(CVE-2023-48795), no AES-GCM (a slower cp); build without \
	LIBSSH2=system for $(LIBSSH2_MIN)
else
LIBSSH2_DEP := $(LIBSSH2_DIR)/lib/libssh2.a
LIBSSH2_CFLAGS := -I$(LIBSSH2_DIR)/include
# its symbols stay inside gpuctl: libcurl keeps the system's libssh2
LIBSSH2_LIBS := $(LIBSSH2_DEP) -Wl,--exclude-libs,libssh2.a
LIBSSH2_OLD :=
endif
CC ?= cc
CSTD := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
	-Wno-format-nonliteral
OPT ?= -O2 -g
SAN ?=
PKG_CFLAGS = $(LIBSSH2_CFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(LIBSSH2_LIBS) $(shell pkg-config --libs $(PKGS) 2>/dev/null)
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
	format format-check deps demo bench layers-check libssh2

all: gpuctl

gpuctl: $(BUILD)/gpuctl
	cp $< $@

$(BUILD)/gpuctl: $(OBJS) $(LIBSSH2_DEP)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $(OBJS) $(PKG_LIBS)
	$(if $(LIBSSH2_OLD),@echo "$(LIBSSH2_WARNING)" >&2)

# libssh2 built from source (LIBSSH2_USE=build), before anything includes
# it; the .d files make what includes its headers follow a rebuild.
libssh2: $(LIBSSH2_DEP)

$(LIBSSH2_DIR)/lib/libssh2.a:
	@./scripts/build-libssh2.sh $(LIBSSH2_DIR)

$(OBJS) $(TEST_BINS): | $(LIBSSH2_DEP)

# A switch between LIBSSH2=system and build recompiles what includes it.
LIBSSH2_STAMP := $(BUILD)/.libssh2-$(LIBSSH2_USE)
$(LIBSSH2_STAMP):
	@mkdir -p $(dir $@) && rm -f $(BUILD)/.libssh2-* && touch $@
$(filter $(BUILD)/src/ssh/%,$(OBJS)): $(LIBSSH2_STAMP)
ifeq ($(LIBSSH2_USE),build)
$(BUILD)/src/ssh/session.o: ALL_CFLAGS += \
	-DGPUCTL_LIBSSH2_ORIGIN='"$(shell cat $(LIBSSH2_DIR)/VERSION)"'
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -DGPUCTL_VERSION='"$(VERSION)"' -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(LIBSSH2_DEP)
	@mkdir -p $(dir $@)
	$(QUIET_LINK)$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(LIB_OBJS) \
		$(ALL_LDFLAGS) $(PKG_LIBS) $(CMOCKA_LIBS)

# The Debian packages, then libssh2 when it is built here (a new make: the
# choice needs pkg-config, which the first step may have installed).
deps:
	@./scripts/install-deps.sh
	@$(MAKE) --no-print-directory libssh2

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
