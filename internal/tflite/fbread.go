package tflite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"
)

// The flatbuffers Go runtime trusts its input: a bad offset is an index-out-of-range
// panic. Models come from users (model_path), so every table, field, vector and
// string is bounds-checked here before the runtime's accessors touch it. This is
// the only file that reads raw flatbuffer bytes.

var errTruncated = errors.New("offset points outside the file")

// fbTable is a table whose vtable and inline area were checked to lie inside buf.
type fbTable struct {
	buf    []byte
	tab    flatbuffers.Table
	vtLen  int // vtable length in bytes
	tabLen int // inline table length in bytes
}

func readU32(buf []byte, pos uint64) (uint32, error) {
	if pos+4 > uint64(len(buf)) {
		return 0, errTruncated
	}
	return binary.LittleEndian.Uint32(buf[pos:]), nil
}

// fbRoot returns the root table of a size-unprefixed flatbuffer.
func fbRoot(buf []byte) (fbTable, error) {
	off, err := readU32(buf, 0)
	if err != nil {
		return fbTable{}, err
	}
	return fbTableAt(buf, uint64(off))
}

func fbTableAt(buf []byte, pos uint64) (fbTable, error) {
	if pos+4 > uint64(len(buf)) {
		return fbTable{}, fmt.Errorf("table at %d: %w", pos, errTruncated)
	}
	soff := int64(int32(binary.LittleEndian.Uint32(buf[pos:])))
	vt := int64(pos) - soff
	if vt < 0 || vt+4 > int64(len(buf)) {
		return fbTable{}, fmt.Errorf("vtable of table at %d: %w", pos, errTruncated)
	}
	vtLen := int(binary.LittleEndian.Uint16(buf[vt:]))
	tabLen := int(binary.LittleEndian.Uint16(buf[vt+2:]))
	if vtLen < 4 || vtLen%2 != 0 || vt+int64(vtLen) > int64(len(buf)) {
		return fbTable{}, fmt.Errorf("vtable of table at %d has bad length %d", pos, vtLen)
	}
	if tabLen < 4 || pos+uint64(tabLen) > uint64(len(buf)) {
		return fbTable{}, fmt.Errorf("table at %d has bad length %d", pos, tabLen)
	}
	return fbTable{
		buf:    buf,
		tab:    flatbuffers.Table{Bytes: buf, Pos: flatbuffers.UOffsetT(pos)},
		vtLen:  vtLen,
		tabLen: tabLen,
	}, nil
}

// field returns the absolute position of field id's inline value of the given
// size, or ok=false when the field is absent (default value applies).
func (t fbTable) field(id, size int) (pos uint64, ok bool, err error) {
	slot := 4 + 2*id
	if slot+2 > t.vtLen {
		return 0, false, nil
	}
	off := int(t.tab.Offset(flatbuffers.VOffsetT(slot)))
	if off == 0 {
		return 0, false, nil
	}
	if off+size > t.tabLen {
		return 0, false, fmt.Errorf("field %d (%d bytes at +%d) overruns its table of %d bytes", id, size, off, t.tabLen)
	}
	return uint64(t.tab.Pos) + uint64(off), true, nil
}

func (t fbTable) u8(id int, def uint8) (uint8, error) {
	p, ok, err := t.field(id, 1)
	if err != nil || !ok {
		return def, err
	}
	return t.tab.GetUint8(flatbuffers.UOffsetT(p)), nil
}

func (t fbTable) boolean(id int) (bool, error) {
	v, err := t.u8(id, 0)
	return v != 0, err
}

func (t fbTable) i32(id int, def int32) (int32, error) {
	p, ok, err := t.field(id, 4)
	if err != nil || !ok {
		return def, err
	}
	return t.tab.GetInt32(flatbuffers.UOffsetT(p)), nil
}

func (t fbTable) u32(id int, def uint32) (uint32, error) {
	p, ok, err := t.field(id, 4)
	if err != nil || !ok {
		return def, err
	}
	return t.tab.GetUint32(flatbuffers.UOffsetT(p)), nil
}

