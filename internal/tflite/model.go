package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DataType is a TensorFlow Lite TensorType.
type DataType uint8

// The tensor types this package knows. Only Float32, Int32, Int64 and Bool flow
// through a graph at run time; Float16 and Int8 appear as constant weights.
const (
	Float32 DataType = 0
	Float16 DataType = 1
	Int32   DataType = 2
	Uint8   DataType = 3
	Int64   DataType = 4
	Bool    DataType = 6
	Int8    DataType = 9
)

func (t DataType) String() string {
	if int(t) < len(tensorTypeNames) && tensorTypeNames[t] != "" {
		return tensorTypeNames[t]
	}
	return fmt.Sprintf("TensorType(%d)", uint8(t))
}

// size is the element size in bytes of a run-time type, 0 for others.
func (t DataType) size() int {
	switch t {
	case Float32, Int32:
		return 4
	case Int64:
		return 8
	case Bool, Int8, Uint8:
		return 1
	case Float16:
		return 2
	}
	return 0
}

// schemaVersion is the only TFLite schema version (TFLITE_SCHEMA_VERSION) accepted.
const schemaVersion = 3

// Limits bound what a model may ask for, so that a hostile or corrupt file cannot
// make the loader or the interpreter allocate without bound.
type Limits struct {
	// MaxTensorElements caps the element count of any single tensor.
	MaxTensorElements int
	// MaxArenaBytes caps the planned activation arena (all subgraphs, all scratch).
	MaxArenaBytes int
	// MaxWhileIterations caps the WHILE iterations of one Invoke, summed over
	// all loops (nested loops included).
	MaxWhileIterations int
	// MaxBatch caps the first input dimension accepted by ResizeBatch.
	MaxBatch int
}

// DefaultLimits fit the sidecar use: small models, windows of a few hundred steps.
var DefaultLimits = Limits{
	MaxTensorElements:  1 << 26,
	MaxArenaBytes:      1 << 30,
	MaxWhileIterations: 1 << 20,
	MaxBatch:           1 << 16,
}

// Model is a validated, immutable TensorFlow Lite model. It is safe for
// concurrent use; each goroutine creates its own Interpreter from it.
type Model struct {
	name        string
	description string
	subgraphs   []*subgraph
	signatures  []Signature
	limits      Limits
}

// Signature is a SignatureDef: named inputs and outputs of one subgraph.
type Signature struct {
	Key      string
	Subgraph int
	Inputs   []TensorRef
	Outputs  []TensorRef
}

// TensorRef names one tensor of a signature.
type TensorRef struct {
	Name   string
	Tensor int
}

type quantParams struct {
	scale     []float32
	zeroPoint []int64
	dim       int
}

type tensorDesc struct {
	name     string
	typ      DataType
	shape    []int // as stored; -1 never appears here
	shapeSig []int // shape_signature: -1 marks a dynamic dimension
	quant    *quantParams
	variable bool

	// Constant data, decoded at load. Exactly one is set for a constant tensor.
	constF32 []float32
	constI32 []int32
	constI64 []int64
	constB   []bool
	constI8  []int8 // int8 weights kept quantized for hybrid kernels
	isConst  bool
}

type opDesc struct {
	code    int32
	version int32
	inputs  []int // -1 marks an omitted optional input
	outputs []int
	opts    fbTable // builtin options table, hasOpts reports presence
	hasOpts bool
	index   int // position in the subgraph, for error messages
}

type subgraph struct {
	name    string
	index   int
	tensors []*tensorDesc
	inputs  []int
	outputs []int
	ops     []*opDesc
	kernels []kernel // built at load, one per op
}

// Name is the name the model was loaded under (file name or caller's label).
func (m *Model) Name() string { return m.name }

// Description is the model's description string.
func (m *Model) Description() string { return m.description }

// Signatures lists the model's SignatureDefs.
func (m *Model) Signatures() []Signature { return m.signatures }

// LoadFile reads and validates a .tflite file.
func LoadFile(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tflite: %w", err)
	}
	return Load(data, filepath.Base(path))
}

// Load validates a .tflite flatbuffer with DefaultLimits. name labels the model in
// errors. The model keeps no reference to data.
func Load(data []byte, name string) (*Model, error) {
	return LoadWithLimits(data, name, DefaultLimits)
}

