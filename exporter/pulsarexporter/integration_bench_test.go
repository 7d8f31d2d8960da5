//go:build integration

package pulsarexporter

import (
	"context"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/latencywatch/latencywatch/exporter/pulsarexporter/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/pulsarclient"
	"github.com/latencywatch/latencywatch/internal/testbrokers"
)

// BenchmarkIntegrationPulsarThroughput compares, on the same broker, payload
// and parallelism, the exporter (route + encode + SendAsync + await every
// ack) with a raw pulsar-client-go producer doing the same work (encode +
// Send, which also waits for the ack). Both use the exporter's default
// producer options. Reported: spans/s and MB/s; the ratio is recorded in
// docs/benchmarks/pulsar.md.
func BenchmarkIntegrationPulsarThroughput(b *testing.B) {
	url, _ := testbrokers.Pulsar(b)
	const spansPerRequest = 100
	td := testdata.GenerateTraces(spansPerRequest)
	payload, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		b.Fatal(err)
	}

	b.Run("exporter", func(b *testing.B) {
		cfg := createDefaultConfig().(*Config)
		cfg.ServiceURL = url
		cfg.Traces.Topic = "persistent://public/default/bench-exporter-" + time.Now().Format("150405.000000")
		e := newExporter(cfg, exportertest.NewNopSettings(metadata.Type), cfg.Traces)
		if err := e.start(context.Background(), componenttest.NewNopHost()); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = e.shutdown(context.Background()) }()
		if err := e.exportTraces(context.Background(), td); err != nil { // connect outside the timing
			b.Fatal(err)
		}
		b.SetParallelism(8)
		b.SetBytes(int64(len(payload)))
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := e.exportTraces(context.Background(), td); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N*spansPerRequest)/time.Since(start).Seconds(), "spans/s")
	})

	b.Run("raw_producer", func(b *testing.B) {
		cfg := createDefaultConfig().(*Config)
		client, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, Logger: pulsarclient.NewLogger(nil)})
		if err != nil {
			b.Fatal(err)
		}
		defer client.Close()
		opts := (&pulsarExporter{cfg: cfg}).producerOptions()
		opts.Topic = "persistent://public/default/bench-raw-" + time.Now().Format("150405.000000")
		p, err := client.CreateProducer(opts)
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		marshaler := &ptrace.ProtoMarshaler{}
		b.SetParallelism(8)
		b.SetBytes(int64(len(payload)))
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				buf, err := marshaler.MarshalTraces(td)
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := p.Send(context.Background(), &pulsar.ProducerMessage{Payload: buf}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N*spansPerRequest)/time.Since(start).Seconds(), "spans/s")
	})
}
