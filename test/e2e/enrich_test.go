//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/latencywatch/latencywatch/internal/testbrokers"
)

// enrichSink is an OTLP/gRPC server keeping whole batches, so the test can
// look at the attributes latency_enrich wrote.
type enrichSink struct {
	ptraceotlp.UnimplementedGRPCServer
	addr    string
	mu      sync.Mutex
	traces  []ptrace.Traces
	metrics []pmetric.Metrics
}

type enrichSinkMetrics struct {
	pmetricotlp.UnimplementedGRPCServer
	s *enrichSink
}

func newEnrichSink(t *testing.T) *enrichSink {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &enrichSink{addr: l.Addr().String()}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, s)
	pmetricotlp.RegisterGRPCServer(srv, &enrichSinkMetrics{s: s})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return s
}

func (s *enrichSink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	td := ptrace.NewTraces()
	req.Traces().CopyTo(td)
	s.mu.Lock()
	s.traces = append(s.traces, td)
	s.mu.Unlock()
	return ptraceotlp.NewExportResponse(), nil
}

func (m *enrichSinkMetrics) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	md := pmetric.NewMetrics()
	req.Metrics().CopyTo(md)
	m.s.mu.Lock()
	m.s.metrics = append(m.s.metrics, md)
	m.s.mu.Unlock()
	return pmetricotlp.NewExportResponse(), nil
}

// spansFor returns the resource attributes and spans received for a trace
// carrying the given "probe" resource attribute.
func (s *enrichSink) spansFor(probe string) (pcommon.Map, ptrace.SpanSlice, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, td := range s.traces {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			if v, ok := rs.Resource().Attributes().Get("probe"); ok && v.Str() == probe {
				return rs.Resource().Attributes(), rs.ScopeSpans().At(0).Spans(), true
			}
		}
	}
	return pcommon.Map{}, ptrace.SpanSlice{}, false
}

func (s *enrichSink) metricNamed(name string) (pmetric.Metric, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, md := range s.metrics {
		for i := 0; i < md.ResourceMetrics().Len(); i++ {
			sms := md.ResourceMetrics().At(i).ScopeMetrics()
			for j := 0; j < sms.Len(); j++ {
				ms := sms.At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					if ms.At(k).Name() == name {
						return ms.At(k), true
					}
				}
			}
		}
	}
	return pmetric.Metric{}, false
}

func enrichTraces(probe string, durations ...time.Duration) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	rs.Resource().Attributes().PutStr("deployment.environment.name", "prod")
	rs.Resource().Attributes().PutStr("probe", probe)
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	start := time.Now().Add(-time.Second)
	for i, d := range durations {
		sp := spans.AppendEmpty()
		sp.SetName("GET /cart")
		sp.SetTraceID(pcommon.TraceID{byte(i + 1)})
		sp.SetSpanID(pcommon.SpanID{byte(i + 1)})
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(d)))
	}
	return td
}

func enrichMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	rm.Resource().Attributes().PutStr("deployment.environment.name", "prod")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("http.server.request.duration")
	m.SetUnit("ms")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := h.DataPoints().AppendEmpty()
	now := time.Now()
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Minute)))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(now))
	dp.ExplicitBounds().FromRaw([]float64{10, 100, 1000})
	dp.BucketCounts().FromRaw([]uint64{0, 10, 0, 0})
	dp.SetCount(10)
	dp.SetSum(500)
	return md
}

func putRow(t *testing.T, p sarama.SyncProducer, topic, key string, row map[string]any) {
	b, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(b)}); err != nil {
		t.Fatalf("writing metadata row %q: %v", key, err)
	}
}

