package tfanomalyprocessor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/latencywatch/latencywatch/processor/tfanomalyprocessor/internal/defaultmodel"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/metrics")

func compareGolden(t *testing.T, name string, got pmetric.Metrics) {
	t.Helper()
	file := filepath.Join("testdata", "metrics", name+".yaml")
	if *update {
		require.NoError(t, golden.WriteMetrics(t, file, got, golden.SkipMetricTimestampNormalization()))
	}
	want, err := golden.ReadMetrics(file)
	require.NoError(t, err)
	require.NoError(t, pmetrictest.CompareMetrics(want, got, pmetrictest.IgnoreMetricDataPointsOrder()))
}

func attrs(dp pmetric.NumberDataPoint) map[string]any { return dp.Attributes().AsRaw() }

// A steady series with a three-point spike: warm-up points carry nothing, the
// spike is scored high, flagged on its second point (2 of 3), and the flag
// clears after 3 points below the threshold.
func TestStatisticalGolden(t *testing.T) {
	h := newHarness(t, statisticalConfig())
	pts := steady(0, 40, 120) // ms
	for i := 30; i < 33; i++ {
		pts[i].value = 900
	}
	got := h.consume(t, gauge("http.server.request.duration", "ms", map[string]any{"http.route": "/pay"}, pts...))
	compareGolden(t, "statistical_spike", got)

	dps := gaugePoints(got, "http.server.request.duration")
	_, scored := dps.At(14).Attributes().Get("latencywatch.anomaly.score")
	assert.False(t, scored, "point 15 is in warm-up")
	a := attrs(dps.At(15))
	assert.Equal(t, "robust_zscore@1", a["latencywatch.anomaly.model"])
	assert.Equal(t, false, a["latencywatch.anomaly.flag"])
	assert.InDelta(t, 0.12, a["latencywatch.anomaly.expected"], 0.01, "expected is the window median, in seconds")
	flags := make([]bool, 40)
	for i := 15; i < 40; i++ {
		flags[i] = attrs(dps.At(i))["latencywatch.anomaly.flag"].(bool)
	}
	assert.Greater(t, attrs(dps.At(30))["latencywatch.anomaly.score"], 0.9999)
	assert.Equal(t, []bool{false, false, true, true, true, true, false}, flags[29:36])
}

func TestStatisticalDirection(t *testing.T) {
	dip := steady(0, 24, 0.2)
	dip[20].value = 0.001
	for _, dir := range []string{DirectionUp, DirectionBoth} {
		cfg := statisticalConfig()
		cfg.Direction = dir
		h := newHarness(t, cfg)
		got := gaugePoints(h.consume(t, gauge("latency", "s", nil, dip...)), "latency")
		score := attrs(got.At(20))["latencywatch.anomaly.score"].(float64)
		if dir == DirectionUp {
			assert.Zero(t, score, "a drop is not a latency anomaly")
		} else {
			assert.Greater(t, score, 0.999)
		}
	}
}

// Each kind of bad input is handled on purpose and counted.
func TestBadInput(t *testing.T) {
	h := newHarness(t, statisticalConfig())
	pts := steady(0, 20, 0.1)
	in := gauge("latency", "s", nil, pts...)
	dps := in.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints()
	add := func(sec int64, v float64) {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(pcommon.Timestamp((baseSeconds + sec) * int64(time.Second)))
		dp.SetDoubleValue(v)
	}
	add(200, math.NaN())
	add(201, math.Inf(1))
	add(202, -0.5)
	add(190, 0.1) // duplicate of the last point's timestamp
	add(100, 0.1) // out of order
	dps.AppendEmpty().SetDoubleValue(0.1)
	add(210, 0.1) // accepted and scored
	got := gaugePoints(h.consume(t, in), "latency")
	for i := 20; i < 26; i++ {
		_, ok := got.At(i).Attributes().Get("latencywatch.anomaly.score")
		assert.False(t, ok, "bad point %d must not be scored", i)
	}
	_, ok := got.At(26).Attributes().Get("latencywatch.anomaly.score")
	assert.True(t, ok)
	c := h.p.counts
	assert.EqualValues(t, 2, c.skipped[skipNotFinite])
	assert.EqualValues(t, 1, c.skipped[skipNegative])
	assert.EqualValues(t, 1, c.skipped[skipDuplicate])
	assert.EqualValues(t, 1, c.skipped[skipOutOfOrder])
	assert.EqualValues(t, 1, c.skipped[skipNoTimestamp])
	assert.EqualValues(t, 6, c.scored) // points 16..20 (0-based 15..19) and the last one

	// A gap longer than max_gap restarts the window: warm-up again.
	got = gaugePoints(h.consume(t, gauge("latency", "s", nil, point{sec: 210 + 7200, value: 0.1})), "latency")
	_, ok = got.At(0).Attributes().Get("latencywatch.anomaly.score")
	assert.False(t, ok)
	assert.EqualValues(t, 1, h.p.counts.resets)
}

