package pulsarexporter

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The partition functions split one pdata batch into parts by a key computed
// per item (span, data point, log record), keeping item order inside each
// part and the parts in first-seen order. Resource and scope are copied once
// per part. They are used both for routing (topic, message key, properties)
// and for splitting a part that is too large for one message.

// keyed is one part of a split batch.
type keyed[T any] struct {
	key  string
	data T
}

// spanKeyFunc returns the part key of a span; res is the resource index,
// idx the span's index in the whole batch.
type spanKeyFunc func(res int, span ptrace.Span, idx int) string

func partitionTraces(td ptrace.Traces, keyOf spanKeyFunc) []keyed[ptrace.Traces] {
	type part struct {
		td              ptrace.Traces
		lastRes, lastSS int
		rs              ptrace.ResourceSpans
		ss              ptrace.ScopeSpans
	}
	var order []string
	parts := map[string]*part{}
	idx := 0
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				span := ss.Spans().At(k)
				key := keyOf(i, span, idx)
				idx++
				p := parts[key]
				if p == nil {
					p = &part{td: ptrace.NewTraces(), lastRes: -1, lastSS: -1}
					parts[key] = p
					order = append(order, key)
				}
				if p.lastRes != i {
					p.rs = p.td.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(p.rs.Resource())
					p.rs.SetSchemaUrl(rs.SchemaUrl())
					p.lastRes, p.lastSS = i, -1
				}
				if p.lastSS != j {
					p.ss = p.rs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(p.ss.Scope())
					p.ss.SetSchemaUrl(ss.SchemaUrl())
					p.lastSS = j
				}
				span.CopyTo(p.ss.Spans().AppendEmpty())
			}
		}
	}
	out := make([]keyed[ptrace.Traces], 0, len(order))
	for _, k := range order {
		out = append(out, keyed[ptrace.Traces]{key: k, data: parts[k].td})
	}
	return out
}

type logKeyFunc func(res int, rec plog.LogRecord, idx int) string

func partitionLogs(ld plog.Logs, keyOf logKeyFunc) []keyed[plog.Logs] {
	type part struct {
		ld              plog.Logs
		lastRes, lastSL int
		rl              plog.ResourceLogs
		sl              plog.ScopeLogs
	}
	var order []string
	parts := map[string]*part{}
	idx := 0
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				rec := sl.LogRecords().At(k)
				key := keyOf(i, rec, idx)
				idx++
				p := parts[key]
				if p == nil {
					p = &part{ld: plog.NewLogs(), lastRes: -1, lastSL: -1}
					parts[key] = p
					order = append(order, key)
				}
				if p.lastRes != i {
					p.rl = p.ld.ResourceLogs().AppendEmpty()
					rl.Resource().CopyTo(p.rl.Resource())
					p.rl.SetSchemaUrl(rl.SchemaUrl())
					p.lastRes, p.lastSL = i, -1
				}
				if p.lastSL != j {
					p.sl = p.rl.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(p.sl.Scope())
					p.sl.SetSchemaUrl(sl.SchemaUrl())
					p.lastSL = j
				}
				rec.CopyTo(p.sl.LogRecords().AppendEmpty())
			}
		}
	}
	out := make([]keyed[plog.Logs], 0, len(order))
	for _, k := range order {
		out = append(out, keyed[plog.Logs]{key: k, data: parts[k].ld})
	}
	return out
}

// pointKeyFunc returns the part key of one data point; attrs are the data
// point's attributes (empty for none).
type pointKeyFunc func(res int, m pmetric.Metric, attrs pcommon.Map, idx int) string

