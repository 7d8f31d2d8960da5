package tflite

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The conformance suite: models built by model/conformance/generate.py with
// TensorFlow, and the outputs of TensorFlow's own interpreter on seeded inputs.
// The committed fixtures let `go test` run without Python; `make
// test-tflite-conformance` regenerates them with the pinned TensorFlow into a
// temporary directory and points LW_TFLITE_CONFORMANCE_DIR at it.

type conformanceDoc struct {
	Model           string            `json:"model"`
	Generator       string            `json:"generator"`
	Signature       string            `json:"signature"`
	Tolerance       float64           `json:"tolerance"`
	ToleranceReason string            `json:"tolerance_reason"`
	Cases           []conformanceCase `json:"cases"`
}

type conformanceCase struct {
	Batch   int               `json:"batch"`
	Inputs  []conformanceData `json:"inputs"`
	Outputs []conformanceData `json:"outputs"`
}

type conformanceData struct {
	Tensor        string `json:"tensor"`
	SignatureName string `json:"signature_name"`
	Shape         []int  `json:"shape"`
	Data          string `json:"data"`
}

func (d conformanceData) floats(t *testing.T) []float32 {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(d.Data)
	if err != nil || len(raw)%4 != 0 {
		t.Fatalf("tensor %q: bad data: %v", d.Tensor, err)
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

func conformanceDir() string {
	if d := os.Getenv("LW_TFLITE_CONFORMANCE_DIR"); d != "" {
		return d
	}
	return filepath.Join("testdata", "conformance")
}

func TestConformance(t *testing.T) {
	testConformance(t)
}

// TestConformanceKernelPaths repeats the suite with the AVX2-only and the
// portable GEMM kernels, so every path is checked against TensorFlow on any
// machine that has the faster ones.
func TestConformanceKernelPaths(t *testing.T) {
	for _, level := range []int{1, 0} {
		t.Run(fmt.Sprintf("level=%d", level), func(t *testing.T) {
			defer limitKernels(level)()
			testConformance(t)
		})
	}
}

func testConformance(t *testing.T) {
	panicOnBug = true
	defer func() { panicOnBug = false }()
	dir := conformanceDir()
	docs, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no conformance fixtures in %s (regenerate with model/conformance/generate.py)", dir)
	}
	sort.Strings(docs)
	for _, path := range docs {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var doc conformanceDoc
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if doc.Tolerance <= 0 || doc.Tolerance > 1e-4 {
				t.Fatalf("tolerance %g outside (0, 1e-4]", doc.Tolerance)
			}
			m, err := LoadFile(filepath.Join(dir, doc.Model))
			if err != nil {
				t.Fatal(err)
			}
			// Run each case twice: by tensor name through the default interpreter
			// and by signature name through the signature interpreter.
			for _, bySig := range []bool{false, true} {
				var ip *Interpreter
				if bySig {
					if doc.Signature == "" {
						continue
					}
					ip, err = NewSignatureInterpreter(m, doc.Signature)
				} else {
					ip, err = NewInterpreter(m)
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range doc.Cases {
					runConformanceCase(t, ip, c, doc.Tolerance, bySig)
				}
			}
		})
	}
}

func runConformanceCase(t *testing.T, ip *Interpreter, c conformanceCase, tol float64, bySig bool) {
	t.Helper()
	if err := ip.ResizeBatch(c.Batch); err != nil {
		t.Fatal(err)
	}
	if err := ip.AllocateTensors(); err != nil {
		t.Fatal(err)
	}
	ip.ResetVariables() // the reference starts every case from zero LSTM state
	lookup := func(d conformanceData, input bool) *Tensor {
		name := d.Tensor
		if bySig {
			name = d.SignatureName
		}
		var tt *Tensor
		var err error
		if input {
			tt, err = ip.InputByName(name)
		} else {
			tt, err = ip.OutputByName(name)
		}
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	for _, in := range c.Inputs {
		tt := lookup(in, true)
		if !sameShape(tt.Shape(), in.Shape) {
			t.Fatalf("input %q: shape %v after resize, want %v", in.Tensor, tt.Shape(), in.Shape)
		}
		copy(tt.Float32s(), in.floats(t))
	}
	if err := ip.Invoke(); err != nil {
		t.Fatal(err)
	}
	for _, want := range c.Outputs {
		tt := lookup(want, false)
		if !sameShape(tt.Shape(), want.Shape) {
			t.Fatalf("batch %d output %q: shape %v, want %v", c.Batch, want.Tensor, tt.Shape(), want.Shape)
		}
		got, exp := tt.Float32s(), want.floats(t)
		worst, err := compareOutputs(got, exp, tol)
		if err != "" {
			t.Errorf("batch %d output %q (signature lookup %v): %s", c.Batch, want.Tensor, bySig, err)
		}
		t.Logf("batch %d output %q: %d values, worst relative error %.3g (tolerance %.0e)", c.Batch, want.Tensor, len(exp), worst, tol)
	}
}

// compareOutputs checks |got−want| ≤ tol·max_j|want_j| for every element: the
// error relative to the output tensor's magnitude (an element-wise relative
// error would fail on values that cancel to ~0, where float32 sums in a
// different order legitimately differ in every digit).
func compareOutputs(got, want []float32, tol float64) (float64, string) {
	if len(got) != len(want) {
		return 0, "length differs"
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	worst, at := 0.0, -1
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) {
			return math.Inf(1), fmt.Sprintf("element %d: got %v, TensorFlow %v", i, g, w)
		}
		den := scale
		if den == 0 {
			den = 1
		}
		if r := math.Abs(g-w) / den; r > worst {
			worst, at = r, i
		}
	}
	if worst > tol {
		return worst, formatDrift(worst, tol, at, got, want)
	}
	return worst, ""
}

func formatDrift(worst, tol float64, at int, got, want []float32) string {
	return fmt.Sprintf("relative error %.3g > %.3g at element %d: got %.9g, TensorFlow %.9g", worst, tol, at, got[at], want[at])
}
