package pulsarexporter

import (
	"encoding/hex"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// signal is what the exporter needs to know about one pdata type.
type signal[T any] struct {
	items    func(T) int
	marshal  func(T) ([]byte, error)
	earliest func(T) pcommon.Timestamp
	// halves splits a batch into two parts of about equal item count.
	halves func(T) []T
	// merge copies parts into one new batch (for the retry of failed parts).
	merge func([]T) T
	// failed wraps an error with the data still to be retried.
	failed func(error, T) error
}

func tracesSignal(encoding string) *signal[ptrace.Traces] {
	var m ptrace.Marshaler = &ptrace.ProtoMarshaler{}
	if encoding == EncodingJSON {
		m = &ptrace.JSONMarshaler{}
	}
	return &signal[ptrace.Traces]{
		items:   ptrace.Traces.SpanCount,
		marshal: m.MarshalTraces,
		earliest: func(td ptrace.Traces) pcommon.Timestamp {
			var min pcommon.Timestamp
			for _, rs := range td.ResourceSpans().All() {
				for _, ss := range rs.ScopeSpans().All() {
					for _, s := range ss.Spans().All() {
						min = earlier(min, s.StartTimestamp())
					}
				}
			}
			return min
		},
		halves: func(td ptrace.Traces) []ptrace.Traces {
			half := td.SpanCount() / 2
			return values(partitionTraces(td, func(_ int, _ ptrace.Span, idx int) string { return halfKey(idx, half) }))
		},
		merge: func(parts []ptrace.Traces) ptrace.Traces {
			out := ptrace.NewTraces()
			for _, p := range parts {
				for _, rs := range p.ResourceSpans().All() {
					rs.CopyTo(out.ResourceSpans().AppendEmpty())
				}
			}
			return out
		},
		failed: func(err error, td ptrace.Traces) error { return consumererror.NewTraces(err, td) },
	}
}

func logsSignal(encoding string) *signal[plog.Logs] {
	var m plog.Marshaler = &plog.ProtoMarshaler{}
	if encoding == EncodingJSON {
		m = &plog.JSONMarshaler{}
	}
	return &signal[plog.Logs]{
		items:   plog.Logs.LogRecordCount,
		marshal: m.MarshalLogs,
		earliest: func(ld plog.Logs) pcommon.Timestamp {
			var min pcommon.Timestamp
			for _, rl := range ld.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					for _, r := range sl.LogRecords().All() {
						ts := r.Timestamp()
						if ts == 0 {
							ts = r.ObservedTimestamp()
						}
						min = earlier(min, ts)
					}
				}
			}
			return min
		},
		halves: func(ld plog.Logs) []plog.Logs {
			half := ld.LogRecordCount() / 2
			return values(partitionLogs(ld, func(_ int, _ plog.LogRecord, idx int) string { return halfKey(idx, half) }))
		},
		merge: func(parts []plog.Logs) plog.Logs {
			out := plog.NewLogs()
			for _, p := range parts {
				for _, rl := range p.ResourceLogs().All() {
					rl.CopyTo(out.ResourceLogs().AppendEmpty())
				}
			}
			return out
		},
		failed: func(err error, ld plog.Logs) error { return consumererror.NewLogs(err, ld) },
	}
}

func metricsSignal(encoding string) *signal[pmetric.Metrics] {
	var m pmetric.Marshaler = &pmetric.ProtoMarshaler{}
	if encoding == EncodingJSON {
		m = &pmetric.JSONMarshaler{}
	}
	return &signal[pmetric.Metrics]{
		items:   pmetric.Metrics.DataPointCount,
		marshal: m.MarshalMetrics,
		earliest: func(md pmetric.Metrics) pcommon.Timestamp {
			var min pcommon.Timestamp
			for _, rm := range md.ResourceMetrics().All() {
				for _, sm := range rm.ScopeMetrics().All() {
					for _, m := range sm.Metrics().All() {
						for i := range dataPointCount(m) {
							min = earlier(min, dataPointTimestamp(m, i))
						}
					}
				}
			}
			return min
		},
		halves: func(md pmetric.Metrics) []pmetric.Metrics {
			half := md.DataPointCount() / 2
			return values(partitionMetrics(md, func(_ int, _ pmetric.Metric, _ pcommon.Map, idx int) string { return halfKey(idx, half) }))
		},
		merge: func(parts []pmetric.Metrics) pmetric.Metrics {
			out := pmetric.NewMetrics()
			for _, p := range parts {
				for _, rm := range p.ResourceMetrics().All() {
					rm.CopyTo(out.ResourceMetrics().AppendEmpty())
				}
			}
			return out
		},
		failed: func(err error, md pmetric.Metrics) error { return consumererror.NewMetrics(err, md) },
	}
}

func halfKey(idx, half int) string {
	if idx < half {
		return "a"
	}
	return "b"
}

func values[T any](parts []keyed[T]) []T {
	out := make([]T, len(parts))
	for i, p := range parts {
		out[i] = p.data
	}
	return out
}

func earlier(a, b pcommon.Timestamp) pcommon.Timestamp {
	if b != 0 && (a == 0 || b < a) {
		return b
	}
	return a
}

func eventTime(ts pcommon.Timestamp) time.Time {
	if ts == 0 {
		return time.Time{}
	}
	return ts.AsTime()
}

// hashAttributes hashes the named attributes (all when names is empty) in
// key order, so equal attribute sets give equal message keys.
func hashAttributes(attrs pcommon.Map, names []string) string {
	h := fnv.New64a()
	write := func(k string, v pcommon.Value) {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(v.AsString()))
		h.Write([]byte{0})
	}
	if len(names) > 0 {
		for _, k := range names {
			if v, ok := attrs.Get(k); ok {
				write(k, v)
			}
		}
	} else {
		keys := make([]string, 0, attrs.Len())
		for k := range attrs.All() {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v, _ := attrs.Get(k)
			write(k, v)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// seriesKey identifies one metric series: resource, metric name, point attributes.
func seriesKey(resourceHash string, m pmetric.Metric, attrs pcommon.Map) string {
	var b strings.Builder
	b.WriteString(resourceHash)
	b.WriteByte(0)
	b.WriteString(m.Name())
	b.WriteByte(0)
	b.WriteString(hashAttributes(attrs, nil))
	h := fnv.New64a()
	h.Write([]byte(b.String()))
	return hex.EncodeToString(h.Sum(nil))
}
