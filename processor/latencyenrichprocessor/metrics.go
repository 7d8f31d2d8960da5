package latencyenrichprocessor

import (
	"context"
	"regexp"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// unitDivisors convert latency units to seconds. Dividing (instead of
// multiplying by 1e-3) keeps exact results such as 250 ms -> 0.25 s.
var unitDivisors = map[string]float64{
	"ms": 1e3,
	"us": 1e6,
	"µs": 1e6, // micro sign
	"μs": 1e6, // Greek mu
	"ns": 1e9,
}

// nameMatcher caches the latency_name_pattern decision per metric name.
type nameMatcher struct {
	re    *regexp.Regexp
	mu    sync.RWMutex // protects cache
	cache map[string]bool
}

const maxCachedNames = 10000

func newNameMatcher(re *regexp.Regexp) *nameMatcher {
	return &nameMatcher{re: re, cache: map[string]bool{}}
}

func (n *nameMatcher) match(name string) bool {
	n.mu.RLock()
	v, ok := n.cache[name]
	n.mu.RUnlock()
	if ok {
		return v
	}
	v = n.re.MatchString(name)
	n.mu.Lock()
	if len(n.cache) < maxCachedNames {
		n.cache[name] = v
	}
	n.mu.Unlock()
	return v
}

func (e *enricher) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	b := &batchState{now: e.now()}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		var resHash uint64
		if e.quantiles != nil {
			// Series identity is taken before enrichment so a metadata change
			// does not look like a new series.
			resHash = hashAttrs(fnvOffset, res)
		}
		resEntry, shared := e.resourceEntry(b, res)
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			metrics := sm.Metrics()
			var derived []pmetric.Metric
			n := metrics.Len()
			for k := 0; k < n; k++ {
				m := metrics.At(k)
				latency := e.latencyNames.match(m.Name())
				if latency && e.cfg.Metrics.NormalizeUnits {
					normalizeUnit(m)
				}
				var seriesHashes []uint64
				if latency && e.quantiles != nil && m.Type() == pmetric.MetricTypeHistogram {
					seriesHashes = e.quantiles.seriesHashes(resHash, sm.Scope(), m)
				}
				if e.cfg.Target == ContextRecord {
					forEachDataPointAttrs(m, func(attrs pcommon.Map) {
						entry := resEntry
						if !shared {
							entry = e.lookup(b, res, attrs)
						}
						e.apply(b, attrs, entry)
					})
				}
				if seriesHashes != nil {
					derived = append(derived, e.quantiles.derive(b.now, m, seriesHashes, e.obs)...)
				}
			}
			for _, d := range derived {
				d.MoveTo(metrics.AppendEmpty())
			}
		}
	}
	e.finish(ctx, b)
	return md, nil
}

func forEachDataPointAttrs(m pmetric.Metric, fn func(pcommon.Map)) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps := m.Gauge().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			fn(dps.At(i).Attributes())
		}
	case pmetric.MetricTypeSum:
		dps := m.Sum().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			fn(dps.At(i).Attributes())
		}
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			fn(dps.At(i).Attributes())
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			fn(dps.At(i).Attributes())
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			fn(dps.At(i).Attributes())
		}
	}
}

// normalizeUnit rewrites a latency metric in ms, us or ns to seconds. Gauges,
// sums, histograms (sum, min, max, bounds) and summaries are converted, with
// their exemplars. Exponential histograms are left as they are: their bucket
// boundaries are powers of a base and cannot be rescaled by 10^-3k exactly.
func normalizeUnit(m pmetric.Metric) {
	div, ok := unitDivisors[m.Unit()]
	if !ok {
		return
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		normalizeNumberPoints(m.Gauge().DataPoints(), div)
	case pmetric.MetricTypeSum:
		normalizeNumberPoints(m.Sum().DataPoints(), div)
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			if dp.HasSum() {
				dp.SetSum(dp.Sum() / div)
			}
			if dp.HasMin() {
				dp.SetMin(dp.Min() / div)
			}
			if dp.HasMax() {
				dp.SetMax(dp.Max() / div)
			}
			bounds := dp.ExplicitBounds()
			for j := 0; j < bounds.Len(); j++ {
				bounds.SetAt(j, bounds.At(j)/div)
			}
			normalizeExemplars(dp.Exemplars(), div)
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			dp.SetSum(dp.Sum() / div)
			qs := dp.QuantileValues()
			for j := 0; j < qs.Len(); j++ {
				qs.At(j).SetValue(qs.At(j).Value() / div)
			}
		}
	default:
		return
	}
	m.SetUnit("s")
}

func normalizeNumberPoints(dps pmetric.NumberDataPointSlice, div float64) {
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		switch dp.ValueType() {
		case pmetric.NumberDataPointValueTypeInt:
			dp.SetDoubleValue(float64(dp.IntValue()) / div)
		case pmetric.NumberDataPointValueTypeDouble:
			dp.SetDoubleValue(dp.DoubleValue() / div)
		}
		normalizeExemplars(dp.Exemplars(), div)
	}
}

func normalizeExemplars(ex pmetric.ExemplarSlice, div float64) {
	for i := 0; i < ex.Len(); i++ {
		x := ex.At(i)
		switch x.ValueType() {
		case pmetric.ExemplarValueTypeInt:
			x.SetDoubleValue(float64(x.IntValue()) / div)
		case pmetric.ExemplarValueTypeDouble:
			x.SetDoubleValue(x.DoubleValue() / div)
		}
	}
}
