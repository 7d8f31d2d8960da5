package tflite

import (
	"fmt"
	"math"
	"unsafe"
)

// ---- FULLY_CONNECTED ----

type fcKernel struct {
	act     activation
	keep    bool
	packed  *packedMatrix // constant float weights, packed at load
	hybrid  *hybridWeights
	n, k    int
	hasBias bool
}

// hybridWeights are int8 weights with float activations ("dynamic range"
// quantization). TFLite quantizes each input row to int8 at run time and
// accumulates in int32; this reproduces that arithmetic exactly so results
// match TensorFlow's interpreter instead of an idealised float product.
type hybridWeights struct {
	n, k      int
	w         []int8
	scale     []float32 // one per output channel (per-tensor scale repeated)
	rowSums   []int32   // Σ_k w[n,k], for asymmetric input quantization
	asymInput bool
}

func newHybrid(d *tensorDesc, n, k int, asym bool, channelDim int) (*hybridWeights, error) {
	q := d.quant
	for _, z := range q.zeroPoint {
		if z != 0 {
			return nil, fmt.Errorf("int8 weights %q have zero point %d; dynamic-range weights must be symmetric", d.name, z)
		}
	}
	h := &hybridWeights{n: n, k: k, w: d.constI8, scale: make([]float32, n), rowSums: make([]int32, n), asymInput: asym}
	switch {
	case len(q.scale) == 1:
		for i := range h.scale {
			h.scale[i] = q.scale[0]
		}
	case len(q.scale) == n && q.dim == channelDim:
		copy(h.scale, q.scale)
	default:
		return nil, fmt.Errorf("int8 weights %q: %d scales on dimension %d, want 1 or %d on dimension %d", d.name, len(q.scale), q.dim, n, channelDim)
	}
	for j := 0; j < n; j++ {
		var s int32
		for _, v := range h.w[j*k : (j+1)*k] {
			s += int32(v)
		}
		h.rowSums[j] = s
	}
	return h, nil
}

func buildFullyConnected(c *buildCtx) (kernel, error) {
	if err := c.arity(2, 3, 1, 1); err != nil {
		return nil, err
	}
	in, w, bias, out := c.in(0), c.in(1), c.in(2), c.out(0)
	if in.typ != Float32 || out.typ != Float32 {
		return nil, fmt.Errorf("input %s / output %s: only FLOAT32 activations are supported", in.typ, out.typ)
	}
	if len(w.shape) != 2 {
		return nil, fmt.Errorf("weights %q have shape %v, want [units, depth]", w.name, w.shape)
	}
	k := &fcKernel{n: w.shape[0], k: w.shape[1], hasBias: bias != nil}
	if bias != nil && (bias.typ != Float32 || numElements(bias.shape) != k.n) {
		return nil, fmt.Errorf("bias %q is %s%v, want FLOAT32[%d]", bias.name, bias.typ, bias.shape, k.n)
	}
	var err error
	if k.act, err = c.activation(0); err != nil {
		return nil, err
	}
	if wf, err := c.optU8(1, 0); err != nil {
		return nil, err
	} else if wf != 0 {
		return nil, fmt.Errorf("weights_format %d is not supported", wf)
	}
	if k.keep, err = c.optBool(2); err != nil {
		return nil, err
	}
	asym, err := c.optBool(3)
	if err != nil {
		return nil, err
	}
	switch {
	case w.typ == Float32 && w.isConst:
		if 4*packedSize(k.n, k.k) > c.m.limits.MaxArenaBytes {
			return nil, fmt.Errorf("packed weights of [%d %d] exceed the limit of %d bytes", k.n, k.k, c.m.limits.MaxArenaBytes)
		}
		k.packed = packWeights(w.constF32, k.n, k.k)
	case w.typ == Float32:
		// Weights computed at run time: packed into scratch on every Invoke.
	case w.typ == Int8 && w.isConst:
		if k.hybrid, err = newHybrid(w, k.n, k.k, asym, 0); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("weights %q of type %s are not supported", w.name, w.typ)
	}
	return k, nil
}

