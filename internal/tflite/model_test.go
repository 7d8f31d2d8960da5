package tflite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFullyConnectedModelRuns(t *testing.T) {
	m, err := Load(fcModel().bytes(), "fc.tflite")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name() != "fc.tflite" || m.Description() != "test model" {
		t.Fatalf("name %q description %q", m.Name(), m.Description())
	}
	ip, err := NewSignatureInterpreter(m, "serving_default")
	if err != nil {
		t.Fatal(err)
	}
	if err := ip.ResizeBatch(2); err != nil {
		t.Fatal(err)
	}
	if err := ip.AllocateTensors(); err != nil {
		t.Fatal(err)
	}
	x, err := ip.InputByName("window")
	if err != nil {
		t.Fatal(err)
	}
	copy(x.Float32s(), []float32{1, 1, 1, 1, 0, -1})
	if err := ip.Invoke(); err != nil {
		t.Fatal(err)
	}
	y, err := ip.OutputByName("score")
	if err != nil {
		t.Fatal(err)
	}
	// row 0: [6.5, -5.75→0], row 1: [-2+0.5, 2+0.25]
	want := []float32{6.5, 0, 0, 2.25}
	if !sameShape(y.Shape(), []int{2, 2}) {
		t.Fatalf("shape %v", y.Shape())
	}
	for i, v := range want {
		if y.Float32s()[i] != v {
			t.Fatalf("y = %v, want %v", y.Float32s(), want)
		}
	}
	// Tensor names work too, and unknown names list what exists.
	if _, err := ip.InputByName("x"); err != nil {
		t.Fatal(err)
	}
	if _, err := ip.OutputByName("nope"); err == nil || !strings.Contains(err.Error(), `"score"`) {
		t.Fatalf("unknown output: %v", err)
	}
	if _, err := NewSignatureInterpreter(m, "other"); err == nil || !strings.Contains(err.Error(), "serving_default") {
		t.Fatalf("unknown signature: %v", err)
	}
}

func TestResizeRejectsFixedDimensions(t *testing.T) {
	m, err := Load(fcModel().bytes(), "fc.tflite")
	if err != nil {
		t.Fatal(err)
	}
	ip, err := NewInterpreter(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		shape []int
		want  string
	}{
		{[]int{4, 5}, "dimension 1 is fixed at 3"},
		{[]int{4}, "rank 2"},
		{[]int{0, 3}, "must be positive"},
	} {
		if err := ip.ResizeInput(0, tc.shape); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("resize %v: %v, want %q", tc.shape, err, tc.want)
		}
	}
	if err := ip.ResizeBatch(DefaultLimits.MaxBatch + 1); err == nil {
		t.Error("batch above the limit accepted")
	}
	if err := ip.ResizeInput(3, []int{1}); err == nil {
		t.Error("input index out of range accepted")
	}
}

