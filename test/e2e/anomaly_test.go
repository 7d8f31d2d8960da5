//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
)

// anomalySink is an OTLP/gRPC metrics server keeping every data point of
// the scored metric and of the score gauge, in arrival order.
type anomalySink struct {
	pmetricotlp.UnimplementedGRPCServer
	addr   string
	mu     sync.Mutex
	points map[string][]pmetric.NumberDataPoint // by metric name
}

func newAnomalySink(t *testing.T) *anomalySink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &anomalySink{addr: l.Addr().String(), points: map[string][]pmetric.NumberDataPoint{}}
	srv := grpc.NewServer()
	pmetricotlp.RegisterGRPCServer(srv, s)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return s
}

func (s *anomalySink) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	md := pmetric.NewMetrics()
	req.Metrics().CopyTo(md)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Type() == pmetric.MetricTypeGauge {
					for _, dp := range m.Gauge().DataPoints().All() {
						s.points[m.Name()] = append(s.points[m.Name()], dp)
					}
				}
			}
		}
	}
	return pmetricotlp.NewExportResponse(), nil
}

// get returns the points of a metric ordered by timestamp (the exporter may
// deliver requests concurrently, so arrival order is not send order).
func (s *anomalySink) get(name string) []pmetric.NumberDataPoint {
	s.mu.Lock()
	out := append([]pmetric.NumberDataPoint(nil), s.points[name]...)
	s.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Timestamp() < out[j].Timestamp() })
	return out
}

// latencySeries returns n gauge points of one series, every 10 s from
// second `from`, at `level` seconds with a small deterministic wiggle.
func latencySeries(from, n int, level float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("http.server.request.duration")
	m.SetUnit("ms")
	dps := m.SetEmptyGauge().DataPoints()
	for i := 0; i < n; i++ {
		dp := dps.AppendEmpty()
		dp.Attributes().PutStr("http.route", "/pay")
		dp.SetTimestamp(pcommon.NewTimestampFromTime(baseTime.Add(time.Duration(from+10*i) * time.Second)))
		dp.SetDoubleValue(1000 * level * []float64{1, 1.03, 0.97, 1.05, 0.95, 1.01}[(from/10+i)%6])
	}
	return md
}

func attrStr(dp pmetric.NumberDataPoint, k string) string {
	v, ok := dp.Attributes().Get(k)
	if !ok {
		return ""
	}
	return v.AsString()
}

const anomalyConfig = `
extensions:
  health_check:
    endpoint: 127.0.0.1:${HEALTH_PORT}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${OTLP_PORT}
processors:
  tf_anomaly:
    series_attributes: [service.name, http.route]
    score_metric: {enabled: true}
${EXTRA}
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
    metrics: {receivers: [otlp], processors: [tf_anomaly], exporters: [otlp_grpc]}
`

// TestE2EAnomalyDefaultModel: the built binary scores an OTLP latency series
// with the embedded TensorFlow model: nothing during warm-up, a low score on
// steady traffic, a flag on a 10x burst, plus the score gauge.
func TestE2EAnomalyDefaultModel(t *testing.T) {
	sink := newAnomalySink(t)
	otlpPort := freePort(t)
	startCollector(t, anomalyConfig, map[string]string{"OTLP_PORT": fmt.Sprint(otlpPort), "SINK": sink.addr, "EXTRA": ""})
	client := newOTLPClient(t, fmt.Sprintf("127.0.0.1:%d", otlpPort))

	for b := 0; b < 10; b++ { // 100 steady points in 10 requests
		client.sendMetrics(t, []pmetric.Metrics{latencySeries(100*b, 10, 0.08)})
	}
	client.sendMetrics(t, []pmetric.Metrics{latencySeries(1000, 8, 0.8)}) // 10x burst
	var pts []pmetric.NumberDataPoint
	eventually(t, 30*time.Second, "108 points arrive", func() (bool, string) {
		pts = sink.get("http.server.request.duration")
		return len(pts) == 108, fmt.Sprintf("%d points", len(pts))
	})
	if got := attrStr(pts[62], "latencywatch.anomaly.score"); got != "" {
		t.Errorf("point 63 is in warm-up but has score %s", got)
	}
	steady := pts[80]
	if got := attrStr(steady, "latencywatch.anomaly.model"); !strings.HasPrefix(got, "latency_anomaly@") {
		t.Errorf("model attribute %q, want latency_anomaly@<version>", got)
	}
	if got := attrStr(steady, "latencywatch.anomaly.flag"); got != "false" {
		t.Errorf("steady point flagged: %v", steady.Attributes().AsRaw())
	}
	if exp, _ := steady.Attributes().Get("latencywatch.anomaly.expected"); exp.Double() < 0.07 || exp.Double() > 0.09 {
		t.Errorf("expected = %v s, want about 0.08 s (the ms input is converted)", exp.Double())
	}
	flagged := 0
	for _, dp := range pts[100:] {
		if attrStr(dp, "latencywatch.anomaly.flag") == "true" {
			flagged++
		}
	}
	if flagged == 0 {
		t.Errorf("no point of the 10x burst flagged")
	}
	scores := sink.get("latencywatch.anomaly.score")
	if len(scores) != 108-63 {
		t.Errorf("score gauge has %d points, want one per scored point (%d)", len(scores), 108-63)
	}
}

