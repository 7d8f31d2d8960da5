package tflite

import (
	"fmt"
	"math"
)

// ---- element-wise binary operators with NumPy broadcasting ----

type binKind uint8

const (
	binAdd binKind = iota
	binSub
	binMul
	binDiv
	binSquaredDiff
	binMax
	binMin
	binLess
	binGreater
	binAnd
)

type binaryKernel struct {
	kind binKind
	act  activation
}

// broadcastPlan maps output positions to input offsets. The last dimension is
// walked in an inner loop with strides sa/sb ∈ {0,1}.
type broadcastPlan struct {
	rank     int
	out      [8]int
	sa, sb   [8]int
	same     bool // identical shapes: one flat loop
	inner    int
	outerLen int
}

func buildBinary(kind binKind) func(*buildCtx) (kernel, error) {
	return func(c *buildCtx) (kernel, error) {
		if err := c.arity(2, 2, 1, 1); err != nil {
			return nil, err
		}
		a, b, o := c.in(0), c.in(1), c.out(0)
		if err := c.sameType(a, b); err != nil {
			return nil, err
		}
		switch kind {
		case binLess, binGreater:
			if o.typ != Bool || (a.typ != Float32 && a.typ != Int32 && a.typ != Int64) {
				return nil, fmt.Errorf("compares %s and writes %s; want FLOAT32/INT32/INT64 to BOOL", a.typ, o.typ)
			}
		case binAnd:
			if a.typ != Bool || o.typ != Bool {
				return nil, fmt.Errorf("types %s → %s, want BOOL → BOOL", a.typ, o.typ)
			}
		case binDiv, binSquaredDiff:
			if a.typ != Float32 || o.typ != Float32 {
				return nil, fmt.Errorf("types %s → %s, want FLOAT32", a.typ, o.typ)
			}
		default:
			if err := c.sameType(a, o); err != nil {
				return nil, err
			}
			if a.typ != Float32 && a.typ != Int32 && a.typ != Int64 {
				return nil, fmt.Errorf("type %s is not supported", a.typ)
			}
		}
		k := &binaryKernel{kind: kind}
		switch kind {
		case binAdd, binSub, binMul, binDiv:
			// AddOptions/SubOptions/MulOptions/DivOptions: fused_activation_function is field 0.
			act, err := c.activation(0)
			if err != nil {
				return nil, err
			}
			if act != actNone && a.typ != Float32 {
				return nil, fmt.Errorf("fused activation on %s is not supported", a.typ)
			}
			k.act = act
		}
		return k, nil
	}
}

