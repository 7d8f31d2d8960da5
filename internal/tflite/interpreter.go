package tflite

import (
	"errors"
	"fmt"
	"sort"
)

// Interpreter runs one subgraph of a Model. It is not safe for concurrent use;
// create one per goroutine (they share the Model's constants).
type Interpreter struct {
	m     *Model
	sig   *Signature // nil when the subgraph has no SignatureDef
	main  *sgInst
	all   []*sgInst // main and every nested (WHILE) instance, in plan order
	arena []uint64
	ready bool // shapes propagated and arena bound
	// folded counts bytes of constant-folded tensors, held to MaxArenaBytes too.
	folded int
	// iterations counts WHILE iterations of the current Invoke.
	iterations int
}

// sgInst is one instance of a subgraph with its own tensors.
type sgInst struct {
	sg      *subgraph
	ip      *Interpreter
	tensors []*Tensor
	nodes   []*node
	in, out []*Tensor
}

// node is one operator bound to an interpreter's tensors.
type node struct {
	op   *opDesc
	k    kernel
	in   []*Tensor // nil for an omitted optional input
	out  []*Tensor
	sub  []*sgInst // subgraphs a control-flow operator runs
	lim  *Limits
	skip bool // outputs were computed at prepare time
	// dynamic nodes are re-prepared on every Invoke (see dynamicKernel);
	// running is set while that happens so run-time values may be read.
	dynamic, running bool

	// scratch is arena memory a kernel asked for in prepare (scratchWords).
	scratchWords int
	scratch      []uint64
	// state is a kernel's per-node data computed in prepare (never in eval).
	state any
	// intPool backs tmpInts; intUsed is reset at every prepare.
	intPool []int
	intUsed int
}

// kernel is one operator implementation. build functions (see registry) check
// everything that does not depend on shapes at load; prepare derives output
// shapes and scratch from input shapes; eval computes and must not allocate.
type kernel interface {
	prepare(n *node) error
	eval(n *node) error
}

// NewInterpreter creates an interpreter for the model's primary subgraph (0).
func NewInterpreter(m *Model) (*Interpreter, error) {
	ip := &Interpreter{m: m}
	for i := range m.signatures {
		if m.signatures[i].Subgraph == 0 {
			ip.sig = &m.signatures[i]
			break
		}
	}
	return ip.init(0)
}

// NewSignatureInterpreter creates an interpreter for the subgraph of the
// SignatureDef with the given key; its inputs and outputs are then addressable
// by the signature's names.
func NewSignatureInterpreter(m *Model, key string) (*Interpreter, error) {
	for i := range m.signatures {
		if m.signatures[i].Key == key {
			ip := &Interpreter{m: m, sig: &m.signatures[i]}
			return ip.init(m.signatures[i].Subgraph)
		}
	}
	keys := make([]string, 0, len(m.signatures))
	for _, s := range m.signatures {
		keys = append(keys, s.Key)
	}
	return nil, fmt.Errorf("tflite: model %q has no signature %q (have %q)", m.name, key, keys)
}

func (ip *Interpreter) init(sgIndex int) (*Interpreter, error) {
	main, err := ip.instantiate(ip.m.subgraphs[sgIndex], 0)
	if err != nil {
		return nil, fmt.Errorf("tflite: model %q: %w", ip.m.name, err)
	}
	ip.main = main
	if err := ip.AllocateTensors(); err != nil {
		return nil, err
	}
	return ip, nil
}

// maxNesting bounds WHILE-in-WHILE depth; load rejects cycles, this bounds chains.
const maxNesting = 8

