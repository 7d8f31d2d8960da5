package latencyenrichprocessor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/filesource"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
)

// gatedSource becomes ready only when release is closed, like a broker-backed
// source catching up.
type gatedSource struct {
	table   *metadatatable.Table
	release chan struct{}
	stopped chan struct{}
}

func (g *gatedSource) Start(context.Context) error {
	go func() {
		select {
		case <-g.release:
			_ = g.table.Upsert(metadatatable.Row{Key: "checkout", Columns: map[string]metadatatable.Value{"region": metadatatable.StringValue("eu-west-1")}})
			g.table.MarkReady()
		case <-g.stopped:
		}
	}()
	return nil
}

func (g *gatedSource) Shutdown(context.Context) error {
	select {
	case <-g.stopped:
	default:
		close(g.stopped)
	}
	return nil
}

func simpleConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Keys = []KeyRule{{Attributes: []KeyPart{{From: ContextResource, Attribute: "service.name"}}}}
	cfg.Attributes = []AttributeConfig{{Column: "region"}}
	cfg.Table.Inline = configoptional.Some(InlineConfig{})
	return cfg
}

func gatedTraces(t *testing.T, cfg *Config) (*enricher, *gatedSource, func(*statusHost) error, *consumertest.TracesSink) {
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), settings(), cfg, sink)
	require.NoError(t, err)
	enrichers.Lock()
	e := enrichers.m[cfg]
	enrichers.Unlock()
	g := &gatedSource{table: e.table, release: make(chan struct{}), stopped: make(chan struct{})}
	e.newSource = func() (metadatatable.Source, error) { return g, nil }
	start := func(h *statusHost) error { return p.Start(context.Background(), h) }
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return e, g, start, sink
}

func TestWaitForReadyTimeout(t *testing.T) {
	cfg := simpleConfig()
	cfg.WaitForReady = true
	cfg.WaitForReadyTimeout = 50 * time.Millisecond
	e, g, start, _ := gatedTraces(t, cfg)
	e.reportAsyncError(errors.New("dial tcp 127.0.0.1:9092: connection refused"))
	err := start(newStatusHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not ready within wait_for_ready_timeout (50ms); last source error: dial tcp 127.0.0.1:9092: connection refused")
	select {
	case <-g.stopped:
	default:
		t.Fatal("the source must be shut down when Start gives up")
	}
}

func TestWaitForReadySucceeds(t *testing.T) {
	cfg := simpleConfig()
	cfg.WaitForReady = true
	cfg.WaitForReadyTimeout = 10 * time.Second
	e, g, start, _ := gatedTraces(t, cfg)
	go func() { time.Sleep(20 * time.Millisecond); close(g.release) }()
	require.NoError(t, start(newStatusHost()))
	assert.Equal(t, 1, e.table.Len(), "Start returned only after the table loaded")
}

func TestStatusUntilReady(t *testing.T) {
	e, g, start, sink := gatedTraces(t, simpleConfig())
	host := newStatusHost()
	require.NoError(t, start(host))
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, host.statuses())

	// Before ready, records pass through unenriched.
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("service.name", "checkout")
	require.NoError(t, e.consumeForTest(td, sink))
	_, has := sink.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes().Get("cloud.region")
	assert.False(t, has)

	close(g.release)
	require.Eventually(t, func() bool {
		s := host.statuses()
		return len(s) == 2 && s[1] == componentstatus.StatusOK
	}, 5*time.Second, 5*time.Millisecond)
}

// consumeForTest runs the traces path directly and hands the result to sink.
func (e *enricher) consumeForTest(td ptrace.Traces, sink *consumertest.TracesSink) error {
	out, err := e.processTraces(context.Background(), td)
	if err != nil {
		return err
	}
	return sink.ConsumeTraces(context.Background(), out)
}

func TestRecordTargetAndUpdateAction(t *testing.T) {
	cfg := simpleConfig()
	cfg.Keys = []KeyRule{{Attributes: []KeyPart{{From: ContextRecord, Attribute: "peer.service"}}}}
	cfg.Target = ContextRecord
	cfg.Action = ActionUpdate
	cfg.Attributes = []AttributeConfig{{Column: "region", Default: "unknown"}, {Column: "tier", Name: "svc.tier"}}
	cfg.Table.Inline = configoptional.Some(InlineConfig{Rows: []InlineRow{{Key: "db", Values: map[string]any{"region": "eu", "tier": 1}}}})
	p, sink := startTraces(t, cfg)
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	s0 := spans.AppendEmpty()
	s0.Attributes().PutStr("peer.service", "db")
	s0.Attributes().PutStr("cloud.region", "old")
	s1 := spans.AppendEmpty()
	s1.Attributes().PutStr("peer.service", "db") // no cloud.region: update writes nothing
	s2 := spans.AppendEmpty()
	s2.Attributes().PutStr("peer.service", "cache")
	s2.Attributes().PutStr("cloud.region", "old") // miss: update with the default
	require.NoError(t, p.ConsumeTraces(context.Background(), td))
	out := sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	assertAttr(t, out.At(0).Attributes(), "cloud.region", "eu")
	_, has := out.At(1).Attributes().Get("cloud.region")
	assert.False(t, has)
	_, has = out.At(1).Attributes().Get("svc.tier")
	assert.False(t, has)
	assertAttr(t, out.At(2).Attributes(), "cloud.region", "unknown")
}

