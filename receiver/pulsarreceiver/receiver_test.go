package pulsarreceiver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/latencywatch/latencywatch/receiver/pulsarreceiver/internal/metadata"
)

func TestDecide(t *testing.T) {
	retry := errors.New("downstream busy")
	perm := consumererror.NewPermanent(errors.New("bad data"))
	for _, tc := range []struct {
		err          error
		redeliveries int
		max          int
		want         verdict
	}{
		{nil, 0, 3, verdict{actAck, "accepted"}},
		{nil, 5, 3, verdict{actAck, "accepted"}},
		{retry, 0, 3, verdict{actNack, "retryable"}},
		{retry, 2, 3, verdict{actNack, "retryable"}},
		{retry, 3, 3, verdict{actDeadLetter, "max_redeliveries"}},
		{retry, 100, 0, verdict{actNack, "retryable"}},
		{perm, 0, 3, verdict{actDeadLetter, "permanent"}},
		{perm, 0, 0, verdict{actDeadLetter, "permanent"}},
	} {
		assert.Equal(t, tc.want, decide(tc.err, tc.redeliveries, tc.max), "%v %d/%d", tc.err, tc.redeliveries, tc.max)
	}
}

func TestBackoff(t *testing.T) {
	assert.Equal(t, 100*time.Millisecond, backoff(1, 100*time.Millisecond, time.Second))
	assert.Equal(t, 400*time.Millisecond, backoff(3, 100*time.Millisecond, time.Second))
	assert.Equal(t, time.Second, backoff(30, 100*time.Millisecond, time.Second))
	assert.Equal(t, 200*time.Millisecond, nackBackoff{100 * time.Millisecond, time.Second}.Next(1))
}

// fakeID and fakeMessage implement the parts of pulsar.MessageID and
// pulsar.Message the receiver reads; the embedded nil interfaces make any
// other call fail loudly.
type fakeID struct {
	pulsar.MessageID
	id int
}

func (f fakeID) String() string      { return fmt.Sprintf("1:%d:0", f.id) }
func (f fakeID) LedgerID() int64     { return 1 }
func (f fakeID) EntryID() int64      { return int64(f.id) }
func (f fakeID) PartitionIdx() int32 { return 0 }
func (f fakeID) BatchIdx() int32     { return -1 }

type fakeMessage struct {
	pulsar.Message
	id           int
	payload      []byte
	key          string
	props        map[string]string
	redeliveries uint32
}

func (m *fakeMessage) ID() pulsar.MessageID          { return fakeID{id: m.id} }
func (m *fakeMessage) Payload() []byte               { return m.payload }
func (m *fakeMessage) Topic() string                 { return "persistent://public/default/otlp_spans" }
func (m *fakeMessage) Key() string                   { return m.key }
func (m *fakeMessage) Properties() map[string]string { return m.props }
func (m *fakeMessage) PublishTime() time.Time        { return time.Unix(1_700_000_000, 0) }
func (m *fakeMessage) EventTime() time.Time          { return time.Time{} }
func (m *fakeMessage) RedeliveryCount() uint32       { return m.redeliveries }

// fakeSubscription is a broker-side subscription: nacked messages come back
// with a higher redelivery count (as with a shared subscription, or with 0
// when brokerCounts is false, as with exclusive/failover).
type fakeSubscription struct {
	mu           sync.Mutex
	queue        chan *fakeMessage
	acked        []int
	nacked       []int
	brokerCounts bool
	closed       bool
}

func newFakeSubscription(msgs ...*fakeMessage) *fakeSubscription {
	s := &fakeSubscription{queue: make(chan *fakeMessage, 1000), brokerCounts: true}
	for _, m := range msgs {
		s.queue <- m
	}
	return s
}

