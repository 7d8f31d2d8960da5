//go:build integration

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/latencywatch/latencywatch/internal/pulsarclient"
	"github.com/latencywatch/latencywatch/internal/testbrokers"
)

const pulsarItems = 2000 // per signal in the round trip

func pulsarTopic(prefix, signal string) string {
	return fmt.Sprintf("persistent://public/default/%s-%s-%d", prefix, signal, time.Now().UnixNano())
}

// TestE2EPulsarRoundTrip: OTLP/gRPC in → pulsar exporter → real Pulsar →
// pulsar receiver → OTLP/gRPC out to an in-test sink, through the built
// binary, for traces, metrics and logs. Everything sent arrives, equal after
// decode (resource, scope, fields, attributes). The OTLP exporter's queue is
// tiny, so the receiver is refused often and works through redeliveries.
func TestE2EPulsarRoundTrip(t *testing.T) {
	url, _ := testbrokers.Pulsar(t)
	sink := newOTLPSink(t)
	otlpPort, metricsPort := freePort(t), freePort(t)
	vars := map[string]string{
		"OTLP_PORT": fmt.Sprint(otlpPort), "SINK": sink.addr, "PULSAR_URL": url, "METRICS_PORT": fmt.Sprint(metricsPort),
		"T_TOPIC": pulsarTopic("lw-e2e-rt", "traces"), "M_TOPIC": pulsarTopic("lw-e2e-rt", "metrics"),
		"L_TOPIC": pulsarTopic("lw-e2e-rt", "logs"),
	}
	startCollector(t, `
extensions:
  health_check: {endpoint: "127.0.0.1:${HEALTH_PORT}"}
receivers:
  otlp:
    protocols: {grpc: {endpoint: "127.0.0.1:${OTLP_PORT}"}}
  pulsar:
    service_url: ${PULSAR_URL}
    traces: {topics: ["${T_TOPIC}"]}
    metrics: {topics: ["${M_TOPIC}"], encoding: otlp_json}
    logs: {topics: ["${L_TOPIC}"]}
    subscription: e2e
    initial_position: earliest
    redelivery: {initial_backoff: 100ms, max_backoff: 1s, max_redeliveries: 0}
exporters:
  pulsar:
    service_url: ${PULSAR_URL}
    traces: {topic: "${T_TOPIC}", message_key: trace_id}
    metrics: {topic: "${M_TOPIC}", encoding: otlp_json, message_key: metric_series}
    logs: {topic: "${L_TOPIC}", message_key: resource_attributes}
    producer: {compression: lz4}
  otlp:
    endpoint: "${SINK}"
    tls: {insecure: true}
    compression: none
    # A tiny queue: the pulsar receiver meets "sending queue is full" and must
    # nack and take redeliveries without losing or duplicating anything.
    sending_queue: {queue_size: 16, num_consumers: 2}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: detailed
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: ${METRICS_PORT}}}}
  pipelines:
    traces/in: {receivers: [otlp], exporters: [pulsar]}
    metrics/in: {receivers: [otlp], exporters: [pulsar]}
    logs/in: {receivers: [otlp], exporters: [pulsar]}
    traces/out: {receivers: [pulsar], exporters: [otlp]}
    metrics/out: {receivers: [pulsar], exporters: [otlp]}
    logs/out: {receivers: [pulsar], exporters: [otlp]}
`, vars)

	traces := makeTraces(0, pulsarItems, 100)
	metrics := makeMetrics(0, pulsarItems, 100)
	logs := makeLogs(0, pulsarItems, 100)
	client := newOTLPClient(t, fmt.Sprintf("127.0.0.1:%d", otlpPort))
	client.sendTraces(t, traces)
	client.sendMetrics(t, metrics)
	client.sendLogs(t, logs)

	wantSpans, wantPoints, wantRecords := concatKeys(traces, spanKeys), concatKeys(metrics, pointKeys), concatKeys(logs, logKeys)
	eventually(t, 90*time.Second, "all items back from Pulsar", func() (bool, string) {
		s, p, r := sink.snapshot()
		return len(s) >= pulsarItems && len(p) >= pulsarItems && len(r) >= pulsarItems,
			fmt.Sprintf("spans %d, points %d, records %d of %d", len(s), len(p), len(r), pulsarItems)
	})
	time.Sleep(time.Second) // let a late duplicate show up before comparing
	s, p, r := sink.snapshot()
	for _, c := range []struct {
		what      string
		want, got []string
	}{{"spans", wantSpans, s}, {"points", wantPoints, p}, {"records", wantRecords, r}} {
		if d := diffMultisets(c.want, c.got); d != "" {
			t.Errorf("%s: %s", c.what, d)
		}
	}
	t.Logf("round trip: %d spans, %d points, %d log records arrived equal", len(s), len(p), len(r))

	// The receiver's own telemetry shows the refusals it worked through.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	if err != nil {
		t.Fatalf("scraping the collector's metrics: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var lines []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "otelcol_pulsar_") {
			lines = append(lines, l)
		}
	}
	t.Logf("pulsar telemetry:\n%s", strings.Join(lines, "\n"))
	if !strings.Contains(string(body), "otelcol_pulsar_exporter_messages") || !strings.Contains(string(body), `outcome="acked"`) {
		t.Errorf("pulsar exporter/receiver telemetry missing from /metrics")
	}
}

