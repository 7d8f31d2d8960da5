package tflite

// Float32 matrix multiplication for FULLY_CONNECTED and CONV_2D (via im2col).
// The right-hand side (constant weights) is packed once, at load, into panels
// of panelWidth columns so the inner loop streams contiguous memory:
//
//	C[i, j] = act(bias[j] + Σ_k A[i, k] · W[j, k])
//
// with W in TFLite's [out, in] layout. On amd64 with AVX2+FMA the micro-kernels
// are in gemm_amd64.s (4 rows × 16 columns, and 1 row × 64 columns for the
// batch-1 case); elsewhere the portable Go kernel below runs.

const (
	panelWidth = 16
	panelGroup = 4 // panels are padded to a multiple of this (1×64 kernel)
)

// packedMatrix is B = Wᵀ stored panel by panel: panel p holds columns
// [16p, 16p+16) as k rows of 16 values, zero past n.
type packedMatrix struct {
	k, n int
	data []float32
}

func panels(n int) int { return (n + panelWidth - 1) / panelWidth }

func paddedPanels(n int) int { return (panels(n) + panelGroup - 1) / panelGroup * panelGroup }

func packedSize(n, k int) int { return paddedPanels(n) * k * panelWidth }

// packWeights packs W [n, k] (row-major, k contiguous).
func packWeights(w []float32, n, k int) *packedMatrix {
	p := &packedMatrix{k: k, n: n, data: make([]float32, packedSize(n, k))}
	p.packInto(w, p.data)
	return p
}

func (p *packedMatrix) packInto(w []float32, dst []float32) {
	n, k := p.n, p.k
	clear(dst)
	for pi := 0; pi < panels(n); pi++ {
		base := pi * k * panelWidth
		for kk := 0; kk < k; kk++ {
			row := dst[base+kk*panelWidth : base+(kk+1)*panelWidth]
			for c := 0; c < panelWidth; c++ {
				if j := pi*panelWidth + c; j < n {
					row[c] = w[j*k+kk]
				}
			}
		}
	}
}

// clampFor returns the clamp the micro-kernels apply for a fused activation;
// the third value enables it. TANH is applied by the caller.
func clampFor(a activation) [3]float32 {
	switch a {
	case actRelu:
		return [3]float32{0, float32(inf), 1}
	case actRelu6:
		return [3]float32{0, 6, 1}
	case actReluN1To1:
		return [3]float32{-1, 1, 1}
	}
	return [3]float32{}
}

var (
	inf     = 1e39 // overflows float32 to +Inf
	zeros64 [64]float32
)

// gemm computes C[m, n] = act(A[m, k] · B + bias); bias may be nil, lda/ldc are
// row strides. Fused TANH is left to the caller (applyActivation).
func gemm(m int, a []float32, lda int, b *packedMatrix, bias []float32, c []float32, ldc int, act activation) {
	cl := clampFor(act)
	if gemmFast(m, a, lda, b, bias, c, ldc, &cl) {
		return
	}
	k, n := b.k, b.n
	for i := 0; i < m; i++ {
		for pi := 0; pi < panels(n); pi++ {
			pan := b.data[pi*k*panelWidth : (pi+1)*k*panelWidth]
			w := min(panelWidth, n-pi*panelWidth)
			kernel1x16(k, a[i*lda:i*lda+k], pan, c[i*ldc+pi*panelWidth:], w, bias, pi*panelWidth, &cl)
		}
	}
}

// kernel1x16 computes one row of one panel (portable kernel).
func kernel1x16(k int, a []float32, pan []float32, c []float32, w int, bias []float32, j0 int, cl *[3]float32) {
	var acc [panelWidth]float32
	if bias != nil {
		copy(acc[:w], bias[j0:j0+w])
	}
	pan = pan[:k*panelWidth]
	for kk, av := range a[:k] {
		r := pan[kk*panelWidth : kk*panelWidth+panelWidth : kk*panelWidth+panelWidth]
		acc[0] += av * r[0]
		acc[1] += av * r[1]
		acc[2] += av * r[2]
		acc[3] += av * r[3]
		acc[4] += av * r[4]
		acc[5] += av * r[5]
		acc[6] += av * r[6]
		acc[7] += av * r[7]
		acc[8] += av * r[8]
		acc[9] += av * r[9]
		acc[10] += av * r[10]
		acc[11] += av * r[11]
		acc[12] += av * r[12]
		acc[13] += av * r[13]
		acc[14] += av * r[14]
		acc[15] += av * r[15]
	}
	if cl[2] != 0 {
		for i, v := range acc[:w] {
			acc[i] = min(max(v, cl[0]), cl[1])
		}
	}
	copy(c[:w], acc[:w])
}
