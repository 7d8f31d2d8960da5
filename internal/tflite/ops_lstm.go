package tflite

import (
	"fmt"
	"math"
)

// UNIDIRECTIONAL_SEQUENCE_LSTM: the fused LSTM that tf.keras (Keras 2, the
// tf-keras package) models convert to. Keras 3 LSTMs become WHILE loops
// instead. Float32 weights; CIFG, peepholes, projection and cell/projection
// clipping are supported, layer-normalized LSTMs are not.
//
// Like TFLite, the output and cell state are variable tensors: the final
// state of one Invoke is the initial state of the next, until
// AllocateTensors or ResetVariables zeroes them.
type lstmKernel struct {
	act                activation
	cellClip, projClip float32
	timeMajor          bool
	cifg               bool // no input gate: i = 1 − f
	peephole           bool
	projection         bool
	n, nOut, nIn       int
}

// Input indexes of the fused LSTM (schema: lstm_shared.h).
const (
	lstmInput            = 0
	lstmInputToInput     = 1 // 1..4: input weights of gates i, f, c, o
	lstmRecurrentToInput = 5 // 5..8: recurrent weights of gates i, f, c, o
	lstmCellToInput      = 9 // 9..11: peepholes i, f, o
	lstmInputGateBias    = 12
	lstmProjWeights      = 16
	lstmProjBias         = 17
	lstmOutputState      = 18
	lstmCellState        = 19
	lstmInputLayerNorm   = 20 // 20..23
)

type lstmPlan struct {
	batch, steps int
}

func buildLSTM(c *buildCtx) (kernel, error) {
	if err := c.arity(1, 24, 1, 1); err != nil {
		return nil, err
	}
	if len(c.op.inputs) < 20 {
		return nil, fmt.Errorf("has %d inputs, want 20..24", len(c.op.inputs))
	}
	in, out := c.in(lstmInput), c.out(0)
	if in.typ != Float32 || out.typ != Float32 {
		return nil, fmt.Errorf("input %s / output %s: only FLOAT32 is supported", in.typ, out.typ)
	}
	for i := lstmInputLayerNorm; i < len(c.op.inputs); i++ {
		if c.in(i) != nil {
			return nil, fmt.Errorf("layer-normalized LSTM (input %d) is not supported", i)
		}
	}
	k := &lstmKernel{}
	fw := c.in(lstmInputToInput + 1) // forget gate input weights decide sizes
	if fw == nil || len(fw.shape) != 2 {
		return nil, fmt.Errorf("input-to-forget weights missing or not 2-D")
	}
	k.n, k.nIn = fw.shape[0], fw.shape[1]
	k.nOut = k.n
	k.cifg = c.in(lstmInputToInput) == nil
	k.peephole = c.in(lstmCellToInput+1) != nil
	k.projection = c.in(lstmProjWeights) != nil
	if k.projection {
		pw := c.in(lstmProjWeights)
		if len(pw.shape) != 2 || pw.shape[1] != k.n {
			return nil, fmt.Errorf("projection weights %v, want [out, %d]", pw.shape, k.n)
		}
		k.nOut = pw.shape[0]
	}
	check := func(i int, shape ...int) error {
		d := c.in(i)
		if d == nil {
			return fmt.Errorf("input %d is required", i)
		}
		if d.typ != Float32 || !d.isConst {
			return fmt.Errorf("input %d %q must be a FLOAT32 constant (have %s)", i, d.name, d.typ)
		}
		if !sameShape(d.shape, shape) {
			return fmt.Errorf("input %d %q has shape %v, want %v", i, d.name, d.shape, shape)
		}
		return nil
	}
	for g := 0; g < 4; g++ {
		if g == 0 && k.cifg {
			continue
		}
		if err := check(lstmInputToInput+g, k.n, k.nIn); err != nil {
			return nil, err
		}
		if err := check(lstmRecurrentToInput+g, k.n, k.nOut); err != nil {
			return nil, err
		}
		if err := check(lstmInputGateBias+g, k.n); err != nil {
			return nil, err
		}
	}
	if k.peephole {
		for _, i := range []int{lstmCellToInput, lstmCellToInput + 1, lstmCellToInput + 2} {
			if i == lstmCellToInput && k.cifg {
				continue
			}
			if err := check(i, k.n); err != nil {
				return nil, err
			}
		}
	}
	if k.projection {
		if err := check(lstmProjWeights, k.nOut, k.n); err != nil {
			return nil, err
		}
		if c.in(lstmProjBias) != nil {
			if err := check(lstmProjBias, k.nOut); err != nil {
				return nil, err
			}
		}
	}
	for _, i := range []int{lstmOutputState, lstmCellState} {
		d := c.in(i)
		if d == nil || !d.variable || d.typ != Float32 {
			return nil, fmt.Errorf("state input %d must be a FLOAT32 variable tensor", i)
		}
	}
	var err error
	if k.act, err = c.activation(0); err != nil {
		return nil, err
	}
	if k.cellClip, err = c.optF32(1, 0); err != nil {
		return nil, err
	}
	if k.projClip, err = c.optF32(2, 0); err != nil {
		return nil, err
	}
	if k.timeMajor, err = c.optBool(3); err != nil {
		return nil, err
	}
	// Field 4 (asymmetric_quantize_inputs) only matters for int8 weights,
	// which check() already rejects.
	if diag, err := c.optBool(5); err != nil {
		return nil, err
	} else if diag {
		return nil, fmt.Errorf("diagonal_recurrent_tensors is not supported")
	}
	return k, nil
}