// pointIndexes collects the item.index of every data point in md.
func pointIndexes(md pmetric.Metrics) []int64 {
	var out []int64
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				for _, dp := range m.Gauge().DataPoints().All() {
					if v, ok := dp.Attributes().Get("item.index"); ok {
						out = append(out, v.Int())
					}
				}
			}
		}
	}
	return out
}

// indexCounter counts how often each item index was received.
type indexCounter struct {
	mu     sync.Mutex
	counts map[int64]int
}

func (c *indexCounter) add(ids []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		c.counts[id]++
	}
}

func (c *indexCounter) stats() (distinct, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.counts {
		distinct++
		total += n
	}
	return distinct, total
}

func (c *indexCounter) missing(n int) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int64
	for i := int64(0); i < int64(n); i++ {
		if c.counts[i] == 0 {
			out = append(out, i)
		}
	}
	return out
}

// consumeMetricIndexes reads a Pulsar topic from the start in the background
// and counts item indexes until the test ends.
func consumeMetricIndexes(t *testing.T, url, topic string) *indexCounter {
	t.Helper()
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, Logger: pulsarclient.NewLogger(nil)})
	if err != nil {
		t.Fatalf("pulsar client: %v", err)
	}
	cons, err := client.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "check",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		client.Close()
		t.Fatalf("subscribing to %s: %v", topic, err)
	}
	counter := &indexCounter{counts: map[int64]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		u := &pmetric.ProtoUnmarshaler{}
		for {
			msg, err := cons.Receive(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
				continue
			}
			md, err := u.UnmarshalMetrics(msg.Payload())
			if err != nil {
				t.Errorf("undecodable message on %s: %v", topic, err)
			} else {
				counter.add(pointIndexes(md))
			}
			_ = cons.Ack(msg)
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cons.Close(); client.Close() })
	return counter
}

// TestE2EPulsarOutage: 100,000 data points flow through the built binary's
// pulsar exporter with a persistent (file_storage) sending queue; the Pulsar
// broker is stopped mid-stream and started again. All 100,000 arrive;
// duplicates are allowed, counted and printed.
func TestE2EPulsarOutage(t *testing.T) {
	const total, perBatch = 100_000, 1000
	url, _ := testbrokers.Pulsar(t)
	topic := pulsarTopic("lw-e2e-outage", "metrics")
	counter := consumeMetricIndexes(t, url, topic)
	otlpPort := freePort(t)
	queueDir := filepath.Join(t.TempDir(), "queue")
	if err := os.MkdirAll(queueDir, 0o700); err != nil {
		t.Fatal(err)
	}
	c := startCollector(t, `
extensions:
  health_check: {endpoint: "127.0.0.1:${HEALTH_PORT}"}
  file_storage: {directory: "${QUEUE_DIR}"}
receivers:
  otlp:
    protocols: {grpc: {endpoint: "127.0.0.1:${OTLP_PORT}"}}
exporters:
  pulsar:
    service_url: ${PULSAR_URL}
    metrics: {topic: "${TOPIC}"}
    timeout: 15s
    producer: {send_timeout: 10s}
    operation_timeout: 5s
    retry_on_failure: {enabled: true, initial_interval: 200ms, max_interval: 2s, max_elapsed_time: 0}
    sending_queue: {enabled: true, storage: file_storage, num_consumers: 4, queue_size: 10000}
service:
  extensions: [health_check, file_storage]
  telemetry: {metrics: {level: none}}
  pipelines:
    metrics: {receivers: [otlp], exporters: [pulsar]}
`, map[string]string{"OTLP_PORT": fmt.Sprint(otlpPort), "PULSAR_URL": url, "TOPIC": topic, "QUEUE_DIR": queueDir})

	batches := makeMetrics(0, total, perBatch)
	client := newOTLPClient(t, fmt.Sprintf("127.0.0.1:%d", otlpPort))
	client.sendMetrics(t, batches[:30])
	eventually(t, 60*time.Second, "first points reach Pulsar before the outage", func() (bool, string) {
		d, _ := counter.stats()
		return d > 0, fmt.Sprintf("%d points", d)
	})
	before, _ := counter.stats()

	testbrokers.StopPulsar(t)
	stoppedAt := time.Now()
	client.sendMetrics(t, batches[30:]) // accepted into the persistent queue while the broker is down
	duringOutage, _ := counter.stats()
	time.Sleep(5 * time.Second) // exports fail and are retried from the queue
	testbrokers.StartPulsar(t)
	outage := time.Since(stoppedAt)

	eventually(t, 5*time.Minute, "all 100,000 points arrive after the broker is back", func() (bool, string) {
		d, n := counter.stats()
		return d == total, fmt.Sprintf("%d distinct of %d (%d received)", d, total, n)
	})
	distinct, received := counter.stats()
	if m := counter.missing(total); len(m) > 0 {
		sort.Slice(m, func(i, j int) bool { return m[i] < m[j] })
		t.Fatalf("%d points missing, first %v", len(m), m[:min(10, len(m))])
	}
	fmt.Printf("pulsar outage: %d points sent, %d distinct arrived, %d duplicates; %d before the stop, %d by the end of sending, broker down %.1fs\n",
		total, distinct, received-distinct, before, duringOutage, outage.Seconds())
	t.Logf("pulsar outage: %d sent, %d distinct arrived, %d duplicates (%d received)", total, distinct, received-distinct, received)
	_ = c
}

