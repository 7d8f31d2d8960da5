# latency_enrich processor (processor/latencyenrichprocessor): race-checked unit
# tests and benchmarks. Broker-backed tests (TestIntegration*) and the binary's
# end-to-end test (test/e2e/enrich_test.go, TestE2E*) run in `make integration`.
.PHONY: test-enrich bench-enrich

test-enrich:
	$(GO) test -count=1 -race ./processor/latencyenrichprocessor/...

# Records numbers for docs/benchmarks/enrich.md; same run for latency_enrich and
# the contrib attributes processor so the ratio is fair.
bench-enrich:
	mkdir -p $(LW_CACHE)
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./processor/latencyenrichprocessor/ | tee $(LW_CACHE)/bench-enrich.txt

TEST_TARGETS  += test-enrich
BENCH_TARGETS += bench-enrich