func (k *fcKernel) prepare(n *node) error {
	in := n.in[0].shape
	if len(n.in[1].shape) != 2 || n.in[1].shape[0] != k.n || n.in[1].shape[1] != k.k {
		return fmt.Errorf("weights have shape %v, want [%d %d]", n.in[1].shape, k.n, k.k)
	}
	total := numElements(in)
	if k.k == 0 || total%k.k != 0 {
		return fmt.Errorf("input shape %v is not a multiple of depth %d", in, k.k)
	}
	batch := total / k.k
	var out []int
	if k.keep {
		if len(in) == 0 || in[len(in)-1] != k.k {
			return fmt.Errorf("keep_num_dims with input %v and depth %d", in, k.k)
		}
		out = append(append([]int(nil), in[:len(in)-1]...), k.n)
	} else {
		out = []int{batch, k.n}
	}
	switch {
	case k.hybrid != nil:
		// int8 rows + per-row scale and offset
		n.scratchWords = words(batch*k.k) + 2*batch
	case k.packed == nil:
		n.scratchWords = words(4 * packedSize(k.n, k.k))
	}
	return n.out[0].setShape(out, *n.lim)
}

func (k *fcKernel) eval(n *node) error {
	x, o := n.in[0].f32, n.out[0].f32
	batch := len(x) / max(k.k, 1)
	var bias []float32
	if k.hasBias {
		bias = n.in[2].f32
	}
	switch {
	case k.hybrid != nil:
		k.hybrid.matmul(batch, x, bias, o, n.scratch)
	case k.packed != nil:
		gemm(batch, x, k.k, k.packed, bias, o, k.n, k.act)
	default:
		pm := packedMatrix{k: k.k, n: k.n, data: f32View(n.scratch, packedSize(k.n, k.k))}
		pm.packInto(n.in[1].f32, pm.data)
		gemm(batch, x, k.k, &pm, bias, o, k.n, k.act)
	}
	if k.hybrid != nil || k.act == actTanh {
		applyActivation(k.act, o)
	}
	return nil
}

func f32View(mem []uint64, n int) []float32 {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), 2*len(mem))[:n]
}

func i8View(mem []uint64, n int) []int8 {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&mem[0])), 8*len(mem))[:n]
}

// matmul runs TFLite's hybrid fully-connected arithmetic on batch rows of x.
func (h *hybridWeights) matmul(batch int, x, bias, out []float32, scratch []uint64) {
	qw := words(batch * h.k)
	q := i8View(scratch, batch*h.k)
	meta := f32View(scratch[qw:], 4*batch)
	for b := 0; b < batch; b++ {
		sf, off := quantizeRow(x[b*h.k:(b+1)*h.k], q[b*h.k:(b+1)*h.k], h.asymInput)
		meta[2*b] = sf
		meta[2*b+1] = float32(off)
	}
	for b := 0; b < batch; b++ {
		row := out[b*h.n : (b+1)*h.n]
		if bias != nil {
			copy(row, bias[:h.n])
		} else {
			clear(row)
		}
		sf, off := meta[2*b], int32(meta[2*b+1])
		qb := q[b*h.k : (b+1)*h.k]
		for j := 0; j < h.n; j++ {
			dot := dotI8(h.w[j*h.k:(j+1)*h.k], qb)
			if h.asymInput {
				dot -= h.rowSums[j] * off
			}
			scale := sf * h.scale[j]
			row[j] += float32(float32(dot) * scale)
		}
	}
}

func dotI8(a, b []int8) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += int32(a[i]) * int32(b[i])
		s1 += int32(a[i+1]) * int32(b[i+1])
		s2 += int32(a[i+2]) * int32(b[i+2])
		s3 += int32(a[i+3]) * int32(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += int32(a[i]) * int32(b[i])
	}
	return s0 + s1 + s2 + s3
}

