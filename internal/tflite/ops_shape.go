package tflite

import (
	"fmt"
)

// ---- shared data movement helpers ----

// stridePlan describes out[i0..ik] = in[base + Σ i_d*stride_d]: slices,
// strided slices and transposes are all this one loop.
type stridePlan struct {
	rank   int
	shape  [8]int
	stride [8]int
	base   int
}

func stridedCopy[T any](dst, src []T, p *stridePlan) {
	if len(dst) == 0 {
		return
	}
	if p.rank == 0 {
		dst[0] = src[p.base]
		return
	}
	last := p.rank - 1
	inner, is := p.shape[last], p.stride[last]
	var idx [8]int
	off := p.base
	for o := 0; o < len(dst); o += inner {
		if is == 1 {
			copy(dst[o:o+inner], src[off:off+inner])
		} else {
			for i := 0; i < inner; i++ {
				dst[o+i] = src[off+i*is]
			}
		}
		for d := last - 1; d >= 0; d-- {
			idx[d]++
			off += p.stride[d]
			if idx[d] < p.shape[d] {
				break
			}
			off -= p.stride[d] * idx[d]
			idx[d] = 0
		}
	}
}

func runStrided(dst, src *Tensor, p *stridePlan) {
	switch {
	case dst.f32 != nil:
		stridedCopy(dst.f32, src.f32, p)
	case dst.i32 != nil:
		stridedCopy(dst.i32, src.i32, p)
	case dst.i64 != nil:
		stridedCopy(dst.i64, src.i64, p)
	case dst.b != nil:
		stridedCopy(dst.b, src.b, p)
	}
}

// copyBlock copies n elements from src[so:] to dst[do:].
func copyBlock(dst, src *Tensor, do, so, n int) {
	switch {
	case dst.f32 != nil:
		copy(dst.f32[do:do+n], src.f32[so:so+n])
	case dst.i32 != nil:
		copy(dst.i32[do:do+n], src.i32[so:so+n])
	case dst.i64 != nil:
		copy(dst.i64[do:do+n], src.i64[so:so+n])
	case dst.b != nil:
		copy(dst.b[do:do+n], src.b[so:so+n])
	}
}

func rowMajorStrides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

func normAxis(axis, rank int) (int, error) {
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return 0, fmt.Errorf("axis out of range for rank %d", rank)
	}
	return axis, nil
}

var anyType = []DataType{Float32, Int32, Int64, Bool}

// ---- SHAPE ----

type shapeKernel struct{}

func (shapeKernel) isShapeOf() {}

func buildShape(c *buildCtx) (kernel, error) {
	if err := c.arity(1, 1, 1, 1); err != nil {
		return nil, err
	}
	if t := c.out(0).typ; t != Int32 && t != Int64 {
		return nil, fmt.Errorf("output type %s, want INT32 or INT64", t)
	}
	return shapeKernel{}, nil
}

func (shapeKernel) prepare(n *node) error {
	return n.out[0].setShape([]int{len(n.in[0].shape)}, *n.lim)
}

func (shapeKernel) eval(n *node) error {
	for i, d := range n.in[0].shape {
		if n.out[0].i32 != nil {
			n.out[0].i32[i] = int32(d)
		} else {
			n.out[0].i64[i] = int64(d)
		}
	}
	return nil
}

// ---- RESHAPE, EXPAND_DIMS, SQUEEZE: same data, new shape ----

type reshapeKernel struct {
	newShape []int // from ReshapeOptions when there is no shape input
	kind     int   // 0 reshape, 1 expand_dims, 2 squeeze
	squeeze  []int
}

func buildReshape(c *buildCtx) (kernel, error) {
	if err := c.arity(1, 2, 1, 1); err != nil {
		return nil, err
	}
	if err := c.sameType(c.in(0), c.out(0)); err != nil {
		return nil, err
	}
	k := &reshapeKernel{}
	if c.in(1) == nil {
		ns, err := c.optI32s(0)
		if err != nil {
			return nil, err
		}
		if ns == nil {
			ns = make([]int32, 0, len(c.out(0).shape))
			for _, d := range c.out(0).shape {
				ns = append(ns, int32(d))
			}
		}
		for _, d := range ns {
			k.newShape = append(k.newShape, int(d))
		}
	} else if t := c.in(1).typ; t != Int32 && t != Int64 {
		return nil, fmt.Errorf("shape tensor has type %s, want INT32", t)
	}
	return k, nil
}