func broadcastShapes(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	if r > 8 {
		return nil, fmt.Errorf("rank %d exceeds 8", r)
	}
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

func newBroadcastPlan(a, b, out []int) *broadcastPlan {
	p := &broadcastPlan{rank: len(out), same: sameShape(a, b)}
	copy(p.out[:], out)
	strides := func(s []int, dst *[8]int) {
		acc := 1
		for i := len(out) - 1; i >= 0; i-- {
			j := i - (len(out) - len(s))
			if j < 0 || s[j] == 1 {
				dst[i] = 0
			} else {
				dst[i] = acc
			}
			if j >= 0 {
				acc *= s[j]
			}
		}
	}
	strides(a, &p.sa)
	strides(b, &p.sb)
	p.inner = 1
	if len(out) > 0 {
		p.inner = out[len(out)-1]
	}
	p.outerLen = 1
	for i := 0; i+1 < len(out); i++ {
		p.outerLen *= out[i]
	}
	return p
}

func (k *binaryKernel) prepare(n *node) error {
	s, err := broadcastShapes(n.in[0].shape, n.in[1].shape)
	if err != nil {
		return err
	}
	if err := n.out[0].setShape(s, *n.lim); err != nil {
		return err
	}
	n.state = newBroadcastPlan(n.in[0].shape, n.in[1].shape, s)
	return nil
}

// walk calls f for each run of the innermost dimension.
func (p *broadcastPlan) walk(f func(oa, sa, ob, sb, oo, n int)) {
	if p.same {
		total := p.outerLen * p.inner
		f(0, 1, 0, 1, 0, total)
		return
	}
	if p.rank == 0 {
		f(0, 0, 0, 0, 0, 1)
		return
	}
	var idx [8]int
	last := p.rank - 1
	oa, ob := 0, 0
	for o := 0; o < p.outerLen; o++ {
		f(oa, p.sa[last], ob, p.sb[last], o*p.inner, p.inner)
		for d := last - 1; d >= 0; d-- {
			idx[d]++
			oa += p.sa[d]
			ob += p.sb[d]
			if idx[d] < p.out[d] {
				break
			}
			oa -= p.sa[d] * idx[d]
			ob -= p.sb[d] * idx[d]
			idx[d] = 0
		}
	}
}

func (k *binaryKernel) eval(n *node) error {
	p := n.state.(*broadcastPlan)
	a, b, o := n.in[0], n.in[1], n.out[0]
	switch {
	case o.f32 != nil:
		p.walkF32(k.kind, a.f32, b.f32, o.f32)
		if k.act != actNone {
			applyActivation(k.act, o.f32)
		}
	case o.b != nil && k.kind == binAnd:
		p.walkAnd(a.b, b.b, o.b)
	case o.b != nil:
		p.walkCmp(k.kind, a, b, o.b)
	case o.i32 != nil:
		walkInt(p, k.kind, a.i32, b.i32, o.i32)
	case o.i64 != nil:
		walkInt(p, k.kind, a.i64, b.i64, o.i64)
	}
	return nil
}

// The walkers are written out per type so the hot inner loops have no
// indirect calls; broadcastPlan.walk is used only for the generic case.

func (p *broadcastPlan) walkF32(kind binKind, a, b, o []float32) {
	if p.same {
		binF32(kind, a, 1, b, 1, o)
		return
	}
	if p.rank == 0 {
		binF32(kind, a, 0, b, 0, o[:1])
		return
	}
	var idx [8]int
	last := p.rank - 1
	oa, ob := 0, 0
	sa, sb := p.sa[last], p.sb[last]
	for oo := 0; oo < p.outerLen; oo++ {
		binF32(kind, a[oa:], sa, b[ob:], sb, o[oo*p.inner:oo*p.inner+p.inner])
		for d := last - 1; d >= 0; d-- {
			idx[d]++
			oa += p.sa[d]
			ob += p.sb[d]
			if idx[d] < p.out[d] {
				break
			}
			oa -= p.sa[d] * idx[d]
			ob -= p.sb[d] * idx[d]
			idx[d] = 0
		}
	}
}

func binF32(kind binKind, a []float32, sa int, b []float32, sb int, o []float32) {
	n := len(o)
	if sa == 1 && sb == 1 {
		a, b = a[:n], b[:n]
		switch kind {
		case binAdd:
			for i := range o {
				o[i] = a[i] + b[i]
			}
		case binSub:
			for i := range o {
				o[i] = a[i] - b[i]
			}
		case binMul:
			for i := range o {
				o[i] = a[i] * b[i]
			}
		case binDiv:
			for i := range o {
				o[i] = a[i] / b[i]
			}
		case binSquaredDiff:
			for i := range o {
				d := a[i] - b[i]
				o[i] = d * d
			}
		case binMax:
			for i := range o {
				o[i] = max(a[i], b[i])
			}
		case binMin:
			for i := range o {
				o[i] = min(a[i], b[i])
			}
		}
		return
	}
	ia, ib := 0, 0
	for i := range o {
		x, y := a[ia], b[ib]
		var r float32
		switch kind {
		case binAdd:
			r = x + y
		case binSub:
			r = x - y
		case binMul:
			r = x * y
		case binDiv:
			r = x / y
		case binSquaredDiff:
			r = (x - y) * (x - y)
		case binMax:
			r = max(x, y)
		case binMin:
			r = min(x, y)
		}
		o[i] = r
		ia += sa
		ib += sb
	}
}

func (p *broadcastPlan) walkCmp(kind binKind, a, b *Tensor, o []bool) {
	p.walk(func(oa, sa, ob, sb, oo, n int) {
		for i := 0; i < n; i++ {
			var lt, gt bool
			switch {
			case a.f32 != nil:
				x, y := a.f32[oa+i*sa], b.f32[ob+i*sb]
				lt, gt = x < y, x > y
			case a.i32 != nil:
				x, y := a.i32[oa+i*sa], b.i32[ob+i*sb]
				lt, gt = x < y, x > y
			default:
				x, y := a.i64[oa+i*sa], b.i64[ob+i*sb]
				lt, gt = x < y, x > y
			}
			if kind == binLess {
				o[oo+i] = lt
			} else {
				o[oo+i] = gt
			}
		}
	})
}

func (p *broadcastPlan) walkAnd(a, b, o []bool) {
	p.walk(func(oa, sa, ob, sb, oo, n int) {
		for i := 0; i < n; i++ {
			o[oo+i] = a[oa+i*sa] && b[ob+i*sb]
		}
	})
}

// walkInt applies an integer binary operator under the broadcast plan (the
// shape arithmetic of INT32/INT64 tensors).
func walkInt[T int32 | int64](p *broadcastPlan, kind binKind, a, b, o []T) {
	p.walk(func(oa, sa, ob, sb, oo, n int) {
		for i := 0; i < n; i++ {
			x, y := a[oa+i*sa], b[ob+i*sb]
			var r T
			switch kind {
			case binAdd:
				r = x + y
			case binSub:
				r = x - y
			case binMul:
				r = x * y
			case binMax:
				r = max(x, y)
			case binMin:
				r = min(x, y)
			}
			o[oo+i] = r
		}
	})
}

// ---- element-wise unary operators ----

type unKind uint8

const (
	unTanh unKind = iota
	unLogistic
	unRelu
	unRelu6
	unNeg
	unRsqrt
	unSqrt
	unExp
	unAbs
	unSquare
	unNot
	unLog
	unElu
	unLeakyRelu
	unGelu
)

type unaryKernel struct {
	kind   unKind
	alpha  float32 // LEAKY_RELU slope
	approx bool    // GELU tanh approximation
}

func buildUnary(kind unKind) func(*buildCtx) (kernel, error) {
	return func(c *buildCtx) (kernel, error) {
		if err := c.arity(1, 1, 1, 1); err != nil {
			return nil, err
		}
		if err := c.sameType(c.in(0), c.out(0)); err != nil {
			return nil, err
		}
		switch kind {
		case unNot:
			if err := c.types(Bool); err != nil {
				return nil, err
			}
		case unNeg, unAbs, unSquare:
			if err := c.types(Float32, Int32, Int64); err != nil {
				return nil, err
			}
		default:
			if err := c.types(Float32); err != nil {
				return nil, err
			}
		}
		k := &unaryKernel{kind: kind}
		var err error
		switch kind {
		case unLeakyRelu:
			k.alpha, err = c.optF32(0, 0) // LeakyReluOptions.alpha
		case unGelu:
			k.approx, err = c.optBool(0) // GeluOptions.approximate
		}
		return k, err
	}
}

func (k *unaryKernel) prepare(n *node) error {
	return n.out[0].setShape(n.in[0].shape, *n.lim)
}

func (k *unaryKernel) eval(n *node) error {
	in, out := n.in[0], n.out[0]
	switch {
	case out.f32 != nil:
		x, y := in.f32, out.f32[:len(in.f32)]
		switch k.kind {
		case unTanh:
			for i, v := range x {
				y[i] = float32(math.Tanh(float64(v)))
			}
		case unLogistic:
			for i, v := range x {
				y[i] = float32(1 / (1 + math.Exp(-float64(v))))
			}
		case unRelu:
			for i, v := range x {
				y[i] = max(v, 0)
			}
		case unRelu6:
			for i, v := range x {
				y[i] = min(max(v, 0), 6)
			}
		case unNeg:
			for i, v := range x {
				y[i] = -v
			}
		case unRsqrt:
			for i, v := range x {
				y[i] = float32(1 / math.Sqrt(float64(v)))
			}
		case unSqrt:
			for i, v := range x {
				y[i] = float32(math.Sqrt(float64(v)))
			}
		case unExp:
			for i, v := range x {
				y[i] = float32(math.Exp(float64(v)))
			}
		case unAbs:
			for i, v := range x {
				y[i] = float32(math.Abs(float64(v)))
			}
		case unSquare:
			for i, v := range x {
				y[i] = v * v
			}
		case unLog:
			for i, v := range x {
				y[i] = float32(math.Log(float64(v)))
			}
		case unElu:
			for i, v := range x {
				if v < 0 {
					y[i] = float32(math.Expm1(float64(v)))
				} else {
					y[i] = v
				}
			}
		case unLeakyRelu:
			for i, v := range x {
				if v < 0 {
					y[i] = v * k.alpha
				} else {
					y[i] = v
				}
			}
		case unGelu:
			for i, v := range x {
				f := float64(v)
				if k.approx {
					y[i] = float32(0.5 * f * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(f+0.044715*f*f*f))))
				} else {
					y[i] = float32(0.5 * f * (1 + math.Erf(f/math.Sqrt2)))
				}
			}
		}
	case out.i32 != nil:
		for i, v := range in.i32 {
			switch k.kind {
			case unNeg:
				out.i32[i] = -v
			case unAbs:
				out.i32[i] = max(v, -v)
			case unSquare:
				out.i32[i] = v * v
			}
		}
	case out.i64 != nil:
		for i, v := range in.i64 {
			switch k.kind {
			case unNeg:
				out.i64[i] = -v
			case unAbs:
				out.i64[i] = max(v, -v)
			case unSquare:
				out.i64[i] = v * v
			}
		}
	case out.b != nil:
		for i, v := range in.b {
			out.b[i] = !v
		}
	}
	return nil
}

