# atrest: build, demo, test. Every tool is pinned and installed into the
# project (bin/ for Go tools, .cache/venv for Python tools).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO          ?= go
OPA_VERSION := v1.22.3
MOTO_VERSION := 5.2.1
LOCAL_KMS_VERSION := v0.0.0-20260228092603-2a5e92d09ab6
PYTHON      ?= python3
BIN         := $(CURDIR)/bin
VENV        := $(CURDIR)/.cache/venv
OPA         := $(BIN)/opa
LOCAL_KMS   := $(BIN)/local-kms
ATREST      := $(BIN)/atrest
ATREST_BENCH := $(BIN)/atrest-bench
FUZZTIME    ?= 5s
OPA_MIN_COVERAGE := 95

export GOFLAGS := -buildvcs=false
export ATREST_MOTO_SERVER := $(VENV)/bin/moto_server
export ATREST_LOCAL_KMS := $(LOCAL_KMS)

# ISA-L's igzip (Debian's libisal-dev, through cgo) inflates gzip inputs
# about twice as fast as klauspost/compress: bin/atrest and the tests are
# built with it (build tag isal) where its header is installed, which make
# deps does as root or in CI (deps-isal). ISAL=0 builds without it. The
# functions are built for arm64 without cgo (sam/build.mk): klauspost's
# inflater. The tags are worked out when a recipe runs, after deps-isal.
ISAL_VERSION := 2.30.0-5
ISAL_HEADER := /usr/include/isa-l/igzip_lib.h
ISAL        ?= auto
GO_TAGS      = $(shell [ "$(ISAL)" != 0 ] && [ -e $(ISAL_HEADER) ] && echo -tags=isal)

# The HTML report's test renders the report in headless Chromium (Debian's
# chromium package); it skips, saying so, where there is none.
CHROMIUM    ?= /usr/bin/chromium
ifneq ($(wildcard $(CHROMIUM)),)
export ATREST_CHROMIUM := $(CHROMIUM)
endif

# SAM build targets (build-<LogicalId>), the template checks and the
# emulator harness; included here so their variables exist below.
include sam/build.mk

DEMO_EVENTS := $(sort $(wildcard events/[0-8]*.json))

.PHONY: help
help:
	@echo "make demo           run atrest on the sample events with embedded defaults (no AWS account)"
	@echo "make build          build bin/atrest"
	@echo "make check          the fast loop: gofmt, go vet, opa fmt/check/test, go test -short (no moto, local-kms or emulator)"
	@echo "make test           install the pinned test tools and run every test (what CI runs)"
	@echo "make deps           install the pinned tools: opa, local-kms, the Lambda emulator into bin/; moto, SAM CLI, checkov into .cache/"
	@echo "make lint           gofmt and go vet"
	@echo "make test-rules     opa fmt, opa check --strict, opa test with coverage (>= $(OPA_MIN_COVERAGE)%)"
	@echo "make test-go        every Go test, starting moto, local-kms and the emulator"
	@echo "make test-sam       cfn-lint, sam validate --lint, sam build, checkov over template.yaml"
	@echo "make test-arm64     the log scanner's tests built for arm64, run under qemu-aarch64 (skipped without it)"
	@echo "make test-fuzz      every fuzz target briefly (FUZZTIME=$(FUZZTIME) each)"
	@echo "make fuzz           the same, longer with e.g. FUZZTIME=2m"
	@echo "make bench          compare atrest with gunzip, jq and per-record OPA (bin/atrest-bench); run the Go benchmarks"
	@echo "make invoke         run one function under the Lambda emulator (FUNCTION=$(FUNCTION) EVENT=$(EVENT))"
	@echo "make sam-dashboard  copy sam/dashboard.json into template.yaml's DashboardBody"
	@echo "make deps-sam       install SAM CLI, cfn-lint, checkov and the Lambda emulator"
	@echo "make deps-chromium  install Debian's chromium for the HTML report's test (as root or with CI=true; skipped otherwise)"
	@echo "make deps-qemu      install Debian's qemu-user for make test-arm64 (as root or with CI=true; skipped otherwise)"
	@echo "make deps-isal      install Debian's libisal-dev, with which bin/atrest inflates gzip (as root or with CI=true; skipped otherwise)"
	@echo "make build-<LogicalId>  the sam build targets: $(SAM_BUILD_TARGETS)"
	@echo "make clean          remove bin/ and .cache/"