func buildExpandDims(c *buildCtx) (kernel, error) {
	if err := c.arity(2, 2, 1, 1); err != nil {
		return nil, err
	}
	if err := c.sameType(c.in(0), c.out(0)); err != nil {
		return nil, err
	}
	return &reshapeKernel{kind: 1}, nil
}

func buildSqueeze(c *buildCtx) (kernel, error) {
	if err := c.arity(1, 1, 1, 1); err != nil {
		return nil, err
	}
	if err := c.sameType(c.in(0), c.out(0)); err != nil {
		return nil, err
	}
	dims, err := c.optI32s(0)
	if err != nil {
		return nil, err
	}
	k := &reshapeKernel{kind: 2}
	for _, d := range dims {
		k.squeeze = append(k.squeeze, int(d))
	}
	return k, nil
}

func (k *reshapeKernel) prepare(n *node) error {
	in := n.in[0].shape
	count := numElements(in)
	var out []int
	switch k.kind {
	case 0:
		target := k.newShape
		if len(n.in) > 1 && n.in[1] != nil {
			var err error
			if target, err = n.ints(n.in[1]); err != nil {
				return fmt.Errorf("shape: %w", err)
			}
			// A shape tensor of shape [0]... is TFLite's way of saying "scalar".
		}
		out = append([]int(nil), target...)
		unknown, known := -1, 1
		for i, d := range out {
			switch {
			case d == -1 && unknown < 0:
				unknown = i
			case d < 0:
				return fmt.Errorf("bad target shape %v", target)
			default:
				known *= d
			}
		}
		if unknown >= 0 {
			if known == 0 || count%known != 0 {
				return fmt.Errorf("cannot reshape %v to %v", in, target)
			}
			out[unknown] = count / known
		} else if known != count {
			return fmt.Errorf("cannot reshape %v (%d elements) to %v", in, count, target)
		}
	case 1:
		axes, err := n.ints(n.in[1])
		if err != nil {
			return fmt.Errorf("axis: %w", err)
		}
		if len(axes) != 1 {
			return fmt.Errorf("axis has %d values, want 1", len(axes))
		}
		a := axes[0]
		if a < 0 {
			a += len(in) + 1
		}
		if a < 0 || a > len(in) {
			return fmt.Errorf("axis %d out of range for shape %v", axes[0], in)
		}
		out = append(append(append([]int(nil), in[:a]...), 1), in[a:]...)
	case 2:
		drop := make([]bool, len(in))
		if len(k.squeeze) == 0 {
			for i, d := range in {
				drop[i] = d == 1
			}
		}
		for _, a := range k.squeeze {
			x, err := normAxis(a, len(in))
			if err != nil {
				return fmt.Errorf("squeeze dim %d: %w", a, err)
			}
			if in[x] != 1 {
				return fmt.Errorf("cannot squeeze dimension %d of shape %v", a, in)
			}
			drop[x] = true
		}
		for i, d := range in {
			if !drop[i] {
				out = append(out, d)
			}
		}
	}
	return n.out[0].setShape(out, *n.lim)
}

func (k *reshapeKernel) eval(n *node) error {
	in, out := n.in[0], n.out[0]
	if len(in.mem) > 0 && len(out.mem) > 0 && &in.mem[0] == &out.mem[0] {
		return nil // aliased by the planner: same bytes already
	}
	copyData(out, in)
	return nil
}

// ---- STRIDED_SLICE and SLICE ----

type sliceKernel struct {
	strided                                bool
	beginMask, endMask, shrinkMask, offset int32
}

func buildStridedSlice(c *buildCtx) (kernel, error) {
	if err := c.arity(4, 4, 1, 1); err != nil {
		return nil, err
	}
	if err := c.sameType(c.in(0), c.out(0)); err != nil {
		return nil, err
	}
	k := &sliceKernel{strided: true}
	var err error
	if k.beginMask, err = c.optI32(0, 0); err != nil {
		return nil, err
	}
	if k.endMask, err = c.optI32(1, 0); err != nil {
		return nil, err
	}
	ellipsis, err := c.optI32(2, 0)
	if err != nil {
		return nil, err
	}
	newAxis, err := c.optI32(3, 0)
	if err != nil {
		return nil, err
	}
	if ellipsis != 0 || newAxis != 0 {
		return nil, fmt.Errorf("ellipsis_mask/new_axis_mask are not supported")
	}
	if k.shrinkMask, err = c.optI32(4, 0); err != nil {
		return nil, err
	}
	if off, err := c.optBool(5); err != nil {
		return nil, err
	} else if off {
		return nil, fmt.Errorf("offset=true is not supported")
	}
	return k, nil
}