func TestNonStringKeyAttributes(t *testing.T) {
	cfg := simpleConfig()
	cfg.Keys = []KeyRule{{Attributes: []KeyPart{{From: ContextResource, Attribute: "shard"}, {From: ContextResource, Attribute: "primary"}}}}
	cfg.Table.Inline = configoptional.Some(InlineConfig{Rows: []InlineRow{{Key: "7|true", Values: map[string]any{"region": "eu"}}}})
	p, sink := startTraces(t, cfg)
	td := ptrace.NewTraces()
	res := td.ResourceSpans().AppendEmpty().Resource().Attributes()
	res.PutInt("shard", 7)
	res.PutBool("primary", true)
	require.NoError(t, p.ConsumeTraces(context.Background(), td))
	assertAttr(t, sink.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes(), "cloud.region", "eu")
}

func TestSharedAcrossSignals(t *testing.T) {
	cfg := simpleConfig()
	starts := 0
	tp, err := NewFactory().CreateTraces(context.Background(), settings(), cfg, consumertest.NewNop())
	require.NoError(t, err)
	mp, err := NewFactory().CreateMetrics(context.Background(), settings(), cfg, consumertest.NewNop())
	require.NoError(t, err)
	enrichers.Lock()
	e := enrichers.m[cfg]
	enrichers.Unlock()
	inner := e.newSource
	e.newSource = func() (metadatatable.Source, error) { starts++; return inner() }
	host := componenttest.NewNopHost()
	require.NoError(t, tp.Start(context.Background(), host))
	require.NoError(t, mp.Start(context.Background(), host))
	assert.Equal(t, 1, starts, "one table source per component, not per signal")
	require.NoError(t, tp.Shutdown(context.Background()))
	enrichers.Lock()
	_, still := enrichers.m[cfg]
	enrichers.Unlock()
	assert.True(t, still, "the metrics pipeline still uses it")
	require.NoError(t, mp.Shutdown(context.Background()))
	require.NoError(t, mp.Shutdown(context.Background()), "shutdown is idempotent")
}

func TestShutdownBeforeStart(t *testing.T) {
	p, err := NewFactory().CreateLogs(context.Background(), settings(), simpleConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Shutdown(context.Background()))
}

func sumOf(t *testing.T, tel *componenttest.Telemetry, name string, attrs ...string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err, name)
	var total int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		match := true
		for i := 0; i+1 < len(attrs); i += 2 {
			v, ok := dp.Attributes.Value(attributeKey(attrs[i]))
			match = match && ok && v.AsString() == attrs[i+1]
		}
		if match {
			total += dp.Value
		}
	}
	return total
}

func TestInternalTelemetry(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"checkout":{"region":"eu"},"bad":{"region":[1]},"slow":{"region":"us","slo":"x"}}`), 0o600))
	cfg := simpleConfig()
	cfg.Table.Inline = configoptional.None[InlineConfig]()
	cfg.Table.File = configoptional.Some(filesource.Config{Path: path, KeyColumn: "key"})
	cfg.SLO.ThresholdColumn = "slo"

	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := settings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	p, err := NewFactory().CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })

	td := ptrace.NewTraces()
	for _, svc := range []string{"checkout", "checkout", "nope"} {
		td.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("service.name", svc)
	}
	require.NoError(t, p.ConsumeTraces(context.Background(), td))

	assert.Equal(t, int64(2), sumOf(t, tel, "otelcol_latency_enrich_lookups", "result", "hit"))
	assert.Equal(t, int64(1), sumOf(t, tel, "otelcol_latency_enrich_lookups", "result", "miss"))
	assert.Equal(t, int64(2), sumOf(t, tel, "otelcol_latency_enrich_rows_bad", "reason", "wrong_type"))
	assert.Equal(t, int64(1), sumOf(t, tel, "otelcol_latency_enrich_rows_applied"))
	assert.Equal(t, int64(1), sumOf(t, tel, "otelcol_latency_enrich_source_reloads", "result", "success"))
	size, err := tel.GetMetric("otelcol_latency_enrich_table_size")
	require.NoError(t, err)
	assert.Equal(t, int64(1), size.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
	ready, err := tel.GetMetric("otelcol_latency_enrich_table_ready")
	require.NoError(t, err)
	assert.Equal(t, int64(1), ready.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
}

func attributeKey(s string) attribute.Key { return attribute.Key(s) }

func TestStatusFollowsSourceErrorsAndRecovery(t *testing.T) {
	e, g, start, _ := gatedTraces(t, simpleConfig())
	host := newStatusHost()
	require.NoError(t, start(host))
	e.reportAsyncError(nil) // recovery before ready is not OK yet
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, host.statuses())
	close(g.release)
	require.Eventually(t, func() bool { return len(host.statuses()) == 2 }, 5*time.Second, 5*time.Millisecond)
	e.reportAsyncError(errors.New("broker unreachable"))
	e.reportAsyncError(nil)
	assert.Equal(t, []componentstatus.Status{
		componentstatus.StatusRecoverableError, // loading
		componentstatus.StatusOK,               // ready
		componentstatus.StatusRecoverableError, // broker error
		componentstatus.StatusOK,               // recovered
	}, host.statuses())
}