func (ip *Interpreter) instantiate(sg *subgraph, depth int) (*sgInst, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("subgraph %d: control flow nested deeper than %d", sg.index, maxNesting)
	}
	si := &sgInst{sg: sg, ip: ip, tensors: make([]*Tensor, len(sg.tensors))}
	ip.all = append(ip.all, si)
	for i, d := range sg.tensors {
		t := &Tensor{desc: d, shape: append([]int(nil), d.shape...)}
		if d.isConst {
			t.known = true
			switch {
			case d.constF32 != nil:
				t.f32 = d.constF32
			case d.constI32 != nil:
				t.i32 = d.constI32
			case d.constI64 != nil:
				t.i64 = d.constI64
			case d.constB != nil:
				t.b = d.constB
			}
		}
		si.tensors[i] = t
	}
	for _, i := range sg.inputs {
		si.in = append(si.in, si.tensors[i])
	}
	for _, i := range sg.outputs {
		si.out = append(si.out, si.tensors[i])
	}
	for i, op := range sg.ops {
		n := &node{op: op, k: sg.kernels[i], lim: &ip.m.limits}
		for _, x := range op.inputs {
			if x < 0 {
				n.in = append(n.in, nil)
			} else {
				n.in = append(n.in, si.tensors[x])
			}
		}
		for _, x := range op.outputs {
			n.out = append(n.out, si.tensors[x])
		}
		if cf, ok := n.k.(controlFlow); ok {
			for _, s := range cf.subgraphs() {
				inst, err := ip.instantiate(ip.m.subgraphs[s], depth+1)
				if err != nil {
					return nil, err
				}
				n.sub = append(n.sub, inst)
			}
		}
		si.nodes = append(si.nodes, n)
	}
	return si, nil
}

// controlFlow kernels run other subgraphs.
type controlFlow interface {
	subgraphs() []int
}

// Inputs returns the input tensors in subgraph order.
func (ip *Interpreter) Inputs() []*Tensor { return ip.main.in }

// Outputs returns the output tensors in subgraph order.
func (ip *Interpreter) Outputs() []*Tensor { return ip.main.out }

// Input returns input i, or nil when out of range.
func (ip *Interpreter) Input(i int) *Tensor {
	if i < 0 || i >= len(ip.main.in) {
		return nil
	}
	return ip.main.in[i]
}

// Output returns output i, or nil when out of range.
func (ip *Interpreter) Output(i int) *Tensor {
	if i < 0 || i >= len(ip.main.out) {
		return nil
	}
	return ip.main.out[i]
}

// InputByName finds an input by its signature name, else by tensor name.
func (ip *Interpreter) InputByName(name string) (*Tensor, error) {
	return ip.byName(name, true)
}

// OutputByName finds an output by its signature name, else by tensor name.
func (ip *Interpreter) OutputByName(name string) (*Tensor, error) {
	return ip.byName(name, false)
}

func (ip *Interpreter) byName(name string, input bool) (*Tensor, error) {
	kind, list := "output", ip.main.out
	if input {
		kind, list = "input", ip.main.in
	}
	if ip.sig != nil {
		refs := ip.sig.Outputs
		if input {
			refs = ip.sig.Inputs
		}
		for _, r := range refs {
			if r.Name == name {
				return ip.main.tensors[r.Tensor], nil
			}
		}
	}
	var names []string
	for _, t := range list {
		if t.desc.name == name {
			return t, nil
		}
		names = append(names, t.desc.name)
	}
	if ip.sig != nil {
		names = names[:0]
		refs := ip.sig.Outputs
		if input {
			refs = ip.sig.Inputs
		}
		for _, r := range refs {
			names = append(names, r.Name)
		}
	}
	return nil, fmt.Errorf("tflite: model %q has no %s named %q (have %q)", ip.m.name, kind, name, names)
}

// ResizeInput changes the shape of input i. Only dimensions the model marks as
// dynamic (-1 in shape_signature) may change. Call AllocateTensors (or Invoke)
// afterwards, and fetch data slices again: they move.
func (ip *Interpreter) ResizeInput(i int, shape []int) error {
	t := ip.Input(i)
	if t == nil {
		return fmt.Errorf("tflite: model %q: input %d out of range [0, %d)", ip.m.name, i, len(ip.main.in))
	}
	d := t.desc
	if len(shape) != len(d.shape) {
		return fmt.Errorf("tflite: model %q: input %q has rank %d, resize to %v", ip.m.name, d.name, len(d.shape), shape)
	}
	for j, v := range shape {
		dynamic := d.shapeSig != nil && d.shapeSig[j] == -1
		if v != d.shape[j] && !dynamic {
			return fmt.Errorf("tflite: model %q: input %q dimension %d is fixed at %d, cannot resize to %v", ip.m.name, d.name, j, d.shape[j], shape)
		}
		if v < 1 {
			return fmt.Errorf("tflite: model %q: input %q: dimension %d must be positive, got %v", ip.m.name, d.name, j, shape)
		}
	}
	if err := t.setShape(shape, ip.m.limits); err != nil {
		return fmt.Errorf("tflite: model %q: %w", ip.m.name, err)
	}
	ip.ready = false
	return nil
}

