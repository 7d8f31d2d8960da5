//go:build integration

package e2e

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // the otlp_grpc exporter compresses with gzip by default
)

// The generators below make N uniquely identifiable items spread over a few
// resources, so a test can tell exactly which ones were lost or duplicated.

var baseTime = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func itemResource(r pcommon.Resource, i int) {
	attrs := r.Attributes()
	attrs.PutStr("service.name", fmt.Sprintf("svc-%d", i%3))
	attrs.PutStr("cloud.region", []string{"eu-west-1", "us-east-1", "ap-south-1"}[i%3])
}

// makeTraces returns spans [from, from+n) in batches of `per` spans.
func makeTraces(from, n, per int) []ptrace.Traces {
	var out []ptrace.Traces
	for start := from; start < from+n; start += per {
		td := ptrace.NewTraces()
		for i := start; i < from+n && i < start+per; i++ {
			rs := td.ResourceSpans().AppendEmpty()
			itemResource(rs.Resource(), i)
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName("latencywatch.e2e")
			sp := ss.Spans().AppendEmpty()
			var tid [16]byte
			binary.BigEndian.PutUint64(tid[8:], uint64(i)+1)
			var sid [8]byte
			binary.BigEndian.PutUint64(sid[:], uint64(i)+1)
			sp.SetTraceID(pcommon.TraceID(tid))
			sp.SetSpanID(pcommon.SpanID(sid))
			sp.SetName(fmt.Sprintf("GET /item/%d", i))
			sp.SetKind(ptrace.SpanKindServer)
			st := baseTime.Add(time.Duration(i) * time.Millisecond)
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(st))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(st.Add(time.Duration(1+i%500) * time.Millisecond)))
			sp.Attributes().PutInt("item.index", int64(i))
			sp.Attributes().PutStr("http.route", "/item/{id}")
		}
		out = append(out, td)
	}
	return out
}

// makeMetrics returns gauge points [from, from+n) in batches of `per` points.
func makeMetrics(from, n, per int) []pmetric.Metrics {
	var out []pmetric.Metrics
	for start := from; start < from+n; start += per {
		md := pmetric.NewMetrics()
		for i := start; i < from+n && i < start+per; i++ {
			rm := md.ResourceMetrics().AppendEmpty()
			itemResource(rm.Resource(), i)
			sm := rm.ScopeMetrics().AppendEmpty()
			sm.Scope().SetName("latencywatch.e2e")
			m := sm.Metrics().AppendEmpty()
			m.SetName("http.server.request.duration")
			m.SetUnit("s")
			dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(baseTime.Add(time.Duration(i) * time.Second)))
			dp.SetDoubleValue(0.001 * float64(1+i%900))
			dp.Attributes().PutInt("item.index", int64(i))
		}
		out = append(out, md)
	}
	return out
}

// makeLogs returns log records [from, from+n) in batches of `per` records.
func makeLogs(from, n, per int) []plog.Logs {
	var out []plog.Logs
	for start := from; start < from+n; start += per {
		ld := plog.NewLogs()
		for i := start; i < from+n && i < start+per; i++ {
			rl := ld.ResourceLogs().AppendEmpty()
			itemResource(rl.Resource(), i)
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("latencywatch.e2e")
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(baseTime.Add(time.Duration(i) * time.Millisecond)))
			lr.SetSeverityNumber(plog.SeverityNumberWarn)
			lr.Body().SetStr(fmt.Sprintf("slow request %d", i))
			lr.Attributes().PutInt("item.index", int64(i))
		}
		out = append(out, ld)
	}
	return out
}

// Canonical forms: one string per item with everything that must survive the
// trip (resource, scope, fields, attributes), so two multisets can be compared.

func rawJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func spanKeys(td ptrace.Traces) []string {
	var keys []string
	for _, rs := range td.ResourceSpans().All() {
		res := rawJSON(rs.Resource().Attributes().AsRaw())
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				keys = append(keys, fmt.Sprintf("%s|%s|%s|%s|%s|%d|%d|%d|%s", res, ss.Scope().Name(),
					sp.TraceID(), sp.SpanID(), sp.Name(), sp.Kind(), sp.StartTimestamp(), sp.EndTimestamp(),
					rawJSON(sp.Attributes().AsRaw())))
			}
		}
	}
	return keys
}

func pointKeys(md pmetric.Metrics) []string {
	var keys []string
	for _, rm := range md.ResourceMetrics().All() {
		res := rawJSON(rm.Resource().Attributes().AsRaw())
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Type() != pmetric.MetricTypeGauge {
					keys = append(keys, fmt.Sprintf("unexpected metric type %s for %s", m.Type(), m.Name()))
					continue
				}
				for _, dp := range m.Gauge().DataPoints().All() {
					keys = append(keys, fmt.Sprintf("%s|%s|%s|%s|%d|%g|%s", res, sm.Scope().Name(), m.Name(), m.Unit(),
						dp.Timestamp(), dp.DoubleValue(), rawJSON(dp.Attributes().AsRaw())))
				}
			}
		}
	}
	return keys
}