// LoadWithLimits is Load with explicit limits.
func LoadWithLimits(data []byte, name string, lim Limits) (m *Model, err error) {
	defer func() {
		// The reader checks every offset; this only turns a missed check into an
		// error instead of crashing the collector. Fuzzing runs with it disabled.
		if r := recover(); r != nil {
			if panicOnBug {
				panic(r)
			}
			m, err = nil, fmt.Errorf("tflite: model %q: malformed model (internal check failed: %v)", name, r)
		}
	}()
	m, err = load(data, name, lim)
	if err != nil {
		return nil, fmt.Errorf("tflite: model %q: %w", name, err)
	}
	return m, nil
}

// panicOnBug is set by tests and fuzzing so that a missed bounds check fails loudly.
var panicOnBug = false

func load(data []byte, name string, lim Limits) (*Model, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("file is %d bytes, too short for a flatbuffer", len(data))
	}
	if string(data[4:8]) != "TFL3" {
		return nil, fmt.Errorf("file identifier is %q, want \"TFL3\" (not a TensorFlow Lite model)", data[4:8])
	}
	root, err := fbRoot(data)
	if err != nil {
		return nil, fmt.Errorf("root table: %w", err)
	}
	ver, err := root.u32(0, 0)
	if err != nil {
		return nil, fmt.Errorf("version: %w", err)
	}
	if ver != schemaVersion {
		return nil, fmt.Errorf("schema version %d, want %d", ver, schemaVersion)
	}
	m := &Model{name: name, limits: lim}
	if m.description, err = root.str(3); err != nil {
		return nil, fmt.Errorf("description: %w", err)
	}

	opcodes, err := parseOpcodes(root)
	if err != nil {
		return nil, err
	}
	buffers, err := parseBuffers(root, data)
	if err != nil {
		return nil, err
	}
	sgTabs, err := root.tables(2)
	if err != nil {
		return nil, fmt.Errorf("subgraphs: %w", err)
	}
	if len(sgTabs) == 0 {
		return nil, fmt.Errorf("model has no subgraphs")
	}
	for i, st := range sgTabs {
		sg, err := parseSubgraph(st, i, opcodes, buffers, lim)
		if err != nil {
			return nil, fmt.Errorf("subgraph %d: %w", i, err)
		}
		m.subgraphs = append(m.subgraphs, sg)
	}
	if m.signatures, err = parseSignatures(root, m.subgraphs); err != nil {
		return nil, err
	}

	// Fold DEQUANTIZE of constant float16/int8 weights into float32 constants, then
	// build a kernel for every operator. Unsupported operators are collected so the
	// error names all of them at once.
	var unsupported []string
	seen := map[string]bool{}
	for _, sg := range m.subgraphs {
		if err := foldConstantDequantize(sg); err != nil {
			return nil, fmt.Errorf("subgraph %d: %w", sg.index, err)
		}
		for _, op := range sg.ops {
			if _, ok := registry[op.code]; !ok {
				n := opName(op.code)
				if !seen[n] {
					seen[n] = true
					unsupported = append(unsupported, n)
				}
			}
		}
	}
	if len(unsupported) > 0 {
		sort.Strings(unsupported)
		return nil, fmt.Errorf("unsupported operator(s): %s", strings.Join(unsupported, ", "))
	}
	for _, sg := range m.subgraphs {
		sg.kernels = make([]kernel, len(sg.ops))
		for i, op := range sg.ops {
			k, err := registry[op.code](&buildCtx{m: m, sg: sg, op: op})
			if err != nil {
				return nil, fmt.Errorf("subgraph %d operator %d (%s): %w", sg.index, i, opName(op.code), err)
			}
			sg.kernels[i] = k
		}
	}
	return m, nil
}

type opcode struct {
	code    int32
	version int32
	custom  string
}

func opName(code int32) string {
	if code >= 0 && int(code) < len(builtinOpNames) && builtinOpNames[code] != "" {
		return builtinOpNames[code]
	}
	return fmt.Sprintf("BuiltinOperator(%d)", code)
}