// ResizeBatch sets the first dimension of every input to batch.
func (ip *Interpreter) ResizeBatch(batch int) error {
	if batch < 1 || batch > ip.m.limits.MaxBatch {
		return fmt.Errorf("tflite: model %q: batch %d out of range [1, %d]", ip.m.name, batch, ip.m.limits.MaxBatch)
	}
	for i, t := range ip.main.in {
		if len(t.shape) == 0 {
			return fmt.Errorf("tflite: model %q: input %q is a scalar, it has no batch dimension", ip.m.name, t.desc.name)
		}
		s := append([]int(nil), t.shape...)
		s[0] = batch
		if err := ip.ResizeInput(i, s); err != nil {
			return err
		}
	}
	return nil
}

// AllocateTensors propagates shapes and plans the arena. Invoke calls it when
// needed; call it directly to get input slices after a resize.
func (ip *Interpreter) AllocateTensors() (err error) {
	if ip.ready {
		return nil
	}
	defer ip.recoverInto(&err)
	ip.folded = 0
	ip.iterations = 0
	if err := ip.prepareInst(ip.main); err != nil {
		return fmt.Errorf("tflite: model %q: %w", ip.m.name, err)
	}
	if err := ip.plan(); err != nil {
		return fmt.Errorf("tflite: model %q: %w", ip.m.name, err)
	}
	ip.ResetVariables()
	ip.ready = true
	return nil
}

func (n *node) describe() string {
	return fmt.Sprintf("operator %d (%s)", n.op.index, opName(n.op.code))
}

func (ip *Interpreter) prepareInst(si *sgInst) error {
	for _, n := range si.nodes {
		n.scratchWords = 0
		n.skip = false
		n.intUsed = 0
		dynamic := false
		for _, t := range n.in {
			if t != nil && t.dynamic {
				dynamic = true
			}
		}
		err := n.k.prepare(n)
		if errors.Is(err, errNeedValue) {
			dk, ok := n.k.(dynamicKernel)
			if !ok {
				return fmt.Errorf("subgraph %d %s: %w; this operator needs it before Invoke", si.sg.index, n.describe(), err)
			}
			err = dk.bound(n)
			dynamic = true
		}
		if err != nil {
			return fmt.Errorf("subgraph %d %s: %w", si.sg.index, n.describe(), err)
		}
		n.dynamic = dynamic
		for _, t := range n.out {
			t.dynamic = dynamic
			t.known = false
		}
		if dynamic {
			continue
		}
		// A result that depends only on constants and shapes is computed once
		// here (constant folding), so later RESHAPEs see a known target shape and
		// Invoke skips the operator.
		allKnown := len(n.sub) == 0
		for _, t := range n.in {
			if t != nil && !t.known {
				allKnown = false
			}
		}
		if _, isShape := n.k.(shapeOf); isShape {
			allKnown = true
		}
		if allKnown {
			for _, t := range n.out {
				ip.folded += t.byteSize()
				if ip.folded > ip.m.limits.MaxArenaBytes {
					return fmt.Errorf("subgraph %d %s: constant-folded tensors exceed the limit of %d bytes", si.sg.index, n.describe(), ip.m.limits.MaxArenaBytes)
				}
				t.known = true
				t.heap = make([]uint64, words(t.byteSize()))
				t.bind(t.heap)
			}
			n.skip = true
			if n.scratchWords > 0 {
				// Folding runs before the arena exists; scratch is temporary.
				ip.folded += 8 * n.scratchWords
				if ip.folded > ip.m.limits.MaxArenaBytes {
					return fmt.Errorf("subgraph %d %s: constant folding scratch exceeds the limit of %d bytes", si.sg.index, n.describe(), ip.m.limits.MaxArenaBytes)
				}
				n.scratch = make([]uint64, n.scratchWords)
			}
			err := n.k.eval(n)
			n.scratch, n.scratchWords = nil, 0
			if err != nil {
				return fmt.Errorf("subgraph %d %s: %w", si.sg.index, n.describe(), err)
			}
		}
	}
	return nil
}

