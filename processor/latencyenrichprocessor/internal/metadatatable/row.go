package metadatatable

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Reserved column names. They describe the row, they are never copied as
// attributes.
const (
	// ColumnUpdatedAt is when the row was written at its origin: an RFC 3339
	// string, or an integer number of milliseconds since the Unix epoch.
	ColumnUpdatedAt = "updated_at"
	// ColumnVersion is the row's metadata version (string or number).
	ColumnVersion = "metadata_version"
)

// Reasons a row is rejected; they are the values of the rows.bad counter's
// reason attribute.
const (
	ReasonNotJSON    = "not_json"
	ReasonWrongType  = "wrong_type"
	ReasonOversized  = "oversized"
	ReasonMissingKey = "missing_key"
)

// BadRowError says why a row was rejected. A rejected row is never applied,
// not even in part.
type BadRowError struct {
	Key    string
	Reason string
	Err    error
}

func (e *BadRowError) Error() string {
	return fmt.Sprintf("metadata row %q rejected (%s): %v", e.Key, e.Reason, e.Err)
}

func (e *BadRowError) Unwrap() error { return e.Err }

// ReasonOf returns the BadRowError reason of err, or "" if err is not one.
func ReasonOf(err error) string {
	var bre *BadRowError
	if errors.As(err, &bre) {
		return bre.Reason
	}
	return ""
}

// Kind is the type of a Value.
type Kind uint8

const (
	KindEmpty Kind = iota
	KindString
	KindInt
	KindDouble
	KindBool
)

// Value is one scalar cell of a row.
type Value struct {
	Kind Kind
	Str  string
	Int  int64
	Dbl  float64
	Bool bool
}

func StringValue(s string) Value  { return Value{Kind: KindString, Str: s} }
func IntValue(i int64) Value      { return Value{Kind: KindInt, Int: i} }
func DoubleValue(d float64) Value { return Value{Kind: KindDouble, Dbl: d} }
func BoolValue(b bool) Value      { return Value{Kind: KindBool, Bool: b} }

// AsFloat returns the value as a number; strings are parsed (CSV columns are
// all strings).
func (v Value) AsFloat() (float64, bool) {
	switch v.Kind {
	case KindInt:
		return float64(v.Int), true
	case KindDouble:
		return v.Dbl, true
	case KindString:
		f, err := strconv.ParseFloat(v.Str, 64)
		return f, err == nil
	}
	return 0, false
}

// String renders the value as text (used for metadata_version).
func (v Value) String() string {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindDouble:
		return strconv.FormatFloat(v.Dbl, 'f', -1, 64)
	case KindBool:
		return strconv.FormatBool(v.Bool)
	}
	return ""
}

// Row is one validated metadata row as read from a source.
type Row struct {
	Key     string
	Columns map[string]Value
	// UpdatedAt is the zero time when the row carries no updated_at.
	UpdatedAt time.Time
	// Version is metadata_version, or a source-specific version when absent.
	Version string
}

// Limits bound what a row may be.
type Limits struct {
	// MaxRowBytes rejects encoded rows larger than this (0 = no limit).
	MaxRowBytes int
}

// ParseJSON decodes a row value as sent on Kafka and Pulsar: a JSON object of
// scalar columns, with optional updated_at and metadata_version.
func ParseJSON(key string, data []byte, lim Limits) (Row, error) {
	if key == "" {
		return Row{}, &BadRowError{Key: key, Reason: ReasonMissingKey, Err: errors.New("message has no key")}
	}
	if lim.MaxRowBytes > 0 && len(data) > lim.MaxRowBytes {
		return Row{}, &BadRowError{Key: key, Reason: ReasonOversized,
			Err: fmt.Errorf("value is %d bytes, max_row_bytes is %d", len(data), lim.MaxRowBytes)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return Row{}, &BadRowError{Key: key, Reason: ReasonNotJSON, Err: err}
	}
	if obj == nil {
		return Row{}, &BadRowError{Key: key, Reason: ReasonNotJSON, Err: errors.New("value is JSON null, not an object")}
	}
	if dec.More() {
		return Row{}, &BadRowError{Key: key, Reason: ReasonNotJSON, Err: errors.New("trailing data after the JSON object")}
	}
	return FromMap(key, obj)
}

// FromMap validates a decoded object (JSON, YAML, CSV, inline config) and
// turns it into a Row. Only scalars are accepted.
func FromMap(key string, obj map[string]any) (Row, error) {
	if key == "" {
		return Row{}, &BadRowError{Key: key, Reason: ReasonMissingKey, Err: errors.New("row has no key")}
	}
	r := Row{Key: key, Columns: make(map[string]Value, len(obj))}
	for col, raw := range obj {
		v, err := scalar(raw)
		if err != nil {
			return Row{}, &BadRowError{Key: key, Reason: ReasonWrongType, Err: fmt.Errorf("column %q: %w", col, err)}
		}
		switch col {
		case ColumnUpdatedAt:
			t, err := parseUpdatedAt(v)
			if err != nil {
				return Row{}, &BadRowError{Key: key, Reason: ReasonWrongType, Err: fmt.Errorf("column %q: %w", col, err)}
			}
			r.UpdatedAt = t
		case ColumnVersion:
			if v.Kind == KindBool {
				return Row{}, &BadRowError{Key: key, Reason: ReasonWrongType, Err: fmt.Errorf("column %q: want a string or number, got a bool", col)}
			}
			r.Version = v.String()
		default:
			r.Columns[col] = v
		}
	}
	return r, nil
}

func scalar(raw any) (Value, error) {
	switch x := raw.(type) {
	case string:
		return StringValue(x), nil
	case bool:
		return BoolValue(x), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return IntValue(i), nil
		}
		f, err := x.Float64()
		if err != nil {
			return Value{}, fmt.Errorf("number %s out of range", x)
		}
		return DoubleValue(f), nil
	case int:
		return IntValue(int64(x)), nil
	case int64:
		return IntValue(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return Value{}, fmt.Errorf("number %d out of range", x)
		}
		return IntValue(int64(x)), nil
	case float64:
		return DoubleValue(x), nil
	case nil:
		return Value{}, errors.New("null is not allowed")
	}
	return Value{}, fmt.Errorf("want a string, number or bool, got %T", raw)
}

func parseUpdatedAt(v Value) (time.Time, error) {
	switch v.Kind {
	case KindString:
		if t, err := time.Parse(time.RFC3339Nano, v.Str); err == nil {
			return t, nil
		}
		if ms, err := strconv.ParseInt(v.Str, 10, 64); err == nil {
			return time.UnixMilli(ms), nil
		}
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor Unix milliseconds", v.Str)
	case KindInt:
		return time.UnixMilli(v.Int), nil
	case KindDouble:
		return time.UnixMicro(int64(v.Dbl * 1000)), nil
	}
	return time.Time{}, errors.New("want an RFC 3339 string or Unix milliseconds")
}