// TestE2EAnomalyModelReload: a model_path model is used and hot-reloaded;
// a broken file in between is rejected and the running model kept.
func TestE2EAnomalyModelReload(t *testing.T) {
	repo := os.Getenv("LW_REPO")
	if repo == "" {
		t.Fatal("LW_REPO is not set: run through `make test` / `make integration`")
	}
	testModel := filepath.Join(repo, "processor/tfanomalyprocessor/testdata/threshold_model.tflite")
	defaultModel := filepath.Join(repo, "processor/tfanomalyprocessor/internal/defaultmodel/latency_anomaly.tflite")
	dir := t.TempDir()
	path := filepath.Join(dir, "latency.tflite")
	install := func(data []byte) {
		if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (the model files come with the repository)", err)
		}
		return b
	}
	install(read(testModel))

	sink := newAnomalySink(t)
	otlpPort := freePort(t)
	extra := fmt.Sprintf("    model_path: %s\n    model_reload_interval: 100ms\n    min_points: 16", path)
	c := startCollector(t, anomalyConfig, map[string]string{"OTLP_PORT": fmt.Sprint(otlpPort), "SINK": sink.addr, "EXTRA": extra})
	client := newOTLPClient(t, fmt.Sprintf("127.0.0.1:%d", otlpPort))

	labelAt := func(from int) string {
		before := len(sink.get("http.server.request.duration"))
		client.sendMetrics(t, []pmetric.Metrics{latencySeries(from, 1, 0.08)})
		var label string
		eventually(t, 30*time.Second, "scored point arrives", func() (bool, string) {
			pts := sink.get("http.server.request.duration")
			if len(pts) <= before {
				return false, "no point yet"
			}
			label = attrStr(pts[len(pts)-1], "latencywatch.anomaly.model") // the newest timestamp
			return label != "", "unscored"
		})
		return label
	}
	client.sendMetrics(t, []pmetric.Metrics{latencySeries(0, 20, 0.08)})
	first := labelAt(200)
	if !strings.HasPrefix(first, "latency@") {
		t.Fatalf("model label %q, want latency@<sha256 prefix> for model_path latency.tflite", first)
	}

	install([]byte("not a tflite model"))
	eventually(t, 30*time.Second, "bad model rejected", func() (bool, string) {
		return strings.Contains(c.out.String(), "changed model_path rejected"), "no rejection logged yet"
	})
	if got := labelAt(210); got != first {
		t.Fatalf("after a bad file the label is %q, want the running model %q", got, first)
	}

	install(read(defaultModel))
	n := 220
	eventually(t, 30*time.Second, "new model swapped in", func() (bool, string) {
		got := labelAt(n)
		n += 10
		return got != first && strings.HasPrefix(got, "latency@"), got
	})
}

// TestE2EAnomalySidecarConfig: the shipped sidecar configuration is valid
// for the built binary.
func TestE2EAnomalySidecarConfig(t *testing.T) {
	repo := os.Getenv("LW_REPO")
	if repo == "" {
		t.Fatal("LW_REPO is not set: run through `make test` / `make integration`")
	}
	cmd := exec.Command(collectorBinary(t), "validate", "--config", filepath.Join(repo, "config/sidecar-anomaly.yaml"))
	cmd.Env = append(os.Environ(), "LW_KAFKA_BROKERS=127.0.0.1:9092")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("config/sidecar-anomaly.yaml does not validate: %v\n%s", err, out)
	}
}