func parseOpcodes(root fbTable) ([]opcode, error) {
	tabs, err := root.tables(1)
	if err != nil {
		return nil, fmt.Errorf("operator_codes: %w", err)
	}
	out := make([]opcode, len(tabs))
	for i, t := range tabs {
		dep, err := t.u8(0, 0)
		if err != nil {
			return nil, fmt.Errorf("operator_codes[%d]: %w", i, err)
		}
		custom, err := t.str(1)
		if err != nil {
			return nil, fmt.Errorf("operator_codes[%d]: %w", i, err)
		}
		ver, err := t.i32(2, 1)
		if err != nil {
			return nil, fmt.Errorf("operator_codes[%d]: %w", i, err)
		}
		code, err := t.i32(3, 0)
		if err != nil {
			return nil, fmt.Errorf("operator_codes[%d]: %w", i, err)
		}
		// Schema rule: the real code is the larger of the two fields, since old
		// writers only fill the int8 deprecated_builtin_code (capped at 127).
		if int32(int8(dep)) > code {
			code = int32(int8(dep))
		}
		if code < 0 {
			return nil, fmt.Errorf("operator_codes[%d]: negative builtin code %d", i, code)
		}
		if code == 32 { // CUSTOM
			return nil, fmt.Errorf("custom operator %q is not supported", custom)
		}
		out[i] = opcode{code: code, version: ver, custom: custom}
	}
	return out, nil
}

type bufferData struct {
	data []byte
}

func parseBuffers(root fbTable, file []byte) ([]bufferData, error) {
	tabs, err := root.tables(4)
	if err != nil {
		return nil, fmt.Errorf("buffers: %w", err)
	}
	out := make([]bufferData, len(tabs))
	for i, t := range tabs {
		d, err := t.bytes(0)
		if err != nil {
			return nil, fmt.Errorf("buffers[%d]: %w", i, err)
		}
		off, err := t.u64(1, 0)
		if err != nil {
			return nil, fmt.Errorf("buffers[%d]: %w", i, err)
		}
		size, err := t.u64(2, 0)
		if err != nil {
			return nil, fmt.Errorf("buffers[%d]: %w", i, err)
		}
		// Models over 2 GB store data after the flatbuffer, addressed by offset/size.
		if off > 1 {
			if size > uint64(len(file)) || off > uint64(len(file))-size {
				return nil, fmt.Errorf("buffers[%d]: external data [%d, +%d) lies outside the %d-byte file", i, off, size, len(file))
			}
			d = file[off : off+size]
		}
		out[i] = bufferData{data: d}
	}
	return out, nil
}

func parseSubgraph(t fbTable, index int, opcodes []opcode, buffers []bufferData, lim Limits) (*subgraph, error) {
	sg := &subgraph{index: index}
	var err error
	if sg.name, err = t.str(4); err != nil {
		return nil, fmt.Errorf("name: %w", err)
	}
	tt, err := t.tables(0)
	if err != nil {
		return nil, fmt.Errorf("tensors: %w", err)
	}
	for i, tab := range tt {
		td, err := parseTensor(tab, buffers, lim)
		if err != nil {
			return nil, fmt.Errorf("tensor %d %q: %w", i, td.name, err)
		}
		sg.tensors = append(sg.tensors, td)
	}
	ins, err := t.i32s(1)
	if err != nil {
		return nil, fmt.Errorf("inputs: %w", err)
	}
	outs, err := t.i32s(2)
	if err != nil {
		return nil, fmt.Errorf("outputs: %w", err)
	}
	if sg.inputs, err = tensorIndexes(ins, len(sg.tensors), false); err != nil {
		return nil, fmt.Errorf("inputs: %w", err)
	}
	if sg.outputs, err = tensorIndexes(outs, len(sg.tensors), false); err != nil {
		return nil, fmt.Errorf("outputs: %w", err)
	}
	if len(sg.outputs) == 0 {
		return nil, fmt.Errorf("subgraph has no outputs")
	}
	for _, in := range sg.inputs {
		if sg.tensors[in].isConst {
			return nil, fmt.Errorf("input tensor %d %q is a constant", in, sg.tensors[in].name)
		}
	}
	ot, err := t.tables(3)
	if err != nil {
		return nil, fmt.Errorf("operators: %w", err)
	}
	written := make([]bool, len(sg.tensors))
	for _, in := range sg.inputs {
		written[in] = true
	}
	for i, tab := range ot {
		op, err := parseOperator(tab, i, opcodes, len(sg.tensors))
		if err != nil {
			return nil, fmt.Errorf("operator %d: %w", i, err)
		}
		// Operators must be in execution order: every input already written or constant.
		for _, in := range op.inputs {
			if in >= 0 && !written[in] && !sg.tensors[in].isConst && !sg.tensors[in].variable {
				return nil, fmt.Errorf("operator %d (%s) reads tensor %d %q before anything writes it", i, opName(op.code), in, sg.tensors[in].name)
			}
		}
		for _, o := range op.outputs {
			if o < 0 {
				return nil, fmt.Errorf("operator %d (%s) has an omitted output", i, opName(op.code))
			}
			if sg.tensors[o].isConst {
				return nil, fmt.Errorf("operator %d (%s) writes constant tensor %d %q", i, opName(op.code), o, sg.tensors[o].name)
			}
			if written[o] {
				return nil, fmt.Errorf("operator %d (%s) writes tensor %d %q a second time", i, opName(op.code), o, sg.tensors[o].name)
			}
			written[o] = true
		}
		sg.ops = append(sg.ops, op)
	}
	for _, o := range sg.outputs {
		if !written[o] && !sg.tensors[o].isConst {
			return nil, fmt.Errorf("output tensor %d %q is never written", o, sg.tensors[o].name)
		}
	}
	return sg, nil
}

