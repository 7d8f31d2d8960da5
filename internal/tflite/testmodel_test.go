package tflite

import (
	"encoding/binary"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"
)

// testModel describes a small .tflite built in tests with the flatbuffers
// builder, so loader checks can be exercised one field at a time.
type testModel struct {
	version    uint32
	identifier string // default "TFL3"
	opcodes    []testOpcode
	tensors    []testTensor
	ops        []testOp
	inputs     []int32
	outputs    []int32
	extraBufs  int // empty buffers appended (to test buffer indexes)
	sigs       []testSig
}

type testOpcode struct {
	code       int32
	deprecated int8 // written to deprecated_builtin_code when non-zero
	onlyDep    bool // write only the deprecated field (old writers)
}

type testTensor struct {
	name     string
	shape    []int32
	shapeSig []int32
	typ      DataType
	data     []byte // constant data (own buffer) when non-nil
	buffer   int    // explicit buffer index when data is nil and buffer > 0
	scale    []float32
}

type testOp struct {
	opcode  uint32
	inputs  []int32
	outputs []int32
	// options builds the builtin options table (nil: none).
	options func(b *flatbuffers.Builder) flatbuffers.UOffsetT
}

type testSig struct {
	key            string
	inputs, output map[string]uint32
	subgraph       uint32
}

func f32bytes(v ...float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

func i32bytes(v ...int32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], uint32(x))
	}
	return out
}

func i32vec(b *flatbuffers.Builder, v []int32) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(v[i])
	}
	return b.EndVector(len(v))
}

func f32vec(b *flatbuffers.Builder, v []float32) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependFloat32(v[i])
	}
	return b.EndVector(len(v))
}

func offVec(b *flatbuffers.Builder, v []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependUOffsetT(v[i])
	}
	return b.EndVector(len(v))
}

