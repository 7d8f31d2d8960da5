//go:build amd64 && !purego

package tflite

import "golang.org/x/sys/cpu"

var (
	useAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	useAVX512 = useAVX2 && cpu.X86.HasAVX512F
)

// limitKernels caps the kernels used (0 portable Go, 1 AVX2, 2 AVX-512) so
// tests can cover every path on one machine; it returns the restore function.
func limitKernels(level int) func() {
	a2, a5 := useAVX2, useAVX512
	useAVX2 = a2 && level >= 1
	useAVX512 = a5 && level >= 2
	return func() { useAVX2, useAVX512 = a2, a5 }
}

//go:noescape
func gemm8x16AVX512(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, clamp *[3]float32)

//go:noescape
func gemm4x16AVX2(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, clamp *[3]float32)

//go:noescape
func gemm1x64AVX2(k int, a *float32, b *float32, panelStride int, c *float32, bias *float32, clamp *[3]float32)

// gemmFast runs the AVX2 kernels when the CPU has them.
func gemmFast(m int, a []float32, lda int, b *packedMatrix, bias []float32, c []float32, ldc int, cl *[3]float32) bool {
	if !useAVX2 {
		return false
	}
	gemmAVX2(m, a, lda, b, bias, c, ldc, cl)
	return true
}

// gemmAVX2 tiles C into 8×16 (AVX-512) and 4×16 blocks (1×64 for leftover rows). Blocks that run
// past n are computed into a stack buffer and the valid columns copied, so the
// kernels never write outside C; bias is likewise padded on the stack.
func gemmAVX2(m int, a []float32, lda int, b *packedMatrix, bias []float32, c []float32, ldc int, cl *[3]float32) {
	k, n := b.k, b.n
	if k == 0 {
		// Σ over nothing: the kernels would read A[0] for the broadcast.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if bias != nil {
				copy(row, bias[:n])
			} else {
				clear(row)
			}
		}
		return
	}
	ps := k * panelWidth
	var tmp [8 * 64]float32
	var bpad [64]float32
	// biasAt returns bias[j0:j0+span] or, past n, a zero-padded copy.
	biasAt := func(j0, span int) *float32 {
		if bias == nil {
			return &zeros64[0]
		}
		if j0+span <= n {
			return &bias[j0]
		}
		clear(bpad[:])
		copy(bpad[:], bias[j0:n])
		return &bpad[0]
	}
	i := 0
	for ; useAVX512 && i+8 <= m; i += 8 {
		for pi := 0; pi < panels(n); pi++ {
			j0 := pi * panelWidth
			w := min(panelWidth, n-j0)
			if w == panelWidth {
				gemm8x16AVX512(k, &a[i*lda], lda, &b.data[pi*ps], &c[i*ldc+j0], ldc, biasAt(j0, panelWidth), cl)
				continue
			}
			gemm8x16AVX512(k, &a[i*lda], lda, &b.data[pi*ps], &tmp[0], panelWidth, biasAt(j0, panelWidth), cl)
			for r := 0; r < 8; r++ {
				copy(c[(i+r)*ldc+j0:(i+r)*ldc+j0+w], tmp[r*panelWidth:r*panelWidth+w])
			}
		}
	}
	for ; i+4 <= m; i += 4 {
		for pi := 0; pi < panels(n); pi++ {
			j0 := pi * panelWidth
			w := min(panelWidth, n-j0)
			if w == panelWidth {
				gemm4x16AVX2(k, &a[i*lda], lda, &b.data[pi*ps], &c[i*ldc+j0], ldc, biasAt(j0, panelWidth), cl)
				continue
			}
			gemm4x16AVX2(k, &a[i*lda], lda, &b.data[pi*ps], &tmp[0], panelWidth, biasAt(j0, panelWidth), cl)
			for r := 0; r < 4; r++ {
				copy(c[(i+r)*ldc+j0:(i+r)*ldc+j0+w], tmp[r*panelWidth:r*panelWidth+w])
			}
		}
	}
	for ; i < m; i++ {
		for g := 0; g < paddedPanels(n)/panelGroup; g++ {
			j0 := g * panelGroup * panelWidth
			w := min(64, n-j0)
			if w == 64 {
				gemm1x64AVX2(k, &a[i*lda], &b.data[g*panelGroup*ps], ps, &c[i*ldc+j0], biasAt(j0, 64), cl)
				continue
			}
			gemm1x64AVX2(k, &a[i*lda], &b.data[g*panelGroup*ps], ps, &tmp[0], biasAt(j0, 64), cl)
			copy(c[i*ldc+j0:i*ldc+j0+w], tmp[:w])
		}
	}
}
