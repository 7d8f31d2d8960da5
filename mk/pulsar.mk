# Pulsar exporter/receiver and their shared client (issue 3).
PULSAR_PKGS := ./internal/pulsarclient/... ./exporter/pulsarexporter/... ./receiver/pulsarreceiver/...

.PHONY: test-pulsar
# The unit tests again under the race detector: the exporter awaits broker
# callbacks from client goroutines.
test-pulsar:
	$(GO) test -race -count=1 $(PULSAR_PKGS)

TEST_TARGETS += test-pulsar

.PHONY: bench-pulsar
# Exporter vs raw pulsar-client-go producer on a real broker (docs/benchmarks/pulsar.md),
# then the broker-less exporter/receiver cost benchmarks.
# Three separate runs so exporter and raw producer alternate (E,R,E,R,E,R): on a
# shared, noisy machine pairs taken close together compare fairly.
bench-pulsar:
	scripts/with-brokers.sh bash -c 'set -euo pipefail; for i in 1 2 3; do $(GO) test -tags integration -run "^$$" \
	  -bench BenchmarkIntegrationPulsarThroughput -benchtime 5s -count 1 ./exporter/pulsarexporter/ | grep "^Benchmark"; done'
	$(GO) test -run '^$$' -bench . -benchtime 200x ./exporter/pulsarexporter/ ./receiver/pulsarreceiver/

BENCH_TARGETS += bench-pulsar
