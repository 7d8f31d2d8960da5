package latencyenrichprocessor

import (
	"context"
	"flag"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadata"
)

var update = flag.Bool("update", false, "rewrite the expected golden files from the current output")

// fixedNow is the clock of every golden test, so metadata ages are stable.
var fixedNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func ts(sec int) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(fixedNow.Add(time.Duration(sec) * time.Second))
}

// statusHost records component status events.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

func newStatusHost() *statusHost { return &statusHost{Host: componenttest.NewNopHost()} }

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

func (h *statusHost) statuses() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []componentstatus.Status
	for _, e := range h.events {
		out = append(out, e.Status())
	}
	return out
}

func settings() processor.Settings { return processortest.NewNopSettings(metadata.Type) }

// goldenConfig is the configuration of the golden tests: composite key with
// a fallback, resource target, defaults, SLO, metadata attributes.
func goldenConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Keys = []KeyRule{
		{Attributes: []KeyPart{{From: ContextResource, Attribute: "service.name"}, {From: ContextResource, Attribute: "deployment.environment.name"}}},
		{Attributes: []KeyPart{{From: ContextResource, Attribute: "service.name"}}},
	}
	cfg.Target = ContextResource
	cfg.Action = ActionInsert
	cfg.Attributes = []AttributeConfig{
		{Column: "region"},
		{Column: "zone"},
		{Column: "version"},
		{Column: "team", Default: "unowned"},
	}
	cfg.SLO.ThresholdColumn = "slo_threshold_seconds"
	cfg.MetadataAttributes = MetadataAttributesConfig{Age: true, Version: true}
	cfg.Metrics.NormalizeUnits = true
	cfg.Metrics.Quantiles = []float64{0.5, 0.95, 0.99}
	cfg.Table.Inline = configoptional.Some(InlineConfig{Rows: []InlineRow{
		{Key: "checkout|prod", Values: map[string]any{
			"region": "eu-west-1", "zone": "eu-west-1a", "version": "2.4.1", "team": "payments",
			"slo_threshold_seconds": 0.25, "updated_at": "2026-11-25T11:59:30Z", "metadata_version": "v17",
			"unlisted_column": "never copied",
		}},
		{Key: "checkout", Values: map[string]any{"region": "us-east-1", "updated_at": int64(1795593600000) /* 2026-11-25T08:00:00Z in Unix ms */}},
	}})
	return cfg
}

func startTraces(t *testing.T, cfg *Config) (processor.Traces, *consumertest.TracesSink) {
	t.Helper()
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), settings(), cfg, sink)
	require.NoError(t, err)
	enrichers.Lock()
	enrichers.m[cfg].now = func() time.Time { return fixedNow }
	enrichers.Unlock()
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return p, sink
}

func startMetrics(t *testing.T, cfg *Config) (processor.Metrics, *consumertest.MetricsSink) {
	t.Helper()
	sink := new(consumertest.MetricsSink)
	p, err := NewFactory().CreateMetrics(context.Background(), settings(), cfg, sink)
	require.NoError(t, err)
	enrichers.Lock()
	enrichers.m[cfg].now = func() time.Time { return fixedNow }
	enrichers.Unlock()
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return p, sink
}

func startLogs(t *testing.T, cfg *Config) (processor.Logs, *consumertest.LogsSink) {
	t.Helper()
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), settings(), cfg, sink)
	require.NoError(t, err)
	enrichers.Lock()
	enrichers.m[cfg].now = func() time.Time { return fixedNow }
	enrichers.Unlock()
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return p, sink
}