// A unit change from ms to s is the same latency: the window continues and no
// spike is seen. A non-time unit starts another series.
func TestUnitChange(t *testing.T) {
	h := newHarness(t, statisticalConfig())
	h.consume(t, gauge("latency", "ms", nil, steady(0, 20, 250)...))
	got := gaugePoints(h.consume(t, gauge("latency", "s", nil, steady(200, 4, 0.25)...)), "latency")
	for i := 0; i < 4; i++ {
		a := attrs(got.At(i))
		assert.Less(t, a["latencywatch.anomaly.score"], 0.99, "point %d", i)
		assert.InDelta(t, 0.25, a["latencywatch.anomaly.expected"], 0.02)
	}
	assert.Equal(t, 1, h.p.windows.len())
	h.consume(t, gauge("latency", "{requests}", nil, steady(300, 1, 7)...))
	assert.Equal(t, 2, h.p.windows.len())
}

func TestSeriesIdentityAndLimit(t *testing.T) {
	cfg := statisticalConfig()
	cfg.SeriesAttributes = []string{"http.route"}
	cfg.MaxSeries = 2
	h := newHarness(t, cfg)
	for _, route := range []string{"/a", "/b", "/c"} {
		h.consume(t, gauge("latency", "s", map[string]any{"http.route": route, "pod": route + "-x"}, steady(0, 1, 0.1)...))
	}
	assert.Equal(t, 2, h.p.windows.len())
	assert.EqualValues(t, 1, h.p.counts.dropped)
	// pod is not part of the identity: same series as /a.
	h.consume(t, gauge("latency", "s", map[string]any{"http.route": "/a", "pod": "other"}, point{sec: 10, value: 0.1}))
	assert.Equal(t, 2, h.p.windows.len())
	assert.Zero(t, h.p.counts.dropped)
}

func TestIdleSeriesEvicted(t *testing.T) {
	cfg := statisticalConfig()
	cfg.SeriesTTL = time.Minute
	h := newHarness(t, cfg)
	now := time.Unix(baseSeconds, 0)
	h.p.epoch = now
	h.p.now = func() time.Time { return now }
	h.consume(t, gauge("latency", "s", map[string]any{"k": "a"}, steady(0, 3, 0.1)...))
	now = now.Add(45 * time.Second)
	h.consume(t, gauge("latency", "s", map[string]any{"k": "b"}, steady(0, 3, 0.1)...))
	assert.Equal(t, 2, h.p.windows.len())
	now = now.Add(30 * time.Second) // a: idle 75 s, b: 30 s
	h.consume(t, gauge("latency", "s", map[string]any{"k": "b"}, point{sec: 100, value: 0.1}))
	assert.Equal(t, 1, h.p.windows.len())
}

func TestScoreMetric(t *testing.T) {
	cfg := statisticalConfig()
	cfg.ScoreMetric.Enabled = true
	cfg.BatchSize = 4 // several flushes in one scope still give one gauge
	h := newHarness(t, cfg)
	got := h.consume(t, gauge("latency", "s", map[string]any{"http.route": "/pay"}, steady(0, 20, 0.1)...))
	ms := got.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	require.Equal(t, 2, ms.Len())
	sc := gaugePoints(got, "latencywatch.anomaly.score")
	require.Equal(t, 5, sc.Len())
	a := attrs(sc.At(0))
	assert.Equal(t, "latency", a["metric.name"])
	assert.Equal(t, "/pay", a["http.route"])
	assert.Equal(t, attrs(gaugePoints(got, "latency").At(15))["latencywatch.anomaly.score"], sc.At(0).DoubleValue())
}