// ---- CAST ----

type castKernel struct{}

func buildCast(c *buildCtx) (kernel, error) {
	if err := c.arity(1, 1, 1, 1); err != nil {
		return nil, err
	}
	if err := c.types(Float32, Int32, Int64, Bool); err != nil {
		return nil, err
	}
	return castKernel{}, nil
}

func (castKernel) prepare(n *node) error { return n.out[0].setShape(n.in[0].shape, *n.lim) }

func (castKernel) eval(n *node) error {
	in, out := n.in[0], n.out[0]
	for i := 0; i < out.Len(); i++ {
		var v float64
		switch {
		case in.f32 != nil:
			v = float64(in.f32[i])
		case in.i32 != nil:
			v = float64(in.i32[i])
		case in.i64 != nil:
			v = float64(in.i64[i])
		case in.b[i]:
			v = 1
		}
		switch {
		case out.f32 != nil:
			out.f32[i] = float32(v)
		case out.i32 != nil:
			out.i32[i] = int32(v)
		case out.i64 != nil:
			out.i64[i] = int64(v)
		default:
			out.b[i] = v != 0
		}
	}
	return nil
}

// ---- reductions: MEAN, SUM, REDUCE_PROD, REDUCE_MAX ----

type redKind uint8

const (
	redMean redKind = iota
	redSum
	redProd
	redMax
)