// quantizeRow is TFLite's SymmetricQuantizeFloats / AsymmetricQuantizeFloats.
func quantizeRow(x []float32, q []int8, asym bool) (scale float32, offset int32) {
	if len(x) == 0 {
		return 1, 0
	}
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	if !asym {
		r := max(float32(math.Abs(float64(lo))), float32(math.Abs(float64(hi))))
		if r == 0 {
			clear(q)
			return 1, 0
		}
		scale = r / 127
		inv := 127 / r
		for i, v := range x {
			// Explicit float32 conversions keep the compiler from fusing
			// multiply-adds (GOAMD64=v3), which could move a rounding tie.
			qv := int32(roundHalfAway(float32(inv * v)))
			q[i] = int8(min(int32(127), max(int32(-127), qv)))
		}
		return scale, 0
	}
	rmin := float64(min(float32(0), lo))
	rmax := float64(max(float32(0), hi))
	if rmin == rmax {
		clear(q)
		return 1, 0
	}
	const qmin, qmax = -128.0, 127.0
	s := (rmax - rmin) / (qmax - qmin)
	zpMin := qmin - rmin/s
	zpMax := qmax - rmax/s
	zpMinErr := math.Abs(qmin) + math.Abs(rmin/s)
	zpMaxErr := math.Abs(qmax) + math.Abs(rmax/s)
	zp := zpMax
	if zpMinErr < zpMaxErr {
		zp = zpMin
	}
	switch {
	case zp <= qmin:
		offset = -128
	case zp >= qmax:
		offset = 127
	default:
		offset = int32(int8(math.Round(zp)))
	}
	scale = float32(s)
	inv := 1 / scale
	for i, v := range x {
		qv := int32(roundHalfAway(float32(offset) + float32(v*inv)))
		q[i] = int8(min(int32(127), max(int32(-128), qv)))
	}
	return scale, offset
}

func roundHalfAway(v float32) float32 { return float32(math.Round(float64(v))) }

// ---- CONV_2D / DEPTHWISE_CONV_2D / pooling geometry ----

type geometry struct {
	padding            uint8 // 0 SAME, 1 VALID
	strideH, strideW   int
	dilH, dilW         int
	filterH, filterW   int
	outH, outW         int
	padTop, padLeft    int
	inH, inW, inC, bat int
}

func (g *geometry) compute(in []int) error {
	if len(in) != 4 {
		return fmt.Errorf("input has shape %v, want [batch, height, width, channels]", in)
	}
	if g.strideH < 1 || g.strideW < 1 || g.dilH < 1 || g.dilW < 1 {
		return fmt.Errorf("strides %d×%d and dilation %d×%d must be positive", g.strideH, g.strideW, g.dilH, g.dilW)
	}
	g.bat, g.inH, g.inW, g.inC = in[0], in[1], in[2], in[3]
	effH := (g.filterH-1)*g.dilH + 1
	effW := (g.filterW-1)*g.dilW + 1
	switch g.padding {
	case 0:
		g.outH = (g.inH + g.strideH - 1) / g.strideH
		g.outW = (g.inW + g.strideW - 1) / g.strideW
	case 1:
		g.outH = (g.inH + g.strideH - effH) / g.strideH
		g.outW = (g.inW + g.strideW - effW) / g.strideW
	default:
		return fmt.Errorf("padding %d is not supported", g.padding)
	}
	if g.outH < 0 {
		g.outH = 0
	}
	if g.outW < 0 {
		g.outW = 0
	}
	g.padTop = max(((g.outH-1)*g.strideH+effH-g.inH)/2, 0)
	g.padLeft = max(((g.outW-1)*g.strideW+effW-g.inW)/2, 0)
	return nil
}

func (c *buildCtx) geometry(padID, swID, shID, dwID, dhID int) (geometry, error) {
	var g geometry
	var err error
	if g.padding, err = c.optU8(padID, 0); err != nil {
		return g, err
	}
	sw, err := c.optI32(swID, 0)
	if err != nil {
		return g, err
	}
	sh, err := c.optI32(shID, 0)
	if err != nil {
		return g, err
	}
	g.strideW, g.strideH, g.dilW, g.dilH = int(sw), int(sh), 1, 1
	if dwID >= 0 {
		dw, err := c.optI32(dwID, 1)
		if err != nil {
			return g, err
		}
		dh, err := c.optI32(dhID, 1)
		if err != nil {
			return g, err
		}
		g.dilW, g.dilH = int(dw), int(dh)
	}
	if g.strideW < 1 || g.strideH < 1 || g.dilW < 1 || g.dilH < 1 || g.strideW > 1<<16 || g.strideH > 1<<16 || g.dilW > 1<<16 || g.dilH > 1<<16 {
		return g, fmt.Errorf("strides %d×%d / dilation %d×%d out of range", g.strideH, g.strideW, g.dilH, g.dilW)
	}
	if g.padding > 1 {
		return g, fmt.Errorf("padding %d is not supported", g.padding)
	}
	return g, nil
}