func TestCumulativeHistogramQuantile(t *testing.T) {
	cfg := statisticalConfig()
	cfg.HistogramStatistic = "p50"
	h := newHarness(t, cfg)
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("rpc.server.duration")
	m.SetUnit("ms")
	hist := m.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	counts := []uint64{0, 0, 0}
	for i := 0; i < 20; i++ {
		// Every interval adds 10 observations in (100, 200] ms; the
		// interval p50 is 150 ms while the cumulative one would be too.
		// The last interval adds them to (200, +inf): p50 = 200 ms.
		if i < 19 {
			counts[1] += 10
		} else {
			counts[2] += 10
		}
		dp := hist.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(pcommon.Timestamp(baseSeconds * int64(time.Second)))
		dp.SetTimestamp(pcommon.Timestamp((baseSeconds + int64(i+1)*10) * int64(time.Second)))
		dp.ExplicitBounds().FromRaw([]float64{100, 200})
		dp.BucketCounts().FromRaw(counts)
		dp.SetCount(counts[0] + counts[1] + counts[2])
	}
	got := h.consume(t, md)
	dps := got.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Histogram().DataPoints()
	assert.EqualValues(t, 1, h.p.counts.skipped[skipCumulativeStart])
	// 19 intervals from 20 points: 16 warm-up, scored from the 17th.
	a := dps.At(17).Attributes().AsRaw()
	assert.InDelta(t, 0.15, a["latencywatch.anomaly.expected"], 1e-6)
	last := dps.At(19).Attributes().AsRaw()
	assert.Greater(t, last["latencywatch.anomaly.score"], 0.999, "150 ms -> 200 ms with a flat history")
}

func TestHistogramStatistics(t *testing.T) {
	bounds := pcommon.NewFloat64Slice()
	bounds.FromRaw([]float64{1, 2, 4})
	iv := histogramInterval{count: 10, sum: 25, hasSum: true, counts: []uint64{0, 5, 5, 0}}
	v, ok := explicitValue(iv, bounds, statistic{quantile: -1})
	require.True(t, ok)
	assert.InDelta(t, 2.5, v, 1e-9)
	v, _ = explicitValue(iv, bounds, statistic{quantile: 0.5})
	assert.InDelta(t, 2, v, 1e-9)
	v, _ = explicitValue(iv, bounds, statistic{quantile: 0.75})
	assert.InDelta(t, 3, v, 1e-9)
	_, ok = explicitValue(histogramInterval{}, bounds, statistic{quantile: 0.5})
	assert.False(t, ok)

	// scale 0: bucket j at offset 0 covers (2^j, 2^(j+1)].
	ev := histogramInterval{count: 4, zero: 0, counts: []uint64{2, 2}}
	v, ok = exponentialValue(ev, 0, 0, statistic{quantile: 0.5})
	require.True(t, ok)
	assert.InDelta(t, 2, v, 1e-9)
	v, _ = exponentialValue(ev, 0, 0, statistic{quantile: 0.75})
	assert.InDelta(t, 3, v, 1e-9)
}

func modelConfig(path string) *Config {
	c := createDefaultConfig()
	c.ModelPath = path
	c.MinPoints = 16
	return c
}

func sha12(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])[:12]
}

