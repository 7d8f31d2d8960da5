package tflite

import "fmt"

// WHILE runs its body subgraph while its cond subgraph returns true. Keras
// recurrent layers (LSTM, GRU) convert to a WHILE over time steps.
type whileKernel struct {
	cond, body int
}

func buildWhile(c *buildCtx) (kernel, error) {
	if len(c.op.inputs) != len(c.op.outputs) {
		return nil, fmt.Errorf("has %d inputs and %d outputs, want equal counts", len(c.op.inputs), len(c.op.outputs))
	}
	ci, err := c.optI32(0, 0)
	if err != nil {
		return nil, err
	}
	bi, err := c.optI32(1, 0)
	if err != nil {
		return nil, err
	}
	ns := len(c.m.subgraphs)
	if ci < 0 || int(ci) >= ns || bi < 0 || int(bi) >= ns {
		return nil, fmt.Errorf("cond %d / body %d subgraph out of range [0, %d)", ci, bi, ns)
	}
	if int(ci) <= c.sg.index || int(bi) <= c.sg.index {
		// Requiring callees to come later rules out recursion, which would
		// otherwise instantiate without end.
		return nil, fmt.Errorf("cond %d / body %d must come after the calling subgraph %d", ci, bi, c.sg.index)
	}
	cond, body := c.m.subgraphs[ci], c.m.subgraphs[bi]
	n := len(c.op.inputs)
	if len(cond.inputs) != n || len(body.inputs) != n || len(body.outputs) != n {
		return nil, fmt.Errorf("%d loop variables, cond takes %d, body takes %d and returns %d", n, len(cond.inputs), len(body.inputs), len(body.outputs))
	}
	if len(cond.outputs) != 1 || cond.tensors[cond.outputs[0]].typ != Bool {
		return nil, fmt.Errorf("cond subgraph %d must return one BOOL", ci)
	}
	for i := 0; i < n; i++ {
		if c.op.inputs[i] < 0 {
			return nil, fmt.Errorf("loop variable %d is omitted", i)
		}
		t := c.in(i).typ
		if c.out(i).typ != t || cond.tensors[cond.inputs[i]].typ != t || body.tensors[body.inputs[i]].typ != t || body.tensors[body.outputs[i]].typ != t {
			return nil, fmt.Errorf("loop variable %d changes type across cond/body", i)
		}
	}
	return &whileKernel{cond: int(ci), body: int(bi)}, nil
}

func (k *whileKernel) subgraphs() []int { return []int{k.cond, k.body} }

func (k *whileKernel) prepare(n *node) error {
	cond, body := n.sub[0], n.sub[1]
	for i, t := range n.in {
		if err := cond.in[i].setShape(t.shape, *n.lim); err != nil {
			return err
		}
		if err := body.in[i].setShape(t.shape, *n.lim); err != nil {
			return err
		}
		cond.in[i].known = false
		body.in[i].known = false
	}
	if err := cond.ip.prepareInst(cond); err != nil {
		return fmt.Errorf("cond: %w", err)
	}
	if err := body.ip.prepareInst(body); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if cond.out[0].Len() != 1 {
		return fmt.Errorf("cond returns shape %v, want a single BOOL", cond.out[0].shape)
	}
	for i, t := range n.in {
		if !body.out[i].dynamic && !sameShape(body.out[i].shape, t.shape) {
			return fmt.Errorf("loop variable %d changes shape from %v to %v in the body; dynamic loop shapes are not supported", i, t.shape, body.out[i].shape)
		}
		if err := n.out[i].setShape(t.shape, *n.lim); err != nil {
			return err
		}
	}
	return nil
}

func (k *whileKernel) eval(n *node) error {
	cond, body := n.sub[0], n.sub[1]
	for i, t := range n.in {
		copyData(body.in[i], t)
	}
	ip := cond.ip
	for {
		// The budget counts iterations of all loops in one Invoke, nested ones
		// included, so loops inside loops cannot multiply past it.
		ip.iterations++
		if ip.iterations > n.lim.MaxWhileIterations {
			return fmt.Errorf("more than %d loop iterations in one Invoke", n.lim.MaxWhileIterations)
		}
		for i, t := range body.in {
			copyData(cond.in[i], t)
		}
		if err := cond.invoke(); err != nil {
			return err
		}
		if !cond.out[0].b[0] {
			break
		}
		if err := body.invoke(); err != nil {
			return err
		}
		for i, t := range body.out {
			if !sameShape(t.shape, body.in[i].shape) {
				return fmt.Errorf("loop variable %d changed shape from %v to %v", i, body.in[i].shape, t.shape)
			}
			if t != body.in[i] {
				copyData(body.in[i], t)
			}
		}
	}
	for i, t := range n.out {
		copyData(t, body.in[i])
	}
	return nil
}