func TestLoadRejectsMalformedModels(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*testModel)
		raw    []byte
		want   string
	}{
		{name: "short", raw: []byte{1, 2, 3}, want: "too short"},
		{name: "identifier", mutate: func(m *testModel) { m.identifier = "ABCD" }, want: `file identifier is "ABCD"`},
		{name: "version", mutate: func(m *testModel) { m.version = 2 }, want: "schema version 2, want 3"},
		{name: "opcode index", mutate: func(m *testModel) { m.ops[0].opcode = 7 }, want: "opcode_index 7 out of range"},
		{name: "tensor index", mutate: func(m *testModel) { m.ops[0].inputs[1] = 9 }, want: "tensor index 9 out of range"},
		{name: "graph input index", mutate: func(m *testModel) { m.inputs = []int32{-2} }, want: "tensor index -2 out of range"},
		{name: "buffer index", mutate: func(m *testModel) { m.tensors[0].buffer = 40 }, want: "buffer index 40 out of range"},
		{name: "buffer size", mutate: func(m *testModel) { m.tensors[1].data = f32bytes(1, 2) }, want: "constant data is 8 bytes"},
		{name: "negative dim", mutate: func(m *testModel) { m.tensors[3].shape = []int32{-1, 2}; m.tensors[3].shapeSig = nil }, want: "negative dimension"},
		{name: "huge tensor", mutate: func(m *testModel) { m.tensors[3].shape = []int32{1 << 20, 1 << 20}; m.tensors[3].shapeSig = nil }, want: "exceeds the limit"},
		{name: "shape signature", mutate: func(m *testModel) { m.tensors[0].shapeSig = []int32{-1, 4} }, want: "disagrees with shape"},
		{name: "activation type", mutate: func(m *testModel) { m.tensors[3].typ = Int8 }, want: "type INT8 is not supported for activations"},
		{name: "read before write", mutate: func(m *testModel) { m.ops[0].inputs[0] = 3; m.ops[0].outputs[0] = 0; m.inputs = nil }, want: "before anything writes it"},
		{name: "unwritten output", mutate: func(m *testModel) {
			m.outputs = []int32{0, 3}
			m.tensors = append(m.tensors, testTensor{name: "z", shape: []int32{1}, typ: Float32})
			m.outputs = []int32{4}
		}, want: `output tensor 4 "z" is never written`},
		{name: "constant input", mutate: func(m *testModel) { m.inputs = []int32{1} }, want: "is a constant"},
		{name: "weights shape", mutate: func(m *testModel) { m.tensors[1].shape = []int32{6}; m.tensors[1].data = f32bytes(1, 2, 3, 4, 5, 6) }, want: "want [units, depth]"},
		{name: "signature tensor", mutate: func(m *testModel) { m.sigs[0].output = map[string]uint32{"score": 1} }, want: "not a subgraph 0 input/output"},
		{name: "signature subgraph", mutate: func(m *testModel) { m.sigs[0].subgraph = 3 }, want: "subgraph_index 3 out of range"},
		{name: "int8 without scale", mutate: func(m *testModel) { m.tensors[1].typ = Int8; m.tensors[1].data = []byte{1, 2, 3, 4, 5, 6} }, want: "without quantization parameters"},
		{name: "bad scale", mutate: func(m *testModel) {
			m.tensors[1].typ = Int8
			m.tensors[1].data = []byte{1, 2, 3, 4, 5, 6}
			m.tensors[1].scale = []float32{-1}
		}, want: "not a positive finite number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.raw
			if data == nil {
				m := fcModel()
				tc.mutate(&m)
				data = m.bytes()
			}
			_, err := Load(data, "bad.tflite")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), `model "bad.tflite"`) {
				t.Fatalf("error %q does not name the model", err)
			}
		})
	}
}

func TestLoadNamesEveryUnsupportedOperator(t *testing.T) {
	m := fcModel()
	m.opcodes = append(m.opcodes, testOpcode{code: 128 /* CUMSUM */}, testOpcode{code: 48 /* TOPK_V2 */})
	m.tensors = append(m.tensors, testTensor{name: "a", shape: []int32{1, 2}, typ: Float32}, testTensor{name: "b", shape: []int32{1, 2}, typ: Float32})
	m.ops = append(m.ops, testOp{opcode: 1, inputs: []int32{3}, outputs: []int32{4}}, testOp{opcode: 2, inputs: []int32{4}, outputs: []int32{5}})
	_, err := Load(m.bytes(), "exotic.tflite")
	want := `tflite: model "exotic.tflite": unsupported operator(s): CUMSUM, TOPK_V2`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestLoadReadsDeprecatedBuiltinCode(t *testing.T) {
	// Writers before schema 3a only fill the int8 deprecated_builtin_code.
	m := fcModel()
	m.opcodes = []testOpcode{{code: opFullyConnected, onlyDep: true}}
	if _, err := Load(m.bytes(), "old.tflite"); err != nil {
		t.Fatal(err)
	}
	// Newer writers put 127 (PLACEHOLDER_FOR_GREATER_OP_CODES) there and the
	// real code in builtin_code: the larger one wins.
	m.opcodes = []testOpcode{{code: 147 /* BUCKETIZE */, deprecated: 127}}
	_, err := Load(m.bytes(), "new.tflite")
	if err == nil || !strings.Contains(err.Error(), "BUCKETIZE") {
		t.Fatalf("got %v, want BUCKETIZE named", err)
	}
}

func TestLoadFileNamesMissingFile(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "missing.tflite"))
	if err == nil || !strings.Contains(err.Error(), "missing.tflite") {
		t.Fatalf("got %v", err)
	}
}