func buildSlice(c *buildCtx) (kernel, error) {
	if err := c.arity(3, 3, 1, 1); err != nil {
		return nil, err
	}
	if err := c.sameType(c.in(0), c.out(0)); err != nil {
		return nil, err
	}
	return &sliceKernel{}, nil
}

func (k *sliceKernel) prepare(n *node) error {
	in := n.in[0].shape
	if len(in) > 8 {
		return fmt.Errorf("rank %d exceeds 8", len(in))
	}
	begin, err := n.ints(n.in[1])
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	second, err := n.ints(n.in[2])
	if err != nil {
		return fmt.Errorf("end/size: %w", err)
	}
	strides := n.tmpInts(len(in))
	for i := range strides {
		strides[i] = 1
	}
	if k.strided {
		if strides, err = n.ints(n.in[3]); err != nil {
			return fmt.Errorf("strides: %w", err)
		}
	}
	if len(begin) > len(in) || len(second) != len(begin) || len(strides) != len(begin) {
		return fmt.Errorf("begin %v / end %v / strides %v do not fit shape %v", begin, second, strides, in)
	}
	// Re-prepared on every Invoke when begin/size come from a loop index:
	// reuse the plan and the node's int pool instead of allocating.
	p, ok := n.state.(*stridePlan)
	if !ok {
		p = &stridePlan{}
	}
	*p = stridePlan{}
	inStrides := n.tmpInts(len(in))
	acc := 1
	for d := len(in) - 1; d >= 0; d-- {
		inStrides[d] = acc
		acc *= in[d]
	}
	out := n.tmpInts(len(in))[:0]
	for d := range in {
		start, stop, step := 0, in[d], 1
		if d < len(begin) {
			step = strides[d]
			if step == 0 {
				return fmt.Errorf("stride 0 in dimension %d", d)
			}
			if k.strided {
				start, stop = begin[d], second[d]
				if k.beginMask&(1<<d) != 0 {
					start = 0
					if step < 0 {
						start = in[d] - 1
					}
				} else {
					start = clampIndex(start, in[d], step)
				}
				if k.shrinkMask&(1<<d) != 0 {
					b := begin[d]
					if b < 0 {
						b += in[d]
					}
					if b < 0 || b >= in[d] {
						return fmt.Errorf("shrink index %d out of range for dimension %d of shape %v", begin[d], d, in)
					}
					start, stop, step = b, b+1, 1
				} else if k.endMask&(1<<d) != 0 {
					stop = in[d]
					if step < 0 {
						stop = -1
					}
				} else {
					stop = clampEnd(stop, in[d], step)
				}
			} else {
				start = begin[d]
				size := second[d]
				if size == -1 {
					size = in[d] - start
				}
				if start < 0 || size < 0 || start+size > in[d] {
					return fmt.Errorf("slice begin %v size %v out of range for shape %v", begin, second, in)
				}
				stop = start + size
			}
		}
		cnt := 0
		if step > 0 && stop > start {
			cnt = (stop - start + step - 1) / step
		} else if step < 0 && stop < start {
			cnt = (start - stop - step - 1) / -step
		}
		p.base += start * inStrides[d]
		if cnt == 0 {
			p.base = 0
		}
		if !(k.strided && k.shrinkMask&(1<<d) != 0) {
			out = append(out, cnt)
			p.shape[p.rank] = cnt
			p.stride[p.rank] = step * inStrides[d]
			p.rank++
		}
	}
	if numElements(out) == 0 {
		p.base = 0
	}
	n.state = p
	return n.out[0].setShape(out, *n.lim)
}

// bound is the largest output: the input itself, minus shrunk dimensions.
func (k *sliceKernel) bound(n *node) error {
	var out []int
	for d, v := range n.in[0].shape {
		if k.strided && k.shrinkMask&(1<<d) != 0 {
			continue
		}
		out = append(out, v)
	}
	return n.out[0].setShape(out, *n.lim)
}

func clampIndex(i, dim, step int) int {
	if i < 0 {
		i += dim
	}
	if step > 0 {
		return min(max(i, 0), dim)
	}
	return min(max(i, -1), dim-1)
}

func clampEnd(i, dim, step int) int {
	if i < 0 {
		i += dim
	}
	if step > 0 {
		return min(max(i, 0), dim)
	}
	return min(max(i, -1), dim-1)
}