type convKernel struct {
	geo     geometry
	act     activation
	cout    int
	kdim    int // filterH*filterW*cin
	packed  *packedMatrix
	hybrid  *hybridWeights
	hasBias bool
}

// convTile is the number of output positions unrolled by im2col at a time.
const convTile = 128

func buildConv2D(c *buildCtx) (kernel, error) {
	if err := c.arity(2, 3, 1, 1); err != nil {
		return nil, err
	}
	in, f, bias, out := c.in(0), c.in(1), c.in(2), c.out(0)
	if in.typ != Float32 || out.typ != Float32 {
		return nil, fmt.Errorf("input %s / output %s: only FLOAT32 activations are supported", in.typ, out.typ)
	}
	if !f.isConst || len(f.shape) != 4 {
		return nil, fmt.Errorf("filter %q must be a constant [out, h, w, in] tensor", f.name)
	}
	g, err := c.geometry(0, 1, 2, 4, 5)
	if err != nil {
		return nil, err
	}
	g.filterH, g.filterW = f.shape[1], f.shape[2]
	k := &convKernel{geo: g, cout: f.shape[0], kdim: f.shape[1] * f.shape[2] * f.shape[3], hasBias: bias != nil}
	if bias != nil && (bias.typ != Float32 || numElements(bias.shape) != k.cout) {
		return nil, fmt.Errorf("bias %q is %s%v, want FLOAT32[%d]", bias.name, bias.typ, bias.shape, k.cout)
	}
	if k.act, err = c.activation(3); err != nil {
		return nil, err
	}
	switch f.typ {
	case Float32:
		if 4*packedSize(k.cout, k.kdim) > c.m.limits.MaxArenaBytes {
			return nil, fmt.Errorf("packed filter of [%d %d] exceeds the limit of %d bytes", k.cout, k.kdim, c.m.limits.MaxArenaBytes)
		}
		k.packed = packWeights(f.constF32, k.cout, k.kdim)
	case Int8:
		// TFLite's hybrid convolution quantizes each input image asymmetrically
		// when the filter is per-channel quantized, symmetrically otherwise.
		if k.hybrid, err = newHybrid(f, k.cout, k.kdim, len(f.quant.scale) > 1, 0); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("filter %q of type %s is not supported", f.name, f.typ)
	}
	return k, nil
}

func (k *convKernel) prepare(n *node) error {
	g := k.geo
	if err := g.compute(n.in[0].shape); err != nil {
		return err
	}
	if g.inC*g.filterH*g.filterW != k.kdim {
		return fmt.Errorf("input has %d channels, filter expects %d", g.inC, k.kdim/(g.filterH*g.filterW))
	}
	st := g
	n.state = &st
	switch {
	case k.hybrid != nil:
		// quantized input + one quantized patch row + per-image scale/offset
		n.scratchWords = words(numElements(n.in[0].shape)) + words(k.kdim) + 2*g.bat
	case !k.direct(&st):
		n.scratchWords = k.scratchWords()
	}
	return n.out[0].setShape([]int{g.bat, g.outH, g.outW, k.cout}, *n.lim)
}

// direct reports a 1×1, stride-1, unpadded convolution: a plain matmul.
func (k *convKernel) direct(g *geometry) bool {
	return g.filterH == 1 && g.filterW == 1 && g.strideH == 1 && g.strideW == 1 && g.padTop == 0 && g.padLeft == 0
}

func (k *convKernel) eval(n *node) error {
	g := n.state.(*geometry)
	x, o := n.in[0].f32, n.out[0].f32
	var bias []float32
	if k.hasBias {
		bias = n.in[2].f32
	}
	rows := g.bat * g.outH * g.outW
	switch {
	case k.hybrid != nil:
		k.evalHybrid(g, x, bias, o, n.scratch)
	case k.direct(g):
		gemm(rows, x, k.kdim, k.packed, bias, o, k.cout, k.act)
	case k.rowwise(g):
		k.evalRowwise(g, x, bias, o, n.scratch)
	default:
		col := f32View(n.scratch, convTile*k.kdim)
		for r0 := 0; r0 < rows; r0 += convTile {
			t := min(convTile, rows-r0)
			for r := 0; r < t; r++ {
				im2colRow(g, x, r0+r, col[r*k.kdim:(r+1)*k.kdim])
			}
			gemm(t, col, k.kdim, k.packed, bias, o[r0*k.cout:], k.cout, k.act)
		}
	}
	if k.act == actTanh || (k.hybrid != nil && k.act != actNone) {
		applyActivation(k.act, o)
	}
	return nil
}