// TestE2EPulsarAuth: TLS + token auth through the built binary. With the
// right token (from a file) data goes out through the exporter and back in
// through the receiver; with a wrong token the collector logs a clear error
// naming the auth method but not the token, and does not retry in a storm.
func TestE2EPulsarAuth(t *testing.T) {
	sec := testbrokers.PulsarTLS(t)
	dir := t.TempDir()
	goodFile, badFile := filepath.Join(dir, "good.token"), filepath.Join(dir, "bad.token")
	const wrongToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.d3Jvbmctc2lnbmF0dXJl"
	if err := os.WriteFile(goodFile, []byte(sec.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badFile, []byte(wrongToken), 0o600); err != nil {
		t.Fatal(err)
	}
	topic := pulsarTopic("lw-e2e-auth", "logs")
	const config = `
extensions:
  health_check: {endpoint: "127.0.0.1:${HEALTH_PORT}"}
receivers:
  otlp:
    protocols: {grpc: {endpoint: "127.0.0.1:${OTLP_PORT}"}}
  pulsar:
    service_url: ${URL}
    tls: {ca_file: "${CA}"}
    auth: {token_file: "${GOOD}"}
    logs: {topics: ["${TOPIC}"]}
    subscription: e2e-auth
    initial_position: earliest
exporters:
  pulsar:
    service_url: ${URL}
    tls: {ca_file: "${CA}"}
    auth: {token_file: "${TOKEN}"}
    logs: {topic: "${TOPIC}"}
  otlp:
    endpoint: "${SINK}"
    tls: {insecure: true}
    compression: none
service:
  extensions: [health_check]
  telemetry: {metrics: {level: none}}
  pipelines:
    logs/in: {receivers: [otlp], exporters: [pulsar]}
    logs/out: {receivers: [pulsar], exporters: [otlp]}
`
	sink := newOTLPSink(t)
	otlpPort := freePort(t)
	vars := map[string]string{"URL": sec.URL, "CA": sec.CAFile, "GOOD": goodFile, "TOKEN": goodFile,
		"TOPIC": topic, "SINK": sink.addr, "OTLP_PORT": fmt.Sprint(otlpPort)}
	good := startCollector(t, config, vars)
	logs := makeLogs(0, 200, 50)
	newOTLPClient(t, fmt.Sprintf("127.0.0.1:%d", otlpPort)).sendLogs(t, logs)
	eventually(t, 60*time.Second, "logs round trip over TLS with the right token", func() (bool, string) {
		_, _, r := sink.snapshot()
		return len(r) >= 200, fmt.Sprintf("%d of 200 records", len(r))
	})
	if _, _, r := sink.snapshot(); diffMultisets(concatKeys(logs, logKeys), r) != "" {
		t.Errorf("records differ: %s", diffMultisets(concatKeys(logs, logKeys), r))
	}
	good.stop(t)

	otlpPort = freePort(t)
	vars["OTLP_PORT"], vars["TOKEN"] = fmt.Sprint(otlpPort), badFile
	bad := startCollector(t, config, vars)
	newOTLPClient(t, fmt.Sprintf("127.0.0.1:%d", otlpPort)).sendLogs(t, makeLogs(1000, 10, 10))
	eventually(t, 60*time.Second, "a clear authentication error in the log", func() (bool, string) {
		return strings.Contains(bad.out.String(), "rejected the connection handshake (authentication)"), "not yet"
	})
	time.Sleep(15 * time.Second)
	out := bad.out.String()
	if !strings.Contains(out, `auth method \"token_file\"`) && !strings.Contains(out, `auth method "token_file"`) {
		t.Errorf("the error does not name the auth method:\n%s", out)
	}
	if strings.Contains(out, wrongToken) || strings.Contains(out, sec.Token) {
		t.Errorf("a token appears in the collector log")
	}
	retries := strings.Count(out, "Exporting failed. Will retry the request after interval.")
	t.Logf("wrong token: %d export retries logged in ~15s", retries)
	if retries > 2 {
		t.Errorf("retry storm: %d retries in ~15s after an authentication failure (want the 30s throttle)", retries)
	}
}
