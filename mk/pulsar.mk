# Pulsar exporter/receiver and their shared client (issue 3).
PULSAR_PKGS := ./internal/pulsarclient/... ./exporter/pulsarexporter/... ./receiver/pulsarreceiver/...

.PHONY: test-pulsar
# The unit tests again under the race detector: the exporter awaits broker
# callbacks from client goroutines.
test-pulsar:
	$(GO) test -race -count=1 $(PULSAR_PKGS)

TEST_TARGETS += test-pulsar