// evalHybrid is TFLite's hybrid (int8 filter, float activation) convolution:
// each image is quantized to int8, patches are gathered in int8 with padding
// at the zero point (so padding means 0.0), products accumulate in int32.
func (k *convKernel) evalHybrid(g *geometry, x, bias, o []float32, scratch []uint64) {
	h := k.hybrid
	img := g.inH * g.inW * g.inC
	qw := words(len(x))
	q := i8View(scratch, len(x))
	patch := i8View(scratch[qw:], k.kdim)
	meta := f32View(scratch[qw+words(k.kdim):], 4*g.bat)
	for b := 0; b < g.bat; b++ {
		sf, off := quantizeRow(x[b*img:(b+1)*img], q[b*img:(b+1)*img], h.asymInput)
		meta[2*b], meta[2*b+1] = sf, float32(off)
	}
	c := g.inC
	for row := 0; row < g.bat*g.outH*g.outW; row++ {
		ox := row % g.outW
		oy := (row / g.outW) % g.outH
		b := row / (g.outW * g.outH)
		sf, off := meta[2*b], int32(meta[2*b+1])
		i := 0
		for ky := 0; ky < g.filterH; ky++ {
			iy := oy*g.strideH - g.padTop + ky*g.dilH
			for kx := 0; kx < g.filterW; kx++ {
				ix := ox*g.strideW - g.padLeft + kx*g.dilW
				if iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW {
					for j := i; j < i+c; j++ {
						patch[j] = int8(off)
					}
				} else {
					src := ((b*g.inH+iy)*g.inW + ix) * c
					copy(patch[i:i+c], q[src:src+c])
				}
				i += c
			}
		}
		out := o[row*k.cout : (row+1)*k.cout]
		for j := range out {
			acc := dotI8(h.w[j*k.kdim:(j+1)*k.kdim], patch) - h.rowSums[j]*off
			v := float32(float32(float32(acc)*sf) * h.scale[j])
			if bias != nil {
				v = float32(v + bias[j])
			}
			out[j] = v
		}
	}
}

// rowwise reports a convolution whose receptive fields along a row of output
// are overlapping windows of the input (filter height 1, no dilation across
// width) — every Conv1D. The interior of a row then needs no im2col: row ox of
// the patch matrix starts at input column ox·stride−pad, so the input itself is
// the patch matrix with a row stride of stride·channels.
func (k *convKernel) rowwise(g *geometry) bool {
	return g.filterH == 1 && g.dilW == 1
}

func (k *convKernel) evalRowwise(g *geometry, x, bias, o []float32, scratch []uint64) {
	c := g.inC
	// Interior outputs: ox·sw − padLeft ≥ 0 and ox·sw − padLeft + filterW ≤ inW.
	lo := (g.padLeft + g.strideW - 1) / g.strideW
	hi := (g.inW - g.filterW + g.padLeft) / g.strideW // inclusive
	if g.inW-g.filterW+g.padLeft < 0 {
		hi = -1
	}
	lo, hi = min(lo, g.outW), min(hi, g.outW-1)
	// Border positions (a few per row) of all rows are gathered into one
	// patch tile so they, too, run through the 4-row kernel.
	bt := borderTile{k: k, g: g, x: x, bias: bias, o: o}
	bt.col, bt.out, bt.rows = k.rowwiseScratch(scratch)
	for b := 0; b < g.bat; b++ {
		for oy := 0; oy < g.outH; oy++ {
			iy := oy*g.strideH - g.padTop
			row := (b*g.outH + oy) * g.outW
			if iy < 0 || iy >= g.inH || hi < lo {
				bt.addRange(row, row+g.outW)
				continue
			}
			bt.addRange(row, row+lo)
			start := ((b*g.inH+iy)*g.inW + lo*g.strideW - g.padLeft) * c
			gemm(hi-lo+1, x[start:], g.strideW*c, k.packed, bias, o[(row+lo)*k.cout:], k.cout, k.act)
			bt.addRange(row+hi+1, row+g.outW)
		}
	}
	bt.flush()
}