func TestArenaLimit(t *testing.T) {
	m, err := LoadWithLimits(fcModel().bytes(), "fc.tflite", Limits{MaxTensorElements: 1 << 20, MaxArenaBytes: 1024, MaxWhileIterations: 10, MaxBatch: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ip, err := NewInterpreter(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := ip.ResizeBatch(1000); err != nil {
		t.Fatal(err)
	}
	if err := ip.AllocateTensors(); err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Fatalf("got %v, want the arena limit", err)
	}
}

func TestSupportedOperators(t *testing.T) {
	ops := strings.Join(SupportedOperators(), ",")
	for _, want := range []string{"FULLY_CONNECTED", "CONV_2D", "WHILE", "STRIDED_SLICE", "MEAN"} {
		if !strings.Contains(ops, want) {
			t.Errorf("%s missing from %s", want, ops)
		}
	}
}

// TFLite carries fused-LSTM state (variable tensors) from one Invoke to the
// next; ResetVariables starts over. Same behaviour as tf.lite.Interpreter's
// reset_all_variables.
func TestLSTMStateCarriesUntilReset(t *testing.T) {
	m, err := LoadFile(filepath.Join("testdata", "conformance", "lstm_tf_keras.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	ip, err := NewInterpreter(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := ip.AllocateTensors(); err != nil {
		t.Fatal(err)
	}
	for i := range ip.Input(0).Float32s() {
		ip.Input(0).Float32s()[i] = float32(i%7) / 7
	}
	run := func() []float32 {
		if err := ip.Invoke(); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), ip.Output(0).Float32s()...)
	}
	first, second := run(), run()
	if sameFloats(first, second) {
		t.Fatalf("second Invoke gave %v again; the LSTM state should carry over", first)
	}
	ip.ResetVariables()
	if again := run(); !sameFloats(first, again) {
		t.Fatalf("after ResetVariables got %v, want %v", again, first)
	}
}

func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A Model is shared: interpreters on several goroutines read its constants
// and packed weights at once (run with -race) and agree on the results.
func TestInterpretersShareModelConcurrently(t *testing.T) {
	m, err := LoadFile(filepath.Join("testdata", "conformance", benchModel))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		out []float32
		err error
	}
	results := make(chan result, 4)
	for g := 0; g < 4; g++ {
		go func() {
			ip, err := NewInterpreter(m)
			if err == nil {
				err = ip.ResizeBatch(3)
			}
			if err == nil {
				err = ip.AllocateTensors()
			}
			if err != nil {
				results <- result{err: err}
				return
			}
			for i := range ip.Input(0).Float32s() {
				ip.Input(0).Float32s()[i] = float32(i%11) / 11
			}
			for range 20 {
				if err := ip.Invoke(); err != nil {
					results <- result{err: err}
					return
				}
			}
			results <- result{out: append([]float32(nil), ip.Output(0).Float32s()...)}
		}()
	}
	var first []float32
	for range 4 {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		if first == nil {
			first = r.out
		} else if !sameFloats(first, r.out) {
			t.Fatal("interpreters sharing a model disagree")
		}
	}
	if len(first) != 3*64*4 {
		t.Fatalf("output has %d values", len(first))
	}
}

func TestWhileIterationBudget(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "conformance", "gru.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	lim := DefaultLimits
	lim.MaxWhileIterations = 10 // the GRU loops over 64 time steps
	m, err := LoadWithLimits(data, "gru.tflite", lim)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := NewInterpreter(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := ip.Invoke(); err == nil || !strings.Contains(err.Error(), "more than 10 loop iterations") {
		t.Fatalf("got %v, want the iteration budget error", err)
	}
}
