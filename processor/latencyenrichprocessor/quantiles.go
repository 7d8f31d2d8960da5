package latencyenrichprocessor

import (
	"context"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// quantileTracker derives per-interval quantile gauges from latency
// histograms. Delta points are intervals already; cumulative points are
// turned into intervals by subtracting the previous point of the same series,
// which is why it remembers a bounded number of series.
type quantileTracker struct {
	quantiles []float64
	labels    []string
	maxSeries int
	ttl       time.Duration

	mu        sync.Mutex // protects series, lastSweep
	series    map[uint64]*seriesWindow
	lastSweep time.Time
}

// seriesWindow is the last cumulative point of one histogram series.
type seriesWindow struct {
	start, ts pcommon.Timestamp
	count     uint64
	bounds    []float64
	counts    []uint64
	seen      time.Time
}

func newQuantileTracker(qs []float64, maxSeries int, ttl time.Duration) *quantileTracker {
	t := &quantileTracker{quantiles: qs, maxSeries: maxSeries, ttl: ttl, series: map[uint64]*seriesWindow{}}
	for _, q := range qs {
		t.labels = append(t.labels, quantileLabel(q))
	}
	return t
}

// quantileLabel names a quantile: 0.5 -> p50, 0.999 -> p99_9.
func quantileLabel(q float64) string {
	pct := math.Round(q*1e6) / 1e4
	return "p" + strings.ReplaceAll(strconv.FormatFloat(pct, 'f', -1, 64), ".", "_")
}

// seriesHashes identifies each data point's series (resource, scope, metric,
// point attributes). Call it before the points are enriched.
func (t *quantileTracker) seriesHashes(resHash uint64, scope pcommon.InstrumentationScope, m pmetric.Metric) []uint64 {
	if m.Histogram().AggregationTemporality() != pmetric.AggregationTemporalityCumulative {
		return make([]uint64, m.Histogram().DataPoints().Len())
	}
	h := hashString(resHash, scope.Name())
	h = hashString(h, scope.Version())
	h = hashString(h, m.Name())
	dps := m.Histogram().DataPoints()
	out := make([]uint64, dps.Len())
	for i := range out {
		out[i] = hashAttrs(h, dps.At(i).Attributes())
	}
	return out
}

// derive returns one gauge per configured quantile holding the estimate for
// every data point that has observations in its interval.
func (t *quantileTracker) derive(now time.Time, m pmetric.Metric, hashes []uint64, obs *tableObserver) []pmetric.Metric {
	hist := m.Histogram()
	cumulative := hist.AggregationTemporality() == pmetric.AggregationTemporalityCumulative
	dps := hist.DataPoints()
	var outs []pmetric.Metric
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		bounds := dp.ExplicitBounds().AsRaw()
		var iv interval
		var ok bool
		if cumulative {
			iv, ok = t.cumulativeInterval(now, hashes[i], dp, bounds, obs)
		} else {
			iv = interval{counts: dp.BucketCounts().AsRaw(), total: dp.Count(), start: dp.StartTimestamp(), ownMinMax: true}
			ok = true
		}
		if !ok || iv.total == 0 || len(iv.counts) != len(bounds)+1 {
			continue
		}
		mn, hasMin := dp.Min(), dp.HasMin() && iv.ownMinMax
		mx, hasMax := dp.Max(), dp.HasMax() && iv.ownMinMax
		for qi, q := range t.quantiles {
			v, ok := estimateQuantile(q, bounds, iv.counts, iv.total, mn, hasMin, mx, hasMax)
			if !ok {
				continue
			}
			if outs == nil {
				outs = make([]pmetric.Metric, len(t.quantiles))
			}
			if outs[qi] == (pmetric.Metric{}) {
				outs[qi] = pmetric.NewMetric()
				outs[qi].SetName(m.Name() + "." + t.labels[qi])
				outs[qi].SetUnit(m.Unit())
				outs[qi].SetDescription(t.labels[qi] + " of " + m.Name() + " per interval, estimated from its histogram buckets by latency_enrich")
				outs[qi].SetEmptyGauge()
			}
			p := outs[qi].Gauge().DataPoints().AppendEmpty()
			dp.Attributes().CopyTo(p.Attributes())
			p.SetStartTimestamp(iv.start)
			p.SetTimestamp(dp.Timestamp())
			p.SetDoubleValue(v)
		}
	}
	result := outs[:0]
	for _, o := range outs {
		if o != (pmetric.Metric{}) {
			result = append(result, o)
		}
	}
	return result
}