func addResourceSpans(td ptrace.Traces, attrs map[string]any, spans ...[2]int) {
	rs := td.ResourceSpans().AppendEmpty()
	require.NoError(nil, rs.Resource().Attributes().FromRaw(attrs))
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("checkout-http")
	for i, s := range spans {
		sp := ss.Spans().AppendEmpty()
		sp.SetName("GET /cart")
		sp.SetTraceID(pcommon.TraceID{1, 2, 3, byte(i)})
		sp.SetSpanID(pcommon.SpanID{4, 5, byte(i)})
		sp.SetStartTimestamp(ts(0))
		sp.SetEndTimestamp(pcommon.Timestamp(uint64(ts(0)) + uint64(s[0])*uint64(time.Millisecond)))
		sp.Attributes().PutInt("case", int64(s[1]))
	}
}

func goldenTracesInput() ptrace.Traces {
	td := ptrace.NewTraces()
	// Composite key hits: region, zone, version, team copied; 120 ms is
	// within the 250 ms SLO, 400 ms breaches it.
	addResourceSpans(td, map[string]any{"service.name": "checkout", "deployment.environment.name": "prod"}, [2]int{120, 1}, [2]int{400, 2})
	// Composite key misses, the fallback rule hits the "checkout" row: it
	// has no zone, version, team (team gets its default) and no SLO.
	addResourceSpans(td, map[string]any{"service.name": "checkout", "deployment.environment.name": "staging"}, [2]int{900, 3})
	// Insert keeps an existing attribute.
	addResourceSpans(td, map[string]any{"service.name": "checkout", "deployment.environment.name": "prod", "cloud.region": "set-by-app"}, [2]int{10, 4})
	// No rule resolves to a row: defaults only, no metadata attributes.
	addResourceSpans(td, map[string]any{"service.name": "inventory"}, [2]int{5000, 5})
	// No key attribute at all.
	addResourceSpans(td, map[string]any{"host.name": "node-7"}, [2]int{1, 6})
	return td
}

func TestTracesGolden(t *testing.T) {
	p, sink := startTraces(t, goldenConfig())
	require.NoError(t, p.ConsumeTraces(context.Background(), goldenTracesInput()))
	require.Len(t, sink.AllTraces(), 1)
	got := sink.AllTraces()[0]
	file := filepath.Join("testdata", "traces", "expected.yaml")
	if *update {
		require.NoError(t, golden.WriteTraces(t, file, got))
	}
	want, err := golden.ReadTraces(file)
	require.NoError(t, err)
	require.NoError(t, ptracetest.CompareTraces(want, got))

	// The golden file is reviewed by hand; these assertions pin the
	// behaviour it encodes so a careless -update cannot hide a regression.
	res0 := got.ResourceSpans().At(0).Resource().Attributes()
	assertAttr(t, res0, "cloud.region", "eu-west-1")
	assertAttr(t, res0, "cloud.availability_zone", "eu-west-1a")
	assertAttr(t, res0, "service.version", "2.4.1")
	assertAttr(t, res0, "latencywatch.owner.team", "payments")
	assertAttr(t, res0, AttrMetadataVersion, "v17")
	age, _ := res0.Get(AttrMetadataAge)
	assert.InDelta(t, 30.0, age.Double(), 1e-9)
	_, leaked := res0.Get("unlisted_column")
	assert.False(t, leaked, "columns outside the allow-list must not be copied")
	spans0 := got.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	assertBool(t, spans0.At(0).Attributes(), AttrSLOBreach, false)
	assertBool(t, spans0.At(1).Attributes(), AttrSLOBreach, true)

	res1 := got.ResourceSpans().At(1).Resource().Attributes()
	assertAttr(t, res1, "cloud.region", "us-east-1")
	assertAttr(t, res1, "latencywatch.owner.team", "unowned")
	age1, _ := res1.Get(AttrMetadataAge)
	assert.InDelta(t, 4*3600.0, age1.Double(), 1e-9, "updated_at in Unix milliseconds")
	_, hasSLO := got.ResourceSpans().At(1).ScopeSpans().At(0).Spans().At(0).Attributes().Get(AttrSLOBreach)
	assert.False(t, hasSLO, "a row without a threshold must not produce an SLO verdict")

	assertAttr(t, got.ResourceSpans().At(2).Resource().Attributes(), "cloud.region", "set-by-app")

	res3 := got.ResourceSpans().At(3).Resource().Attributes()
	assertAttr(t, res3, "latencywatch.owner.team", "unowned")
	_, hasRegion := res3.Get("cloud.region")
	assert.False(t, hasRegion)
	_, hasVersion := res3.Get(AttrMetadataVersion)
	assert.False(t, hasVersion)
}

