package tflite

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// benchModel is the default-size window model of docs/benchmarks/tflite.md:
// a conv1d autoencoder over [batch, 64, 4] (model/conformance/generate.py).
const benchModel = "bench_conv_autoencoder.tflite"

func loadBench(tb testing.TB, batch int) *Interpreter {
	tb.Helper()
	m, err := LoadFile(filepath.Join("testdata", "conformance", benchModel))
	if err != nil {
		tb.Fatal(err)
	}
	ip, err := NewInterpreter(m)
	if err != nil {
		tb.Fatal(err)
	}
	if err := ip.ResizeBatch(batch); err != nil {
		tb.Fatal(err)
	}
	if err := ip.AllocateTensors(); err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, in := range ip.Inputs() {
		for i := range in.Float32s() {
			in.Float32s()[i] = float32(rng.NormFloat64())
		}
	}
	return ip
}

// BenchmarkInvoke reports per-window latency (ns/window) and windows/s on one
// core, for a single window and for a batch of 256.
func BenchmarkInvoke(b *testing.B) {
	for _, batch := range []int{1, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ip := loadBench(b, batch)
			b.ReportAllocs()
			for b.Loop() {
				if err := ip.Invoke(); err != nil {
					b.Fatal(err)
				}
			}
			perWindow := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(batch)
			b.ReportMetric(perWindow, "ns/window")
			b.ReportMetric(1e9/perWindow, "windows/s")
		})
	}
}

// Every conformance model, WHILE loops with run-time slice shapes included,
// runs without allocating once warmed up.
func TestConformanceModelsAllocateNothing(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "conformance", "*.tflite"))
	if err != nil || len(files) == 0 {
		t.Fatal("no conformance models")
	}
	for _, f := range files {
		m, err := LoadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ip, err := NewInterpreter(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := ip.Invoke(); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(5, func() {
			if err := ip.Invoke(); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per Invoke, want 0", filepath.Base(f), n)
		}
	}
}

func TestInvokeAllocatesNothing(t *testing.T) {
	for _, batch := range []int{1, 256} {
		ip := loadBench(t, batch)
		if err := ip.Invoke(); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(20, func() {
			if err := ip.Invoke(); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("batch %d: %v allocations per Invoke, want 0", batch, n)
		}
	}
}