# go build is incremental: it decides what is stale better than a file list.
.PHONY: build $(ATREST)
build: $(ATREST)

# With ISA-L, linked to Debian's libisal2 and libc; without it a static
# binary, as the functions are built (sam/build.mk).
$(ATREST):
	@tags='$(GO_TAGS)'; cgo=0; [ -z "$$tags" ] || cgo=1; \
	CGO_ENABLED=$$cgo $(GO) build $$tags -trimpath -o $@ ./cmd/atrest; \
	if [ -n "$$tags" ]; then echo "bin/atrest: gzip inflated with ISA-L igzip"; else echo "bin/atrest: gzip inflated with klauspost/compress"; fi

# The developers' benchmark command (cmd/atrest-bench), not part of atrest.
.PHONY: $(ATREST_BENCH)
$(ATREST_BENCH):
	$(GO) build -trimpath -o $@ ./cmd/atrest-bench

# Times atrest evaluate on a generated 200,000-record gzip log against gunzip,
# jq and per-record OPA, and prints records/s, MB/s, peak RSS and ratios.
.PHONY: bench
bench: $(ATREST) $(ATREST_BENCH) $(LOCAL_KMS)
	@command -v jq >/dev/null && [ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq jq time; }
	$(ATREST_BENCH) bench --atrest $(ATREST) --records $${RECORDS:-200000}
	$(GO) test $(GO_TAGS) -run '^$$' -bench . -benchmem ./internal/...

.PHONY: demo
demo: $(ATREST)
	@$(ATREST) evaluate --format table --s3-root events/s3 $(DEMO_EVENTS)

# ---- tools -------------------------------------------------------------

$(OPA):
	GOBIN=$(BIN) $(GO) install github.com/open-policy-agent/opa@$(OPA_VERSION)

# A second KMS emulator that enforces key state (moto's does not), for the
# key-verification tests. It listens on all interfaces: the tests give it a
# free port and stop it when they end.
$(LOCAL_KMS):
	GOBIN=$(BIN) $(GO) install github.com/nsmithuk/local-kms@$(LOCAL_KMS_VERSION)

$(VENV)/.installed-$(MOTO_VERSION):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'moto[server]==$(MOTO_VERSION)'
	touch $@

# Chromium comes from the system's packages, so it is installed only where
# that is allowed: as root, or in CI (CI=true, with sudo when not root). A
# developer without root keeps a working make deps; the report's browser
# test then skips.
.PHONY: deps-chromium
deps-chromium:
	@if [ -x "$(CHROMIUM)" ]; then \
	  echo "chromium: $$($(CHROMIUM) --version 2>/dev/null || echo "$(CHROMIUM)")"; \
	elif [ "$$(id -u)" = 0 ] || [ "$${CI:-}" = true ]; then \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium; \
	else \
	  echo "chromium: not installed, and not root nor CI: skipped (the HTML report's browser test will skip; install Debian's chromium package to run it)"; \
	fi

# The scanner marks bytes with vector instructions written for each
# architecture (internal/cloudtrail/classify_*.s), and the functions run on
# arm64: test-arm64 runs that package's tests built for arm64 under qemu's
# user-mode emulator (Debian's qemu-user), installed as Chromium is.
QEMU_ARM64  ?= qemu-aarch64

.PHONY: deps-qemu
deps-qemu:
	@if command -v $(QEMU_ARM64) >/dev/null; then \
	  echo "qemu: $$($(QEMU_ARM64) --version | head -n 1)"; \
	elif [ "$$(id -u)" = 0 ] || [ "$${CI:-}" = true ]; then \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq qemu-user >/dev/null || \
	  { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq qemu-user >/dev/null; }; \
	  echo "qemu: $$($(QEMU_ARM64) --version | head -n 1)"; \
	else \
	  echo "qemu: not installed, and not root nor CI: skipped (make test-arm64 will skip; install Debian's qemu-user to run it)"; \
	fi

