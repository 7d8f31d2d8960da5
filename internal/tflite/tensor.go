package tflite

import (
	"fmt"
	"unsafe"
)

// Tensor is one tensor of an Interpreter. Its data slices alias the interpreter's
// arena (or the model's constants) and stay valid until the next resize.
type Tensor struct {
	desc  *tensorDesc
	shape []int

	// Exactly one view is non-nil, matching the tensor's type.
	f32 []float32
	i32 []int32
	i64 []int64
	b   []bool

	// known tensors hold values fixed at prepare time: constants, and small
	// integer tensors computed from shapes (SHAPE → STRIDED_SLICE → PACK chains).
	known bool
	// heap backs known, non-constant tensors outside the arena.
	heap []uint64
	// mem is the memory the tensor is bound to (arena block or heap).
	mem []uint64
	// dynamic tensors have shapes that depend on run-time values; mem holds
	// their upper bound.
	dynamic bool
}

// Name is the tensor's name in the model.
func (t *Tensor) Name() string { return t.desc.name }

// Type is the tensor's element type.
func (t *Tensor) Type() DataType { return t.typ() }

func (t *Tensor) typ() DataType { return t.desc.typ }

// Shape returns the current shape. The slice must not be modified.
func (t *Tensor) Shape() []int { return t.shape }

// Float32s returns the tensor's data when it is FLOAT32, else nil. Writes to an
// input tensor's slice are the way to feed the model.
func (t *Tensor) Float32s() []float32 { return t.f32 }

// Int32s returns the tensor's data when it is INT32, else nil.
func (t *Tensor) Int32s() []int32 { return t.i32 }

// Len is the element count of the current shape.
func (t *Tensor) Len() int { return numElements(t.shape) }

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func (t *Tensor) byteSize() int {
	return numElements(t.shape) * t.typ().size()
}

// bind points the tensor's typed view at n elements of mem.
func (t *Tensor) bind(mem []uint64) {
	n := numElements(t.shape)
	t.mem = mem
	t.f32, t.i32, t.i64, t.b = nil, nil, nil, nil
	var p unsafe.Pointer
	if len(mem) > 0 {
		p = unsafe.Pointer(&mem[0])
	} else {
		p = unsafe.Pointer(&zeroWord)
	}
	switch t.typ() {
	case Float32:
		t.f32 = unsafe.Slice((*float32)(p), n)
	case Int32:
		t.i32 = unsafe.Slice((*int32)(p), n)
	case Int64:
		t.i64 = unsafe.Slice((*int64)(p), n)
	case Bool:
		t.b = unsafe.Slice((*bool)(p), n)
	}
}

// zeroWord backs empty tensors so that views are never built from a nil pointer.
var zeroWord uint64

func words(bytes int) int { return (bytes + 7) / 8 }

// setShape sets the shape after checking the element limit.
func (t *Tensor) setShape(shape []int, lim Limits) error {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("tensor %q: negative dimension in shape %v", t.desc.name, shape)
		}
		if d > 0 && n > lim.MaxTensorElements/d {
			return fmt.Errorf("tensor %q: shape %v exceeds the limit of %d elements", t.desc.name, shape, lim.MaxTensorElements)
		}
		n *= d
	}
	if cap(t.shape) >= len(shape) {
		t.shape = t.shape[:len(shape)]
	} else {
		t.shape = make([]int, len(shape))
	}
	copy(t.shape, shape)
	return nil
}

// copyData copies src's values into dst; shapes and types must already match.
func copyData(dst, src *Tensor) {
	switch {
	case dst.f32 != nil:
		copy(dst.f32, src.f32)
	case dst.i32 != nil:
		copy(dst.i32, src.i32)
	case dst.i64 != nil:
		copy(dst.i64, src.i64)
	case dst.b != nil:
		copy(dst.b, src.b)
	}
}
