//go:build integration

package latencyenrichprocessor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/latencywatch/latencywatch/internal/testbrokers"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/kafkasource"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/pulsarsource"
)

// tableWriter writes rows of the metadata table to a broker.
type tableWriter interface {
	put(t *testing.T, key string, row map[string]any)
	del(t *testing.T, key string)
}

// probe runs one trace per call through a started processor and reports the
// cloud.region it got for service.name = key ("" when none).
type probe struct {
	p    processor.Traces
	tel  *componenttest.Telemetry
	mu   sync.Mutex
	last string
}

func newProbe(t *testing.T, cfg *Config) (*probe, error) {
	pr := &probe{}
	next, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
		v, ok := td.ResourceSpans().At(0).Resource().Attributes().Get("cloud.region")
		pr.mu.Lock()
		pr.last = ""
		if ok {
			pr.last = v.Str()
		}
		pr.mu.Unlock()
		return nil
	})
	require.NoError(t, err)
	set := settings()
	set.Logger = zaptest.NewLogger(t, zaptest.Level(zapcore.InfoLevel))
	pr.tel = componenttest.NewTelemetry()
	t.Cleanup(func() { _ = pr.tel.Shutdown(context.Background()) })
	set.TelemetrySettings = pr.tel.NewTelemetrySettings()
	set.TelemetrySettings.Logger = set.Logger
	pr.p, err = NewFactory().CreateTraces(context.Background(), set, cfg, next)
	require.NoError(t, err)
	if err := pr.p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		_ = pr.p.Shutdown(context.Background())
		return nil, err
	}
	return pr, nil
}

func (pr *probe) region(t *testing.T, key string) string {
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("service.name", key)
	require.NoError(t, pr.p.ConsumeTraces(context.Background(), td))
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.last
}

