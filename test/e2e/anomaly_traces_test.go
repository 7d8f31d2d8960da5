//go:build integration

package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
)

// histogramSink keeps the anomaly attributes of every histogram point of one
// metric, in arrival order.
type histogramSink struct {
	pmetricotlp.UnimplementedGRPCServer
	addr   string
	metric string

	mu     sync.Mutex
	scored int // points carrying latencywatch.anomaly.score
	points int
	flags  []bool // latencywatch.anomaly.flag of the scored points
}

func newHistogramSink(t *testing.T, metric string) *histogramSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &histogramSink{addr: l.Addr().String(), metric: metric}
	srv := grpc.NewServer()
	pmetricotlp.RegisterGRPCServer(srv, s)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return s
}

func (s *histogramSink) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rm := range req.Metrics().ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() != s.metric || m.Type() != pmetric.MetricTypeHistogram {
					continue
				}
				for _, dp := range m.Histogram().DataPoints().All() {
					s.points++
					if _, ok := dp.Attributes().Get("latencywatch.anomaly.score"); ok {
						s.scored++
						f, _ := dp.Attributes().Get("latencywatch.anomaly.flag")
						s.flags = append(s.flags, f.Bool())
					}
				}
			}
		}
	}
	return pmetricotlp.NewExportResponse(), nil
}

func (s *histogramSink) state() (points, scored int, flags []bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.points, s.scored, append([]bool(nil), s.flags...)
}

// TestE2EAnomalyFromSpans is the sidecar's traces path of DESIGN.md: spans →
// span_metrics connector (cumulative duration histograms) → tf_anomaly
// (per-interval p99 of each series, scored by the embedded model) → OTLP.
// Steady 80 ms spans warm the series up without flags; 800 ms spans are flagged.
func TestE2EAnomalyFromSpans(t *testing.T) {
	const metric = "traces.span.metrics.duration"
	sink := newHistogramSink(t, metric)
	otlpPort := freePort(t)
	startCollector(t, `
extensions:
  health_check:
    endpoint: 127.0.0.1:${HEALTH_PORT}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${OTLP_PORT}
connectors:
  spanmetrics:
    histogram:
      explicit:
        buckets: [10ms, 25ms, 50ms, 75ms, 100ms, 150ms, 250ms, 500ms, 750ms, 1s, 2s, 5s]
    metrics_flush_interval: 100ms
processors:
  tf_anomaly:
    include:
      metric_names: ["^traces\\.span\\.metrics\\.duration$"]
      types: [histogram]
    series_attributes: [service.name, span.name]
    histogram_statistic: p99
exporters:
  otlp_grpc:
    endpoint: ${SINK}
    tls: {insecure: true}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces: {receivers: [otlp], exporters: [spanmetrics]}
    metrics: {receivers: [spanmetrics], processors: [tf_anomaly], exporters: [otlp_grpc]}
`, map[string]string{"OTLP_PORT": fmt.Sprint(otlpPort), "SINK": sink.addr})
	client := newOTLPClient(t, fmt.Sprintf("127.0.0.1:%d", otlpPort))

	id := uint64(0)
	span := func(d time.Duration) ptrace.Traces {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "checkout")
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		id++
		var tid [16]byte
		var sid [8]byte
		binary.BigEndian.PutUint64(tid[8:], id)
		binary.BigEndian.PutUint64(sid[:], id)
		sp.SetTraceID(pcommon.TraceID(tid))
		sp.SetSpanID(sid)
		sp.SetName("POST /pay")
		sp.SetKind(ptrace.SpanKindServer)
		end := time.Now()
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-d)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		return td
	}
	// Steady traffic until the series is past its 64-point warm-up with room to
	// spare (spans every 25 ms, histograms flushed every 100 ms).
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, scored, _ := sink.state()
		if scored >= 20 {
			break
		}
		if time.Now().After(deadline) {
			points, scored, _ := sink.state()
			t.Fatalf("series not scored after 90s of steady spans: %d histogram points, %d scored", points, scored)
		}
		client.sendTraces(t, []ptrace.Traces{span(80 * time.Millisecond)})
		time.Sleep(25 * time.Millisecond)
	}
	_, _, steadyFlags := sink.state()
	for i, f := range steadyFlags {
		if f {
			t.Fatalf("steady 80 ms traffic flagged at scored point %d of %d", i+1, len(steadyFlags))
		}
	}
	// The incident: 800 ms spans for 2 s.
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		client.sendTraces(t, []ptrace.Traces{span(800 * time.Millisecond)})
		time.Sleep(25 * time.Millisecond)
	}
	eventually(t, 30*time.Second, "an 800 ms span interval flagged", func() (bool, string) {
		_, scored, flags := sink.state()
		n := 0
		for _, f := range flags[len(steadyFlags):] {
			if f {
				n++
			}
		}
		return n > 0, fmt.Sprintf("%d scored points, none of the %d since the incident began flagged", scored, len(flags)-len(steadyFlags))
	})
}