func (m testModel) bytes() []byte {
	b := flatbuffers.NewBuilder(1024)
	// Buffers: 0 is the empty sentinel, then one per constant tensor.
	var bufs []flatbuffers.UOffsetT
	emptyBuf := func() flatbuffers.UOffsetT {
		b.StartObject(3)
		return b.EndObject()
	}
	bufs = append(bufs, emptyBuf())
	bufIndex := make([]uint32, len(m.tensors))
	for i, t := range m.tensors {
		switch {
		case t.data != nil:
			d := b.CreateByteVector(t.data)
			b.StartObject(3)
			b.PrependUOffsetTSlot(0, d, 0)
			bufs = append(bufs, b.EndObject())
			bufIndex[i] = uint32(len(bufs) - 1)
		case t.buffer > 0:
			bufIndex[i] = uint32(t.buffer)
		}
	}
	for i := 0; i < m.extraBufs; i++ {
		bufs = append(bufs, emptyBuf())
	}
	var tensors []flatbuffers.UOffsetT
	for i, t := range m.tensors {
		name := b.CreateString(t.name)
		shape := i32vec(b, t.shape)
		var sig, quant flatbuffers.UOffsetT
		if t.shapeSig != nil {
			sig = i32vec(b, t.shapeSig)
		}
		if t.scale != nil {
			sc := f32vec(b, t.scale)
			b.StartObject(7)
			b.PrependUOffsetTSlot(2, sc, 0)
			quant = b.EndObject()
		}
		b.StartObject(11)
		b.PrependUOffsetTSlot(0, shape, 0)
		b.PrependByteSlot(1, byte(t.typ), 0)
		b.PrependUint32Slot(2, bufIndex[i], 0)
		b.PrependUOffsetTSlot(3, name, 0)
		if quant != 0 {
			b.PrependUOffsetTSlot(4, quant, 0)
		}
		if sig != 0 {
			b.PrependUOffsetTSlot(7, sig, 0)
		}
		tensors = append(tensors, b.EndObject())
	}
	var ops []flatbuffers.UOffsetT
	for _, o := range m.ops {
		var opts flatbuffers.UOffsetT
		if o.options != nil {
			opts = o.options(b)
		}
		in, out := i32vec(b, o.inputs), i32vec(b, o.outputs)
		b.StartObject(14)
		b.PrependUint32Slot(0, o.opcode, 0)
		b.PrependUOffsetTSlot(1, in, 0)
		b.PrependUOffsetTSlot(2, out, 0)
		if opts != 0 {
			b.PrependByteSlot(3, 1, 0) // union type: any non-zero
			b.PrependUOffsetTSlot(4, opts, 0)
		}
		ops = append(ops, b.EndObject())
	}
	tv, ov := offVec(b, tensors), offVec(b, ops)
	iv, outv := i32vec(b, m.inputs), i32vec(b, m.outputs)
	sgName := b.CreateString("main")
	b.StartObject(6)
	b.PrependUOffsetTSlot(0, tv, 0)
	b.PrependUOffsetTSlot(1, iv, 0)
	b.PrependUOffsetTSlot(2, outv, 0)
	b.PrependUOffsetTSlot(3, ov, 0)
	b.PrependUOffsetTSlot(4, sgName, 0)
	sg := b.EndObject()

	var codes []flatbuffers.UOffsetT
	for _, c := range m.opcodes {
		b.StartObject(4)
		if c.onlyDep {
			b.PrependInt8Slot(0, int8(c.code), 0)
		} else {
			b.PrependInt8Slot(0, c.deprecated, 0)
			b.PrependInt32Slot(3, c.code, 0)
		}
		b.PrependInt32Slot(2, 1, 1)
		codes = append(codes, b.EndObject())
	}
	var sigs []flatbuffers.UOffsetT
	for _, s := range m.sigs {
		maps := func(mm map[string]uint32) flatbuffers.UOffsetT {
			var tms []flatbuffers.UOffsetT
			for name, idx := range mm {
				n := b.CreateString(name)
				b.StartObject(2)
				b.PrependUOffsetTSlot(0, n, 0)
				b.PrependUint32Slot(1, idx, 0)
				tms = append(tms, b.EndObject())
			}
			return offVec(b, tms)
		}
		in, out := maps(s.inputs), maps(s.output)
		key := b.CreateString(s.key)
		b.StartObject(5)
		b.PrependUOffsetTSlot(0, in, 0)
		b.PrependUOffsetTSlot(1, out, 0)
		b.PrependUOffsetTSlot(2, key, 0)
		b.PrependUint32Slot(4, s.subgraph, 0)
		sigs = append(sigs, b.EndObject())
	}
	cv := offVec(b, codes)
	sgv := offVec(b, []flatbuffers.UOffsetT{sg})
	bv := offVec(b, bufs)
	sigv := offVec(b, sigs)
	desc := b.CreateString("test model")
	b.StartObject(8)
	b.PrependUint32Slot(0, m.version, 0)
	b.PrependUOffsetTSlot(1, cv, 0)
	b.PrependUOffsetTSlot(2, sgv, 0)
	b.PrependUOffsetTSlot(3, desc, 0)
	b.PrependUOffsetTSlot(4, bv, 0)
	b.PrependUOffsetTSlot(7, sigv, 0)
	root := b.EndObject()
	id := m.identifier
	if id == "" {
		id = "TFL3"
	}
	b.FinishWithFileIdentifier(root, []byte(id))
	return b.FinishedBytes()
}

// fcModel is a valid model: y = relu(x · Wᵀ + bias) with x [batch, 3], 2 units,
// batch dynamic, plus a signature "serving_default" naming x and y.
func fcModel() testModel {
	return testModel{
		version: 3,
		opcodes: []testOpcode{{code: opFullyConnected}},
		tensors: []testTensor{
			{name: "x", shape: []int32{1, 3}, shapeSig: []int32{-1, 3}, typ: Float32},
			{name: "w", shape: []int32{2, 3}, typ: Float32, data: f32bytes(1, 2, 3, -1, -2, -3)},
			{name: "bias", shape: []int32{2}, typ: Float32, data: f32bytes(0.5, 0.25)},
			{name: "y", shape: []int32{1, 2}, shapeSig: []int32{-1, 2}, typ: Float32},
		},
		ops: []testOp{{opcode: 0, inputs: []int32{0, 1, 2}, outputs: []int32{3}, options: func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
			b.StartObject(5)
			b.PrependByteSlot(0, byte(actRelu), 0)
			return b.EndObject()
		}}},
		inputs:  []int32{0},
		outputs: []int32{3},
		sigs:    []testSig{{key: "serving_default", inputs: map[string]uint32{"window": 0}, output: map[string]uint32{"score": 3}}},
	}
}
