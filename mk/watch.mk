# watch_api extension + internal/watchstate + the Swift package watchapp/ (issue 8).
#
#   make test-watch               race-checked Go tests of the extension and board, then
#                                 `swift test` of watchapp/ in a cached Debian trixie
#                                 chroot (scripts/swift-chroot.sh), with the live
#                                 APIClient test against a running collector
#                                 (scripts/swift-watch-live.sh, config/watch-e2e.yaml)
#   make test-watch-schemathesis  schemathesis (PyPI, cached venv) from openapi.yaml
#                                 against the running collector: no 5xx, all answers
#                                 match the spec
#   make bench-watch              board benchmarks (docs/benchmarks/watch.md)
#   make watch-fixtures           rewrite the golden JSON the Swift tests decode
#
# The binary's own end-to-end test (test/e2e/watch_test.go, TestE2EWatch*) runs in
# `make integration`.
WATCH_PKGS := ./internal/watchstate/... ./extension/watchapiextension/...

.PHONY: test-watch test-watch-go test-watch-swift test-watch-schemathesis bench-watch watch-fixtures

test-watch: test-watch-go test-watch-swift

test-watch-go:
	$(GO) test -race -count=1 $(WATCH_PKGS)

# Swift builds with at most 2 jobs (LW_SWIFT_JOBS) on this 2-core machine.
test-watch-swift: build
	scripts/swift-watch-live.sh scripts/swift-chroot.sh test

test-watch-schemathesis: build
	scripts/swift-watch-live.sh scripts/swift-watch-schemathesis.sh

bench-watch:
	mkdir -p $(LW_CACHE)
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./internal/watchstate/ | tee $(LW_CACHE)/bench-watch.txt

watch-fixtures:
	LW_UPDATE_FIXTURES=1 $(GO) test -count=1 -run TestGoldenFixtures ./extension/watchapiextension/

TEST_TARGETS  += test-watch test-watch-schemathesis
BENCH_TARGETS += bench-watch
