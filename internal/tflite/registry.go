package tflite

import (
	"errors"
	"fmt"
	"math"
)

// BuiltinOperator codes of the supported operators (schema.fbs).
const (
	opAdd                        = 0
	opAveragePool2D              = 1
	opConcatenation              = 2
	opConv2D                     = 3
	opDepthwiseConv2D            = 4
	opDequantize                 = 6
	opFullyConnected             = 9
	opLogistic                   = 14
	opMaxPool2D                  = 17
	opMul                        = 18
	opRelu                       = 19
	opRelu6                      = 21
	opReshape                    = 22
	opTanh                       = 28
	opPad                        = 34
	opGather                     = 36
	opTranspose                  = 39
	opMean                       = 40
	opSub                        = 41
	opDiv                        = 42
	opSqueeze                    = 43
	opBatchToSpaceND             = 37
	opSpaceToBatchND             = 38
	opStridedSlice               = 45
	opExp                        = 47
	opSplit                      = 49
	opCast                       = 53
	opMaximum                    = 55
	opMinimum                    = 57
	opLess                       = 58
	opNeg                        = 59
	opGreater                    = 61
	opSlice                      = 65
	opExpandDims                 = 70
	opSum                        = 74
	opSqrt                       = 75
	opRsqrt                      = 76
	opShape                      = 77
	opReduceProd                 = 81
	opReduceMax                  = 82
	opPack                       = 83
	opLogicalAnd                 = 86
	opLogicalNot                 = 87
	opUnpack                     = 88
	opSquare                     = 92
	opFill                       = 94
	opSquaredDifference          = 99
	opAbs                        = 101
	opWhile                      = 119
	opSoftmax                    = 25
	opTile                       = 69
	opLog                        = 73
	opLeakyRelu                  = 98
	opElu                        = 111
	opGelu                       = 150
	opUnidirectionalSequenceLSTM = 44
	opBatchMatMul                = 126
)

// registry maps an operator code to its build function. To add an operator:
// write a kernel (prepare + eval), a build function that validates arity, types
// and options, register it here, and add a model that uses it to
// model/conformance/generate.py so TensorFlow proves it.
var registry map[int32]func(*buildCtx) (kernel, error)

func init() {
	registry = map[int32]func(*buildCtx) (kernel, error){
		opAdd:                        buildBinary(binAdd),
		opSub:                        buildBinary(binSub),
		opMul:                        buildBinary(binMul),
		opDiv:                        buildBinary(binDiv),
		opSquaredDifference:          buildBinary(binSquaredDiff),
		opMaximum:                    buildBinary(binMax),
		opMinimum:                    buildBinary(binMin),
		opLess:                       buildBinary(binLess),
		opGreater:                    buildBinary(binGreater),
		opLogicalAnd:                 buildBinary(binAnd),
		opTanh:                       buildUnary(unTanh),
		opLogistic:                   buildUnary(unLogistic),
		opRelu:                       buildUnary(unRelu),
		opRelu6:                      buildUnary(unRelu6),
		opNeg:                        buildUnary(unNeg),
		opRsqrt:                      buildUnary(unRsqrt),
		opSqrt:                       buildUnary(unSqrt),
		opExp:                        buildUnary(unExp),
		opAbs:                        buildUnary(unAbs),
		opSquare:                     buildUnary(unSquare),
		opLogicalNot:                 buildUnary(unNot),
		opCast:                       buildCast,
		opMean:                       buildReduce(redMean),
		opSum:                        buildReduce(redSum),
		opReduceProd:                 buildReduce(redProd),
		opReduceMax:                  buildReduce(redMax),
		opShape:                      buildShape,
		opReshape:                    buildReshape,
		opExpandDims:                 buildExpandDims,
		opSqueeze:                    buildSqueeze,
		opStridedSlice:               buildStridedSlice,
		opSlice:                      buildSlice,
		opPack:                       buildPack,
		opUnpack:                     buildUnpack,
		opConcatenation:              buildConcat,
		opGather:                     buildGather,
		opSplit:                      buildSplit,
		opFill:                       buildFill,
		opTranspose:                  buildTranspose,
		opPad:                        buildPad,
		opSpaceToBatchND:             buildSpaceBatch(true),
		opBatchToSpaceND:             buildSpaceBatch(false),
		opFullyConnected:             buildFullyConnected,
		opConv2D:                     buildConv2D,
		opDepthwiseConv2D:            buildDepthwiseConv2D,
		opMaxPool2D:                  buildPool(true),
		opAveragePool2D:              buildPool(false),
		opBatchMatMul:                buildBatchMatMul,
		opWhile:                      buildWhile,
		opSoftmax:                    buildSoftmax,
		opTile:                       buildTile,
		opLog:                        buildUnary(unLog),
		opElu:                        buildUnary(unElu),
		opLeakyRelu:                  buildUnary(unLeakyRelu),
		opGelu:                       buildUnary(unGelu),
		opUnidirectionalSequenceLSTM: buildLSTM,
	}
}

