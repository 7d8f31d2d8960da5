package pulsarexporter

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/latencywatch/latencywatch/exporter/pulsarexporter/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/pulsarclient"
)

// fakeBroker stands in for pulsar-client-go: producers answer every
// SendAsync from another goroutine after delay, with the error decide returns.
type fakeBroker struct {
	mu       sync.Mutex
	sent     []*sentMessage
	created  map[string]int
	closed   int
	delay    time.Duration
	decide   func(n int, topic string, msg *pulsar.ProducerMessage) error // n counts sends
	createFn func(topic string) error
	sends    atomic.Int64
}

type sentMessage struct {
	topic string
	msg   *pulsar.ProducerMessage
}

type fakeProducer struct {
	b     *fakeBroker
	topic string
}

func (p *fakeProducer) SendAsync(_ context.Context, msg *pulsar.ProducerMessage, cb func(pulsar.MessageID, *pulsar.ProducerMessage, error)) {
	n := int(p.b.sends.Add(1))
	go func() {
		time.Sleep(p.b.delay)
		var err error
		if p.b.decide != nil {
			err = p.b.decide(n, p.topic, msg)
		}
		if err == nil {
			p.b.mu.Lock()
			p.b.sent = append(p.b.sent, &sentMessage{topic: p.topic, msg: msg})
			p.b.mu.Unlock()
		}
		cb(nil, msg, err)
	}()
}

func (p *fakeProducer) Close() {
	p.b.mu.Lock()
	p.b.closed++
	p.b.mu.Unlock()
}

func (b *fakeBroker) factory(topic string) (producer, error) {
	if b.createFn != nil {
		if err := b.createFn(topic); err != nil {
			return nil, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.created == nil {
		b.created = map[string]int{}
	}
	b.created[topic]++
	return &fakeProducer{b: b, topic: topic}, nil
}

func (b *fakeBroker) messages() []*sentMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*sentMessage(nil), b.sent...)
}

func newTestExporter(t *testing.T, cfg *Config, sig SignalConfig, b *fakeBroker) *pulsarExporter {
	t.Helper()
	e := newExporter(cfg, exportertest.NewNopSettings(metadata.Type), sig)
	e.newClient = func(context.Context) (*pulsarclient.Client, producerFactory, error) { return nil, b.factory, nil }
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, e.shutdown(context.Background())) })
	return e
}

func defaultCfg() *Config { return createDefaultConfig().(*Config) }

func decodeTraces(t *testing.T, msgs []*sentMessage) ptrace.Traces {
	t.Helper()
	out := ptrace.NewTraces()
	for _, m := range msgs {
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(m.msg.Payload)
		require.NoError(t, err)
		td.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
	}
	return out
}

func TestExportWaitsForBrokerAck(t *testing.T) {
	b := &fakeBroker{delay: 50 * time.Millisecond}
	cfg := defaultCfg()
	e := newTestExporter(t, cfg, cfg.Traces, b)
	td := testdata.GenerateTraces(10)
	start := time.Now()
	require.NoError(t, e.exportTraces(context.Background(), td))
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "export returned before the broker acknowledged")
	msgs := b.messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "otlp_spans", msgs[0].topic)
	assert.Equal(t, 10, decodeTraces(t, msgs).SpanCount())
	assert.False(t, msgs[0].msg.EventTime.IsZero(), "event time is the earliest span start")
}

func TestRetryableFailureReturnsOnlyFailedData(t *testing.T) {
	b := &fakeBroker{decide: func(_ int, _ string, msg *pulsar.ProducerMessage) error {
		if msg.Key == "" {
			return nil
		}
		// Fail every message whose trace id ends in an odd digit.
		if (msg.Key[len(msg.Key)-1]-'0')%2 == 1 {
			return pulsar.ErrSendTimeout
		}
		return nil
	}}
	cfg := defaultCfg()
	cfg.Traces.MessageKey = KeyTraceID
	e := newTestExporter(t, cfg, cfg.Traces, b)
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range 10 {
		s := spans.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{15: byte(i)})
		s.SetName("s")
	}
	err := e.exportTraces(context.Background(), td)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	var failed consumererror.Traces
	require.ErrorAs(t, err, &failed)
	assert.Equal(t, 5, failed.Data().SpanCount())
	for _, s := range failed.Data().ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
		assert.Equal(t, 1, int(s.TraceID()[15])%2)
	}
	assert.Len(t, b.messages(), 5)
	assert.Contains(t, err.Error(), "5 of 10 pulsar messages failed")
}