func (k *sliceKernel) eval(n *node) error {
	p := n.state.(*stridePlan)
	if p.rank == 0 && n.out[0].Len() == 1 {
		copyBlock(n.out[0], n.in[0], 0, p.base, 1)
		return nil
	}
	runStrided(n.out[0], n.in[0], p)
	return nil
}

// ---- TRANSPOSE ----

type transposeKernel struct{}

func buildTranspose(c *buildCtx) (kernel, error) {
	if err := c.arity(2, 2, 1, 1); err != nil {
		return nil, err
	}
	if err := c.sameType(c.in(0), c.out(0)); err != nil {
		return nil, err
	}
	return transposeKernel{}, nil
}

func (transposeKernel) prepare(n *node) error {
	in := n.in[0].shape
	perm, err := n.ints(n.in[1])
	if err != nil {
		return fmt.Errorf("perm: %w", err)
	}
	if len(perm) != len(in) || len(in) > 8 {
		return fmt.Errorf("perm %v does not fit shape %v", perm, in)
	}
	st := rowMajorStrides(in)
	p := &stridePlan{rank: len(in)}
	out := make([]int, len(in))
	used := make([]bool, len(in))
	for i, a := range perm {
		if a < 0 || a >= len(in) || used[a] {
			return fmt.Errorf("perm %v is not a permutation", perm)
		}
		used[a] = true
		out[i] = in[a]
		p.shape[i] = in[a]
		p.stride[i] = st[a]
	}
	n.state = p
	return n.out[0].setShape(out, *n.lim)
}

func (transposeKernel) eval(n *node) error {
	runStrided(n.out[0], n.in[0], n.state.(*stridePlan))
	return nil
}

// ---- PACK / UNPACK / CONCATENATION / SPLIT: block copies along one axis ----

// axisPlan splits shapes into outer × axis × inner for block copies.
type axisPlan struct {
	outer int
	inner []int // per part: elements of the part per outer step
	total int   // elements of the joined tensor per outer step
}

type packKernel struct {
	axis  int
	count int
	act   activation
	kind  int // 0 pack, 1 concat
}

func buildPack(c *buildCtx) (kernel, error) {
	if err := c.arity(1, 1<<16, 1, 1); err != nil {
		return nil, err
	}
	if err := c.types(anyType...); err != nil {
		return nil, err
	}
	axis, err := c.optI32(1, 0)
	if err != nil {
		return nil, err
	}
	cnt, err := c.optI32(0, 0)
	if err != nil {
		return nil, err
	}
	if int(cnt) != len(c.op.inputs) {
		return nil, fmt.Errorf("values_count %d but %d inputs", cnt, len(c.op.inputs))
	}
	for i := range c.op.inputs {
		if c.in(i) == nil {
			return nil, fmt.Errorf("input %d is omitted", i)
		}
		if err := c.sameType(c.in(i), c.out(0)); err != nil {
			return nil, err
		}
	}
	return &packKernel{axis: int(axis), count: int(cnt)}, nil
}

func buildConcat(c *buildCtx) (kernel, error) {
	if err := c.arity(1, 1<<16, 1, 1); err != nil {
		return nil, err
	}
	if err := c.types(anyType...); err != nil {
		return nil, err
	}
	axis, err := c.optI32(0, 0)
	if err != nil {
		return nil, err
	}
	act, err := c.activation(1)
	if err != nil {
		return nil, err
	}
	for i := range c.op.inputs {
		if c.in(i) == nil {
			return nil, fmt.Errorf("input %d is omitted", i)
		}
		if err := c.sameType(c.in(i), c.out(0)); err != nil {
			return nil, err
		}
	}
	return &packKernel{axis: int(axis), act: act, kind: 1, count: len(c.op.inputs)}, nil
}

