package latencyenrichprocessor

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/attributesprocessor"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
)

const (
	benchResources = 10
	benchSpans     = 100 // per resource: 1000 spans per batch
)

// benchTraces is one batch: 10 services x 100 spans, each span with a
// peer.service and a few attributes of its own.
func benchTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	for r := range benchResources {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "svc-"+strconv.Itoa(r))
		rs.Resource().Attributes().PutStr("deployment.environment.name", "prod")
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for s := range benchSpans {
			sp := spans.AppendEmpty()
			sp.SetName("GET /items")
			sp.Attributes().PutStr("peer.service", "svc-"+strconv.Itoa(s%benchResources))
			sp.Attributes().PutStr("http.route", "/items")
			sp.Attributes().PutInt("http.response.status_code", 200)
		}
	}
	return td
}

func startBench(b *testing.B, f processor.Factory, cfg any) processor.Traces {
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
	require.NoError(b, err)
	require.NoError(b, p.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, p.Shutdown(context.Background())) })
	return p
}

func attributesConfig(n int) any {
	f := attributesprocessor.NewFactory()
	cfg := f.CreateDefaultConfig()
	// The attributes processor config is built through its exported shape,
	// exactly as a user would write it in YAML.
	actions := make([]map[string]any, n)
	for i := range n {
		actions[i] = map[string]any{"key": "meta.attr" + strconv.Itoa(i), "value": "value-" + strconv.Itoa(i), "action": "upsert"}
	}
	mustUnmarshal(cfg, map[string]any{"actions": actions})
	return cfg
}

func enrichConfig(n int, target string, keyFrom string) *Config {
	cfg := createDefaultConfig().(*Config)
	attr := "service.name"
	if keyFrom == ContextRecord {
		attr = "peer.service"
	}
	cfg.Keys = []KeyRule{{Attributes: []KeyPart{{From: keyFrom, Attribute: attr}}}}
	cfg.Target = target
	cfg.Action = ActionUpsert
	values := map[string]any{}
	for i := range n {
		col := "c" + strconv.Itoa(i)
		cfg.Attributes = append(cfg.Attributes, AttributeConfig{Column: col, Name: "meta.attr" + strconv.Itoa(i)})
		values[col] = "value-" + strconv.Itoa(i)
	}
	rows := make([]InlineRow, benchResources)
	for r := range rows {
		rows[r] = InlineRow{Key: "svc-" + strconv.Itoa(r), Values: values}
	}
	cfg.Table.Inline = configoptional.Some(InlineConfig{Rows: rows})
	return cfg
}

// BenchmarkEnrichVsAttributes upserts the same N static attributes onto every
// span of a 1000-span batch, with the contrib attributes processor and with
// latency_enrich looking them up in its table, in the same run. Both process
// the same batch repeatedly (upsert overwrites in place, so every iteration
// does the same work).
func BenchmarkEnrichVsAttributes(b *testing.B) {
	for _, n := range []int{4, 8} {
		b.Run(fmt.Sprintf("attrs=%d/attributes_processor", n), func(b *testing.B) {
			p := startBench(b, attributesprocessor.NewFactory(), attributesConfig(n))
			td := benchTraces()
			b.ReportAllocs()
			for b.Loop() {
				_ = p.ConsumeTraces(context.Background(), td)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(td.SpanCount()), "ns/span")
		})
		for _, v := range []struct{ name, target, key string }{
			{"latency_enrich_record_target_resource_key", ContextRecord, ContextResource},
			{"latency_enrich_record_target_record_key", ContextRecord, ContextRecord},
			{"latency_enrich_resource_target", ContextResource, ContextResource},
		} {
			b.Run(fmt.Sprintf("attrs=%d/%s", n, v.name), func(b *testing.B) {
				p := startBench(b, NewFactory(), enrichConfig(n, v.target, v.key))
				td := benchTraces()
				b.ReportAllocs()
				for b.Loop() {
					_ = p.ConsumeTraces(context.Background(), td)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(td.SpanCount()), "ns/span")
			})
		}
	}
}

// bigTable returns an enricher over a 100k-row table (4 columns each) keyed by
// service.name|deployment.environment.name.
func bigTable(b *testing.B, rows int) (*enricher, float64) {
	cfg := createDefaultConfig().(*Config)
	cfg.Keys = []KeyRule{{Attributes: []KeyPart{{From: ContextRecord, Attribute: "peer.service"}, {From: ContextResource, Attribute: "deployment.environment.name"}}}}
	cfg.Target = ContextRecord
	cfg.Attributes = []AttributeConfig{{Column: "region"}, {Column: "zone"}, {Column: "version"}, {Column: "team"}}
	cfg.Table.Inline = configoptional.Some(InlineConfig{})
	e, err := newEnricher(processortest.NewNopSettings(NewFactory().Type()), cfg)
	require.NoError(b, err)
	// Heap held by the table: measured from before the rows are built, so
	// it counts keys, projected values and the map, not the discarded input.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	batch := make([]metadatatable.Row, rows)
	for i := range batch {
		batch[i] = metadatatable.Row{Key: "svc-" + strconv.Itoa(i) + "|prod", Columns: map[string]metadatatable.Value{
			"region": metadatatable.StringValue("region-" + strconv.Itoa(i%20)), "zone": metadatatable.StringValue("zone-" + strconv.Itoa(i%60)),
			"version": metadatatable.StringValue("1." + strconv.Itoa(i%100)), "team": metadatatable.StringValue("team-" + strconv.Itoa(i%300)),
		}}
	}
	e.table.Replace(batch)
	batch = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Equal(b, rows, e.table.Len())
	return e, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(1<<20)
}