func logKeys(ld plog.Logs) []string {
	var keys []string
	for _, rl := range ld.ResourceLogs().All() {
		res := rawJSON(rl.Resource().Attributes().AsRaw())
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				keys = append(keys, fmt.Sprintf("%s|%s|%d|%d|%s|%s", res, sl.Scope().Name(), lr.Timestamp(),
					lr.SeverityNumber(), lr.Body().AsString(), rawJSON(lr.Attributes().AsRaw())))
			}
		}
	}
	return keys
}

// diffMultisets reports missing and unexpected items (with counts) or "".
func diffMultisets(want, got []string) string {
	counts := map[string]int{}
	for _, k := range want {
		counts[k]++
	}
	for _, k := range got {
		counts[k]--
	}
	var missing, extra []string
	for k, c := range counts {
		switch {
		case c > 0:
			missing = append(missing, fmt.Sprintf("%dx %s", c, k))
		case c < 0:
			extra = append(extra, fmt.Sprintf("%dx %s", -c, k))
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	sort.Strings(missing)
	sort.Strings(extra)
	clip := func(s []string) []string {
		if len(s) > 5 {
			return append(s[:5:5], fmt.Sprintf("… and %d more", len(s)-5))
		}
		return s
	}
	return fmt.Sprintf("%d missing %v; %d unexpected %v", len(missing), clip(missing), len(extra), clip(extra))
}

// otlpClient sends OTLP/gRPC to a collector.
type otlpClient struct {
	conn    *grpc.ClientConn
	traces  ptraceotlp.GRPCClient
	metrics pmetricotlp.GRPCClient
	logs    plogotlp.GRPCClient
}

func newOTLPClient(t *testing.T, endpoint string) *otlpClient {
	t.Helper()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("OTLP client for %s: %v", endpoint, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &otlpClient{conn: conn, traces: ptraceotlp.NewGRPCClient(conn),
		metrics: pmetricotlp.NewGRPCClient(conn), logs: plogotlp.NewGRPCClient(conn)}
}

// send retries each request briefly (the receiver may still be starting) and
// fails the test if one is refused for good.
func (c *otlpClient) send(t *testing.T, what string, fn func(ctx context.Context) error) {
	t.Helper()
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = fn(ctx)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("sending %s over OTLP: %v", what, err)
}

func (c *otlpClient) sendTraces(t *testing.T, batches []ptrace.Traces) {
	for _, td := range batches {
		c.send(t, "traces", func(ctx context.Context) error {
			_, err := c.traces.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
			return err
		})
	}
}

func (c *otlpClient) sendMetrics(t *testing.T, batches []pmetric.Metrics) {
	for _, md := range batches {
		c.send(t, "metrics", func(ctx context.Context) error {
			_, err := c.metrics.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(md))
			return err
		})
	}
}

func (c *otlpClient) sendLogs(t *testing.T, batches []plog.Logs) {
	for _, ld := range batches {
		c.send(t, "logs", func(ctx context.Context) error {
			_, err := c.logs.Export(ctx, plogotlp.NewExportRequestFromLogs(ld))
			return err
		})
	}
}

// otlpSink is an in-test OTLP/gRPC server that records every item it receives.
type otlpSink struct {
	ptraceotlp.UnimplementedGRPCServer
	addr string

	mu      sync.Mutex
	spans   []string
	points  []string
	records []string
}

type sinkMetrics struct {
	pmetricotlp.UnimplementedGRPCServer
	s *otlpSink
}

type sinkLogs struct {
	plogotlp.UnimplementedGRPCServer
	s *otlpSink
}

func newOTLPSink(t *testing.T) *otlpSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &otlpSink{addr: l.Addr().String()}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, s)
	pmetricotlp.RegisterGRPCServer(srv, &sinkMetrics{s: s})
	plogotlp.RegisterGRPCServer(srv, &sinkLogs{s: s})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return s
}

func (s *otlpSink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	keys := spanKeys(req.Traces())
	s.mu.Lock()
	s.spans = append(s.spans, keys...)
	s.mu.Unlock()
	return ptraceotlp.NewExportResponse(), nil
}

func (m *sinkMetrics) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	keys := pointKeys(req.Metrics())
	m.s.mu.Lock()
	m.s.points = append(m.s.points, keys...)
	m.s.mu.Unlock()
	return pmetricotlp.NewExportResponse(), nil
}

func (l *sinkLogs) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	keys := logKeys(req.Logs())
	l.s.mu.Lock()
	l.s.records = append(l.s.records, keys...)
	l.s.mu.Unlock()
	return plogotlp.NewExportResponse(), nil
}

// snapshot returns copies of what arrived so far.
func (s *otlpSink) snapshot() (spans, points, records []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.spans...), append([]string(nil), s.points...), append([]string(nil), s.records...)
}

func concatKeys[T any](batches []T, keys func(T) []string) []string {
	var out []string
	for _, b := range batches {
		out = append(out, keys(b)...)
	}
	return out
}