# Debian's libisal-dev, installed as Chromium is.
.PHONY: deps-isal
deps-isal:
	@if [ -e $(ISAL_HEADER) ]; then \
	  echo "isa-l: $$(dpkg-query -W -f '$${Version}' libisal-dev 2>/dev/null || echo $(ISAL_HEADER))"; \
	elif [ "$$(id -u)" = 0 ] || [ "$${CI:-}" = true ]; then \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq libisal-dev=$(ISAL_VERSION) >/dev/null || \
	  { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq libisal-dev=$(ISAL_VERSION) >/dev/null; }; \
	  echo "isa-l: $$(dpkg-query -W -f '$${Version}' libisal-dev)"; \
	else \
	  echo "isa-l: not installed, and not root nor CI: skipped (gzip is inflated with klauspost/compress; install Debian's libisal-dev for ISA-L)"; \
	fi

.PHONY: deps
deps: $(OPA) $(LOCAL_KMS) $(RIE) $(VENV)/.installed-$(MOTO_VERSION) deps-sam deps-chromium deps-qemu deps-isal

# ---- tests -------------------------------------------------------------

.PHONY: test
test: deps lint test-rules test-go test-arm64 test-sam test-fuzz

# The log scanner's package built for arm64, vetted, and its tests run under
# qemu (those that need no server: -short).
.PHONY: test-arm64
test-arm64:
	@if ! command -v $(QEMU_ARM64) >/dev/null; then \
	  echo "test-arm64: no $(QEMU_ARM64): skipped (install Debian's qemu-user to run it)"; exit 0; \
	fi; \
	echo "test-arm64: internal/cloudtrail built for arm64, under $(QEMU_ARM64)"; \
	GOARCH=arm64 $(GO) vet ./internal/cloudtrail; \
	GOARCH=arm64 $(GO) test -c -o $(BIN)/cloudtrail-arm64.test ./internal/cloudtrail; \
	cd internal/cloudtrail && $(QEMU_ARM64) $(BIN)/cloudtrail-arm64.test -test.short -test.count=1

# The fast loop: everything that needs no server (moto, local-kms, the
# Lambda emulator). Tests that need one skip under -short, saying so;
# make test runs them all without -short.
.PHONY: check
check: lint test-rules
	$(GO) test $(GO_TAGS) -short ./...

.PHONY: lint
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet $(GO_TAGS) ./...

.PHONY: test-rules
test-rules: $(OPA)
	@out=$$($(OPA) fmt --list rules/); if [ -n "$$out" ]; then echo "opa fmt would change: $$out"; exit 1; fi
	$(OPA) check --strict rules/
	$(OPA) test rules/ -v | tail -n 3
	@$(OPA) test rules/ --coverage --format json | $(PYTHON) -c 'import json,sys; c=json.load(sys.stdin)["coverage"]; print(f"opa rule coverage: {c:.2f}%"); sys.exit(0 if c >= $(OPA_MIN_COVERAGE) else "coverage below $(OPA_MIN_COVERAGE)%")'

.PHONY: test-go
test-go: $(VENV)/.installed-$(MOTO_VERSION) $(LOCAL_KMS) $(RIE)
	$(GO) test $(GO_TAGS) -count=1 ./...

# Each fuzz target runs briefly; `make fuzz FUZZTIME=2m` runs them longer.
# Go 1.26's fuzzing coordinator can fail a target with a bare "context
# deadline exceeded" when -fuzztime ends while a worker is mid-input
# (golang/go#75804, fixed in Go 1.27): no input failed, none is written. Such
# a run is run once more; a failure that names a failing input, or that
# happens twice, fails the target.
.PHONY: test-fuzz fuzz
test-fuzz fuzz:
	@log=$$(mktemp -t atrest-fuzz.XXXXXX); trap 'rm -f "$$log"' EXIT; \
	fuzz() { $(GO) test $(GO_TAGS) -run '^$$' -fuzz "^$$2$$" -fuzztime $(FUZZTIME) $$1 > $$log 2>&1; }; \
	for pkg in $$($(GO) list ./internal/...); do \
	  for target in $$($(GO) test $(GO_TAGS) -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
	    if ! fuzz $$pkg $$target; then \
	      if grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
	        echo "fuzz: the coordinator's deadline race (golang/go#75804), no failing input: running again"; \
	        fuzz $$pkg $$target || { cat $$log; exit 1; }; \
	      else cat $$log; exit 1; fi; \
	    fi; \
	    grep -E '^fuzz: elapsed' $$log | tail -n 1; grep -E '^(PASS|ok)' $$log | head -n 1; \
	  done; \
	done

.PHONY: clean
clean:
	rm -rf $(BIN) .cache