func TestErrorClassificationReachesExporterhelper(t *testing.T) {
	for name, tc := range map[string]struct {
		err       error
		permanent bool
		throttled bool
	}{
		"timeout":    {err: pulsar.ErrSendTimeout},
		"too large":  {err: pulsar.ErrMessageTooLarge, permanent: true},
		"queue full": {err: pulsar.ErrSendQueueIsFull, throttled: true},
		"quota":      {err: pulsar.ErrProducerBlockedQuotaExceeded, throttled: true},
		"terminated": {err: pulsar.ErrTopicTerminated, permanent: true},
	} {
		t.Run(name, func(t *testing.T) {
			b := &fakeBroker{decide: func(int, string, *pulsar.ProducerMessage) error { return tc.err }}
			cfg := defaultCfg()
			e := newTestExporter(t, cfg, cfg.Logs, b)
			err := e.exportLogs(context.Background(), testdata.GenerateLogs(3))
			require.ErrorIs(t, err, tc.err)
			assert.Equal(t, tc.permanent, consumererror.IsPermanent(err))
			assert.Equal(t, tc.throttled, strings.HasPrefix(err.Error(), "Throttle ("), err.Error())
			if !tc.permanent {
				var failed consumererror.Logs
				require.ErrorAs(t, err, &failed)
				assert.Equal(t, 3, failed.Data().LogRecordCount())
			}
		})
	}
}

func TestTopicFromAttributeAndMetadataWithFallback(t *testing.T) {
	b := &fakeBroker{}
	cfg := defaultCfg()
	cfg.TopicFromAttribute = "pulsar.topic"
	cfg.TopicFromMetadataKey = "x-topic"
	e := newTestExporter(t, cfg, cfg.Metrics, b)
	md := pmetric.NewMetrics()
	for _, topic := range []string{"a", "", "b", "a"} {
		rm := md.ResourceMetrics().AppendEmpty()
		if topic != "" {
			rm.Resource().Attributes().PutStr("pulsar.topic", topic)
		}
		rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(1)
	}
	require.NoError(t, e.exportMetrics(context.Background(), md))
	byTopic := map[string]int{}
	for _, m := range b.messages() {
		got, err := (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(m.msg.Payload)
		require.NoError(t, err)
		byTopic[m.topic] += got.DataPointCount()
	}
	assert.Equal(t, map[string]int{"a": 2, "b": 1, "otlp_metrics": 1}, byTopic)

	// Client metadata replaces the signal topic as the fallback.
	b.sent = nil
	ctx := client.NewContext(context.Background(), client.Info{Metadata: client.NewMetadata(map[string][]string{"x-topic": {"tenant-7"}})})
	require.NoError(t, e.exportMetrics(ctx, md))
	byTopic = map[string]int{}
	for _, m := range b.messages() {
		byTopic[m.topic]++
	}
	assert.Equal(t, map[string]int{"a": 1, "b": 1, "tenant-7": 1}, byTopic)
}

func TestPropertiesReplicationAndKeys(t *testing.T) {
	b := &fakeBroker{}
	cfg := defaultCfg()
	cfg.Properties = map[string]string{"source": "sidecar"}
	cfg.PropertiesFromResourceAttributes = []string{"cloud.region"}
	cfg.Replication.Clusters = []string{"us", "eu"}
	cfg.Replication.ClustersFromAttribute = "replicate.to"
	cfg.Logs.MessageKey = KeyResourceAttributes
	cfg.MessageKeyAttributes = []string{"service.name"}
	e := newTestExporter(t, cfg, cfg.Logs, b)
	ld := plog.NewLogs()
	for i, svc := range []string{"api", "db", "api"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		rl.Resource().Attributes().PutStr("cloud.region", "eu-west-1")
		if i == 1 {
			rl.Resource().Attributes().PutStr("replicate.to", "eu, ap")
		}
		r := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		r.SetTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + i))
	}
	require.NoError(t, e.exportLogs(context.Background(), ld))
	msgs := b.messages()
	require.Len(t, msgs, 2)
	sort.Slice(msgs, func(i, j int) bool {
		return len(msgs[i].msg.ReplicationClusters) > len(msgs[j].msg.ReplicationClusters)
	})
	keys := map[string]int{}
	for _, m := range msgs {
		assert.Equal(t, map[string]string{"source": "sidecar", "cloud.region": "eu-west-1"}, m.msg.Properties)
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(m.msg.Payload)
		require.NoError(t, err)
		keys[m.msg.Key] = ld.LogRecordCount()
		svc, _ := ld.ResourceLogs().At(0).Resource().Attributes().Get("service.name")
		if svc.Str() == "db" {
			assert.Equal(t, []string{"eu", "ap"}, m.msg.ReplicationClusters)
		} else {
			assert.Equal(t, []string{"us", "eu"}, m.msg.ReplicationClusters)
			assert.True(t, time.Unix(0, 1_700_000_000_000_000_000).Equal(m.msg.EventTime), "earliest record time")
		}
	}
	assert.Len(t, keys, 2, "one key per service.name")

	cfg.Replication = ReplicationConfig{Disable: true}
	b.sent = nil
	require.NoError(t, e.exportLogs(context.Background(), ld))
	for _, m := range b.messages() {
		assert.True(t, m.msg.DisableReplication)
	}
}