func (s *fakeSubscription) Receive(ctx context.Context) (pulsar.Message, error) {
	select {
	case m := <-s.queue:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *fakeSubscription) Ack(m pulsar.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked = append(s.acked, m.(*fakeMessage).id)
	return nil
}

func (s *fakeSubscription) Nack(m pulsar.Message) {
	s.mu.Lock()
	s.nacked = append(s.nacked, m.(*fakeMessage).id)
	s.mu.Unlock()
	fm := *m.(*fakeMessage)
	if s.brokerCounts {
		fm.redeliveries++
	}
	s.queue <- &fm
}

func (s *fakeSubscription) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (s *fakeSubscription) state() (acked, nacked []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.acked...), append([]int(nil), s.nacked...)
}

type fakeDLQ struct {
	mu   sync.Mutex
	msgs []*pulsar.ProducerMessage
	fail int // fail the first n sends
}

func (d *fakeDLQ) Send(_ context.Context, m *pulsar.ProducerMessage) (pulsar.MessageID, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail > 0 {
		d.fail--
		return nil, errors.New("connection error")
	}
	d.msgs = append(d.msgs, m)
	return nil, nil
}

func (d *fakeDLQ) Close() {}

func (d *fakeDLQ) sent() []*pulsar.ProducerMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*pulsar.ProducerMessage(nil), d.msgs...)
}

func tracesMsg(t *testing.T, id, spans int) *fakeMessage {
	t.Helper()
	b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(testdata.GenerateTraces(spans))
	require.NoError(t, err)
	return &fakeMessage{id: id, payload: b, key: fmt.Sprintf("k%d", id), props: map[string]string{"source": "test"}}
}

func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Redelivery = RedeliveryConfig{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRedeliveries: 3}
	return cfg
}

func startTraces(t *testing.T, cfg *Config, next consumer.Traces, sub *fakeSubscription, dlq *fakeDLQ) *pulsarReceiver {
	t.Helper()
	r, err := createTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, err)
	pr := r.(*pulsarReceiver)
	pr.connect = func(context.Context) (*backend, error) {
		return &backend{
			subscribe:  func() (messageConsumer, error) { return sub, nil },
			deadLetter: func(string) (deadLetterProducer, error) { return dlq, nil },
		}, nil
	}
	require.NoError(t, pr.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, pr.Shutdown(context.Background())) })
	return pr
}

func TestAckOnlyAfterAccepted(t *testing.T) {
	sink := new(consumertest.TracesSink)
	sub := newFakeSubscription(tracesMsg(t, 1, 3), tracesMsg(t, 2, 4))
	startTraces(t, testConfig(), sink, sub, &fakeDLQ{})
	require.Eventually(t, func() bool { a, _ := sub.state(); return len(a) == 2 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 7, sink.SpanCount())
	acked, nacked := sub.state()
	assert.Equal(t, []int{1, 2}, acked)
	assert.Empty(t, nacked)
}

// failingTraces refuses the first n calls with a retryable error.
type failingTraces struct {
	consumertest.TracesSink
	mu   sync.Mutex
	fail int
}

func (f *failingTraces) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	f.mu.Lock()
	if f.fail > 0 {
		f.fail--
		f.mu.Unlock()
		return errors.New("memory limiter refused")
	}
	f.mu.Unlock()
	return f.TracesSink.ConsumeTraces(ctx, td)
}

func TestRetryableFailureIsNackedAndRedelivered(t *testing.T) {
	next := &failingTraces{fail: 2}
	sub := newFakeSubscription(tracesMsg(t, 1, 5))
	startTraces(t, testConfig(), next, sub, &fakeDLQ{})
	require.Eventually(t, func() bool { a, _ := sub.state(); return len(a) == 1 }, 5*time.Second, time.Millisecond)
	acked, nacked := sub.state()
	assert.Equal(t, []int{1}, acked)
	assert.Equal(t, []int{1, 1}, nacked)
	assert.Equal(t, 5, next.SpanCount(), "delivered once, after two refusals")
}

