# LatencyWatch — otelcol-latencywatch distribution.
#
#   make run     build the collector with OCB and run it on config/local.yaml
#   make test    vet, unit tests, component fragments (mk/*.mk), then integration
#                and end-to-end tests against real Kafka and Pulsar brokers that
#                scripts/with-brokers.sh starts and always stops.
#   make build   build build/otelcol-latencywatch
#   make bench   benchmarks (see docs/benchmarks.md)
#   make model   retrain the default anomaly model (mk/anomaly.mk)
#   make eval    detection quality of the model vs the statistical baseline on the
#                held-out synthetic set (cmd/latencyeval)
#
# Component work adds its own targets in mk/<name>.mk and appends them to
# TEST_TARGETS / BENCH_TARGETS so this file stays small and conflict-free.

SHELL        := /usr/bin/env bash
.SHELLFLAGS  := -euo pipefail -c
GO           ?= go
export LW_CACHE ?= $(HOME)/.cache/latencywatch
BUILD_DIR    := build
BIN          := $(BUILD_DIR)/otelcol-latencywatch
export LW_BINARY := $(abspath $(BIN))
export LW_REPO   := $(abspath .)

TEST_TARGETS  :=
BENCH_TARGETS :=

-include mk/*.mk

GO_SOURCES := $(shell find . -name '*.go' -not -path './build/*' -not -path './.run/*' 2>/dev/null)

.PHONY: all run build test vet unit integration integration-inner bench eval clean
all: build

build: $(BIN)

$(BIN): builder-config.yaml go.mod go.sum $(GO_SOURCES)
	@# One OCB run at a time: several shells may build the shared build/ folder.
	flock $(BUILD_DIR).lock $(GO) tool builder --config builder-config.yaml
	@touch $(BIN)

run: build
	$(BIN) --config config/local.yaml

vet:
	@unformatted="$$(gofmt -l $(GO_SOURCES))"; if [[ -n $$unformatted ]]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...

unit:
	$(GO) test -count=1 ./...

# Everything that talks to a real broker or the built binary carries the
# `integration` build tag and runs here, inside one broker session.
integration: build
	scripts/with-brokers.sh $(MAKE) --no-print-directory integration-inner

integration-inner:
	$(GO) test -count=1 -tags integration -timeout 30m -p 1 -run '^Test(Integration|E2E)' ./...

test: vet unit $(TEST_TARGETS) integration

bench: $(BENCH_TARGETS)

eval: eval-anomaly

clean:
	rm -rf $(BUILD_DIR) .run