func TestMetricSeriesKeys(t *testing.T) {
	b := &fakeBroker{}
	cfg := defaultCfg()
	cfg.Metrics.MessageKey = KeyMetricSeries
	e := newTestExporter(t, cfg, cfg.Metrics, b)
	md := pmetric.NewMetrics()
	sum := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	sum.SetName("latency")
	sum.SetEmptySum().SetIsMonotonic(true)
	for i := range 6 {
		dp := sum.Sum().DataPoints().AppendEmpty()
		dp.Attributes().PutInt("shard", int64(i%3))
		dp.SetIntValue(int64(i))
	}
	require.NoError(t, e.exportMetrics(context.Background(), md))
	msgs := b.messages()
	require.Len(t, msgs, 3)
	for _, m := range msgs {
		got, err := (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(m.msg.Payload)
		require.NoError(t, err)
		require.Equal(t, 2, got.DataPointCount())
		s := got.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
		assert.True(t, s.Sum().IsMonotonic())
		a, _ := s.Sum().DataPoints().At(0).Attributes().Get("shard")
		c, _ := s.Sum().DataPoints().At(1).Attributes().Get("shard")
		assert.Equal(t, a.Int(), c.Int(), "one series per message")
		assert.Less(t, s.Sum().DataPoints().At(0).IntValue(), s.Sum().DataPoints().At(1).IntValue(), "order kept")
		assert.Len(t, m.msg.Key, 16)
	}
}

func TestOversizedRequestIsSplit(t *testing.T) {
	b := &fakeBroker{}
	cfg := defaultCfg()
	cfg.Producer.MaxMessageBytes = 4096
	e := newTestExporter(t, cfg, cfg.Traces, b)
	td := testdata.GenerateTraces(200)
	require.NoError(t, e.exportTraces(context.Background(), td))
	msgs := b.messages()
	require.Greater(t, len(msgs), 1)
	for _, m := range msgs {
		assert.LessOrEqual(t, len(m.msg.Payload), 4096)
	}
	assert.Equal(t, 200, decodeTraces(t, msgs).SpanCount())
}

func TestItemLargerThanAnyMessageIsPermanent(t *testing.T) {
	b := &fakeBroker{}
	cfg := defaultCfg()
	cfg.Producer.MaxMessageBytes = 1024
	e := newTestExporter(t, cfg, cfg.Logs, b)
	ld := testdata.GenerateLogs(3)
	big := make([]byte, 4096)
	for i := range big {
		big[i] = 'x'
	}
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).Body().SetStr(string(big))
	err := e.exportLogs(context.Background(), ld)
	require.True(t, consumererror.IsPermanent(err), "%v", err)
	assert.Contains(t, err.Error(), "more than producer.max_message_bytes (1024)")
	got := 0
	for _, m := range b.messages() {
		l, uerr := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(m.msg.Payload)
		require.NoError(t, uerr)
		got += l.LogRecordCount()
	}
	assert.Equal(t, 2, got, "the records that fit are still sent")
}

