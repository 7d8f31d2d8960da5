package latencyenrichprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestQuantileLabel(t *testing.T) {
	assert.Equal(t, "p50", quantileLabel(0.5))
	assert.Equal(t, "p95", quantileLabel(0.95))
	assert.Equal(t, "p99", quantileLabel(0.99))
	assert.Equal(t, "p99_9", quantileLabel(0.999))
}

func TestEstimateQuantile(t *testing.T) {
	bounds := []float64{1, 2, 4}
	// 10 in (0,1], 10 in (1,2], 0 in (2,4], 0 overflow.
	v, ok := estimateQuantile(0.5, bounds, []uint64{10, 10, 0, 0}, 20, 0, false, 0, false)
	require.True(t, ok)
	assert.InDelta(t, 1.0, v, 1e-12)
	v, _ = estimateQuantile(0.75, bounds, []uint64{10, 10, 0, 0}, 20, 0, false, 0, false)
	assert.InDelta(t, 1.5, v, 1e-12)
	// First bucket starts at min when known.
	v, _ = estimateQuantile(0.5, bounds, []uint64{10, 0, 0, 0}, 10, 0.5, true, 0, false)
	assert.InDelta(t, 0.75, v, 1e-12)
	// Overflow bucket: without max the lower bound, with max interpolated.
	v, _ = estimateQuantile(0.99, bounds, []uint64{0, 0, 0, 10}, 10, 0, false, 0, false)
	assert.InDelta(t, 4.0, v, 1e-12)
	v, _ = estimateQuantile(0.5, bounds, []uint64{0, 0, 0, 10}, 10, 0, false, 8, true)
	assert.InDelta(t, 6.0, v, 1e-12)
	// Negative first bound without min: the bound itself.
	v, _ = estimateQuantile(0.5, []float64{-1, 1}, []uint64{5, 0, 0}, 5, 0, false, 0, false)
	assert.InDelta(t, -1.0, v, 1e-12)
	// Empty and bound-less histograms.
	_, ok = estimateQuantile(0.5, bounds, []uint64{0, 0, 0, 0}, 0, 0, false, 0, false)
	assert.False(t, ok)
	v, ok = estimateQuantile(0.5, nil, []uint64{4}, 4, 2, true, 6, true)
	require.True(t, ok)
	assert.InDelta(t, 4.0, v, 1e-12)
	_, ok = estimateQuantile(0.5, nil, []uint64{4}, 4, 0, false, 0, false)
	assert.False(t, ok)
}

func cumulativeMetric(start, end pcommon.Timestamp, counts []uint64) pmetric.Metric {
	m := pmetric.NewMetric()
	m.SetName("rpc.duration")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := h.DataPoints().AppendEmpty()
	dp.Attributes().PutStr("method", "Get")
	dp.SetStartTimestamp(start)
	dp.SetTimestamp(end)
	dp.ExplicitBounds().FromRaw([]float64{1, 2, 4})
	dp.BucketCounts().FromRaw(counts)
	var n uint64
	for _, c := range counts {
		n += c
	}
	dp.SetCount(n)
	return m
}

func deriveOnce(q *quantileTracker, now time.Time, m pmetric.Metric) []pmetric.Metric {
	hashes := q.seriesHashes(1, pcommon.NewInstrumentationScope(), m)
	return q.derive(now, m, hashes, &tableObserver{})
}

func TestCumulativeIntervals(t *testing.T) {
	q := newQuantileTracker([]float64{0.5}, 10, time.Minute)
	now := time.Now()
	assert.Empty(t, deriveOnce(q, now, cumulativeMetric(100, 200, []uint64{10, 0, 0, 0})), "first sighting primes")
	// 10 new observations, all in (2,4].
	out := deriveOnce(q, now, cumulativeMetric(100, 300, []uint64{10, 0, 10, 0}))
	require.Len(t, out, 1)
	dp := out[0].Gauge().DataPoints().At(0)
	assert.InDelta(t, 3.0, dp.DoubleValue(), 1e-12)
	assert.Equal(t, pcommon.Timestamp(200), dp.StartTimestamp())
	assertAttr(t, dp.Attributes(), "method", "Get")
	// No new observations: nothing derived.
	assert.Empty(t, deriveOnce(q, now, cumulativeMetric(100, 400, []uint64{10, 0, 10, 0})))
	// Duplicate / out-of-order point: ignored.
	assert.Empty(t, deriveOnce(q, now, cumulativeMetric(100, 350, []uint64{10, 5, 10, 0})))
	// Reset (counter restarted, new start time): the point is the interval.
	out = deriveOnce(q, now, cumulativeMetric(450, 500, []uint64{0, 4, 0, 0}))
	require.Len(t, out, 1)
	assert.InDelta(t, 1.5, out[0].Gauge().DataPoints().At(0).DoubleValue(), 1e-12)
	assert.Equal(t, pcommon.Timestamp(450), out[0].Gauge().DataPoints().At(0).StartTimestamp())
	// Count going down without a new start time is a reset too.
	out = deriveOnce(q, now, cumulativeMetric(450, 600, []uint64{0, 2, 0, 0}))
	require.Len(t, out, 1)
	assert.InDelta(t, 1.5, out[0].Gauge().DataPoints().At(0).DoubleValue(), 1e-12)
}

func TestSeriesBoundAndTTL(t *testing.T) {
	q := newQuantileTracker([]float64{0.5}, 2, time.Minute)
	now := time.Now()
	for i := range 3 {
		m := cumulativeMetric(1, 2, []uint64{1, 0, 0, 0})
		m.Histogram().DataPoints().At(0).Attributes().PutInt("i", int64(i))
		deriveOnce(q, now, m)
	}
	assert.Equal(t, 2, q.len(), "max_series bounds the remembered series")
	m := cumulativeMetric(1, 2, []uint64{1, 0, 0, 0})
	m.Histogram().DataPoints().At(0).Attributes().PutInt("i", 99)
	deriveOnce(q, now.Add(2*time.Minute), m)
	assert.Equal(t, 1, q.len(), "expired series are forgotten")
}

func TestHashAttrsIgnoresOrder(t *testing.T) {
	a, b := pcommon.NewMap(), pcommon.NewMap()
	a.PutStr("x", "1")
	a.PutStr("y", "2")
	b.PutStr("y", "2")
	b.PutStr("x", "1")
	assert.Equal(t, hashAttrs(fnvOffset, a), hashAttrs(fnvOffset, b))
	c := pcommon.NewMap()
	c.PutStr("x", "12")
	assert.NotEqual(t, hashAttrs(fnvOffset, a), hashAttrs(fnvOffset, c))
}