// SupportedOperators lists the builtin operators this package can run.
func SupportedOperators() []string {
	out := make([]string, 0, len(registry))
	for code := range registry {
		out = append(out, opName(code))
	}
	sortStrings(out)
	return out
}

// buildCtx gives a build function the operator and its static tensors.
type buildCtx struct {
	m  *Model
	sg *subgraph
	op *opDesc
}

func (c *buildCtx) arity(minIn, maxIn, minOut, maxOut int) error {
	if n := len(c.op.inputs); n < minIn || n > maxIn {
		return fmt.Errorf("has %d inputs, want %s", n, rangeText(minIn, maxIn))
	}
	if n := len(c.op.outputs); n < minOut || n > maxOut {
		return fmt.Errorf("has %d outputs, want %s", n, rangeText(minOut, maxOut))
	}
	for i := 0; i < minIn; i++ {
		if c.op.inputs[i] < 0 {
			return fmt.Errorf("required input %d is omitted", i)
		}
	}
	return nil
}

func rangeText(lo, hi int) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d..%d", lo, hi)
}

// in returns input i's description, nil when omitted or absent.
func (c *buildCtx) in(i int) *tensorDesc {
	if i >= len(c.op.inputs) || c.op.inputs[i] < 0 {
		return nil
	}
	return c.sg.tensors[c.op.inputs[i]]
}

func (c *buildCtx) out(i int) *tensorDesc { return c.sg.tensors[c.op.outputs[i]] }

// types checks that every present input and output has one of the allowed types.
func (c *buildCtx) types(allowed ...DataType) error {
	check := func(kind string, i int, d *tensorDesc) error {
		for _, a := range allowed {
			if d.typ == a {
				return nil
			}
		}
		return fmt.Errorf("%s %d %q has type %s, want one of %v", kind, i, d.name, d.typ, allowed)
	}
	for i := range c.op.inputs {
		if d := c.in(i); d != nil {
			if err := check("input", i, d); err != nil {
				return err
			}
		}
	}
	for i := range c.op.outputs {
		if err := check("output", i, c.out(i)); err != nil {
			return err
		}
	}
	return nil
}

func (c *buildCtx) sameType(a, b *tensorDesc) error {
	if a.typ != b.typ {
		return fmt.Errorf("tensor %q is %s but %q is %s", a.name, a.typ, b.name, b.typ)
	}
	return nil
}

func (c *buildCtx) optI32(id int, def int32) (int32, error) {
	if !c.op.hasOpts {
		return def, nil
	}
	v, err := c.op.opts.i32(id, def)
	if err != nil {
		return 0, fmt.Errorf("builtin options: %w", err)
	}
	return v, nil
}

func (c *buildCtx) optU8(id int, def uint8) (uint8, error) {
	if !c.op.hasOpts {
		return def, nil
	}
	v, err := c.op.opts.u8(id, def)
	if err != nil {
		return 0, fmt.Errorf("builtin options: %w", err)
	}
	return v, nil
}

