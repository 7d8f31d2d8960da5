# tf_anomaly: the default TensorFlow model, its evaluation and benchmarks.
#
#   make model          retrain the default model with the pinned TensorFlow (cached
#                       venv, ~20 s on 2 cores), check its validation metrics against
#                       the committed training_metrics.json (model/train/check_metrics.py
#                       states the tolerances), then install model, metrics and test
#                       fixtures into processor/tfanomalyprocessor. After a deliberate
#                       change to the training, MODEL_ACCEPT=1 installs without the check.
#   make test-anomaly-model   (part of make test) the same retraining and check into a
#                       temp dir; the committed files are left alone
#   make eval-anomaly   generate the held-out synthetic set and score it with
#                       cmd/latencyeval (TF model vs statistical baseline)
#   make bench-anomaly  processor throughput / memory benchmarks (docs/benchmarks/anomaly.md)

ANOMALY_PKG      := processor/tfanomalyprocessor
ANOMALY_MODELDIR := $(ANOMALY_PKG)/internal/defaultmodel
ANOMALY_EVALDIR  := $(LW_CACHE)/anomaly-heldout

.PHONY: model test-anomaly-model eval-anomaly bench-anomaly
TEST_TARGETS  += test-anomaly-model
BENCH_TARGETS += bench-anomaly

# train OUT: retrain into OUT/model and OUT/testdata, printing the log on failure.
define anomaly_train
"$$py" model/train/train.py "$(1)/model" "$(1)/testdata" >"$(1)/train.log" 2>&1 || { cat "$(1)/train.log"; exit 1; }
endef

model:
	@py="$$(scripts/tf-venv.sh)"; \
	out="$$(mktemp -d)"; trap 'rm -rf "$$out"' EXIT; \
	echo "model: training with $$("$$py" -c 'import tensorflow as tf; print("TensorFlow", tf.__version__)' 2>/dev/null)"; \
	$(call anomaly_train,$$out); \
	if [[ "$${MODEL_ACCEPT:-}" != 1 ]]; then \
	  "$$py" model/train/check_metrics.py $(ANOMALY_MODELDIR)/training_metrics.json "$$out/model/training_metrics.json"; \
	fi; \
	cp "$$out/model/latency_anomaly.tflite" "$$out/model/training_metrics.json" $(ANOMALY_MODELDIR)/; \
	cp "$$out/testdata/"* $(ANOMALY_PKG)/testdata/; \
	$(GO) test -count=1 -run 'TestDefaultModel|TestFeaturesMatchTraining' ./$(ANOMALY_PKG)/

test-anomaly-model:
	@py="$$(scripts/tf-venv.sh)"; \
	out="$$(mktemp -d)"; trap 'rm -rf "$$out"' EXIT; \
	echo "anomaly: retraining the default model to check it reproduces"; \
	$(call anomaly_train,$$out); \
	"$$py" model/train/check_metrics.py $(ANOMALY_MODELDIR)/training_metrics.json "$$out/model/training_metrics.json"; \
	if ! diff -rq "$$out/testdata" $(ANOMALY_PKG)/testdata --exclude metrics --exclude invalid --exclude config.yaml >/dev/null; then \
	  echo "anomaly: note: committed fixtures in $(ANOMALY_PKG)/testdata differ from a fresh training run;"; \
	  echo "anomaly:       refresh them with 'make model' and commit."; \
	fi

eval-anomaly:
	@py="$$(scripts/tf-venv.sh)"; \
	"$$py" model/train/heldout.py "$(ANOMALY_EVALDIR)/data" "$(ANOMALY_EVALDIR)/labels.json"; \
	$(GO) run ./cmd/latencyeval -data "$(ANOMALY_EVALDIR)/data" -labels "$(ANOMALY_EVALDIR)/labels.json" \
	  -out "$(ANOMALY_EVALDIR)/out"

bench-anomaly:
	$(GO) test -run '^$$' -bench 'Throughput' -benchmem -benchtime 30x -count 3 ./$(ANOMALY_PKG)/
	$(GO) test -run '^$$' -bench 'MemoryPerSeries' -benchtime 1x ./$(ANOMALY_PKG)/
