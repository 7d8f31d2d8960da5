# internal/tflite: conformance against TensorFlow, and the LiteRT benchmark.
#
#   make test-tflite-conformance   regenerate the conformance models and TensorFlow's
#                                  outputs with the pinned TF (cached venv) into a temp
#                                  dir and run the Go conformance test against them
#   make bench-tflite              Go interpreter vs LiteRT on the same model/batches

TFLITE_PKG      := ./internal/tflite
TFLITE_FIXTURES := internal/tflite/testdata/conformance

.PHONY: test-tflite-conformance bench-tflite tflite-fixtures
TEST_TARGETS  += test-tflite-conformance
BENCH_TARGETS += bench-tflite

test-tflite-conformance:
	@py="$$(scripts/tf-venv.sh)"; \
	out="$$(mktemp -d)"; trap 'rm -rf "$$out"' EXIT; \
	echo "tflite: regenerating conformance models with $$("$$py" -c 'import tensorflow as tf; print("TensorFlow", tf.__version__)' 2>/dev/null)"; \
	log="$$(mktemp)"; \
	"$$py" model/conformance/generate.py "$$out" >"$$log" 2>&1 || { cat "$$log"; rm -f "$$log"; exit 1; }; rm -f "$$log"; \
	LW_TFLITE_CONFORMANCE_DIR="$$out" $(GO) test -count=1 -run '^TestConformance(KernelPaths)?$$' $(TFLITE_PKG); \
	if ! diff -rq "$$out" $(TFLITE_FIXTURES) >/dev/null; then \
	  echo "tflite: note: committed fixtures in $(TFLITE_FIXTURES) differ from a fresh generation;"; \
	  echo "tflite:       refresh them with 'make tflite-fixtures' and commit."; \
	fi

# Rewrites the committed fixtures from the pinned TensorFlow.
tflite-fixtures:
	@py="$$(scripts/tf-venv.sh)"; \
	rm -f $(TFLITE_FIXTURES)/*.json $(TFLITE_FIXTURES)/*.tflite; \
	log="$$(mktemp)"; \
	"$$py" model/conformance/generate.py $(TFLITE_FIXTURES) >"$$log" 2>&1 || { cat "$$log"; rm -f "$$log"; exit 1; }; rm -f "$$log"

bench-tflite:
	@py="$$(scripts/tf-venv.sh)"; \
	"$$py" model/conformance/bench_litert.py --go "$(GO)" --repo "$(LW_REPO)"