func TestProducerCreationFailureIsRetryableAndShared(t *testing.T) {
	var attempts atomic.Int32
	b := &fakeBroker{}
	b.createFn = func(string) error {
		attempts.Add(1)
		return errors.New("connection error")
	}
	cfg := defaultCfg()
	e := newTestExporter(t, cfg, cfg.Traces, b)
	time.Sleep(20 * time.Millisecond) // the start-up warm-up attempt
	for range 5 {
		err := e.exportTraces(context.Background(), testdata.GenerateTraces(1))
		require.Error(t, err)
		assert.False(t, consumererror.IsPermanent(err))
	}
	assert.LessOrEqual(t, attempts.Load(), int32(2), "failed creations are shared for %s", failedCreateTTL)
}

func TestClosedProducerIsReplaced(t *testing.T) {
	b := &fakeBroker{decide: func(n int, _ string, _ *pulsar.ProducerMessage) error {
		if n == 1 {
			return pulsar.ErrProducerClosed
		}
		return nil
	}}
	cfg := defaultCfg()
	e := newTestExporter(t, cfg, cfg.Traces, b)
	require.Error(t, e.exportTraces(context.Background(), testdata.GenerateTraces(1)))
	require.Eventually(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.closed == 1 }, time.Second, time.Millisecond)
	require.NoError(t, e.exportTraces(context.Background(), testdata.GenerateTraces(1)))
	b.mu.Lock()
	defer b.mu.Unlock()
	assert.Equal(t, 2, b.created["otlp_spans"])
}

func TestDeadlineBeforeAck(t *testing.T) {
	b := &fakeBroker{delay: time.Second}
	cfg := defaultCfg()
	e := newTestExporter(t, cfg, cfg.Traces, b)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := e.exportTraces(ctx, testdata.GenerateTraces(2))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, consumererror.IsPermanent(err))
}

func TestJSONEncoding(t *testing.T) {
	b := &fakeBroker{}
	cfg := defaultCfg()
	cfg.Metrics.Encoding = EncodingJSON
	e := newTestExporter(t, cfg, cfg.Metrics, b)
	require.NoError(t, e.exportMetrics(context.Background(), testdata.GenerateMetrics(4)))
	msgs := b.messages()
	require.Len(t, msgs, 1)
	got, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(msgs[0].msg.Payload)
	require.NoError(t, err)
	assert.Equal(t, testdata.GenerateMetrics(4).DataPointCount(), got.DataPointCount())
}

// TestRetryThroughExporterhelper runs the real exporterhelper: the broker
// fails the first sends, exporterhelper retries, and every span arrives once.
func TestRetryThroughExporterhelper(t *testing.T) {
	b := &fakeBroker{decide: func(n int, _ string, _ *pulsar.ProducerMessage) error {
		if n <= 3 {
			return pulsar.ErrSendTimeout
		}
		return nil
	}}
	cfg := defaultCfg()
	cfg.QueueBatchConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.BackOffConfig.InitialInterval = time.Millisecond
	cfg.BackOffConfig.MaxInterval = 5 * time.Millisecond
	set := exportertest.NewNopSettings(metadata.Type)
	exp := newExporter(cfg, set, cfg.Traces)
	exp.newClient = func(context.Context) (*pulsarclient.Client, producerFactory, error) { return nil, b.factory, nil }
	te, err := exporterhelperTraces(context.Background(), set, cfg, exp)
	require.NoError(t, err)
	require.NoError(t, te.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, te.Shutdown(context.Background())) }()
	require.NoError(t, te.ConsumeTraces(context.Background(), testdata.GenerateTraces(7)))
	assert.Equal(t, 7, decodeTraces(t, b.messages()).SpanCount())
	assert.Equal(t, int64(4), b.sends.Load())
}

func TestRefusedHandshakeFailsWithoutWaitingForTheClient(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var rejected atomic.Bool
	cache := newProducerCache(func(string) (producer, error) {
		<-release // the client keeps retrying until operation_timeout
		return nil, errors.New("connection error")
	})
	cache.rejectedSince = func(time.Time) bool { return rejected.Load() }
	go func() { time.Sleep(100 * time.Millisecond); rejected.Store(true) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := cache.get(ctx, "t")
	require.ErrorIs(t, err, errHandshakeRejected)
	assert.Less(t, time.Since(start), 2*time.Second)
}