func (k *packKernel) prepare(n *node) error {
	first := n.in[0].shape
	var out []int
	var axis int
	var err error
	p, ok := n.state.(*axisPlan)
	if !ok {
		p = &axisPlan{}
	}
	p.outer, p.total, p.inner = 1, 0, p.inner[:0]
	if k.kind == 0 {
		if axis, err = normAxis(k.axis, len(first)+1); err != nil {
			return err
		}
		for _, t := range n.in {
			if !sameShape(t.shape, first) {
				return fmt.Errorf("PACK inputs have shapes %v and %v", first, t.shape)
			}
		}
		out = append(append(append([]int(nil), first[:axis]...), len(n.in)), first[axis:]...)
		for _, d := range first[:axis] {
			p.outer *= d
		}
		in := numElements(first[axis:])
		for range n.in {
			p.inner = append(p.inner, in)
		}
		p.total = in * len(n.in)
	} else {
		if axis, err = normAxis(k.axis, len(first)); err != nil {
			return err
		}
		out = n.tmpInts(len(first))
		copy(out, first)
		out[axis] = 0
		for _, t := range n.in {
			if len(t.shape) != len(first) {
				return fmt.Errorf("CONCATENATION inputs have shapes %v and %v", first, t.shape)
			}
			for d := range first {
				if d != axis && t.shape[d] != first[d] {
					return fmt.Errorf("CONCATENATION inputs have shapes %v and %v", first, t.shape)
				}
			}
			out[axis] += t.shape[axis]
			p.inner = append(p.inner, numElements(t.shape[axis:]))
		}
		for _, d := range first[:axis] {
			p.outer *= d
		}
		p.total = numElements(out[axis:])
	}
	n.state = p
	return n.out[0].setShape(out, *n.lim)
}

func (k *packKernel) eval(n *node) error {
	p := n.state.(*axisPlan)
	o := n.out[0]
	for outer := 0; outer < p.outer; outer++ {
		off := outer * p.total
		for i, t := range n.in {
			copyBlock(o, t, off, outer*p.inner[i], p.inner[i])
			off += p.inner[i]
		}
	}
	if k.act != actNone && o.f32 != nil {
		applyActivation(k.act, o.f32)
	}
	return nil
}

type unpackKernel struct {
	axis int
	num  int
	// split: input 0 is the axis tensor, input 1 the value.
	split bool
}

func buildUnpack(c *buildCtx) (kernel, error) {
	if err := c.arity(1, 1, 1, 1<<16); err != nil {
		return nil, err
	}
	if err := c.types(anyType...); err != nil {
		return nil, err
	}
	num, err := c.optI32(0, 0)
	if err != nil {
		return nil, err
	}
	axis, err := c.optI32(1, 0)
	if err != nil {
		return nil, err
	}
	if int(num) != len(c.op.outputs) {
		return nil, fmt.Errorf("num %d but %d outputs", num, len(c.op.outputs))
	}
	for i := range c.op.outputs {
		if err := c.sameType(c.in(0), c.out(i)); err != nil {
			return nil, err
		}
	}
	return &unpackKernel{axis: int(axis), num: int(num)}, nil
}

func buildSplit(c *buildCtx) (kernel, error) {
	if err := c.arity(2, 2, 1, 1<<16); err != nil {
		return nil, err
	}
	if t := c.in(0).typ; t != Int32 {
		return nil, fmt.Errorf("axis has type %s, want INT32", t)
	}
	num, err := c.optI32(0, 0)
	if err != nil {
		return nil, err
	}
	if int(num) != len(c.op.outputs) {
		return nil, fmt.Errorf("num_splits %d but %d outputs", num, len(c.op.outputs))
	}
	for i := range c.op.outputs {
		if err := c.sameType(c.in(1), c.out(i)); err != nil {
			return nil, err
		}
	}
	return &unpackKernel{num: int(num), split: true}, nil
}

func (k *unpackKernel) prepare(n *node) error {
	src := n.in[0]
	axis := k.axis
	if k.split {
		src = n.in[1]
		a, err := n.ints(n.in[0])
		if err != nil {
			return fmt.Errorf("axis: %w", err)
		}
		if len(a) != 1 {
			return fmt.Errorf("axis has %d values, want 1", len(a))
		}
		axis = a[0]
	}
	in := src.shape
	ax, err := normAxis(axis, len(in))
	if err != nil {
		return err
	}
	var part []int
	if k.split {
		if in[ax]%k.num != 0 {
			return fmt.Errorf("dimension %d of shape %v does not split into %d", ax, in, k.num)
		}
		part = append([]int(nil), in...)
		part[ax] = in[ax] / k.num
	} else {
		if in[ax] != k.num {
			return fmt.Errorf("dimension %d of shape %v is not %d", ax, in, k.num)
		}
		part = append(append([]int(nil), in[:ax]...), in[ax+1:]...)
	}
	p := &axisPlan{outer: numElements(in[:ax]), total: numElements(in[ax:])}
	inner := p.total / max(k.num, 1)
	for _, o := range n.out {
		if err := o.setShape(part, *n.lim); err != nil {
			return err
		}
		p.inner = append(p.inner, inner)
	}
	n.state = p
	return nil
}