// dynamicKernel is implemented by operators whose output shape may depend on
// run-time values (SLICE with a loop index, as Keras' TensorList writes lower
// to). bound sets each output to its largest possible shape; the arena is
// planned for that, and the operator (and everything downstream of it) is
// re-prepared with the real values on every Invoke. SLICE, STRIDED_SLICE and
// CONCATENATION re-prepare without allocating (plans and ints are reused).
type dynamicKernel interface {
	bound(n *node) error
}

// shapeOf marks the SHAPE kernel, whose output is known whenever shapes are.
type shapeOf interface{ isShapeOf() }

type interval struct {
	first, last int // op indexes; -1 = before the first op, len(nodes) = after the last
	words       int
	bind        func(mem []uint64)
	off         int
	members     map[*Tensor]bool // tensors sharing this block (aliases)
}

const alignWords = 8 // 64-byte alignment of every arena block

// plan places every non-constant tensor and scratch block of every subgraph
// instance in one arena; blocks whose lifetimes do not overlap share memory.
func (ip *Interpreter) plan() error {
	total := 0
	type placed struct {
		iv  []*interval
		off int
	}
	var plans []placed
	for _, si := range ip.all {
		ivs := si.intervals()
		size := assign(ivs)
		plans = append(plans, placed{iv: ivs, off: total})
		total += size
		if total*8 > ip.m.limits.MaxArenaBytes {
			return fmt.Errorf("planned arena of %d bytes exceeds the limit of %d", total*8, ip.m.limits.MaxArenaBytes)
		}
	}
	if cap(ip.arena) < total {
		ip.arena = make([]uint64, total)
	}
	ip.arena = ip.arena[:total]
	for _, p := range plans {
		for _, iv := range p.iv {
			iv.bind(ip.arena[p.off+iv.off : p.off+iv.off+iv.words])
		}
	}
	return nil
}

func (si *sgInst) intervals() []*interval {
	end := len(si.nodes)
	root := si.aliases()
	byTensor := map[*Tensor]*interval{}
	var out []*interval
	touch := func(t *Tensor, at int) {
		if t == nil || t.known {
			return
		}
		r := t
		if a, ok := root[t]; ok {
			r = a
		}
		iv, ok := byTensor[r]
		if !ok {
			iv = &interval{first: at, last: at}
			byTensor[r] = iv
			out = append(out, iv)
		}
		if _, seen := iv.members[t]; !seen {
			if iv.members == nil {
				iv.members = map[*Tensor]bool{}
			}
			iv.members[t] = true
			iv.words = max(iv.words, words(t.byteSize()))
		}
		iv.first = min(iv.first, at)
		iv.last = max(iv.last, at)
	}
	for _, t := range si.in {
		touch(t, -1)
		touch(t, end) // inputs stay readable after Invoke
	}
	for _, t := range si.tensors {
		if t.desc.variable {
			// State carried from one Invoke to the next owns its block.
			touch(t, -1)
			touch(t, end)
		}
	}
	for i, n := range si.nodes {
		for _, t := range n.in {
			touch(t, i)
		}
		for _, t := range n.out {
			touch(t, i)
		}
		if n.scratchWords > 0 {
			nn := n
			out = append(out, &interval{first: i, last: i, words: n.scratchWords, bind: func(m []uint64) { nn.scratch = m }})
		} else {
			n.scratch = nil
		}
	}
	for _, t := range si.out {
		touch(t, end)
	}
	for _, iv := range out {
		if iv.bind == nil {
			members := iv.members
			iv.bind = func(m []uint64) {
				for t := range members {
					t.bind(m)
				}
			}
		}
	}
	return out
}