func partitionMetrics(md pmetric.Metrics, keyOf pointKeyFunc) []keyed[pmetric.Metrics] {
	type part struct {
		md                     pmetric.Metrics
		lastRes, lastSM, lastM int
		rm                     pmetric.ResourceMetrics
		sm                     pmetric.ScopeMetrics
		m                      pmetric.Metric
	}
	var order []string
	parts := map[string]*part{}
	idx := 0
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			sm := rm.ScopeMetrics().At(j)
			for k := 0; k < sm.Metrics().Len(); k++ {
				m := sm.Metrics().At(k)
				n := dataPointCount(m)
				if n == 0 {
					// A metric without points still travels (with the first part).
					n = 1
				}
				for d := 0; d < n; d++ {
					key := keyOf(i, m, dataPointAttributes(m, d), idx)
					idx++
					p := parts[key]
					if p == nil {
						p = &part{md: pmetric.NewMetrics(), lastRes: -1, lastSM: -1, lastM: -1}
						parts[key] = p
						order = append(order, key)
					}
					if p.lastRes != i {
						p.rm = p.md.ResourceMetrics().AppendEmpty()
						rm.Resource().CopyTo(p.rm.Resource())
						p.rm.SetSchemaUrl(rm.SchemaUrl())
						p.lastRes, p.lastSM = i, -1
					}
					if p.lastSM != j {
						p.sm = p.rm.ScopeMetrics().AppendEmpty()
						sm.Scope().CopyTo(p.sm.Scope())
						p.sm.SetSchemaUrl(sm.SchemaUrl())
						p.lastSM, p.lastM = j, -1
					}
					if p.lastM != k {
						p.m = p.sm.Metrics().AppendEmpty()
						copyMetricShell(m, p.m)
						p.lastM = k
					}
					copyDataPoint(m, d, p.m)
				}
			}
		}
	}
	out := make([]keyed[pmetric.Metrics], 0, len(order))
	for _, k := range order {
		out = append(out, keyed[pmetric.Metrics]{key: k, data: parts[k].md})
	}
	return out
}

func dataPointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

var emptyMap = pcommon.NewMap()

func dataPointAttributes(m pmetric.Metric, i int) pcommon.Map {
	if i >= dataPointCount(m) {
		return emptyMap
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().At(i).Attributes()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().At(i).Attributes()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().At(i).Attributes()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().At(i).Attributes()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().At(i).Attributes()
	}
	return emptyMap
}

func dataPointTimestamp(m pmetric.Metric, i int) pcommon.Timestamp {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().At(i).Timestamp()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().At(i).Timestamp()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().At(i).Timestamp()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().At(i).Timestamp()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().At(i).Timestamp()
	}
	return 0
}

// copyMetricShell copies everything of a metric except its data points.
func copyMetricShell(src, dst pmetric.Metric) {
	dst.SetName(src.Name())
	dst.SetDescription(src.Description())
	dst.SetUnit(src.Unit())
	src.Metadata().CopyTo(dst.Metadata())
	switch src.Type() {
	case pmetric.MetricTypeGauge:
		dst.SetEmptyGauge()
	case pmetric.MetricTypeSum:
		s := dst.SetEmptySum()
		s.SetAggregationTemporality(src.Sum().AggregationTemporality())
		s.SetIsMonotonic(src.Sum().IsMonotonic())
	case pmetric.MetricTypeHistogram:
		dst.SetEmptyHistogram().SetAggregationTemporality(src.Histogram().AggregationTemporality())
	case pmetric.MetricTypeExponentialHistogram:
		dst.SetEmptyExponentialHistogram().SetAggregationTemporality(src.ExponentialHistogram().AggregationTemporality())
	case pmetric.MetricTypeSummary:
		dst.SetEmptySummary()
	}
}

func copyDataPoint(src pmetric.Metric, i int, dst pmetric.Metric) {
	if i >= dataPointCount(src) {
		return
	}
	switch src.Type() {
	case pmetric.MetricTypeGauge:
		src.Gauge().DataPoints().At(i).CopyTo(dst.Gauge().DataPoints().AppendEmpty())
	case pmetric.MetricTypeSum:
		src.Sum().DataPoints().At(i).CopyTo(dst.Sum().DataPoints().AppendEmpty())
	case pmetric.MetricTypeHistogram:
		src.Histogram().DataPoints().At(i).CopyTo(dst.Histogram().DataPoints().AppendEmpty())
	case pmetric.MetricTypeExponentialHistogram:
		src.ExponentialHistogram().DataPoints().At(i).CopyTo(dst.ExponentialHistogram().DataPoints().AppendEmpty())
	case pmetric.MetricTypeSummary:
		src.Summary().DataPoints().At(i).CopyTo(dst.Summary().DataPoints().AppendEmpty())
	}
}
