# apns exporter, its alert policy and the Apple-like APNs test server (issue 7).
#
#   make test-apns    race-checked unit tests (policy per concept, classifier, client,
#                     exporter against internal/apnstest, dispatcher bounds)
#   make bench-apns   pushes/s through the exporter vs raw apns2 and OTLP -> APNs latency
#                     (p50/p99, group_wait 0) against the same local APNs server, in
#                     process and through the built binary (docs/benchmarks/apns.md)
#
# The built collector's end-to-end test (test/e2e/apns_test.go, TestE2EAPNs) runs in
# `make integration`.
APNS_PKGS := ./exporter/apnsexporter/... ./internal/apnstest/...

.PHONY: test-apns bench-apns

test-apns:
	$(GO) test -race -count=1 $(APNS_PKGS)

bench-apns: build
	mkdir -p $(LW_CACHE)
	@# Throughput: each iteration is a round of 500 raw apns2 pushes then 500 exporter pushes.
	$(GO) test -run '^$$' -bench 'BenchmarkPushThroughput' -benchtime 20x -count 5 \
	  ./exporter/apnsexporter/ | tee $(LW_CACHE)/bench-apns.txt
	$(GO) test -run '^$$' -bench 'BenchmarkOTLPToAPNsLatency|BenchmarkConsumeNewIncident' -benchtime 3000x -count 5 \
	  ./exporter/apnsexporter/ | tee -a $(LW_CACHE)/bench-apns.txt
	$(GO) test -tags integration -run '^$$' -bench 'BenchmarkE2EAPNsLatency' -benchtime 2000x -count 5 \
	  ./test/e2e/ | tee -a $(LW_CACHE)/bench-apns.txt

TEST_TARGETS  += test-apns
BENCH_TARGETS += bench-apns