// The threshold test model scores sigmoid(4 (x - 3)) of the newest
// normalised value: a robust z of 3 scores 0.5.
func TestModelModeWithModelPath(t *testing.T) {
	path := filepath.Join("testdata", "threshold_model.tflite")
	h := newHarness(t, modelConfig(path))
	pts := steady(0, 20, 0.1)
	pts[18].value, pts[19].value = 1, 1
	got := gaugePoints(h.consume(t, gauge("latency", "s", nil, pts...)), "latency")
	a := attrs(got.At(17))
	assert.Equal(t, "threshold_model@"+sha12(t, path), a["latencywatch.anomaly.model"])
	assert.Less(t, a["latencywatch.anomaly.score"], 0.01)
	assert.InDelta(t, 0.1, a["latencywatch.anomaly.expected"], 0.005)
	assert.Greater(t, attrs(got.At(18))["latencywatch.anomaly.score"], 0.99)
	assert.Equal(t, false, attrs(got.At(18))["latencywatch.anomaly.flag"])
	assert.Equal(t, true, attrs(got.At(19))["latencywatch.anomaly.flag"])
}

func TestModelPathErrorsAtStart(t *testing.T) {
	for file, want := range map[string]string{
		"missing.tflite":             "no such file",
		"threshold_model_w32.tflite": "the contract wants float32 [batch, 64, 5]",
		"features.json":              "tflite",
	} {
		cfg := modelConfig(filepath.Join("testdata", file))
		p, err := newAnomalyProcessor(processorSettings(), cfg)
		require.NoError(t, err)
		err = p.start(t.Context(), nil)
		require.Error(t, err, file)
		assert.Contains(t, err.Error(), "tf_anomaly: model_path:")
		assert.Contains(t, err.Error(), want)
		require.NoError(t, p.shutdown(t.Context()))
	}
}

func TestModelHotReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "latency.tflite")
	copyFile := func(src string) {
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		tmp := path + ".tmp"
		require.NoError(t, os.WriteFile(tmp, b, 0o600))
		require.NoError(t, os.Rename(tmp, path))
	}
	copyFile(filepath.Join("testdata", "threshold_model.tflite"))
	core, logs := observer.New(zap.InfoLevel)
	cfg := modelConfig(path)
	cfg.ModelReloadInterval = 10 * time.Millisecond
	h := newHarness(t, cfg, func(s *processor.Settings) { s.Logger = zap.New(core) })
	first := "latency@" + sha12(t, path)
	assert.Equal(t, first, h.p.currentLabel())

	// A file that is not a model, then one that breaks the contract: both
	// are rejected and the running model stays.
	require.NoError(t, os.WriteFile(path, []byte("not a flatbuffer"), 0o600))
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("rejected").Len() == 1 }, 5*time.Second, 5*time.Millisecond)
	copyFile(filepath.Join("testdata", "threshold_model_w32.tflite"))
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("rejected").Len() == 2 }, 5*time.Second, 5*time.Millisecond)
	assert.Contains(t, logs.FilterMessageSnippet("rejected").All()[1].ContextMap()["error"], "contract")
	assert.Equal(t, first, h.p.currentLabel())
	got := gaugePoints(h.consume(t, gauge("latency", "s", nil, steady(0, 16, 0.1)...)), "latency")
	assert.Equal(t, first, attrs(got.At(15))["latencywatch.anomaly.model"])

	// A deleted file is reported once, not on every poll; the model stays.
	require.NoError(t, os.Remove(path))
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("rejected").Len() == 3 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // ten more polls
	assert.Equal(t, 3, logs.FilterMessageSnippet("rejected").Len())
	assert.Equal(t, first, h.p.currentLabel())

	// A valid model is swapped in.
	require.NoError(t, os.WriteFile(path+".default", defaultmodel.TFLite, 0o600))
	copyFile(path + ".default")
	second := "latency@" + sha12(t, path)
	require.Eventually(t, func() bool { return h.p.currentLabel() == second }, 5*time.Second, 5*time.Millisecond)
	got = gaugePoints(h.consume(t, gauge("latency", "s", nil, point{sec: 160, value: 0.1})), "latency")
	assert.Equal(t, second, attrs(got.At(0))["latencywatch.anomaly.model"])
}