func tensorIndexes(v []int32, n int, optional bool) ([]int, error) {
	out := make([]int, len(v))
	for i, x := range v {
		if x == -1 && optional {
			out[i] = -1
			continue
		}
		if x < 0 || int(x) >= n {
			return nil, fmt.Errorf("tensor index %d out of range [0, %d)", x, n)
		}
		out[i] = int(x)
	}
	return out, nil
}

func parseTensor(t fbTable, buffers []bufferData, lim Limits) (*tensorDesc, error) {
	td := &tensorDesc{}
	var err error
	if td.name, err = t.str(3); err != nil {
		return td, fmt.Errorf("name: %w", err)
	}
	shape, err := t.i32s(0)
	if err != nil {
		return td, fmt.Errorf("shape: %w", err)
	}
	if len(shape) > 8 {
		return td, fmt.Errorf("rank %d exceeds 8", len(shape))
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return td, fmt.Errorf("negative dimension in shape %v", shape)
		}
		td.shape = append(td.shape, int(d))
		if d > 0 && n > lim.MaxTensorElements/int(d) {
			return td, fmt.Errorf("shape %v exceeds the limit of %d elements", shape, lim.MaxTensorElements)
		}
		n *= int(d)
	}
	sig, err := t.i32s(7)
	if err != nil {
		return td, fmt.Errorf("shape_signature: %w", err)
	}
	if sig != nil {
		if len(sig) != len(shape) {
			return td, fmt.Errorf("shape_signature %v has rank %d, shape %v has rank %d", sig, len(sig), shape, len(shape))
		}
		for i, d := range sig {
			if d < -1 || (d != -1 && int(d) != td.shape[i]) {
				return td, fmt.Errorf("shape_signature %v disagrees with shape %v", sig, shape)
			}
			td.shapeSig = append(td.shapeSig, int(d))
		}
	}
	typ, err := t.u8(1, 0)
	if err != nil {
		return td, fmt.Errorf("type: %w", err)
	}
	td.typ = DataType(typ)
	if td.variable, err = t.boolean(5); err != nil {
		return td, fmt.Errorf("is_variable: %w", err)
	}
	if _, ok, err := t.ref(6); err != nil || ok {
		if err != nil {
			return td, fmt.Errorf("sparsity: %w", err)
		}
		return td, fmt.Errorf("sparse tensors are not supported")
	}
	if qt, ok, err := t.subTable(4); err != nil {
		return td, fmt.Errorf("quantization: %w", err)
	} else if ok {
		q := &quantParams{}
		if q.scale, err = qt.f32s(2); err != nil {
			return td, fmt.Errorf("quantization scale: %w", err)
		}
		if q.zeroPoint, err = qt.i64s(3); err != nil {
			return td, fmt.Errorf("quantization zero_point: %w", err)
		}
		dim, err := qt.i32(6, 0)
		if err != nil {
			return td, fmt.Errorf("quantization quantized_dimension: %w", err)
		}
		q.dim = int(dim)
		if len(q.scale) > 0 {
			td.quant = q
		}
	}
	bi, err := t.u32(2, 0)
	if err != nil {
		return td, fmt.Errorf("buffer: %w", err)
	}
	if int(bi) >= len(buffers) && !(bi == 0 && len(buffers) == 0) {
		return td, fmt.Errorf("buffer index %d out of range [0, %d)", bi, len(buffers))
	}
	if bi == 0 || len(buffers[bi].data) == 0 {
		if td.typ.size() == 0 || td.typ == Float16 || td.typ == Int8 || td.typ == Uint8 {
			return td, fmt.Errorf("type %s is not supported for activations", td.typ)
		}
		return td, nil
	}
	if td.variable {
		return td, fmt.Errorf("variable tensor with initial data is not supported")
	}
	return td, decodeConst(td, buffers[bi].data, n)
}