// rowwiseScratch splits the node scratch into patch tile, output tile and row map.
func (k *convKernel) rowwiseScratch(s []uint64) (col, out []float32, rows []int32) {
	cw := words(4 * convTile * k.kdim)
	ow := words(4 * convTile * k.cout)
	col = f32View(s, convTile*k.kdim)
	out = f32View(s[cw:], convTile*k.cout)
	rows = unsafe.Slice((*int32)(unsafe.Pointer(&s[cw+ow])), convTile)
	return col, out, rows
}

func (k *convKernel) scratchWords() int {
	return words(4*convTile*k.kdim) + words(4*convTile*k.cout) + words(4*convTile)
}

type borderTile struct {
	k        *convKernel
	g        *geometry
	x, bias  []float32
	o        []float32
	col, out []float32
	rows     []int32
	n        int
}

func (t *borderTile) addRange(r0, r1 int) {
	kd := t.k.kdim
	for r := r0; r < r1; r++ {
		im2colRow(t.g, t.x, r, t.col[t.n*kd:(t.n+1)*kd])
		t.rows[t.n] = int32(r)
		t.n++
		if t.n == convTile {
			t.flush()
		}
	}
}

func (t *borderTile) flush() {
	if t.n == 0 {
		return
	}
	co := t.k.cout
	gemm(t.n, t.col, t.k.kdim, t.k.packed, t.bias, t.out, co, t.k.act)
	for i := 0; i < t.n; i++ {
		r := int(t.rows[i])
		copy(t.o[r*co:(r+1)*co], t.out[i*co:(i+1)*co])
	}
	t.n = 0
}

// im2colRows computes output positions [r0, r1) through the patch buffer.
func (k *convKernel) im2colRows(g *geometry, x []float32, r0, r1 int, bias, o, col []float32) {
	for ; r0 < r1; r0 += convTile {
		t := min(convTile, r1-r0)
		for r := 0; r < t; r++ {
			im2colRow(g, x, r0+r, col[r*k.kdim:(r+1)*k.kdim])
		}
		gemm(t, col, k.kdim, k.packed, bias, o[r0*k.cout:], k.cout, k.act)
	}
}

// im2colRow writes the receptive field of output position row (b, oy, ox).
func im2colRow(g *geometry, x []float32, row int, dst []float32) {
	ox := row % g.outW
	oy := (row / g.outW) % g.outH
	b := row / (g.outW * g.outH)
	c := g.inC
	i := 0
	for ky := 0; ky < g.filterH; ky++ {
		iy := oy*g.strideH - g.padTop + ky*g.dilH
		for kx := 0; kx < g.filterW; kx++ {
			ix := ox*g.strideW - g.padLeft + kx*g.dilW
			if iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW {
				clear(dst[i : i+c])
			} else {
				src := ((b*g.inH+iy)*g.inW + ix) * c
				copy(dst[i:i+c], x[src:src+c])
			}
			i += c
		}
	}
}

type depthwiseKernel struct {
	geo     geometry
	act     activation
	mult    int
	cout    int
	hasBias bool
}

func buildDepthwiseConv2D(c *buildCtx) (kernel, error) {
	if err := c.arity(2, 3, 1, 1); err != nil {
		return nil, err
	}
	in, f, bias, out := c.in(0), c.in(1), c.in(2), c.out(0)
	if in.typ != Float32 || out.typ != Float32 || f.typ != Float32 {
		return nil, fmt.Errorf("only FLOAT32 input/filter/output are supported (have %s/%s/%s)", in.typ, f.typ, out.typ)
	}
	if len(f.shape) != 4 || f.shape[0] != 1 {
		return nil, fmt.Errorf("filter %q has shape %v, want [1, h, w, channels]", f.name, f.shape)
	}
	g, err := c.geometry(0, 1, 2, 5, 6)
	if err != nil {
		return nil, err
	}
	g.filterH, g.filterW = f.shape[1], f.shape[2]
	mult, err := c.optI32(3, 1)
	if err != nil {
		return nil, err
	}
	if mult < 1 {
		return nil, fmt.Errorf("depth_multiplier %d must be positive", mult)
	}
	k := &depthwiseKernel{geo: g, mult: int(mult), cout: f.shape[3], hasBias: bias != nil}
	if bias != nil && (bias.typ != Float32 || numElements(bias.shape) != k.cout) {
		return nil, fmt.Errorf("bias %q is %s%v, want FLOAT32[%d]", bias.name, bias.typ, bias.shape, k.cout)
	}
	if k.act, err = c.activation(4); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *depthwiseKernel) prepare(n *node) error {
	g := k.geo
	if err := g.compute(n.in[0].shape); err != nil {
		return err
	}
	if g.inC*k.mult != k.cout {
		return fmt.Errorf("input has %d channels × multiplier %d, filter has %d", g.inC, k.mult, k.cout)
	}
	st := g
	n.state = &st
	return n.out[0].setShape([]int{g.bat, g.outH, g.outW, k.cout}, *n.lim)
}