func (pr *probe) waitFor(t *testing.T, key, want string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		if got := pr.region(t, key); got == want {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %q: cloud.region never became %q within %s (last %q)", key, want, timeout, pr.region(t, key))
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func (pr *probe) stop(t *testing.T) { require.NoError(t, pr.p.Shutdown(context.Background())) }

func brokerConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Keys = []KeyRule{{Attributes: []KeyPart{{From: ContextResource, Attribute: "service.name"}}}}
	cfg.Attributes = []AttributeConfig{{Column: "region", Default: "unknown"}}
	cfg.WaitForReady = true
	cfg.WaitForReadyTimeout = 90 * time.Second
	return cfg
}

// runSourceScenario is what every broker-backed source must do: initial
// load (with a tombstone before start), live update, live delete,
// propagation latency, and a restart that rebuilds the table from the log.
func runSourceScenario(t *testing.T, name string, w tableWriter, cfg func() *Config) {
	w.put(t, "checkout", map[string]any{"region": "eu-west-1"})
	w.put(t, "inventory", map[string]any{"region": "us-east-1"})
	w.put(t, "legacy", map[string]any{"region": "ap-south-1"})
	w.del(t, "legacy")
	w.put(t, "bad", map[string]any{"region": map[string]any{"nested": true}})

	pr, err := newProbe(t, cfg())
	require.NoError(t, err, "start with wait_for_ready")
	// wait_for_ready: everything written before start is there at once.
	assert.Equal(t, "eu-west-1", pr.region(t, "checkout"), "initial load")
	assert.Equal(t, "us-east-1", pr.region(t, "inventory"), "initial load")
	assert.Equal(t, "unknown", pr.region(t, "legacy"), "tombstone before start")
	assert.Equal(t, "unknown", pr.region(t, "bad"), "bad row skipped")

	w.put(t, "checkout", map[string]any{"region": "eu-central-1"})
	pr.waitFor(t, "checkout", "eu-central-1", 30*time.Second)
	w.del(t, "inventory")
	pr.waitFor(t, "inventory", "unknown", 30*time.Second)

	// Propagation latency: broker write -> enrichment applied, one update at
	// a time so each measurement is clean.
	const n = 200
	lat := make([]time.Duration, 0, n)
	for i := range n {
		want := fmt.Sprintf("r-%d", i)
		start := time.Now()
		w.put(t, "latency-probe", map[string]any{"region": want, "updated_at": start.UTC().Format(time.RFC3339Nano)})
		pr.waitFor(t, "latency-probe", want, 30*time.Second)
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[n*50/100], lat[n*99/100]
	t.Logf("PROPAGATION %s: n=%d p50=%s p99=%s max=%s (broker write -> enrichment applied)", name, n, p50.Round(time.Microsecond), p99.Round(time.Microsecond), lat[n-1].Round(time.Microsecond))
	recordPropagation(t, name, n, p50, p99, lat[n-1])

	// The component's own propagation-lag histogram saw every live update
	// (now - updated_at), and agrees with the end-to-end measurement.
	m, err := pr.tel.GetMetric("otelcol_latency_enrich_metadata_propagation_lag")
	require.NoError(t, err)
	hist := m.Data.(metricdata.Histogram[float64]).DataPoints[0]
	assert.GreaterOrEqual(t, hist.Count, uint64(n))
	assert.Less(t, hist.Sum/float64(hist.Count), lat[n-1].Seconds()+0.001, "mean lag within the slowest end-to-end sample")
	t.Logf("otelcol_latency_enrich_metadata_propagation_lag: count=%d mean=%.2fms", hist.Count, 1000*hist.Sum/float64(hist.Count))
	pr.stop(t)

	// A new instance rebuilds the same table from the log.
	pr2, err := newProbe(t, cfg())
	require.NoError(t, err, "restart with wait_for_ready")
	defer pr2.stop(t)
	assert.Equal(t, "eu-central-1", pr2.region(t, "checkout"), "rebuilt: latest value")
	assert.Equal(t, "unknown", pr2.region(t, "inventory"), "rebuilt: deleted stays deleted")
	assert.Equal(t, "unknown", pr2.region(t, "legacy"), "rebuilt: deleted stays deleted")
	assert.Equal(t, fmt.Sprintf("r-%d", n-1), pr2.region(t, "latency-probe"), "rebuilt: last update")
}

// recordPropagation appends the measurement to $LW_ENRICH_PROPAGATION_OUT
// when set, so docs/benchmarks/enrich.md can quote a run.
func recordPropagation(t *testing.T, name string, n int, p50, p99, max time.Duration) {
	out := os.Getenv("LW_ENRICH_PROPAGATION_OUT")
	if out == "" {
		return
	}
	f, err := os.OpenFile(out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	defer f.Close()
	_, err = fmt.Fprintf(f, "%s\t%s\tn=%d\tp50=%s\tp99=%s\tmax=%s\n", time.Now().UTC().Format(time.RFC3339), name, n, p50, p99, max)
	require.NoError(t, err)
}

func uniqueTopic(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

// ---- Kafka ----

type kafkaWriter struct {
	topic    string
	producer sarama.SyncProducer
}

func newKafkaWriter(t *testing.T, brokers []string, topic string) *kafkaWriter {
	sc := sarama.NewConfig()
	sc.Version = sarama.V3_7_0_0
	sc.Producer.Return.Successes = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Partitioner = sarama.NewHashPartitioner
	admin, err := sarama.NewClusterAdmin(brokers, sc)
	require.NoError(t, err)
	compact := "compact"
	require.NoError(t, admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions: 3, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"cleanup.policy": &compact},
	}, false))
	require.NoError(t, admin.Close())
	p, err := sarama.NewSyncProducer(brokers, sc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return &kafkaWriter{topic: topic, producer: p}
}

func (w *kafkaWriter) put(t *testing.T, key string, row map[string]any) {
	b, err := json.Marshal(row)
	require.NoError(t, err)
	_, _, err = w.producer.SendMessage(&sarama.ProducerMessage{Topic: w.topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(b)})
	require.NoError(t, err)
}

func (w *kafkaWriter) del(t *testing.T, key string) {
	_, _, err := w.producer.SendMessage(&sarama.ProducerMessage{Topic: w.topic, Key: sarama.StringEncoder(key), Value: nil})
	require.NoError(t, err)
}

func kafkaConfig(brokers []string, topic string) func() *Config {
	return func() *Config {
		cfg := brokerConfig()
		kc := kafkasource.NewDefaultConfig()
		kc.Brokers = brokers
		kc.Topic = topic
		cfg.Table.Kafka = configoptional.Some(kc)
		return cfg
	}
}

func TestIntegrationKafkaSource(t *testing.T) {
	brokers := strings.Split(testbrokers.Kafka(t), ",")
	topic := uniqueTopic("lw-enrich-meta")
	w := newKafkaWriter(t, brokers, topic)
	runSourceScenario(t, "kafka", w, kafkaConfig(brokers, topic))
}

func TestIntegrationKafkaWaitForReadyTimeout(t *testing.T) {
	brokers := strings.Split(testbrokers.Kafka(t), ",")
	cfg := kafkaConfig(brokers, uniqueTopic("lw-enrich-missing"))()
	cfg.WaitForReadyTimeout = 3 * time.Second
	start := time.Now()
	_, err := newProbe(t, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kafka metadata table was not ready within wait_for_ready_timeout (3s)")
	assert.Less(t, time.Since(start), 20*time.Second)
}

// ---- Pulsar ----

type pulsarWriter struct{ producer pulsar.Producer }

func newPulsarWriter(t *testing.T, url, topic string) *pulsarWriter {
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, OperationTimeout: 30 * time.Second})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return &pulsarWriter{producer: p}
}

func (w *pulsarWriter) put(t *testing.T, key string, row map[string]any) {
	b, err := json.Marshal(row)
	require.NoError(t, err)
	_, err = w.producer.Send(context.Background(), &pulsar.ProducerMessage{Key: key, Payload: b})
	require.NoError(t, err)
}

func (w *pulsarWriter) del(t *testing.T, key string) {
	// An empty payload is the delete. pulsar-client-go's consumer discards a
	// non-batched empty message that has no properties, so one is set.
	_, err := w.producer.Send(context.Background(), &pulsar.ProducerMessage{Key: key, Properties: map[string]string{"latencywatch.op": "delete"}})
	require.NoError(t, err)
}

func pulsarConfig(url, topic string) func() *Config {
	return func() *Config {
		cfg := brokerConfig()
		pc := pulsarsource.NewDefaultConfig()
		pc.ServiceURL = url
		pc.Topic = topic
		cfg.Table.Pulsar = configoptional.Some(pc)
		return cfg
	}
}

func TestIntegrationPulsarSource(t *testing.T) {
	url, _ := testbrokers.Pulsar(t)
	topic := "persistent://public/default/" + uniqueTopic("lw-enrich-meta")
	w := newPulsarWriter(t, url, topic)
	runSourceScenario(t, "pulsar", w, pulsarConfig(url, topic))
}

func TestIntegrationPulsarWaitForReadyTimeout(t *testing.T) {
	url, _ := testbrokers.Pulsar(t)
	// A tenant that does not exist: the table view can never be created.
	cfg := pulsarConfig(url, "persistent://no-such-tenant/default/"+uniqueTopic("lw-enrich"))()
	cfg.WaitForReadyTimeout = 3 * time.Second
	start := time.Now()
	_, err := newProbe(t, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pulsar metadata table was not ready within wait_for_ready_timeout (3s)")
	assert.Less(t, time.Since(start), 20*time.Second)
}

// TestIntegrationKafkaSourceBrokerRestart: while Kafka is down the table keeps
// serving its last rows; once it is back, updates flow again without a
// collector restart.
func TestIntegrationKafkaSourceBrokerRestart(t *testing.T) {
	brokers := strings.Split(testbrokers.Kafka(t), ",")
	topic := uniqueTopic("lw-enrich-outage")
	w := newKafkaWriter(t, brokers, topic)
	w.put(t, "checkout", map[string]any{"region": "eu-west-1"})
	pr, err := newProbe(t, kafkaConfig(brokers, topic)())
	require.NoError(t, err)
	defer pr.stop(t)
	require.Equal(t, "eu-west-1", pr.region(t, "checkout"))

	testbrokers.StopKafka(t)
	time.Sleep(2 * time.Second)
	assert.Equal(t, "eu-west-1", pr.region(t, "checkout"), "the cached table keeps serving while the broker is down")
	testbrokers.StartKafka(t)

	w2 := newKafkaWriterExisting(t, brokers, topic)
	w2.put(t, "checkout", map[string]any{"region": "eu-central-1"})
	took := pr.waitFor(t, "checkout", "eu-central-1", 120*time.Second)
	t.Logf("first update after the broker restart applied %s after the write", took.Round(time.Millisecond))
}

// newKafkaWriterExisting writes to an existing topic.
func newKafkaWriterExisting(t *testing.T, brokers []string, topic string) *kafkaWriter {
	sc := sarama.NewConfig()
	sc.Version = sarama.V3_7_0_0
	sc.Producer.Return.Successes = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Partitioner = sarama.NewHashPartitioner
	p, err := sarama.NewSyncProducer(brokers, sc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return &kafkaWriter{topic: topic, producer: p}
}

// TestIntegrationPulsarSourceBrokerRestart: while Pulsar is down the table
// keeps serving; once it is back the TableView reconnects and updates flow.
func TestIntegrationPulsarSourceBrokerRestart(t *testing.T) {
	url, _ := testbrokers.Pulsar(t)
	topic := "persistent://public/default/" + uniqueTopic("lw-enrich-outage")
	w := newPulsarWriter(t, url, topic)
	w.put(t, "checkout", map[string]any{"region": "eu-west-1"})
	pr, err := newProbe(t, pulsarConfig(url, topic)())
	require.NoError(t, err)
	defer pr.stop(t)
	require.Equal(t, "eu-west-1", pr.region(t, "checkout"))

	testbrokers.StopPulsar(t)
	time.Sleep(2 * time.Second)
	assert.Equal(t, "eu-west-1", pr.region(t, "checkout"), "the cached table keeps serving while the broker is down")
	testbrokers.StartPulsar(t)

	w2 := newPulsarWriter(t, url, topic)
	w2.put(t, "checkout", map[string]any{"region": "eu-central-1"})
	took := pr.waitFor(t, "checkout", "eu-central-1", 120*time.Second)
	t.Logf("first update after the broker restart applied %s after the write", took.Round(time.Millisecond))
}