func assertAttr(t *testing.T, m pcommon.Map, k, want string) {
	t.Helper()
	v, ok := m.Get(k)
	if assert.True(t, ok, "attribute %s missing", k) {
		assert.Equal(t, want, v.AsString(), "attribute %s", k)
	}
}

func assertBool(t *testing.T, m pcommon.Map, k string, want bool) {
	t.Helper()
	v, ok := m.Get(k)
	if assert.True(t, ok, "attribute %s missing", k) {
		assert.Equal(t, pcommon.ValueTypeBool, v.Type())
		assert.Equal(t, want, v.Bool(), "attribute %s", k)
	}
}

// latencyBounds are milliseconds; after normalisation they are seconds.
var latencyBounds = []float64{5, 10, 25, 50, 100, 250, 500, 1000}

func addHistogram(sm pmetric.ScopeMetrics, name, unit string, temporality pmetric.AggregationTemporality, start, end int, counts []uint64, sum float64, attrs map[string]any) pmetric.HistogramDataPoint {
	m := sm.Metrics().AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(temporality)
	dp := h.DataPoints().AppendEmpty()
	_ = dp.Attributes().FromRaw(attrs)
	dp.SetStartTimestamp(ts(start))
	dp.SetTimestamp(ts(end))
	dp.ExplicitBounds().FromRaw(latencyBounds)
	dp.BucketCounts().FromRaw(counts)
	var n uint64
	for _, c := range counts {
		n += c
	}
	dp.SetCount(n)
	dp.SetSum(sum)
	return dp
}

// goldenMetricsInput is one export of a sidecar. step 0 primes the
// cumulative series; step 1 is the next export 60 s later.
func goldenMetricsInput(step int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	_ = rm.Resource().Attributes().FromRaw(map[string]any{"service.name": "checkout", "deployment.environment.name": "prod"})
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("otelhttp")

	// Delta histogram in ms, with min and max: 100 requests.
	counts := []uint64{0, 10, 30, 40, 15, 4, 1, 0, 0}
	if step == 1 {
		counts = []uint64{0, 0, 5, 10, 20, 40, 20, 5, 0}
	}
	dp := addHistogram(sm, "http.server.request.duration", "ms", pmetric.AggregationTemporalityDelta, 60*step, 60*(step+1), counts, 4321, map[string]any{"http.route": "/cart"})
	mn, mx := 6.0, 420.0
	if step == 1 {
		mn, mx = 12, 800
	}
	dp.SetMin(mn)
	dp.SetMax(mx)
	ex := dp.Exemplars().AppendEmpty()
	ex.SetDoubleValue(mx)
	ex.SetTimestamp(ts(60*step + 30))

	// Cumulative histogram in ms: step 1 adds 50 slow observations.
	cum := []uint64{100, 200, 300, 200, 100, 50, 30, 15, 5}
	if step == 1 {
		cum = []uint64{100, 200, 300, 200, 110, 80, 40, 15, 5}
	}
	addHistogram(sm, "rpc.client.duration", "ms", pmetric.AggregationTemporalityCumulative, 0, 60*(step+1), cum, 90000+float64(step)*12000, map[string]any{"rpc.method": "Reserve"})

	// Gauge in microseconds, int value.
	g := sm.Metrics().AppendEmpty()
	g.SetName("db.query.latency")
	g.SetUnit("us")
	gdp := g.SetEmptyGauge().DataPoints().AppendEmpty()
	gdp.SetTimestamp(ts(60 * (step + 1)))
	gdp.SetIntValue(1500)

	// Not a latency metric: untouched, even though its unit is ms.
	s := sm.Metrics().AppendEmpty()
	s.SetName("jvm.gc.pause.total")
	s.SetUnit("ms")
	sdp := s.SetEmptySum().DataPoints().AppendEmpty()
	sdp.SetTimestamp(ts(60 * (step + 1)))
	sdp.SetDoubleValue(250)

	// Exponential histograms cannot be rescaled exactly: untouched.
	e := sm.Metrics().AppendEmpty()
	e.SetName("queue.wait.duration")
	e.SetUnit("ms")
	edp := e.SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	edp.SetTimestamp(ts(60 * (step + 1)))
	edp.SetScale(2)
	edp.SetCount(3)
	edp.SetSum(30)
	edp.Positive().SetOffset(10)
	edp.Positive().BucketCounts().FromRaw([]uint64{1, 2})
	return md
}

