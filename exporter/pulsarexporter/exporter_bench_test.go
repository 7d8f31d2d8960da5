package pulsarexporter

import (
	"context"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/latencywatch/latencywatch/exporter/pulsarexporter/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/pulsarclient"
)

// instantProducer acknowledges in the calling goroutine: the benchmark
// measures the exporter's own cost (routing, encoding, awaiting).
type instantProducer struct{}

func (instantProducer) SendAsync(_ context.Context, m *pulsar.ProducerMessage, cb func(pulsar.MessageID, *pulsar.ProducerMessage, error)) {
	cb(nil, m, nil)
}
func (instantProducer) Close() {}

func benchExporter(b *testing.B, mutate func(*Config)) *pulsarExporter {
	cfg := createDefaultConfig().(*Config)
	mutate(cfg)
	e := newExporter(cfg, exportertest.NewNopSettings(metadata.Type), cfg.Traces)
	e.newClient = func(context.Context) (*pulsarclient.Client, producerFactory, error) {
		return nil, func(string) (producer, error) { return instantProducer{}, nil }, nil
	}
	if err := e.start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.shutdown(context.Background()) })
	return e
}

func BenchmarkExportTraces(b *testing.B) {
	for _, bc := range []struct {
		name   string
		mutate func(*Config)
	}{
		{"static_topic", func(*Config) {}},
		{"trace_id_key", func(c *Config) { c.Traces.MessageKey = KeyTraceID }},
		{"topic_from_attribute", func(c *Config) { c.TopicFromAttribute = "resource-attr" }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := benchExporter(b, bc.mutate)
			td := testdata.GenerateTraces(1000)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := e.exportTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkExportMetricsSeriesKey(b *testing.B) {
	e := benchExporter(b, func(c *Config) { c.Metrics.MessageKey = KeyMetricSeries })
	e.signal = e.cfg.Metrics
	md := testdata.GenerateMetrics(200)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := e.exportMetrics(ctx, md); err != nil {
			b.Fatal(err)
		}
	}
}