func (k *unpackKernel) eval(n *node) error {
	p := n.state.(*axisPlan)
	src := n.in[0]
	if k.split {
		src = n.in[1]
	}
	for outer := 0; outer < p.outer; outer++ {
		off := outer * p.total
		for i, o := range n.out {
			copyBlock(o, src, outer*p.inner[i], off, p.inner[i])
			off += p.inner[i]
		}
	}
	return nil
}

// ---- GATHER ----

type gatherKernel struct{ axis int }

type gatherPlan struct {
	outer, axisLen, inner, nIdx int
}

func buildGather(c *buildCtx) (kernel, error) {
	if err := c.arity(2, 2, 1, 1); err != nil {
		return nil, err
	}
	if err := c.sameType(c.in(0), c.out(0)); err != nil {
		return nil, err
	}
	if t := c.in(1).typ; t != Int32 && t != Int64 {
		return nil, fmt.Errorf("indices have type %s, want INT32/INT64", t)
	}
	axis, err := c.optI32(0, 0)
	if err != nil {
		return nil, err
	}
	bd, err := c.optI32(1, 0)
	if err != nil {
		return nil, err
	}
	if bd != 0 {
		return nil, fmt.Errorf("batch_dims %d is not supported", bd)
	}
	return &gatherKernel{axis: int(axis)}, nil
}

func (k *gatherKernel) prepare(n *node) error {
	in, idx := n.in[0].shape, n.in[1].shape
	ax, err := normAxis(k.axis, len(in))
	if err != nil {
		return err
	}
	out := append(append(append([]int(nil), in[:ax]...), idx...), in[ax+1:]...)
	n.state = &gatherPlan{outer: numElements(in[:ax]), axisLen: in[ax], inner: numElements(in[ax+1:]), nIdx: numElements(idx)}
	return n.out[0].setShape(out, *n.lim)
}

func (k *gatherKernel) eval(n *node) error {
	p := n.state.(*gatherPlan)
	src, idx, o := n.in[0], n.in[1], n.out[0]
	for outer := 0; outer < p.outer; outer++ {
		for j := 0; j < p.nIdx; j++ {
			i := intAt(idx, j)
			if i < 0 || i >= p.axisLen {
				return fmt.Errorf("index %d out of range [0, %d)", i, p.axisLen)
			}
			copyBlock(o, src, (outer*p.nIdx+j)*p.inner, (outer*p.axisLen+i)*p.inner, p.inner)
		}
	}
	return nil
}

// ---- FILL ----

type fillKernel struct{}

func buildFill(c *buildCtx) (kernel, error) {
	if err := c.arity(2, 2, 1, 1); err != nil {
		return nil, err
	}
	if err := c.sameType(c.in(1), c.out(0)); err != nil {
		return nil, err
	}
	return fillKernel{}, nil
}

func (fillKernel) prepare(n *node) error {
	dims, err := n.ints(n.in[0])
	if err != nil {
		return fmt.Errorf("dims: %w", err)
	}
	if n.in[1].Len() != 1 {
		return fmt.Errorf("value has shape %v, want a scalar", n.in[1].shape)
	}
	return n.out[0].setShape(dims, *n.lim)
}

func (fillKernel) eval(n *node) error {
	v, o := n.in[1], n.out[0]
	switch {
	case o.f32 != nil:
		for i := range o.f32 {
			o.f32[i] = v.f32[0]
		}
	case o.i32 != nil:
		for i := range o.i32 {
			o.i32[i] = v.i32[0]
		}
	case o.i64 != nil:
		for i := range o.i64 {
			o.i64[i] = v.i64[0]
		}
	case o.b != nil:
		for i := range o.b {
			o.b[i] = v.b[0]
		}
	}
	return nil
}

// ---- PAD (zeros) ----

type padKernel struct{}

type padPlan struct {
	inner stridePlan // where the input lands inside the output
}

func buildPad(c *buildCtx) (kernel, error) {
	if err := c.arity(2, 2, 1, 1); err != nil {
		return nil, err
	}
	if err := c.sameType(c.in(0), c.out(0)); err != nil {
		return nil, err
	}
	return padKernel{}, nil
}