func TestMetricsGolden(t *testing.T) {
	p, sink := startMetrics(t, goldenConfig())
	for step := range 2 {
		require.NoError(t, p.ConsumeMetrics(context.Background(), goldenMetricsInput(step)))
	}
	require.Len(t, sink.AllMetrics(), 2)
	for step, got := range sink.AllMetrics() {
		file := filepath.Join("testdata", "metrics", "expected_"+string(rune('0'+step))+".yaml")
		if *update {
			require.NoError(t, golden.WriteMetrics(t, file, got, golden.SkipMetricTimestampNormalization()))
		}
		want, err := golden.ReadMetrics(file)
		require.NoError(t, err)
		require.NoError(t, pmetrictest.CompareMetrics(want, got), "step %d", step)
	}

	// Pin what the golden files encode.
	byName := func(md pmetric.Metrics) map[string]pmetric.Metric {
		out := map[string]pmetric.Metric{}
		ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
		for i := 0; i < ms.Len(); i++ {
			out[ms.At(i).Name()] = ms.At(i)
		}
		return out
	}
	first, second := byName(sink.AllMetrics()[0]), byName(sink.AllMetrics()[1])

	h := first["http.server.request.duration"]
	assert.Equal(t, "s", h.Unit())
	hdp := h.Histogram().DataPoints().At(0)
	assert.Equal(t, []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}, hdp.ExplicitBounds().AsRaw())
	assert.Equal(t, 4.321, hdp.Sum())
	assert.Equal(t, 0.006, hdp.Min())
	assert.Equal(t, 0.42, hdp.Max())
	assert.Equal(t, 0.42, hdp.Exemplars().At(0).DoubleValue())
	// Delta p50 of 100 requests: rank 50 is the 10th of 40 in (25,50] ms ->
	// 25 + 25*10/40 = 31.25 ms.
	assert.InDelta(t, 0.03125, first["http.server.request.duration.p50"].Gauge().DataPoints().At(0).DoubleValue(), 1e-12)
	// p99: rank 99 is the 4th of 4 in (100,250] ms -> 250 ms.
	assert.InDelta(t, 0.25, first["http.server.request.duration.p99"].Gauge().DataPoints().At(0).DoubleValue(), 1e-12)
	// Derived points carry the source point's attributes.
	assertAttr(t, first["http.server.request.duration.p50"].Gauge().DataPoints().At(0).Attributes(), "http.route", "/cart")

	// Cumulative: nothing derived from the first sighting.
	_, primed := first["rpc.client.duration.p50"]
	assert.False(t, primed)
	// Second export: the interval holds 10 in (50,100], 30 in (100,250],
	// 10 in (250,500] ms. p50 is rank 25 -> the 15th of 30 in (100,250] ->
	// 100 + 150*15/30 = 175 ms; p99 is rank 49.5 -> 9.5th of 10 in
	// (250,500] -> 487.5 ms.
	p50 := second["rpc.client.duration.p50"].Gauge().DataPoints().At(0)
	assert.InDelta(t, 0.175, p50.DoubleValue(), 1e-12)
	assert.Equal(t, ts(60), p50.StartTimestamp(), "interval starts at the previous point")
	assert.InDelta(t, 0.4875, second["rpc.client.duration.p99"].Gauge().DataPoints().At(0).DoubleValue(), 1e-12)

	// Second delta: p50 rank 50 is the 15th of 40 in (100,250] ms ->
	// 156.25 ms; p99 rank 99 is the 4th of 5 in (500,1000] ms, whose top is
	// tightened to max 800 ms -> 500 + 300*4/5 = 740 ms.
	assert.InDelta(t, 0.15625, second["http.server.request.duration.p50"].Gauge().DataPoints().At(0).DoubleValue(), 1e-12)
	assert.InDelta(t, 0.74, second["http.server.request.duration.p99"].Gauge().DataPoints().At(0).DoubleValue(), 1e-12)

	g := first["db.query.latency"]
	assert.Equal(t, "s", g.Unit())
	assert.Equal(t, 0.0015, g.Gauge().DataPoints().At(0).DoubleValue())

	assert.Equal(t, "ms", first["jvm.gc.pause.total"].Unit())
	assert.Equal(t, 250.0, first["jvm.gc.pause.total"].Sum().DataPoints().At(0).DoubleValue())
	assert.Equal(t, "ms", first["queue.wait.duration"].Unit())
	assertAttr(t, sink.AllMetrics()[0].ResourceMetrics().At(0).Resource().Attributes(), "cloud.region", "eu-west-1")
}

