# The fault campaign and memcheck (tests/e2e/campaign.py, RELIABILITY.md).
#
#   make campaign N=500 [SEED=1000] [WORKERS=6]   a long seeded campaign; the
#       figures go to stdout and to $(BUILD)/campaign.json
#   make valgrind-check    unit tests and the e2e suite with gpuctl under
#       valgrind's memcheck (no invalid access, no definite/indirect leak)
#
# `make check` runs the short campaign (50 workflows) with the rest of
# tests/e2e.

N ?= 500
SEED ?= 1000
WORKERS ?= 6
VALGRIND ?= valgrind
VG_FLAGS = --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect --quiet \
	--suppressions=$(CURDIR)/tests/valgrind/gpuctl.supp
# The e2e files valgrind-check runs (all of them by default; the campaign,
# long under valgrind, runs short).
VG_E2E ?= tests/e2e
VG_CAMPAIGN_N ?= 10
# 100 MB through ssh/cp under memcheck takes many minutes: those two go
VG_PYTEST_ARGS ?= -k 'not 100mb and not big_file'

.PHONY: campaign valgrind-check

campaign: gpuctl
	GPUCTL_CAMPAIGN_N=$(N) GPUCTL_CAMPAIGN_SEED=$(SEED) \
	GPUCTL_CAMPAIGN_WORKERS=$(WORKERS) \
	GPUCTL_CAMPAIGN_JSON=$(CURDIR)/$(BUILD)/campaign.json \
	GPUCTL_BIN=$(CURDIR)/$(BUILD)/gpuctl $(PYTEST) -q -s -p no:cacheprovider \
		tests/e2e/test_campaign.py

valgrind-check: gpuctl $(TEST_BINS)
	@command -v $(VALGRIND) >/dev/null || { \
		echo "valgrind-check: valgrind is not installed" >&2; exit 1; }
	@set -e; for t in $(TEST_BINS); do \
		echo "== valgrind $$t"; GPUCTL_FIXTURES=$(CURDIR)/../shared/fixtures \
		GPUCTL_TESTDATA=$(CURDIR)/tests/unit/data \
		$(VALGRIND) $(VG_FLAGS) $$t; done
	GPUCTL_VG_BIN=$(CURDIR)/$(BUILD)/gpuctl \
	GPUCTL_BIN=$(CURDIR)/tests/valgrind/gpuctl-vg \
	GPUCTL_CAMPAIGN_N=$(VG_CAMPAIGN_N) GPUCTL_UNDER_VALGRIND=1 \
		$(PYTEST) -q -p no:cacheprovider $(VG_PYTEST_ARGS) $(VG_E2E)