type reduceKernel struct {
	kind     redKind
	keepDims bool
}

type reducePlan struct {
	rank    int
	in      [8]int
	ostride [8]int // output stride per input dimension, 0 for reduced ones
	count   int    // input elements per output element
}

func buildReduce(kind redKind) func(*buildCtx) (kernel, error) {
	return func(c *buildCtx) (kernel, error) {
		if err := c.arity(2, 2, 1, 1); err != nil {
			return nil, err
		}
		if err := c.sameType(c.in(0), c.out(0)); err != nil {
			return nil, err
		}
		if t := c.in(0).typ; t != Float32 && t != Int32 {
			return nil, fmt.Errorf("type %s is not supported", t)
		}
		if t := c.in(1).typ; t != Int32 && t != Int64 {
			return nil, fmt.Errorf("axes tensor has type %s, want INT32", t)
		}
		keep, err := c.optBool(0) // ReducerOptions.keep_dims
		if err != nil {
			return nil, err
		}
		return &reduceKernel{kind: kind, keepDims: keep}, nil
	}
}

func (k *reduceKernel) prepare(n *node) error {
	axes, err := n.ints(n.in[1])
	if err != nil {
		return fmt.Errorf("axes: %w", err)
	}
	in := n.in[0].shape
	if len(in) > 8 {
		return fmt.Errorf("rank %d exceeds 8", len(in))
	}
	reduced := make([]bool, len(in))
	for _, a := range axes {
		if a < 0 {
			a += len(in)
		}
		if a < 0 || a >= len(in) {
			return fmt.Errorf("axis %v out of range for shape %v", axes, in)
		}
		reduced[a] = true
	}
	var out []int
	p := &reducePlan{rank: len(in), count: 1}
	copy(p.in[:], in)
	for i, d := range in {
		switch {
		case reduced[i]:
			p.count *= d
			if k.keepDims {
				out = append(out, 1)
			}
		default:
			out = append(out, d)
		}
	}
	stride := 1
	for i := len(in) - 1; i >= 0; i-- {
		if reduced[i] {
			continue
		}
		p.ostride[i] = stride
		stride *= in[i]
	}
	n.state = p
	return n.out[0].setShape(out, *n.lim)
}