func decodeConst(td *tensorDesc, data []byte, n int) error {
	es := td.typ.size()
	if es == 0 {
		return fmt.Errorf("constant of type %s is not supported", td.typ)
	}
	if len(data) != n*es {
		return fmt.Errorf("constant data is %d bytes, shape %v of %s needs %d", len(data), td.shape, td.typ, n*es)
	}
	td.isConst = true
	switch td.typ {
	case Float32:
		td.constF32 = make([]float32, n)
		for i := range td.constF32 {
			td.constF32[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
	case Float16:
		// Kept as float32 of the same values; DEQUANTIZE folding relabels the type.
		td.constF32 = make([]float32, n)
		for i := range td.constF32 {
			td.constF32[i] = halfToFloat(binary.LittleEndian.Uint16(data[2*i:]))
		}
	case Int32:
		td.constI32 = make([]int32, n)
		for i := range td.constI32 {
			td.constI32[i] = int32(binary.LittleEndian.Uint32(data[4*i:]))
		}
	case Int64:
		td.constI64 = make([]int64, n)
		for i := range td.constI64 {
			td.constI64[i] = int64(binary.LittleEndian.Uint64(data[8*i:]))
		}
	case Bool:
		td.constB = make([]bool, n)
		for i := range td.constB {
			td.constB[i] = data[i] != 0
		}
	case Int8:
		td.constI8 = make([]int8, n)
		for i := range td.constI8 {
			td.constI8[i] = int8(data[i])
		}
		if td.quant == nil {
			return fmt.Errorf("int8 constant without quantization parameters")
		}
		if err := checkQuant(td, n); err != nil {
			return err
		}
	default:
		return fmt.Errorf("constant of type %s is not supported", td.typ)
	}
	return nil
}

func checkQuant(td *tensorDesc, n int) error {
	q := td.quant
	if len(q.zeroPoint) != 0 && len(q.zeroPoint) != len(q.scale) {
		return fmt.Errorf("quantization has %d scales and %d zero points", len(q.scale), len(q.zeroPoint))
	}
	if len(q.scale) > 1 {
		if q.dim < 0 || q.dim >= len(td.shape) || td.shape[q.dim] != len(q.scale) {
			return fmt.Errorf("per-channel quantization: %d scales on dimension %d of shape %v", len(q.scale), q.dim, td.shape)
		}
	}
	for _, s := range q.scale {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("quantization scale %v is not a positive finite number", s)
		}
	}
	return nil
}

// halfToFloat converts an IEEE 754 binary16 value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		for mant&0x400 == 0 {
			mant <<= 1
			exp--
		}
		exp++
		mant &= 0x3ff
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

func parseOperator(t fbTable, index int, opcodes []opcode, nt int) (*opDesc, error) {
	oi, err := t.u32(0, 0)
	if err != nil {
		return nil, fmt.Errorf("opcode_index: %w", err)
	}
	if int(oi) >= len(opcodes) {
		return nil, fmt.Errorf("opcode_index %d out of range [0, %d)", oi, len(opcodes))
	}
	op := &opDesc{code: opcodes[oi].code, version: opcodes[oi].version, index: index}
	ins, err := t.i32s(1)
	if err != nil {
		return nil, fmt.Errorf("inputs: %w", err)
	}
	outs, err := t.i32s(2)
	if err != nil {
		return nil, fmt.Errorf("outputs: %w", err)
	}
	if op.inputs, err = tensorIndexes(ins, nt, true); err != nil {
		return nil, fmt.Errorf("%s inputs: %w", opName(op.code), err)
	}
	if op.outputs, err = tensorIndexes(outs, nt, false); err != nil {
		return nil, fmt.Errorf("%s outputs: %w", opName(op.code), err)
	}
	if op.opts, op.hasOpts, err = t.subTable(4); err != nil {
		return nil, fmt.Errorf("%s builtin_options: %w", opName(op.code), err)
	}
	if _, ok, err := t.ref(12); err != nil || ok {
		if err != nil {
			return nil, fmt.Errorf("%s builtin_options_2: %w", opName(op.code), err)
		}
		return nil, fmt.Errorf("%s: builtin_options_2 (StableHLO options) are not supported", opName(op.code))
	}
	return op, nil
}

