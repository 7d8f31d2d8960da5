//go:build !amd64 || purego

package tflite

// gemmFast reports that no assembly kernel is available; gemm falls back to Go.
func gemmFast(m int, a []float32, lda int, b *packedMatrix, bias []float32, c []float32, ldc int, cl *[3]float32) bool {
	return false
}

// limitKernels is a no-op: only the portable kernel exists here.
func limitKernels(level int) func() { return func() {} }