func (padKernel) prepare(n *node) error {
	in := n.in[0].shape
	pads, err := n.ints(n.in[1])
	if err != nil {
		return fmt.Errorf("paddings: %w", err)
	}
	if len(pads) != 2*len(in) || len(in) > 8 {
		return fmt.Errorf("paddings %v do not fit shape %v", pads, in)
	}
	out := make([]int, len(in))
	for d := range in {
		if pads[2*d] < 0 || pads[2*d+1] < 0 {
			return fmt.Errorf("negative padding %v", pads)
		}
		out[d] = in[d] + pads[2*d] + pads[2*d+1]
	}
	// Copy the input into the output window: a strided plan over the *output*.
	os := rowMajorStrides(out)
	p := &padPlan{}
	p.inner.rank = len(in)
	for d := range in {
		p.inner.shape[d] = in[d]
		p.inner.stride[d] = os[d]
		p.inner.base += pads[2*d] * os[d]
	}
	n.state = p
	return n.out[0].setShape(out, *n.lim)
}

func (padKernel) eval(n *node) error {
	p := n.state.(*padPlan)
	o, in := n.out[0], n.in[0]
	switch {
	case o.f32 != nil:
		clear(o.f32)
		scatterStrided(o.f32, in.f32, &p.inner)
	case o.i32 != nil:
		clear(o.i32)
		scatterStrided(o.i32, in.i32, &p.inner)
	case o.i64 != nil:
		clear(o.i64)
		scatterStrided(o.i64, in.i64, &p.inner)
	case o.b != nil:
		clear(o.b)
		scatterStrided(o.b, in.b, &p.inner)
	}
	return nil
}

// scatterStrided is the inverse of stridedCopy: dst[base+Σ i_d*stride_d] = src[i].
func scatterStrided[T any](dst, src []T, p *stridePlan) {
	if len(src) == 0 {
		return
	}
	if p.rank == 0 {
		dst[p.base] = src[0]
		return
	}
	last := p.rank - 1
	inner, st := p.shape[last], p.stride[last]
	var idx [8]int
	off := p.base
	for o := 0; o < len(src); o += inner {
		for i := 0; i < inner; i++ {
			dst[off+i*st] = src[o+i]
		}
		for d := last - 1; d >= 0; d-- {
			idx[d]++
			off += p.stride[d]
			if idx[d] < p.shape[d] {
				break
			}
			off -= p.stride[d] * idx[d]
			idx[d] = 0
		}
	}
}

// ---- SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND (dilated convolutions) ----

type spaceBatchKernel struct{ toBatch bool }

// spaceBatchPlan views the tensors as 4-D [batch, h, w, c] (3-D inputs get h=1).
type spaceBatchPlan struct {
	bh, bw           int
	padT, padL       int // paddings (to batch) or crops (to space) before
	inB, inH, inW    int
	outB, outH, outW int
	c                int
}

func buildSpaceBatch(toBatch bool) func(*buildCtx) (kernel, error) {
	return func(c *buildCtx) (kernel, error) {
		if err := c.arity(3, 3, 1, 1); err != nil {
			return nil, err
		}
		if err := c.sameType(c.in(0), c.out(0)); err != nil {
			return nil, err
		}
		return &spaceBatchKernel{toBatch: toBatch}, nil
	}
}

func (k *spaceBatchKernel) prepare(n *node) error {
	in := n.in[0].shape
	block, err := n.ints(n.in[1])
	if err != nil {
		return fmt.Errorf("block_shape: %w", err)
	}
	pads, err := n.ints(n.in[2])
	if err != nil {
		return fmt.Errorf("paddings/crops: %w", err)
	}
	if (len(in) != 3 && len(in) != 4) || len(block) != len(in)-2 || len(pads) != 2*len(block) {
		return fmt.Errorf("input %v, block %v, paddings %v: only 3-D/4-D inputs are supported", in, block, pads)
	}
	p := &spaceBatchPlan{bh: 1, bw: 1, inB: in[0], inH: 1, c: in[len(in)-1]}
	var padH0, padH1, padW0, padW1 int
	if len(in) == 4 {
		p.inH, p.inW = in[1], in[2]
		p.bh, p.bw = block[0], block[1]
		padH0, padH1, padW0, padW1 = pads[0], pads[1], pads[2], pads[3]
	} else {
		p.inW = in[1]
		p.bw = block[0]
		padW0, padW1 = pads[0], pads[1]
	}
	if p.bh < 1 || p.bw < 1 || padH0 < 0 || padH1 < 0 || padW0 < 0 || padW1 < 0 {
		return fmt.Errorf("block %v / paddings %v must be non-negative (block positive)", block, pads)
	}
	p.padT, p.padL = padH0, padW0
	if k.toBatch {
		h, w := p.inH+padH0+padH1, p.inW+padW0+padW1
		if h%p.bh != 0 || w%p.bw != 0 {
			return fmt.Errorf("padded size %d×%d is not a multiple of block %v", h, w, block)
		}
		p.outB, p.outH, p.outW = p.inB*p.bh*p.bw, h/p.bh, w/p.bw
	} else {
		if p.inB%(p.bh*p.bw) != 0 {
			return fmt.Errorf("batch %d is not a multiple of block %v", p.inB, block)
		}
		p.outB = p.inB / (p.bh * p.bw)
		p.outH, p.outW = p.inH*p.bh-padH0-padH1, p.inW*p.bw-padW0-padW1
		if p.outH < 0 || p.outW < 0 {
			return fmt.Errorf("crops %v exceed the input %v", pads, in)
		}
	}
	n.state = p
	out := []int{p.outB, p.outH, p.outW, p.c}
	if len(in) == 3 {
		out = []int{p.outB, p.outW, p.c}
	}
	return n.out[0].setShape(out, *n.lim)
}

