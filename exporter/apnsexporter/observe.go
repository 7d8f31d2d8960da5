package apnsexporter

import (
	"slices"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/alertpolicy"
	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// Attributes written by tf_anomaly (see its README).
const (
	attrFlag     = "latencywatch.anomaly.flag"
	attrScore    = "latencywatch.anomaly.score"
	attrExpected = "latencywatch.anomaly.expected"
	// labelMetric carries the metric name into the alert's labels.
	labelMetric = "metric.name"
)

// excludedLabel reports attributes that describe the scoring or the metadata
// join rather than the series: they would make every point a new alert.
func excludedLabel(k string) bool {
	return strings.HasPrefix(k, "latencywatch.anomaly.") || strings.HasPrefix(k, "latencywatch.metadata.")
}

// forEachObservation calls fn for every data point that carries the anomaly
// flag. Points without it are not scored and are ignored.
func forEachObservation(md pmetric.Metrics, severityAttr string, fn func(alertpolicy.Observation)) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				visit := func(attrs pcommon.Map, value float64) {
					if o, ok := observation(res, attrs, m.Name(), value, severityAttr); ok {
						fn(o)
					}
				}
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					eachNumber(m.Gauge().DataPoints(), visit)
				case pmetric.MetricTypeSum:
					eachNumber(m.Sum().DataPoints(), visit)
				case pmetric.MetricTypeHistogram:
					dps := m.Histogram().DataPoints()
					for p := 0; p < dps.Len(); p++ {
						dp := dps.At(p)
						visit(dp.Attributes(), mean(dp.Sum(), dp.Count()))
					}
				case pmetric.MetricTypeExponentialHistogram:
					dps := m.ExponentialHistogram().DataPoints()
					for p := 0; p < dps.Len(); p++ {
						dp := dps.At(p)
						visit(dp.Attributes(), mean(dp.Sum(), dp.Count()))
					}
				case pmetric.MetricTypeSummary:
					dps := m.Summary().DataPoints()
					for p := 0; p < dps.Len(); p++ {
						dp := dps.At(p)
						visit(dp.Attributes(), mean(dp.Sum(), dp.Count()))
					}
				}
			}
		}
	}
}

func eachNumber(dps pmetric.NumberDataPointSlice, visit func(pcommon.Map, float64)) {
	for p := 0; p < dps.Len(); p++ {
		dp := dps.At(p)
		v := dp.DoubleValue()
		if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
			v = float64(dp.IntValue())
		}
		visit(dp.Attributes(), v)
	}
}

func mean(sum float64, count uint64) float64 {
	if count == 0 {
		return 0
	}
	return sum / float64(count)
}

func observation(res, attrs pcommon.Map, metric string, value float64, severityAttr string) (alertpolicy.Observation, bool) {
	flag, ok := attrs.Get(attrFlag)
	if !ok {
		return alertpolicy.Observation{}, false
	}
	o := alertpolicy.Observation{Value: value, Labels: make(map[string]string, res.Len()+attrs.Len()+1)}
	switch flag.Type() {
	case pcommon.ValueTypeBool:
		o.Flagged = flag.Bool()
	case pcommon.ValueTypeStr:
		o.Flagged = flag.Str() == "true"
	}
	o.Score = number(attrs, attrScore)
	o.Expected = number(attrs, attrExpected)
	add := func(k string, v pcommon.Value) bool {
		if !excludedLabel(k) {
			o.Labels[k] = v.AsString()
		}
		return true
	}
	res.Range(add)
	attrs.Range(add)
	o.Labels[labelMetric] = metric
	if severityAttr != "" {
		o.SeverityLabel = o.Labels[severityAttr]
		delete(o.Labels, severityAttr) // a severity change must not make a new alert
	}
	o.Series = seriesName(o.Labels, attrs, metric)
	return o, true
}

func number(attrs pcommon.Map, key string) float64 {
	v, ok := attrs.Get(key)
	if !ok {
		return 0
	}
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		return v.Double()
	case pcommon.ValueTypeInt:
		return float64(v.Int())
	}
	return 0
}

// seriesName is a readable, unique-enough name: service, metric, region and
// the values of the point's own attributes (sorted by key).
func seriesName(labels map[string]string, attrs pcommon.Map, metric string) string {
	// Small arrays keep the usual handful of parts and keys off the heap.
	var partsBuf, keysBuf [8]string
	parts := partsBuf[:0]
	if s := labels["service.name"]; s != "" {
		parts = append(parts, s)
	}
	parts = append(parts, metric)
	if r := labels["cloud.region"]; r != "" {
		parts = append(parts, r)
	}
	keys := keysBuf[:0]
	for k := range attrs.All() {
		if !excludedLabel(k) && k != "service.name" && k != "cloud.region" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v := labels[k]; v != "" {
			parts = append(parts, v)
		}
	}
	return truncate(strings.Join(parts, " "), maxSeriesBytes)
}

// maxSeriesBytes keeps series names within what the watch_api board accepts
// (watchstate.MaxTextLen bytes, "…" included).
const maxSeriesBytes = watchstate.MaxTextLen - 8

// truncate cuts s to at most n bytes at a rune boundary, marking the cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