func (t fbTable) u64(id int, def uint64) (uint64, error) {
	p, ok, err := t.field(id, 8)
	if err != nil || !ok {
		return def, err
	}
	return t.tab.GetUint64(flatbuffers.UOffsetT(p)), nil
}

func (t fbTable) f32(id int, def float32) (float32, error) {
	p, ok, err := t.field(id, 4)
	if err != nil || !ok {
		return def, err
	}
	return t.tab.GetFloat32(flatbuffers.UOffsetT(p)), nil
}

// ref follows the uoffset stored in field id.
func (t fbTable) ref(id int) (target uint64, ok bool, err error) {
	p, ok, err := t.field(id, 4)
	if err != nil || !ok {
		return 0, ok, err
	}
	target = p + uint64(t.tab.GetUint32(flatbuffers.UOffsetT(p)))
	if target >= uint64(len(t.buf)) {
		return 0, false, fmt.Errorf("field %d: %w", id, errTruncated)
	}
	return target, true, nil
}

// subTable returns the table referenced by field id.
func (t fbTable) subTable(id int) (fbTable, bool, error) {
	target, ok, err := t.ref(id)
	if err != nil || !ok {
		return fbTable{}, ok, err
	}
	st, err := fbTableAt(t.buf, target)
	if err != nil {
		return fbTable{}, false, fmt.Errorf("field %d: %w", id, err)
	}
	return st, true, nil
}

// vector returns the start and length of the vector in field id, checked so that
// n*elemSize bytes lie inside the file. Every slice built from a vector is
// therefore bounded by the file size.
func (t fbTable) vector(id, elemSize int) (start uint64, n int, err error) {
	target, ok, err := t.ref(id)
	if err != nil || !ok {
		return 0, 0, err
	}
	ln, err := readU32(t.buf, target)
	if err != nil {
		return 0, 0, fmt.Errorf("field %d vector length: %w", id, err)
	}
	start = target + 4
	if start+uint64(ln)*uint64(elemSize) > uint64(len(t.buf)) {
		return 0, 0, fmt.Errorf("field %d: vector of %d×%d bytes: %w", id, ln, elemSize, errTruncated)
	}
	return start, int(ln), nil
}

func (t fbTable) str(id int) (string, error) {
	start, n, err := t.vector(id, 1)
	if err != nil || n == 0 {
		return "", err
	}
	return string(t.buf[start : start+uint64(n)]), nil
}

func (t fbTable) bytes(id int) ([]byte, error) {
	start, n, err := t.vector(id, 1)
	if err != nil || n == 0 {
		return nil, err
	}
	return t.buf[start : start+uint64(n)], nil
}

func (t fbTable) i32s(id int) ([]int32, error) {
	start, n, err := t.vector(id, 4)
	if err != nil || n == 0 {
		return nil, err
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(t.buf[start+uint64(4*i):]))
	}
	return out, nil
}

func (t fbTable) f32s(id int) ([]float32, error) {
	start, n, err := t.vector(id, 4)
	if err != nil || n == 0 {
		return nil, err
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.buf[start+uint64(4*i):]))
	}
	return out, nil
}

func (t fbTable) i64s(id int) ([]int64, error) {
	start, n, err := t.vector(id, 8)
	if err != nil || n == 0 {
		return nil, err
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.buf[start+uint64(8*i):]))
	}
	return out, nil
}

// tables returns the tables of a vector of tables in field id.
func (t fbTable) tables(id int) ([]fbTable, error) {
	start, n, err := t.vector(id, 4)
	if err != nil || n == 0 {
		return nil, err
	}
	out := make([]fbTable, n)
	for i := range out {
		p := start + uint64(4*i)
		target := p + uint64(binary.LittleEndian.Uint32(t.buf[p:]))
		out[i], err = fbTableAt(t.buf, target)
		if err != nil {
			return nil, fmt.Errorf("field %d element %d: %w", id, i, err)
		}
	}
	return out, nil
}