func (k *reduceKernel) eval(n *node) error {
	p := n.state.(*reducePlan)
	in, out := n.in[0], n.out[0]
	if out.f32 != nil {
		o := out.f32
		init := float32(0)
		switch k.kind {
		case redProd:
			init = 1
		case redMax:
			init = float32(math.Inf(-1))
		}
		for i := range o {
			o[i] = init
		}
		x := in.f32
		// Fast path: reduce over the innermost dimensions only.
		if p.rank > 0 && p.ostride[p.rank-1] == 0 && innerOnly(p) {
			for oi := range o {
				seg := x[oi*p.count : (oi+1)*p.count]
				acc := init
				for _, v := range seg {
					switch k.kind {
					case redMean, redSum:
						acc += v
					case redProd:
						acc *= v
					case redMax:
						acc = max(acc, v)
					}
				}
				o[oi] = acc
			}
		} else {
			reduceWalk(o, x, k.kind, p)
		}
		if k.kind == redMean && p.count > 0 {
			c := float32(p.count)
			for i := range o {
				o[i] /= c
			}
		}
		return nil
	}
	// INT32 (shape arithmetic, e.g. REDUCE_PROD of a SHAPE).
	o := out.i32
	for i := range o {
		switch k.kind {
		case redProd:
			o[i] = 1
		case redMax:
			o[i] = math.MinInt32
		default:
			o[i] = 0
		}
	}
	reduceWalk(o, in.i32, k.kind, p)
	if k.kind == redMean && p.count > 0 {
		for i := range o {
			o[i] /= int32(p.count)
		}
	}
	return nil
}

// reduceWalk folds every input element into its output cell (o is already
// initialised with the reduction's identity), walking the input in row-major
// order and moving the output index by the plan's output strides (0 along
// reduced dimensions). The general path for any set of reduced axes.
func reduceWalk[T float32 | int32](o, x []T, kind redKind, p *reducePlan) {
	var idx [8]int
	oi := 0
	for _, v := range x {
		switch kind {
		case redMean, redSum:
			o[oi] += v
		case redProd:
			o[oi] *= v
		case redMax:
			o[oi] = max(o[oi], v)
		}
		for d := p.rank - 1; d >= 0; d-- {
			idx[d]++
			oi += p.ostride[d]
			if idx[d] < p.in[d] {
				break
			}
			oi -= p.ostride[d] * idx[d]
			idx[d] = 0
		}
	}
}

// innerOnly reports whether the reduced dimensions are exactly a suffix.
func innerOnly(p *reducePlan) bool {
	seenKept := false
	for d := p.rank - 1; d >= 0; d-- {
		if p.ostride[d] != 0 || p.in[d] == 1 {
			if p.ostride[d] != 0 {
				seenKept = true
			}
			continue
		}
		if seenKept {
			return false
		}
	}
	return true
}

// ---- SOFTMAX (last dimension) ----

type softmaxKernel struct{ beta float32 }

func buildSoftmax(c *buildCtx) (kernel, error) {
	if err := c.arity(1, 1, 1, 1); err != nil {
		return nil, err
	}
	if err := c.types(Float32); err != nil {
		return nil, err
	}
	beta, err := c.optF32(0, 0) // SoftmaxOptions.beta
	if err != nil {
		return nil, err
	}
	return &softmaxKernel{beta: beta}, nil
}

func (k *softmaxKernel) prepare(n *node) error {
	if len(n.in[0].shape) == 0 {
		return fmt.Errorf("input is a scalar")
	}
	return n.out[0].setShape(n.in[0].shape, *n.lim)
}

func (k *softmaxKernel) eval(n *node) error {
	s := n.in[0].shape
	d := s[len(s)-1]
	x, y := n.in[0].f32, n.out[0].f32
	for r := 0; r+d <= len(x) && d > 0; r += d {
		row, out := x[r:r+d], y[r:r+d]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var sum float32
		for i, v := range row {
			e := float32(math.Exp(float64((v - m) * k.beta)))
			out[i] = e
			sum += e
		}
		inv := 1 / sum
		for i := range out {
			out[i] *= inv
		}
	}
	return nil
}