// The embedded default model scores a steady series low and a sustained
// 10x burst high enough to flag it.
func TestDefaultModel(t *testing.T) {
	cfg := createDefaultConfig()
	h := newHarness(t, cfg)
	pts := steady(0, 120, 0.08)
	for i := 100; i < 110; i++ {
		pts[i].value = 0.8
	}
	got := gaugePoints(h.consume(t, gauge("http.server.request.duration", "s", nil, pts...)), "http.server.request.duration")
	_, ok := got.At(62).Attributes().Get("latencywatch.anomaly.score")
	assert.False(t, ok, "warm-up is 64 points")
	a := attrs(got.At(80))
	assert.Equal(t, "latency_anomaly@"+defaultmodel.Version, a["latencywatch.anomaly.model"])
	assert.Less(t, a["latencywatch.anomaly.score"], 0.2)
	assert.Equal(t, false, a["latencywatch.anomaly.flag"])
	assert.InDelta(t, 0.08, a["latencywatch.anomaly.expected"], 0.01)
	flagged := false
	for i := 100; i < 110; i++ {
		flagged = flagged || attrs(got.At(i))["latencywatch.anomaly.flag"].(bool)
	}
	assert.True(t, flagged, "a 10x burst of 10 points is an incident")
}

// A histogram with no bounds (one bucket) yields its mean when it has a sum
// and is skipped when not: never an out-of-range bucket lookup.
func TestHistogramWithoutBounds(t *testing.T) {
	bounds := pcommon.NewFloat64Slice()
	v, ok := explicitValue(histogramInterval{count: 4, sum: 2, hasSum: true, counts: []uint64{4}}, bounds, statistic{quantile: 0.99})
	require.True(t, ok)
	assert.InDelta(t, 0.5, v, 1e-12)
	_, ok = explicitValue(histogramInterval{count: 4, counts: []uint64{4}}, bounds, statistic{quantile: 0.99})
	assert.False(t, ok)
}

func TestCumulativeExponentialHistogram(t *testing.T) {
	h := newHarness(t, statisticalConfig())
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("rpc.client.duration")
	m.SetUnit("s")
	eh := m.SetEmptyExponentialHistogram()
	eh.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	var count, sum float64
	for i := 0; i < 20; i++ {
		dp := eh.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(pcommon.Timestamp(baseSeconds * int64(time.Second)))
		dp.SetTimestamp(pcommon.Timestamp((baseSeconds + int64(i+1)*10) * int64(time.Second)))
		dp.SetScale(0)
		dp.Positive().SetOffset(-4) // bucket 0 covers (1/16, 1/8] s
		count += 10
		sum += 10 * 0.1
		dp.Positive().BucketCounts().FromRaw([]uint64{uint64(count)})
		dp.SetCount(uint64(count))
		dp.SetSum(sum)
	}
	got := h.consume(t, md)
	dps := got.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).ExponentialHistogram().DataPoints()
	a := dps.At(19).Attributes().AsRaw()
	// p99 of an interval with all 10 observations in (1/16, 1/8]: 0.124375.
	assert.InDelta(t, 0.0625+0.0625*0.99, a["latencywatch.anomaly.expected"], 1e-6)
	assert.EqualValues(t, 1, h.p.counts.skipped[skipCumulativeStart])
}

func TestTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	cfg := statisticalConfig()
	h := newHarness(t, cfg, func(s *processor.Settings) { s.TelemetrySettings = tel.NewTelemetrySettings() })
	pts := steady(0, 20, 0.1)
	pts[17].value, pts[18].value = 5, 5
	in := gauge("latency", "s", nil, pts...)
	dp := in.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.Timestamp(baseSeconds * int64(time.Second)))
	dp.SetDoubleValue(0.1) // out of order
	h.consume(t, in)
	sum := func(name string) int64 {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		var total int64
		for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
			total += p.Value
		}
		return total
	}
	assert.EqualValues(t, 5, sum("otelcol_tf_anomaly_points_scored"))
	assert.EqualValues(t, 1, sum("otelcol_tf_anomaly_points_skipped"))
	assert.EqualValues(t, 1, sum("otelcol_tf_anomaly_anomalies_flagged"))
	series, err := tel.GetMetric("otelcol_tf_anomaly_series")
	require.NoError(t, err)
	assert.EqualValues(t, 1, series.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
	_, err = tel.GetMetric("otelcol_tf_anomaly_inference_duration")
	assert.NoError(t, err)
}
