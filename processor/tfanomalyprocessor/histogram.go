package tfanomalyprocessor

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// histogramPrev is the previous cumulative observation of a histogram series,
// kept to turn cumulative points into per-interval distributions.
type histogramPrev struct {
	start  pcommon.Timestamp
	count  uint64
	sum    float64
	zero   uint64 // exponential histograms
	scale  int32  // exponential histograms
	offset int32  // exponential histograms
	counts []uint64
}

// histogramInterval is one interval's distribution.
type histogramInterval struct {
	count  uint64
	sum    float64
	hasSum bool
	counts []uint64 // explicit buckets, or positive exponential buckets
	zero   uint64   // exponential: zero bucket
}

// delta returns the interval between prev and the current cumulative point,
// or the point itself after a reset (start time moved, count went down,
// bucket layout changed). The counts slice aliases scratch.
func delta(prev *histogramPrev, cur histogramInterval, start pcommon.Timestamp, scale, offset int32, scratch []uint64) histogramInterval {
	if prev.start != start || cur.count < prev.count || cur.zero < prev.zero || len(prev.counts) != len(cur.counts) ||
		prev.scale != scale || prev.offset != offset {
		return cur
	}
	out := histogramInterval{count: cur.count - prev.count, sum: cur.sum - prev.sum, hasSum: cur.hasSum, zero: cur.zero - prev.zero}
	out.counts = scratch[:0]
	for i, c := range cur.counts {
		p := prev.counts[i]
		if c < p {
			return cur // a bucket went down: treat as a reset
		}
		out.counts = append(out.counts, c-p)
	}
	return out
}

func (p *histogramPrev) remember(cur histogramInterval, start pcommon.Timestamp, scale, offset int32) {
	p.start, p.count, p.sum, p.zero, p.scale, p.offset = start, cur.count, cur.sum, cur.zero, scale, offset
	p.counts = append(p.counts[:0], cur.counts...)
}

// explicitValue computes the statistic of an explicit-bucket interval.
func explicitValue(iv histogramInterval, bounds pcommon.Float64Slice, st statistic) (float64, bool) {
	if iv.count == 0 {
		return 0, false
	}
	if st.quantile < 0 && iv.hasSum {
		return iv.sum / float64(iv.count), true
	}
	q := st.quantile
	if q < 0 {
		q = 0.5
	}
	if bounds.Len() == 0 || len(iv.counts) != bounds.Len()+1 {
		if iv.hasSum {
			return iv.sum / float64(iv.count), true
		}
		return 0, false
	}
	var total uint64
	for _, c := range iv.counts {
		total += c
	}
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	var cum float64
	for i, c := range iv.counts {
		if c == 0 {
			continue
		}
		next := cum + float64(c)
		if next >= rank {
			n := bounds.Len()
			if i == n { // overflow bucket: no upper bound, report its lower bound
				return bounds.At(n - 1), true
			}
			upper := bounds.At(i)
			lower := 0.0
			if i > 0 {
				lower = bounds.At(i - 1)
			} else if upper < 0 {
				return upper, true
			}
			return lower + (upper-lower)*(rank-cum)/float64(c), true
		}
		cum = next
	}
	return bounds.At(bounds.Len() - 1), true
}

// exponentialValue computes the statistic of an exponential interval
// (positive buckets and the zero bucket; latency has no negative values).
func exponentialValue(iv histogramInterval, scale, offset int32, st statistic) (float64, bool) {
	if iv.count == 0 {
		return 0, false
	}
	if st.quantile < 0 && iv.hasSum {
		return iv.sum / float64(iv.count), true
	}
	q := st.quantile
	if q < 0 {
		q = 0.5
	}
	total := iv.zero
	for _, c := range iv.counts {
		total += c
	}
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	cum := float64(iv.zero)
	if cum >= rank {
		return 0, true
	}
	base := math.Exp2(math.Exp2(-float64(scale)))
	for j, c := range iv.counts {
		if c == 0 {
			continue
		}
		next := cum + float64(c)
		if next >= rank {
			idx := float64(offset) + float64(j)
			lower := math.Pow(base, idx)
			upper := lower * base
			return lower + (upper-lower)*(rank-cum)/float64(c), true
		}
		cum = next
	}
	return math.Pow(base, float64(offset)+float64(len(iv.counts))), true
}

// histogramValue extracts the configured statistic from a histogram point;
// ok is false with a skip reason when the point yields no value.
func (p *anomalyProcessor) histogramValue(key uint64, dp pmetric.HistogramDataPoint, cumulative bool) (float64, skipReason) {
	cur := histogramInterval{count: dp.Count(), sum: dp.Sum(), hasSum: dp.HasSum(), counts: dp.BucketCounts().AsRaw()}
	if cumulative {
		var why skipReason
		if cur, why = p.interval(key, cur, dp.StartTimestamp(), 0, 0); why != skipNone {
			return 0, why
		}
	}
	v, ok := explicitValue(cur, dp.ExplicitBounds(), p.stat)
	if !ok {
		return 0, skipEmptyInterval
	}
	return v, skipNone
}

func (p *anomalyProcessor) exponentialValue(key uint64, dp pmetric.ExponentialHistogramDataPoint, cumulative bool) (float64, skipReason) {
	pos := dp.Positive()
	cur := histogramInterval{count: dp.Count(), sum: dp.Sum(), hasSum: dp.HasSum(), zero: dp.ZeroCount(), counts: pos.BucketCounts().AsRaw()}
	scale, offset := dp.Scale(), pos.Offset()
	if cumulative {
		var why skipReason
		if cur, why = p.interval(key, cur, dp.StartTimestamp(), scale, offset); why != skipNone {
			return 0, why
		}
	}
	v, ok := exponentialValue(cur, scale, offset, p.stat)
	if !ok {
		return 0, skipEmptyInterval
	}
	return v, skipNone
}

// interval turns a cumulative histogram point of series key into the interval
// since the series' previous point (explicit histograms pass scale = offset = 0),
// remembering the point for the next one. The first point of a series only
// starts it (skipCumulativeStart); a new series beyond max_series is refused.
func (p *anomalyProcessor) interval(key uint64, cur histogramInterval, start pcommon.Timestamp, scale, offset int32) (histogramInterval, skipReason) {
	prev, seen := p.hists[key]
	if !seen {
		if len(p.hists) >= p.cfg.MaxSeries {
			return cur, skipSeriesLimit
		}
		prev = &histogramPrev{}
		p.hists[key] = prev
	}
	iv := cur
	if seen {
		iv = delta(prev, cur, start, scale, offset, p.countScratch)
		p.countScratch = iv.counts[:0]
	}
	prev.remember(cur, start, scale, offset)
	if !seen {
		return cur, skipCumulativeStart
	}
	return iv, skipNone
}