const enrichConfig = `
extensions:
  health_check:
    endpoint: 127.0.0.1:${HEALTH_PORT}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${OTLP_PORT}
processors:
  latency_enrich:
    keys:
      - attributes:
          - {from: resource, attribute: service.name}
          - {from: resource, attribute: deployment.environment.name}
    attributes:
      - {column: region}
      - {column: team, default: unowned}
    slo: {threshold_column: slo_threshold_seconds}
    metadata_attributes: {version: true}
    metrics: {normalize_units: true, quantiles: [0.5, 0.99]}
    wait_for_ready: true
    wait_for_ready_timeout: 60s
    table:
      kafka:
        brokers: ["${BROKERS}"]
        topic: ${TOPIC}
exporters:
  otlp_grpc:
    endpoint: ${SINK}
    tls: {insecure: true}
    compression: none
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces: {receivers: [otlp], processors: [latency_enrich], exporters: [otlp_grpc]}
    metrics: {receivers: [otlp], processors: [latency_enrich], exporters: [otlp_grpc]}
`

// TestE2EEnrichKafka: the built binary joins OTLP traces and metrics with a
// metadata table from a real compacted Kafka topic, follows updates, and
// rebuilds the table from the topic after a restart.
func TestE2EEnrichKafka(t *testing.T) {
	brokers := testbrokers.Kafka(t)
	topic := fmt.Sprintf("lw-e2e-enrich-%d", time.Now().UnixNano())
	sc := sarama.NewConfig()
	sc.Version = sarama.V3_7_0_0
	sc.Producer.Return.Successes = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	admin, err := sarama.NewClusterAdmin(strings.Split(brokers, ","), sc)
	if err != nil {
		t.Fatal(err)
	}
	compact := "compact"
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"cleanup.policy": &compact}}, false); err != nil {
		t.Fatal(err)
	}
	_ = admin.Close()
	producer, err := sarama.NewSyncProducer(strings.Split(brokers, ","), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	putRow(t, producer, topic, "checkout|prod", map[string]any{"region": "eu-west-1", "team": "payments", "slo_threshold_seconds": 0.25, "metadata_version": "v1"})

	sink := newEnrichSink(t)
	otlpPort := freePort(t)
	vars := map[string]string{"OTLP_PORT": fmt.Sprint(otlpPort), "BROKERS": brokers, "TOPIC": topic, "SINK": sink.addr}
	c := startCollector(t, enrichConfig, vars)
	client := newOTLPClient(t, fmt.Sprintf("127.0.0.1:%d", otlpPort))

	client.sendTraces(t, []ptrace.Traces{enrichTraces("first", 100*time.Millisecond, 400*time.Millisecond)})
	var res pcommon.Map
	var spans ptrace.SpanSlice
	eventually(t, 30*time.Second, "enriched trace arrives", func() (bool, string) {
		var ok bool
		res, spans, ok = sink.spansFor("first")
		return ok, "not yet"
	})
	wantAttr(t, res, "cloud.region", "eu-west-1")
	wantAttr(t, res, "latencywatch.owner.team", "payments")
	wantAttr(t, res, "latencywatch.metadata.version", "v1")
	wantAttr(t, spans.At(0).Attributes(), "latencywatch.slo.breach", "false")
	wantAttr(t, spans.At(1).Attributes(), "latencywatch.slo.breach", "true")

	client.sendMetrics(t, []pmetric.Metrics{enrichMetrics()})
	eventually(t, 30*time.Second, "derived p50 arrives", func() (bool, string) {
		_, ok := sink.metricNamed("http.server.request.duration.p50")
		return ok, "not yet"
	})
	h, _ := sink.metricNamed("http.server.request.duration")
	if h.Unit() != "s" || h.Histogram().DataPoints().At(0).ExplicitBounds().At(0) != 0.01 {
		t.Errorf("histogram not normalised to seconds: unit %q bounds %v", h.Unit(), h.Histogram().DataPoints().At(0).ExplicitBounds().AsRaw())
	}
	p50, _ := sink.metricNamed("http.server.request.duration.p50")
	// 10 observations in (10,100] ms: the median interpolates to 55 ms.
	if got := p50.Gauge().DataPoints().At(0).DoubleValue(); got < 0.0549 || got > 0.0551 {
		t.Errorf("p50 = %v s, want 0.055", got)
	}

	// A live update reaches the running collector.
	putRow(t, producer, topic, "checkout|prod", map[string]any{"region": "eu-central-1", "team": "payments", "slo_threshold_seconds": 0.25, "metadata_version": "v2"})
	n := 0
	eventually(t, 30*time.Second, "update applied", func() (bool, string) {
		n++
		probe := fmt.Sprintf("update-%d", n)
		client.sendTraces(t, []ptrace.Traces{enrichTraces(probe, time.Millisecond)})
		time.Sleep(100 * time.Millisecond)
		r, _, ok := sink.spansFor(probe)
		if !ok {
			return false, "no trace yet"
		}
		v, _ := r.Get("cloud.region")
		return v.Str() == "eu-central-1", "region " + v.Str()
	})

	// Restart: the new process rebuilds the table from the compacted topic.
	c.stop(t)
	startCollector(t, enrichConfig, vars)
	client2 := newOTLPClient(t, fmt.Sprintf("127.0.0.1:%d", otlpPort))
	client2.sendTraces(t, []ptrace.Traces{enrichTraces("after-restart", time.Millisecond)})
	eventually(t, 30*time.Second, "trace after restart arrives", func() (bool, string) {
		var ok bool
		res, _, ok = sink.spansFor("after-restart")
		return ok, "not yet"
	})
	wantAttr(t, res, "cloud.region", "eu-central-1")
	wantAttr(t, res, "latencywatch.metadata.version", "v2")
}