func TestPoisonMessageGoesToDeadLetterAndConsumptionContinues(t *testing.T) {
	sink := new(consumertest.TracesSink)
	poison := &fakeMessage{id: 2, payload: []byte{0xff, 0xff, 0xff, 0xff}, key: "poison", props: map[string]string{"a": "b"}}
	sub := newFakeSubscription(tracesMsg(t, 1, 1), poison, tracesMsg(t, 3, 2))
	dlq := &fakeDLQ{}
	startTraces(t, testConfig(), sink, sub, dlq)
	require.Eventually(t, func() bool { a, _ := sub.state(); return len(a) == 3 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 3, sink.SpanCount())
	sent := dlq.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, poison.payload, sent[0].Payload)
	assert.Equal(t, "poison", sent[0].Key)
	assert.Equal(t, "b", sent[0].Properties["a"])
	assert.Equal(t, "undecodable", sent[0].Properties["latencywatch.dlq.reason"])
	assert.Equal(t, "persistent://public/default/otlp_spans", sent[0].Properties["latencywatch.dlq.original_topic"])
	assert.Contains(t, sent[0].Properties["latencywatch.dlq.error"], "decoding otlp_proto")
}

func TestPermanentErrorGoesToDeadLetter(t *testing.T) {
	next := consumertest.NewErr(consumererror.NewPermanent(errors.New("schema mismatch")))
	sub := newFakeSubscription(tracesMsg(t, 1, 1))
	dlq := &fakeDLQ{}
	startTraces(t, testConfig(), next, sub, dlq)
	require.Eventually(t, func() bool { return len(dlq.sent()) == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, "permanent", dlq.sent()[0].Properties["latencywatch.dlq.reason"])
	require.Eventually(t, func() bool { a, _ := sub.state(); return len(a) == 1 }, time.Second, time.Millisecond)
}

func TestMaxRedeliveriesWithoutBrokerCounts(t *testing.T) {
	next := consumertest.NewErr(errors.New("always busy"))
	sub := newFakeSubscription(tracesMsg(t, 1, 1))
	sub.brokerCounts = false // exclusive/failover: broker reports 0 redeliveries
	dlq := &fakeDLQ{}
	startTraces(t, testConfig(), next, sub, dlq)
	require.Eventually(t, func() bool { return len(dlq.sent()) == 1 }, 5*time.Second, time.Millisecond)
	_, nacked := sub.state()
	assert.Len(t, nacked, 3, "max_redeliveries=3: three nacks, then the dead-letter topic")
	assert.Equal(t, "max_redeliveries", dlq.sent()[0].Properties["latencywatch.dlq.reason"])
}

func TestDeadLetterFailureNacksInsteadOfDropping(t *testing.T) {
	sink := new(consumertest.TracesSink)
	poison := &fakeMessage{id: 9, payload: []byte{0xff, 0xff}}
	sub := newFakeSubscription(poison)
	dlq := &fakeDLQ{fail: 2}
	startTraces(t, testConfig(), sink, sub, dlq)
	require.Eventually(t, func() bool { return len(dlq.sent()) == 1 }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { a, _ := sub.state(); return len(a) == 1 }, time.Second, time.Millisecond)
	_, nacked := sub.state()
	assert.Equal(t, []int{9, 9}, nacked)
}

func TestRedeliveredBatchMemberAlreadyAcceptedIsNotForwardedTwice(t *testing.T) {
	sink := new(consumertest.TracesSink)
	first := tracesMsg(t, 1, 2)
	sub := newFakeSubscription(first)
	startTraces(t, testConfig(), sink, sub, &fakeDLQ{})
	require.Eventually(t, func() bool { a, _ := sub.state(); return len(a) == 1 }, 5*time.Second, time.Millisecond)
	// The broker redelivers the whole batch entry, including this accepted message.
	again := *first
	again.redeliveries = 1
	sub.queue <- &again
	require.Eventually(t, func() bool { a, _ := sub.state(); return len(a) == 2 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 2, sink.SpanCount(), "forwarded once")
}

func TestMetadataCopy(t *testing.T) {
	var gotInfo client.Info
	var mu sync.Mutex
	sink := new(consumertest.LogsSink)
	next, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		mu.Lock()
		gotInfo = client.FromContext(ctx)
		mu.Unlock()
		return sink.ConsumeLogs(ctx, ld)
	})
	require.NoError(t, err)
	cfg := testConfig()
	cfg.Metadata = MetadataConfig{ClientMetadata: true, ResourceAttributes: true}
	b, err := (&plog.ProtoMarshaler{}).MarshalLogs(testdata.GenerateLogs(2))
	require.NoError(t, err)
	sub := newFakeSubscription(&fakeMessage{id: 4, payload: b, key: "svc-a", props: map[string]string{"cloud.region": "eu"}})
	r, err := createLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, err)
	pr := r.(*pulsarReceiver)
	pr.connect = func(context.Context) (*backend, error) {
		return &backend{subscribe: func() (messageConsumer, error) { return sub, nil }}, nil
	}
	require.NoError(t, pr.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, pr.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 2 }, 5*time.Second, time.Millisecond)
	mu.Lock()
	assert.Equal(t, []string{"svc-a"}, gotInfo.Metadata.Get("pulsar.key"))
	assert.Equal(t, []string{"eu"}, gotInfo.Metadata.Get("pulsar.property.cloud.region"))
	assert.Equal(t, []string{"persistent://public/default/otlp_spans"}, gotInfo.Metadata.Get("pulsar.topic"))
	mu.Unlock()
	res := sink.AllLogs()[0].ResourceLogs().At(0).Resource().Attributes()
	v, ok := res.Get("messaging.pulsar.message.key")
	require.True(t, ok)
	assert.Equal(t, "svc-a", v.Str())
	v, _ = res.Get("messaging.system")
	assert.Equal(t, "pulsar", v.Str())
	v, _ = res.Get("messaging.pulsar.property.cloud.region")
	assert.Equal(t, "eu", v.Str())
}

