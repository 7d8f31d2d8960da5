package tflite

// Float32 matrix multiplication for FULLY_CONNECTED, CONV_2D (via im2col) and
// BATCH_MATMUL. The right-hand side (weights) is packed once into panels of
// panelWidth columns so that the inner loop streams contiguous memory:
//
//	C[i, j] = bias[j] + Σ_k A[i, k] · B[k, j]
//
// with B given as W[j, k] (TFLite's [out, in] weight layout).

const panelWidth = 16

// packedMatrix is B = Wᵀ stored panel by panel: panel p holds columns
// [16p, 16p+16) as K rows of 16 values (zero padded past N).
type packedMatrix struct {
	k, n int
	data []float32
}

func panels(n int) int { return (n + panelWidth - 1) / panelWidth }

// packWeights packs W [n, k] (row-major, k contiguous).
func packWeights(w []float32, n, k int) *packedMatrix {
	p := &packedMatrix{k: k, n: n, data: make([]float32, panels(n)*k*panelWidth)}
	p.packInto(w, p.data)
	return p
}

func (p *packedMatrix) packInto(w []float32, dst []float32) {
	n, k := p.n, p.k
	for pi := 0; pi < panels(n); pi++ {
		base := pi * k * panelWidth
		for kk := 0; kk < k; kk++ {
			row := dst[base+kk*panelWidth : base+(kk+1)*panelWidth]
			for c := 0; c < panelWidth; c++ {
				j := pi*panelWidth + c
				if j < n {
					row[c] = w[j*k+kk]
				} else {
					row[c] = 0
				}
			}
		}
	}
}

// gemm computes C[m, n] = A[m, k] · B + bias (bias may be nil); lda/ldc are
// row strides. Rows are processed four at a time.
func gemm(m int, a []float32, lda int, b *packedMatrix, bias []float32, c []float32, ldc int) {
	k, n := b.k, b.n
	np := panels(n)
	i := 0
	for ; i+4 <= m; i += 4 {
		for pi := 0; pi < np; pi++ {
			pan := b.data[pi*k*panelWidth : (pi+1)*k*panelWidth]
			w := min(panelWidth, n-pi*panelWidth)
			kernel4x16(k, a[i*lda:], lda, pan, c[i*ldc+pi*panelWidth:], ldc, w, bias, pi*panelWidth)
		}
	}
	for ; i < m; i++ {
		for pi := 0; pi < np; pi++ {
			pan := b.data[pi*k*panelWidth : (pi+1)*k*panelWidth]
			w := min(panelWidth, n-pi*panelWidth)
			kernel1x16(k, a[i*lda:i*lda+k], pan, c[i*ldc+pi*panelWidth:], w, bias, pi*panelWidth)
		}
	}
}

// kernel1x16 computes one row of one panel.
func kernel1x16(k int, a []float32, pan []float32, c []float32, w int, bias []float32, j0 int) {
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
	copy(c[:w], acc[:w])
}

// kernel4x16 computes four rows of one panel; gemm_amd64.go replaces it with an
// AVX2/FMA version when the CPU has one.
var kernel4x16 = kernel4x16Go

func kernel4x16Go(k int, a []float32, lda int, pan []float32, c []float32, ldc int, w int, bias []float32, j0 int) {
	for r := 0; r < 4; r++ {
		kernel1x16(k, a[r*lda:r*lda+k], pan, c[r*ldc:], w, bias, j0)
	}
}