func (c *buildCtx) optF32(id int, def float32) (float32, error) {
	if !c.op.hasOpts {
		return def, nil
	}
	v, err := c.op.opts.f32(id, def)
	if err != nil {
		return 0, fmt.Errorf("builtin options: %w", err)
	}
	return v, nil
}

func (c *buildCtx) optBool(id int) (bool, error) {
	v, err := c.optU8(id, 0)
	return v != 0, err
}

func (c *buildCtx) optI32s(id int) ([]int32, error) {
	if !c.op.hasOpts {
		return nil, nil
	}
	v, err := c.op.opts.i32s(id)
	if err != nil {
		return nil, fmt.Errorf("builtin options: %w", err)
	}
	return v, nil
}

// activation is a fused activation function (ActivationFunctionType).
type activation uint8

const (
	actNone activation = iota
	actRelu
	actReluN1To1
	actRelu6
	actTanh
	actSignBit
)

func (c *buildCtx) activation(id int) (activation, error) {
	v, err := c.optU8(id, 0)
	if err != nil {
		return 0, err
	}
	a := activation(v)
	if a > actTanh {
		return 0, fmt.Errorf("fused activation %d is not supported", v)
	}
	return a, nil
}

// applyActivation applies a fused activation in place.
func applyActivation(a activation, x []float32) {
	switch a {
	case actRelu:
		for i, v := range x {
			if v < 0 {
				x[i] = 0
			}
		}
	case actRelu6:
		for i, v := range x {
			x[i] = min(max(v, 0), 6)
		}
	case actReluN1To1:
		for i, v := range x {
			x[i] = min(max(v, -1), 1)
		}
	case actTanh:
		for i, v := range x {
			x[i] = float32(math.Tanh(float64(v)))
		}
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// errNeedValue marks a prepare that needs the value of a tensor computed at run
// time (for example a loop index). Such operators are re-prepared on every
// Invoke (see dynamicKernel).
var errNeedValue = errors.New("value is computed at run time")

// ints reads an INT32/INT64 tensor that decides a shape. At prepare time the
// tensor must be known (constant or derived from shapes); when the operator is
// re-prepared during Invoke, the run-time value is used.
func (n *node) ints(t *Tensor) ([]int, error) {
	if t == nil {
		return nil, fmt.Errorf("missing tensor")
	}
	if !t.known && !n.running {
		return nil, fmt.Errorf("tensor %q: %w", t.desc.name, errNeedValue)
	}
	switch {
	case t.i32 != nil:
		out := n.tmpInts(len(t.i32))
		for i, v := range t.i32 {
			out[i] = int(v)
		}
		return out, nil
	case t.i64 != nil:
		out := n.tmpInts(len(t.i64))
		for i, v := range t.i64 {
			out[i] = int(v)
		}
		return out, nil
	case t.Len() == 0:
		return n.tmpInts(0), nil
	}
	return nil, fmt.Errorf("tensor %q has type %s, want INT32 or INT64", t.desc.name, t.typ())
}

// tmpInts hands out an int slice valid until the node's next prepare. The
// pool grows during the first prepare and is reused afterwards, so nodes
// re-prepared on every Invoke (dynamic shapes) do not allocate.
func (n *node) tmpInts(size int) []int {
	if n.intUsed+size > len(n.intPool) {
		grown := make([]int, 2*(n.intUsed+size)+16)
		n.intPool = grown // earlier slices keep the old array alive
		n.intUsed = 0
	}
	out := n.intPool[n.intUsed : n.intUsed+size : n.intUsed+size]
	n.intUsed += size
	return out
}

// intAt reads element i of an integer tensor during eval without allocating.
func intAt(t *Tensor, i int) int {
	if t.i32 != nil {
		return int(t.i32[i])
	}
	return int(t.i64[i])
}
