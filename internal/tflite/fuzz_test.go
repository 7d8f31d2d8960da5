package tflite

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits keep each fuzz input cheap: small tensors, a small arena and few
// loop iterations, so the fuzzer explores structure rather than big shapes.
var fuzzLimits = Limits{MaxTensorElements: 1 << 16, MaxArenaBytes: 1 << 22, MaxWhileIterations: 64, MaxBatch: 4}

// FuzzLoad feeds arbitrary bytes to the loader and, when a model loads, to the
// interpreter. Nothing may panic (panicOnBug turns the safety net off) and
// limits bound every allocation. `go test` replays testdata/fuzz/FuzzLoad and
// the seeds below; `go test -fuzz FuzzLoad ./internal/tflite` explores.
func FuzzLoad(f *testing.F) {
	f.Add(fcModel().bytes())
	small, _ := filepath.Glob(filepath.Join("testdata", "conformance", "*.tflite"))
	for _, p := range small {
		if st, err := os.Stat(p); err == nil && st.Size() <= 16<<10 {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		panicOnBug = true
		defer func() { panicOnBug = false }()
		m, err := LoadWithLimits(data, "fuzz.tflite", fuzzLimits)
		if err != nil {
			return
		}
		ip, err := NewInterpreter(m)
		if err != nil {
			return
		}
		if err := ip.Invoke(); err != nil {
			return
		}
		if err := ip.ResizeBatch(2); err == nil {
			_ = ip.Invoke()
		}
	})
}