func TestSubscribeRetriedUntilBrokerAnswers(t *testing.T) {
	sink := new(consumertest.TracesSink)
	sub := newFakeSubscription(tracesMsg(t, 1, 2))
	var mu sync.Mutex
	attempts := 0
	r, err := createTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), testConfig(), sink)
	require.NoError(t, err)
	pr := r.(*pulsarReceiver)
	pr.connect = func(context.Context) (*backend, error) {
		return &backend{subscribe: func() (messageConsumer, error) {
			mu.Lock()
			defer mu.Unlock()
			attempts++
			if attempts < 2 {
				return nil, errors.New("connection error")
			}
			return sub, nil
		}}, nil
	}
	require.NoError(t, pr.Start(context.Background(), componenttest.NewNopHost()), "a broker that is down does not fail Start")
	defer func() { require.NoError(t, pr.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool { return sink.SpanCount() == 2 }, 5*time.Second, 5*time.Millisecond)
}

func TestShutdownBeforeStartAndTwice(t *testing.T) {
	r, err := NewFactory().CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), createDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()))
	sub := newFakeSubscription()
	pr := r.(*pulsarReceiver)
	pr.connect = func(context.Context) (*backend, error) {
		return &backend{subscribe: func() (messageConsumer, error) { return sub, nil }}, nil
	}
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, r.Shutdown(context.Background()))
	require.NoError(t, r.Shutdown(context.Background()))
	sub.mu.Lock()
	assert.True(t, sub.closed)
	sub.mu.Unlock()
}

func TestFactoryCreatesAllSignals(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	require.NoError(t, cfg.(*Config).Validate())
	set := receivertest.NewNopSettings(metadata.Type)
	_, err := f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	_, err = f.CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	_, err = f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
}