type interval struct {
	counts    []uint64
	total     uint64
	start     pcommon.Timestamp
	ownMinMax bool // min/max of the point describe this interval
}

// cumulativeInterval returns the observations since the previous point of the
// series. The first point of a series only primes it. A reset (new start time,
// a count going down, changed bounds) makes the point itself the interval.
func (t *quantileTracker) cumulativeInterval(now time.Time, h uint64, dp pmetric.HistogramDataPoint, bounds []float64, obs *tableObserver) (interval, bool) {
	counts := dp.BucketCounts().AsRaw()
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.lastSweep) > t.ttl {
		t.sweep(now)
	}
	w, ok := t.series[h]
	if !ok {
		if len(t.series) >= t.maxSeries {
			t.sweep(now)
			if len(t.series) >= t.maxSeries {
				if tb := obs.tb.Load(); tb != nil {
					tb.LatencyEnrichQuantileSeriesDropped.Add(context.Background(), 1)
				}
				return interval{}, false
			}
		}
		t.series[h] = &seriesWindow{start: dp.StartTimestamp(), ts: dp.Timestamp(), count: dp.Count(), bounds: bounds, counts: counts, seen: now}
		return interval{}, false
	}
	w.seen = now
	if dp.Timestamp() <= w.ts {
		return interval{}, false // duplicate or out of order
	}
	reset := dp.StartTimestamp() != w.start || dp.Count() < w.count || !slices.Equal(bounds, w.bounds) || len(counts) != len(w.counts)
	if !reset {
		for i := range counts {
			if counts[i] < w.counts[i] {
				reset = true
				break
			}
		}
	}
	var iv interval
	if reset {
		iv = interval{counts: counts, total: dp.Count(), start: dp.StartTimestamp(), ownMinMax: true}
	} else {
		diff := make([]uint64, len(counts))
		for i := range counts {
			diff[i] = counts[i] - w.counts[i]
		}
		iv = interval{counts: diff, total: dp.Count() - w.count, start: w.ts}
	}
	w.start, w.ts, w.count, w.bounds, w.counts = dp.StartTimestamp(), dp.Timestamp(), dp.Count(), bounds, counts
	return iv, true
}

func (t *quantileTracker) sweep(now time.Time) {
	for h, w := range t.series {
		if now.Sub(w.seen) > t.ttl {
			delete(t.series, h)
		}
	}
	t.lastSweep = now
}

func (t *quantileTracker) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.series)
}

// estimateQuantile interpolates linearly inside the bucket holding the rank,
// as Prometheus' histogram_quantile does. Bucket i covers
// (bounds[i-1], bounds[i]]; the first starts at min (or 0 for positive
// bounds) and the overflow bucket ends at max (or, without max, the estimate
// is its lower bound). min and max tighten the bucket when known.
func estimateQuantile(q float64, bounds []float64, counts []uint64, total uint64, mn float64, hasMin bool, mx float64, hasMax bool) (float64, bool) {
	if total == 0 {
		return 0, false
	}
	if len(bounds) == 0 {
		if hasMin && hasMax {
			return mn + (mx-mn)*q, true
		}
		return 0, false
	}
	rank := q * float64(total)
	var cum float64
	for i, c := range counts {
		if c == 0 {
			continue
		}
		fc := float64(c)
		if cum+fc < rank {
			cum += fc
			continue
		}
		var lo, hi float64
		switch {
		case i > 0:
			lo = bounds[i-1]
		case hasMin:
			lo = mn
		case bounds[0] > 0:
			lo = 0
		default:
			return bounds[0], true
		}
		if i < len(bounds) {
			hi = bounds[i]
		} else if hasMax {
			hi = mx
		} else {
			return lo, true
		}
		if hasMin && mn > lo && mn <= hi {
			lo = mn
		}
		if hasMax && mx < hi && mx >= lo {
			hi = mx
		}
		return lo + (hi-lo)*(rank-cum)/fc, true
	}
	if hasMax {
		return mx, true
	}
	return bounds[len(bounds)-1], true
}

const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	h ^= 0xff // separator so ("ab","c") != ("a","bc")
	h *= fnvPrime
	return h
}

// hashAttrs hashes a map independently of its key order.
func hashAttrs(h uint64, m pcommon.Map) uint64 {
	keys := make([]string, 0, m.Len())
	m.Range(func(k string, _ pcommon.Value) bool {
		keys = append(keys, k)
		return true
	})
	sort.Strings(keys)
	for _, k := range keys {
		v, _ := m.Get(k)
		h = hashString(h, k)
		h = hashString(h, v.AsString())
	}
	return h
}