func (k *lstmKernel) prepare(n *node) error {
	in := n.in[lstmInput].shape
	if len(in) != 3 || in[2] != k.nIn {
		return fmt.Errorf("input has shape %v, want [batch, time, %d]", in, k.nIn)
	}
	p := &lstmPlan{batch: in[0], steps: in[1]}
	if k.timeMajor {
		p.batch, p.steps = in[1], in[0]
	}
	if s := n.in[lstmOutputState].shape; numElements(s) != p.batch*k.nOut {
		return fmt.Errorf("output state has shape %v, want [%d %d]", s, p.batch, k.nOut)
	}
	if s := n.in[lstmCellState].shape; numElements(s) != p.batch*k.n {
		return fmt.Errorf("cell state has shape %v, want [%d %d]", s, p.batch, k.n)
	}
	n.state = p
	// gate pre-activations (4·n) + new hidden before projection (n)
	n.scratchWords = words(4 * 5 * k.n)
	out := []int{in[0], in[1], k.nOut}
	return n.out[0].setShape(out, *n.lim)
}

func (k *lstmKernel) eval(n *node) error {
	p := n.state.(*lstmPlan)
	x, y := n.in[lstmInput].f32, n.out[0].f32
	hAll, cAll := n.in[lstmOutputState].f32, n.in[lstmCellState].f32
	sc := f32View(n.scratch, 5*k.n)
	gates, hid := sc[:4*k.n], sc[4*k.n:5*k.n]
	w := func(i int) []float32 {
		if t := n.in[i]; t != nil {
			return t.f32
		}
		return nil
	}
	for b := 0; b < p.batch; b++ {
		h, c := hAll[b*k.nOut:(b+1)*k.nOut], cAll[b*k.n:(b+1)*k.n]
		for t := 0; t < p.steps; t++ {
			var xo, yo int
			if k.timeMajor {
				xo, yo = (t*p.batch+b)*k.nIn, (t*p.batch+b)*k.nOut
			} else {
				xo, yo = (b*p.steps+t)*k.nIn, (b*p.steps+t)*k.nOut
			}
			xt := x[xo : xo+k.nIn]
			for g := 0; g < 4; g++ {
				pre := gates[g*k.n : (g+1)*k.n]
				if g == 0 && k.cifg {
					continue
				}
				copy(pre, w(lstmInputGateBias+g))
				matVecAdd(w(lstmInputToInput+g), xt, pre)
				matVecAdd(w(lstmRecurrentToInput+g), h, pre)
			}
			ig, fg, cg, og := gates[:k.n], gates[k.n:2*k.n], gates[2*k.n:3*k.n], gates[3*k.n:]
			if k.peephole {
				if !k.cifg {
					addMul(ig, w(lstmCellToInput), c)
				}
				addMul(fg, w(lstmCellToInput+1), c)
			}
			sigmoid(fg)
			if k.cifg {
				for i := range ig {
					ig[i] = 1 - fg[i]
				}
			} else {
				sigmoid(ig)
			}
			lstmAct(k.act, cg)
			for i := range c {
				c[i] = fg[i]*c[i] + ig[i]*cg[i]
			}
			if k.cellClip > 0 {
				for i, v := range c {
					c[i] = min(max(v, -k.cellClip), k.cellClip)
				}
			}
			if k.peephole {
				addMul(og, w(lstmCellToInput+2), c)
			}
			sigmoid(og)
			copy(hid, c)
			lstmAct(k.act, hid)
			for i := range hid {
				hid[i] *= og[i]
			}
			if k.projection {
				if pb := w(lstmProjBias); pb != nil {
					copy(h, pb)
				} else {
					clear(h)
				}
				matVecAdd(w(lstmProjWeights), hid, h)
				if k.projClip > 0 {
					for i, v := range h {
						h[i] = min(max(v, -k.projClip), k.projClip)
					}
				}
			} else {
				copy(h, hid)
			}
			copy(y[yo:yo+k.nOut], h)
		}
	}
	return nil
}

// matVecAdd does out += W·v for W [len(out), len(v)].
func matVecAdd(wm, v, out []float32) {
	cols := len(v)
	for r := range out {
		row := wm[r*cols : (r+1)*cols]
		var s float32
		for j, x := range row {
			s += x * v[j]
		}
		out[r] += s
	}
}

func addMul(dst, a, b []float32) {
	for i := range dst {
		dst[i] += a[i] * b[i]
	}
}

func sigmoid(x []float32) {
	for i, v := range x {
		x[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

func lstmAct(a activation, x []float32) {
	switch a {
	case actNone:
	case actTanh:
		for i, v := range x {
			x[i] = float32(math.Tanh(float64(v)))
		}
	default:
		applyActivation(a, x)
	}
}