// BenchmarkLookup100k measures composite-key lookups in a 100k-row table:
// one lookup per span, keys spread over the whole table.
func BenchmarkLookup100k(b *testing.B) {
	const rows = 100_000
	e, tableMiB := bigTable(b, rows)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("deployment.environment.name", "prod")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	const batch = 1000
	for i := range batch {
		// A stride that walks the table, plus 10% misses.
		key := "svc-" + strconv.Itoa((i*7919)%rows)
		if i%10 == 9 {
			key = "unknown-" + strconv.Itoa(i)
		}
		spans.AppendEmpty().Attributes().PutStr("peer.service", key)
	}
	b.Run("lookup_only", func(b *testing.B) {
		bs := &batchState{}
		res := rs.Resource().Attributes()
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			for i := 0; i < batch; i++ {
				if e.lookup(bs, res, spans.At(i).Attributes()) != nil {
					n++
				}
			}
		}
		require.Positive(b, n)
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "lookups/s")
		b.ReportMetric(tableMiB, "table-MiB")
	})
	b.Run("enrich_batch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = e.processTraces(context.Background(), td)
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "spans/s")
	})
}

// BenchmarkEnrichVsAttributesPaired runs both processors inside every
// iteration (alternating which goes first) and times each, so load changes on
// a shared machine hit both equally. It reports each side's ns/span and the
// ratio latency_enrich / attributes (target <= 1.0).
func BenchmarkEnrichVsAttributesPaired(b *testing.B) {
	for _, n := range []int{4, 8} {
		for _, v := range []struct{ name, target, key string }{
			{"record_target_resource_key", ContextRecord, ContextResource},
			{"record_target_record_key", ContextRecord, ContextRecord},
		} {
			b.Run(fmt.Sprintf("attrs=%d/%s", n, v.name), func(b *testing.B) {
				attrs := startBench(b, attributesprocessor.NewFactory(), attributesConfig(n))
				enrich := startBench(b, NewFactory(), enrichConfig(n, v.target, v.key))
				tdA, tdE := benchTraces(), benchTraces()
				var attrsNs, enrichNs int64
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					if i%2 == 0 {
						t0 := nanotime()
						_ = attrs.ConsumeTraces(context.Background(), tdA)
						t1 := nanotime()
						_ = enrich.ConsumeTraces(context.Background(), tdE)
						attrsNs += t1 - t0
						enrichNs += nanotime() - t1
					} else {
						t0 := nanotime()
						_ = enrich.ConsumeTraces(context.Background(), tdE)
						t1 := nanotime()
						_ = attrs.ConsumeTraces(context.Background(), tdA)
						enrichNs += t1 - t0
						attrsNs += nanotime() - t1
					}
					i++
				}
				spans := float64(b.N * tdA.SpanCount())
				b.ReportMetric(float64(attrsNs)/spans, "attrs-ns/span")
				b.ReportMetric(float64(enrichNs)/spans, "enrich-ns/span")
				b.ReportMetric(float64(enrichNs)/float64(attrsNs), "ratio")
			})
		}
	}
}

// BenchmarkLatencyMetrics measures the metrics path on latency histograms:
// enrichment, ms -> s normalisation, and p50/p95/p99 derived per interval
// from cumulative points (100 series per batch, every batch one interval on).
func BenchmarkLatencyMetrics(b *testing.B) {
	cfg := enrichConfig(4, ContextResource, ContextResource)
	cfg.Metrics.NormalizeUnits = true
	cfg.Metrics.Quantiles = []float64{0.5, 0.95, 0.99}
	p, err := NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(NewFactory().Type()), cfg, consumertest.NewNop())
	require.NoError(b, err)
	require.NoError(b, p.Start(context.Background(), componenttest.NewNopHost()))
	b.Cleanup(func() { require.NoError(b, p.Shutdown(context.Background())) })
	const series = 100
	batch := func(step int) pmetric.Metrics {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "svc-1")
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("http.server.request.duration")
		m.SetUnit("ms")
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		for s := range series {
			dp := h.DataPoints().AppendEmpty()
			dp.Attributes().PutStr("http.route", "/r"+strconv.Itoa(s))
			dp.SetStartTimestamp(1)
			dp.SetTimestamp(pcommon.Timestamp(1 + step))
			dp.ExplicitBounds().FromRaw([]float64{5, 10, 25, 50, 100, 250, 500, 1000})
			c := uint64(step + 1)
			dp.BucketCounts().FromRaw([]uint64{c, 2 * c, 4 * c, 8 * c, 4 * c, 2 * c, c, c, 0})
			dp.SetCount(23 * c)
			dp.SetSum(float64(c) * 1000)
		}
		return md
	}
	step := 0
	require.NoError(b, p.ConsumeMetrics(context.Background(), batch(step))) // primes the series
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		step++
		md := batch(step)
		b.StartTimer()
		_ = p.ConsumeMetrics(context.Background(), md)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/series, "ns/histogram")
}