// aliases maps the output of each RESHAPE/EXPAND_DIMS/SQUEEZE to the tensor
// whose memory it can share (same bytes, only the shape differs), so those
// operators copy nothing. Subgraph inputs and outputs never alias: WHILE
// copies loop variables between them.
func (si *sgInst) aliases() map[*Tensor]*Tensor {
	io := map[*Tensor]bool{}
	for _, t := range si.in {
		io[t] = true
	}
	for _, t := range si.out {
		io[t] = true
	}
	root := map[*Tensor]*Tensor{}
	for _, n := range si.nodes {
		if _, ok := n.k.(*reshapeKernel); !ok || n.dynamic {
			continue
		}
		in, out := n.in[0], n.out[0]
		if in.known || in.dynamic || io[in] || io[out] || in.byteSize() != out.byteSize() {
			continue
		}
		r := in
		if a, ok := root[in]; ok {
			r = a
		}
		root[out] = r
	}
	return root
}

// assign gives each interval an offset (greedy by size, first fit among
// lifetime-overlapping blocks) and returns the region size in words.
func assign(ivs []*interval) int {
	order := append([]*interval(nil), ivs...)
	sort.SliceStable(order, func(a, b int) bool { return order[a].words > order[b].words })
	var done []*interval
	size := 0
	for _, iv := range order {
		var busy []*interval
		for _, d := range done {
			if d.first <= iv.last && iv.first <= d.last {
				busy = append(busy, d)
			}
		}
		sort.Slice(busy, func(a, b int) bool { return busy[a].off < busy[b].off })
		off := 0
		for _, b := range busy {
			if off+iv.words <= b.off {
				break
			}
			if e := alignUp(b.off + b.words); e > off {
				off = e
			}
		}
		iv.off = off
		done = append(done, iv)
		if e := alignUp(off + iv.words); e > size {
			size = e
		}
	}
	return size
}

func alignUp(w int) int { return (w + alignWords - 1) / alignWords * alignWords }

// ResetVariables zeroes the model's variable tensors (the recurrent state of
// fused LSTMs). As in TFLite, that state otherwise carries from one Invoke to
// the next; AllocateTensors also zeroes it. Call it before Invoke when windows
// are independent.
func (ip *Interpreter) ResetVariables() {
	for _, si := range ip.all {
		for _, t := range si.tensors {
			if t.desc.variable && t.f32 != nil {
				clear(t.f32)
			}
		}
	}
}

// Invoke runs the model on the current input data. After the first call with a
// given shape it allocates nothing.
func (ip *Interpreter) Invoke() (err error) {
	if !ip.ready {
		if err := ip.AllocateTensors(); err != nil {
			return err
		}
	}
	defer ip.recoverInto(&err)
	ip.iterations = 0
	return ip.main.invoke()
}

// recoverInto turns a kernel bug on an unusual model into an error instead of
// a crashed collector. Tests and fuzzing set panicOnBug to see such bugs.
func (ip *Interpreter) recoverInto(err *error) {
	if r := recover(); r != nil {
		if panicOnBug {
			panic(r)
		}
		ip.ready = false
		*err = fmt.Errorf("tflite: model %q: internal error: %v", ip.m.name, r)
	}
}

func (si *sgInst) invoke() error {
	for _, n := range si.nodes {
		if n.skip {
			continue
		}
		if n.dynamic {
			if err := n.reprepare(); err != nil {
				return fmt.Errorf("tflite: model %q subgraph %d %s: %w", si.ip.m.name, si.sg.index, n.describe(), err)
			}
		}
		if err := n.k.eval(n); err != nil {
			return fmt.Errorf("tflite: model %q subgraph %d %s: %w", si.ip.m.name, si.sg.index, n.describe(), err)
		}
	}
	return nil
}

// reprepare derives the node's output shapes from run-time values and rebinds
// the outputs inside the memory planned for their upper bound.
func (n *node) reprepare() error {
	n.running = true
	n.intUsed = 0
	err := n.k.prepare(n)
	n.running = false
	if err != nil {
		return err
	}
	for _, t := range n.out {
		if words(t.byteSize()) > len(t.mem) {
			return fmt.Errorf("run-time shape %v of %q exceeds its planned %d bytes", t.shape, t.desc.name, 8*len(t.mem))
		}
		t.bind(t.mem)
	}
	if n.scratchWords > len(n.scratch) {
		return fmt.Errorf("run-time scratch of %d words exceeds the planned %d", n.scratchWords, len(n.scratch))
	}
	return nil
}