func (k *depthwiseKernel) eval(n *node) error {
	g := n.state.(*geometry)
	x, f, o := n.in[0].f32, n.in[1].f32, n.out[0].f32
	for b := 0; b < g.bat; b++ {
		for oy := 0; oy < g.outH; oy++ {
			for ox := 0; ox < g.outW; ox++ {
				dst := o[((b*g.outH+oy)*g.outW+ox)*k.cout:][:k.cout]
				if k.hasBias {
					copy(dst, n.in[2].f32[:k.cout])
				} else {
					clear(dst)
				}
				for ky := 0; ky < g.filterH; ky++ {
					iy := oy*g.strideH - g.padTop + ky*g.dilH
					if iy < 0 || iy >= g.inH {
						continue
					}
					for kx := 0; kx < g.filterW; kx++ {
						ix := ox*g.strideW - g.padLeft + kx*g.dilW
						if ix < 0 || ix >= g.inW {
							continue
						}
						src := x[((b*g.inH+iy)*g.inW+ix)*g.inC:][:g.inC]
						fw := f[(ky*g.filterW+kx)*k.cout:][:k.cout]
						for ic, v := range src {
							for m := 0; m < k.mult; m++ {
								oc := ic*k.mult + m
								dst[oc] += v * fw[oc]
							}
						}
					}
				}
			}
		}
	}
	applyActivation(k.act, o)
	return nil
}

// ---- MAX_POOL_2D / AVERAGE_POOL_2D ----

type poolKernel struct {
	geo   geometry
	act   activation
	isMax bool
}

func buildPool(isMax bool) func(*buildCtx) (kernel, error) {
	return func(c *buildCtx) (kernel, error) {
		if err := c.arity(1, 1, 1, 1); err != nil {
			return nil, err
		}
		if err := c.types(Float32); err != nil {
			return nil, err
		}
		g, err := c.geometry(0, 1, 2, -1, -1)
		if err != nil {
			return nil, err
		}
		fw, err := c.optI32(3, 0)
		if err != nil {
			return nil, err
		}
		fh, err := c.optI32(4, 0)
		if err != nil {
			return nil, err
		}
		if fw < 1 || fh < 1 || fw > 1<<16 || fh > 1<<16 {
			return nil, fmt.Errorf("filter %d×%d out of range", fh, fw)
		}
		g.filterW, g.filterH = int(fw), int(fh)
		act, err := c.activation(5)
		if err != nil {
			return nil, err
		}
		return &poolKernel{geo: g, act: act, isMax: isMax}, nil
	}
}

func (k *poolKernel) prepare(n *node) error {
	g := k.geo
	if err := g.compute(n.in[0].shape); err != nil {
		return err
	}
	st := g
	n.state = &st
	return n.out[0].setShape([]int{g.bat, g.outH, g.outW, g.inC}, *n.lim)
}