// logsConfig keys log records by a record attribute and writes onto records.
func logsConfig() *Config {
	cfg := goldenConfig()
	cfg.Keys = []KeyRule{
		{Attributes: []KeyPart{{From: ContextRecord, Attribute: "peer.service"}, {From: ContextResource, Attribute: "deployment.environment.name"}}},
		{Attributes: []KeyPart{{From: ContextRecord, Attribute: "peer.service"}}},
	}
	cfg.Target = ContextRecord
	cfg.Action = ActionUpsert
	return cfg
}

func goldenLogsInput() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	_ = rl.Resource().Attributes().FromRaw(map[string]any{"service.name": "frontend", "deployment.environment.name": "prod"})
	sl := rl.ScopeLogs().AppendEmpty()
	for i, peer := range []string{"checkout", "inventory", ""} {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(ts(i))
		lr.Body().SetStr("upstream call slow")
		if peer != "" {
			lr.Attributes().PutStr("peer.service", peer)
		}
		// Upsert replaces what the record had.
		lr.Attributes().PutStr("cloud.region", "stale")
	}
	return ld
}

func TestLogsGolden(t *testing.T) {
	p, sink := startLogs(t, logsConfig())
	require.NoError(t, p.ConsumeLogs(context.Background(), goldenLogsInput()))
	require.Len(t, sink.AllLogs(), 1)
	got := sink.AllLogs()[0]
	file := filepath.Join("testdata", "logs", "expected.yaml")
	if *update {
		require.NoError(t, golden.WriteLogs(t, file, got))
	}
	want, err := golden.ReadLogs(file)
	require.NoError(t, err)
	require.NoError(t, plogtest.CompareLogs(want, got))

	lrs := got.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	assertAttr(t, lrs.At(0).Attributes(), "cloud.region", "eu-west-1")
	assertAttr(t, lrs.At(1).Attributes(), "cloud.region", "stale") // miss: no default for region
	assertAttr(t, lrs.At(1).Attributes(), "latencywatch.owner.team", "unowned")
	_, onResource := got.ResourceLogs().At(0).Resource().Attributes().Get("cloud.region")
	assert.False(t, onResource, "record target must not touch the resource")
}
