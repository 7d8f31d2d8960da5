# Real Kafka and Pulsar for integration tests (docs/brokers.md).
#   make brokers-fetch         resolve both brokers' jars into $(LW_CACHE) (idempotent)
#   make brokers-integration   the harness's own integration tests inside scripts/with-brokers.sh
# `make integration` already runs internal/testbrokers' tests with everything else.

.PHONY: brokers-fetch brokers-integration
brokers-fetch:
	scripts/brokers/kafka.sh fetch
	scripts/brokers/pulsar.sh fetch

brokers-integration:
	scripts/with-brokers.sh $(GO) test -count=1 -tags integration -run '^TestIntegration' -v ./internal/testbrokers/
