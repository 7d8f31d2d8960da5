# tf_anomaly: the default TensorFlow model, its evaluation and benchmarks.
#
#   make model          retrain the default model with the pinned TensorFlow (cached
#                       venv, ~1-2 min on 2 cores), check its validation metrics against
#                       the committed training_metrics.json (model/train/check_metrics.py
#                       states the tolerances), then install model, metrics and test
#                       fixtures into processor/tfanomalyprocessor
#   make eval-anomaly   generate the held-out synthetic set and score it with
#                       cmd/latencyeval (TF model vs statistical baseline)
#   make bench-anomaly  processor throughput / memory benchmarks (docs/benchmarks/anomaly.md)

ANOMALY_PKG      := processor/tfanomalyprocessor
ANOMALY_MODELDIR := $(ANOMALY_PKG)/internal/defaultmodel
ANOMALY_EVALDIR  := $(LW_CACHE)/anomaly-heldout

.PHONY: model eval-anomaly bench-anomaly
BENCH_TARGETS += bench-anomaly

model:
	@py="$$(scripts/tf-venv.sh)"; \
	out="$$(mktemp -d)"; trap 'rm -rf "$$out"' EXIT; \
	log="$$out/train.log"; \
	echo "model: training (log in $$log while it runs)"; \
	"$$py" model/train/train.py "$$out/model" "$$out/testdata" >"$$log" 2>&1 || { cat "$$log"; exit 1; }; \
	"$$py" model/train/check_metrics.py $(ANOMALY_MODELDIR)/training_metrics.json "$$out/model/training_metrics.json"; \
	cp "$$out/model/latency_anomaly.tflite" "$$out/model/training_metrics.json" $(ANOMALY_MODELDIR)/; \
	cp "$$out/testdata/"* $(ANOMALY_PKG)/testdata/; \
	$(GO) test -count=1 -run 'TestDefaultModel|TestFeaturesMatchTraining' ./$(ANOMALY_PKG)/

eval-anomaly:
	@py="$$(scripts/tf-venv.sh)"; \
	"$$py" model/train/heldout.py "$(ANOMALY_EVALDIR)/data" "$(ANOMALY_EVALDIR)/labels.json"; \
	$(GO) run ./cmd/latencyeval -data "$(ANOMALY_EVALDIR)/data" -labels "$(ANOMALY_EVALDIR)/labels.json" \
	  -out "$(ANOMALY_EVALDIR)/out"

bench-anomaly:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x ./$(ANOMALY_PKG)/