func (k *spaceBatchKernel) eval(n *node) error {
	p := n.state.(*spaceBatchPlan)
	src, dst := n.in[0], n.out[0]
	// Walk the batch-side tensor; (b, y, x) there maps to space-side
	// (b % B, y*bh + sy - padT, x*bw + sx - padL) with (sy, sx) = block offset b / B.
	bat, h, w := p.outB, p.outH, p.outW
	spB, spH, spW := p.inB, p.inH, p.inW
	if !k.toBatch {
		bat, h, w = p.inB, p.inH, p.inW
		spB, spH, spW = p.outB, p.outH, p.outW
	}
	for b := 0; b < bat; b++ {
		sb := b % spB
		off := b / spB
		sy0, sx0 := off/p.bw, off%p.bw
		for y := 0; y < h; y++ {
			sy := y*p.bh + sy0 - p.padT
			for x := 0; x < w; x++ {
				sx := x*p.bw + sx0 - p.padL
				bi := ((b*h+y)*w + x) * p.c
				if sy < 0 || sy >= spH || sx < 0 || sx >= spW {
					if k.toBatch {
						clearBlock(dst, bi, p.c)
					}
					continue
				}
				si := ((sb*spH+sy)*spW + sx) * p.c
				if k.toBatch {
					copyBlock(dst, src, bi, si, p.c)
				} else {
					copyBlock(dst, src, si, bi, p.c)
				}
			}
		}
	}
	return nil
}

func clearBlock(t *Tensor, at, n int) {
	switch {
	case t.f32 != nil:
		clear(t.f32[at : at+n])
	case t.i32 != nil:
		clear(t.i32[at : at+n])
	case t.i64 != nil:
		clear(t.i64[at : at+n])
	case t.b != nil:
		clear(t.b[at : at+n])
	}
}

// ---- TILE ----

type tileKernel struct{}

type tilePlan struct {
	rank     int
	in, out  [8]int
	inStride [8]int
}

func buildTile(c *buildCtx) (kernel, error) {
	if err := c.arity(2, 2, 1, 1); err != nil {
		return nil, err
	}
	if err := c.sameType(c.in(0), c.out(0)); err != nil {
		return nil, err
	}
	return tileKernel{}, nil
}

func (tileKernel) prepare(n *node) error {
	in := n.in[0].shape
	mult, err := n.ints(n.in[1])
	if err != nil {
		return fmt.Errorf("multiples: %w", err)
	}
	if len(mult) != len(in) || len(in) > 8 {
		return fmt.Errorf("multiples %v do not fit shape %v", mult, in)
	}
	p := &tilePlan{rank: len(in)}
	st := rowMajorStrides(in)
	out := make([]int, len(in))
	for d := range in {
		if mult[d] < 0 {
			return fmt.Errorf("negative multiple in %v", mult)
		}
		out[d] = in[d] * mult[d]
		p.in[d], p.out[d], p.inStride[d] = in[d], out[d], st[d]
	}
	n.state = p
	return n.out[0].setShape(out, *n.lim)
}

func (tileKernel) eval(n *node) error {
	p := n.state.(*tilePlan)
	src, dst := n.in[0], n.out[0]
	if dst.Len() == 0 {
		return nil
	}
	var idx [8]int
	for o := 0; o < dst.Len(); o++ {
		off := 0
		for d := 0; d < p.rank; d++ {
			off += (idx[d] % p.in[d]) * p.inStride[d]
		}
		copyBlock(dst, src, o, off, 1)
		for d := p.rank - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < p.out[d] {
				break
			}
			idx[d] = 0
		}
	}
	return nil
}