func parseSignatures(root fbTable, sgs []*subgraph) ([]Signature, error) {
	tabs, err := root.tables(7)
	if err != nil {
		return nil, fmt.Errorf("signature_defs: %w", err)
	}
	var out []Signature
	keys := map[string]bool{}
	for i, t := range tabs {
		var s Signature
		if s.Key, err = t.str(2); err != nil {
			return nil, fmt.Errorf("signature_defs[%d] key: %w", i, err)
		}
		if keys[s.Key] {
			return nil, fmt.Errorf("signature_defs[%d]: duplicate key %q", i, s.Key)
		}
		keys[s.Key] = true
		sgi, err := t.u32(4, 0)
		if err != nil {
			return nil, fmt.Errorf("signature %q subgraph_index: %w", s.Key, err)
		}
		if int(sgi) >= len(sgs) {
			return nil, fmt.Errorf("signature %q: subgraph_index %d out of range [0, %d)", s.Key, sgi, len(sgs))
		}
		s.Subgraph = int(sgi)
		sg := sgs[sgi]
		if s.Inputs, err = parseTensorMaps(t, 0, sg, sg.inputs); err != nil {
			return nil, fmt.Errorf("signature %q inputs: %w", s.Key, err)
		}
		if s.Outputs, err = parseTensorMaps(t, 1, sg, sg.outputs); err != nil {
			return nil, fmt.Errorf("signature %q outputs: %w", s.Key, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// parseTensorMaps reads TensorMaps and checks each names a graph input/output.
func parseTensorMaps(t fbTable, id int, sg *subgraph, allowed []int) ([]TensorRef, error) {
	tabs, err := t.tables(id)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	var out []TensorRef
	for i, mt := range tabs {
		name, err := mt.str(0)
		if err != nil {
			return nil, fmt.Errorf("[%d] name: %w", i, err)
		}
		ti, err := mt.u32(1, 0)
		if err != nil {
			return nil, fmt.Errorf("[%d] tensor_index: %w", i, err)
		}
		if names[name] {
			return nil, fmt.Errorf("duplicate name %q", name)
		}
		names[name] = true
		found := false
		for _, a := range allowed {
			if a == int(ti) {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%q maps to tensor %d, which is not a subgraph %d input/output", name, ti, sg.index)
		}
		out = append(out, TensorRef{Name: name, Tensor: int(ti)})
	}
	return out, nil
}

// foldConstantDequantize replaces DEQUANTIZE operators whose input is a constant
// (float16 or int8 weights) by a float32 constant, so no conversion runs per Invoke.
func foldConstantDequantize(sg *subgraph) error {
	const dequantize = 6
	kept := sg.ops[:0]
	for _, op := range sg.ops {
		if op.code != dequantize || len(op.inputs) != 1 || len(op.outputs) != 1 || op.inputs[0] < 0 {
			kept = append(kept, op)
			continue
		}
		in, out := sg.tensors[op.inputs[0]], sg.tensors[op.outputs[0]]
		if !in.isConst {
			kept = append(kept, op)
			continue
		}
		if out.typ != Float32 {
			return fmt.Errorf("operator %d (DEQUANTIZE) outputs %s, want FLOAT32", op.index, out.typ)
		}
		if !sameShape(in.shape, out.shape) {
			return fmt.Errorf("operator %d (DEQUANTIZE) maps shape %v to %v", op.index, in.shape, out.shape)
		}
		switch in.typ {
		case Float16:
			out.constF32 = in.constF32
		case Int8:
			out.constF32 = dequantizeInt8(in)
		default:
			return fmt.Errorf("operator %d (DEQUANTIZE) of a %s constant is not supported", op.index, in.typ)
		}
		out.isConst = true
		for _, o := range sg.outputs {
			if o == op.outputs[0] {
				return fmt.Errorf("operator %d (DEQUANTIZE) writes a graph output from a constant", op.index)
			}
		}
	}
	sg.ops = kept
	for i, op := range sg.ops {
		op.index = i
	}
	return nil
}

func dequantizeInt8(td *tensorDesc) []float32 {
	q := td.quant
	out := make([]float32, len(td.constI8))
	inner := 1
	for d := q.dim + 1; d < len(td.shape); d++ {
		inner *= td.shape[d]
	}
	for i, v := range td.constI8 {
		c := 0
		if len(q.scale) > 1 {
			c = (i / inner) % len(q.scale)
		}
		var zp int64
		if len(q.zeroPoint) > 0 {
			zp = q.zeroPoint[c]
		}
		out[i] = float32(int64(v)-zp) * q.scale[c]
	}
	return out
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