func (k *poolKernel) eval(n *node) error {
	g := n.state.(*geometry)
	x, o := n.in[0].f32, n.out[0].f32
	c := g.inC
	for b := 0; b < g.bat; b++ {
		for oy := 0; oy < g.outH; oy++ {
			y0 := oy*g.strideH - g.padTop
			y1 := min(y0+g.filterH, g.inH)
			y0 = max(y0, 0)
			for ox := 0; ox < g.outW; ox++ {
				x0 := ox*g.strideW - g.padLeft
				x1 := min(x0+g.filterW, g.inW)
				x0 = max(x0, 0)
				dst := o[((b*g.outH+oy)*g.outW+ox)*c:][:c]
				init := float32(0)
				if k.isMax {
					init = float32(math.Inf(-1))
				}
				for i := range dst {
					dst[i] = init
				}
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						src := x[((b*g.inH+iy)*g.inW+ix)*c:][:c]
						if k.isMax {
							for i, v := range src {
								dst[i] = max(dst[i], v)
							}
						} else {
							for i, v := range src {
								dst[i] += v
							}
						}
					}
				}
				if !k.isMax {
					cnt := float32((y1 - y0) * (x1 - x0))
					for i := range dst {
						dst[i] /= cnt
					}
				}
			}
		}
	}
	applyActivation(k.act, o)
	return nil
}

// ---- BATCH_MATMUL ----

type batchMatMulKernel struct{ adjX, adjY bool }

type bmmPlan struct {
	batches      int
	m, k, n      int
	aBat, bBat   [8]int // batch index strides (0 when broadcast)
	outBat       [8]int
	rank         int
	aStep, bStep int
}

func buildBatchMatMul(c *buildCtx) (kernel, error) {
	if err := c.arity(2, 2, 1, 1); err != nil {
		return nil, err
	}
	if err := c.types(Float32); err != nil {
		return nil, err
	}
	ax, err := c.optBool(0)
	if err != nil {
		return nil, err
	}
	ay, err := c.optBool(1)
	if err != nil {
		return nil, err
	}
	return &batchMatMulKernel{adjX: ax, adjY: ay}, nil
}

func (k *batchMatMulKernel) prepare(n *node) error {
	a, b := n.in[0].shape, n.in[1].shape
	if len(a) < 2 || len(b) < 2 {
		return fmt.Errorf("operands %v and %v need rank ≥ 2", a, b)
	}
	m, ka := a[len(a)-2], a[len(a)-1]
	if k.adjX {
		m, ka = ka, m
	}
	kb, nn := b[len(b)-2], b[len(b)-1]
	if k.adjY {
		kb, nn = nn, kb
	}
	if ka != kb {
		return fmt.Errorf("inner dimensions of %v and %v differ", a, b)
	}
	bat, err := broadcastShapes(a[:len(a)-2], b[:len(b)-2])
	if err != nil {
		return err
	}
	p := &bmmPlan{batches: numElements(bat), m: m, k: ka, n: nn, rank: len(bat)}
	pa := newBroadcastPlan(a[:len(a)-2], b[:len(b)-2], bat)
	copy(p.aBat[:], pa.sa[:])
	copy(p.bBat[:], pa.sb[:])
	copy(p.outBat[:], bat)
	n.state = p
	out := append(append([]int(nil), bat...), m, nn)
	return n.out[0].setShape(out, *n.lim)
}

func (k *batchMatMulKernel) eval(n *node) error {
	p := n.state.(*bmmPlan)
	a, b, o := n.in[0].f32, n.in[1].f32, n.out[0].f32
	am, bm := p.m*p.k, p.k*p.n
	var idx [8]int
	ai, bi := 0, 0
	for bt := 0; bt < p.batches; bt++ {
		A, B := a[ai*am:(ai+1)*am], b[bi*bm:(bi+1)*bm]
		C := o[bt*p.m*p.n : (bt+1)*p.m*p.n]
		for i := 0; i < p.m; i++ {
			for j := 0; j < p.n; j++ {
				var s float32
				for kk := 0; kk < p.k; kk++ {
					var x, y float32
					if k.adjX {
						x = A[kk*p.m+i]
					} else {
						x = A[i*p.k+kk]
					}
					if k.adjY {
						y = B[j*p.k+kk]
					} else {
						y = B[kk*p.n+j]
					}
					s += x * y
				}
				C[i*p.n+j] = s
			}
		}
		for d := p.rank - 1; d >= 0; d-- {
			idx[d]++
			ai += p.aBat[d]
			bi += p.bBat[d]
			if idx[d] < p.outBat[d] {
				break
			}
			ai -= p.aBat[d] * idx[d]
			bi -= p.bBat[d] * idx[d]
			idx[d] = 0
		}
	}
	return nil
}