func wantAttr(t *testing.T, m pcommon.Map, k, want string) {
	t.Helper()
	v, ok := m.Get(k)
	if !ok {
		t.Errorf("attribute %s missing (have %v)", k, m.AsRaw())
		return
	}
	if v.AsString() != want {
		t.Errorf("attribute %s = %q, want %q", k, v.AsString(), want)
	}
}

// TestE2EEnrichFileReload: the built binary reloads its metadata table file
// on change and keeps the last good table when the file turns invalid.
func TestE2EEnrichFileReload(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "table.yaml")
	writeTable := func(content string, mod time.Time) {
		if err := os.WriteFile(table, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(table, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Now().Add(-time.Hour)
	writeTable("checkout|prod: {region: eu-west-1, team: payments}\n", base)

	sink := newEnrichSink(t)
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
processors:
  latency_enrich:
    keys:
      - attributes:
          - {from: resource, attribute: service.name}
          - {from: resource, attribute: deployment.environment.name}
    attributes:
      - {column: region}
      - {column: team, default: unowned}
    table:
      file: {path: ${TABLE}, reload_interval: 100ms}
exporters:
  otlp_grpc:
    endpoint: ${SINK}
    tls: {insecure: true}
    compression: none
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces: {receivers: [otlp], processors: [latency_enrich], exporters: [otlp_grpc]}
`, map[string]string{"OTLP_PORT": fmt.Sprint(otlpPort), "TABLE": table, "SINK": sink.addr})
	client := newOTLPClient(t, fmt.Sprintf("127.0.0.1:%d", otlpPort))

	n := 0
	regionNow := func() string {
		n++
		probe := fmt.Sprintf("file-%d", n)
		client.sendTraces(t, []ptrace.Traces{enrichTraces(probe, time.Millisecond)})
		for range 50 {
			if r, _, ok := sink.spansFor(probe); ok {
				v, _ := r.Get("cloud.region")
				return v.Str()
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("trace %s never arrived", probe)
		return ""
	}
	if got := regionNow(); got != "eu-west-1" {
		t.Fatalf("initial table: cloud.region = %q, want eu-west-1", got)
	}
	writeTable("checkout|prod: {region: eu-central-1, team: payments}\n", base.Add(time.Second))
	eventually(t, 20*time.Second, "reloaded table applied", func() (bool, string) {
		got := regionNow()
		return got == "eu-central-1", "region " + got
	})
	writeTable("checkout|prod: {region: [broken\n", base.Add(2*time.Second))
	time.Sleep(500 * time.Millisecond) // several reload intervals
	if got := regionNow(); got != "eu-central-1" {
		t.Fatalf("after a broken edit: cloud.region = %q, want the last good eu-central-1", got)
	}
}
