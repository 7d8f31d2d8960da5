//go:build integration

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
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/latencywatch/latencywatch/internal/pulsarclient"
	"github.com/latencywatch/latencywatch/internal/testbrokers"
	"github.com/latencywatch/latencywatch/receiver/pulsarreceiver/internal/metadata"
)

// flakyLogs refuses every third batch the first time it sees it, so some
// messages are nacked and must come back; it records each record index once.
type flakyLogs struct {
	mu       sync.Mutex
	seen     map[int64]int
	refused  map[int64]bool
	calls    int
	refusals int
}

func (f *flakyLogs) consume(_ context.Context, ld plog.Logs) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	first, _ := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("i")
	batch := first.Int()
	if batch%3 == 0 && !f.refused[batch] {
		f.refused[batch] = true
		f.refusals++
		return errors.New("downstream busy")
	}
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, r := range sl.LogRecords().All() {
				v, _ := r.Attributes().Get("i")
				f.seen[v.Int()]++
			}
		}
	}
	return nil
}

func (f *flakyLogs) count() (distinct, total int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.seen {
		distinct++
		total += n
	}
	return distinct, total
}

// TestIntegrationReceiverRedeliveryAndDeadLetter: 60 messages of 10 records
// plus one poison message go through a real broker; the pipeline refuses
// every third batch once. All 600 records arrive, the poison message lands in
// the dead-letter topic with its reason, and consumption goes on past it.
func TestIntegrationReceiverRedeliveryAndDeadLetter(t *testing.T) {
	url, _ := testbrokers.Pulsar(t)
	topic := fmt.Sprintf("persistent://public/default/recv-%d", time.Now().UnixNano())
	dlqTopic := topic + "-DLQ"

	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, Logger: pulsarclient.NewLogger(nil)})
	require.NoError(t, err)
	defer client.Close()
	dlqCons, err := client.Subscribe(pulsar.ConsumerOptions{Topic: dlqTopic, SubscriptionName: "check",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	require.NoError(t, err)
	defer dlqCons.Close()

	cfg := createDefaultConfig().(*Config)
	cfg.ServiceURL = url
	cfg.Logs.Topics = []string{topic}
	cfg.DeadLetter.Topic = dlqTopic
	cfg.InitialPosition = "earliest"
	cfg.Redelivery = RedeliveryConfig{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, MaxRedeliveries: 5}
	next := &flakyLogs{seen: map[int64]int{}, refused: map[int64]bool{}}
	logsConsumer, err := consumerLogs(next.consume)
	require.NoError(t, err)
	r, err := createLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, logsConsumer)
	require.NoError(t, err)
	host := &statusHost{}
	require.NoError(t, r.Start(context.Background(), host))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	prod, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	require.NoError(t, err)
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for b := 0; b < 60; b++ {
		if b == 30 {
			_, err = prod.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("\xff\xff not OTLP"), Key: "poison",
				Properties: map[string]string{"origin": "test"}})
			require.NoError(t, err)
		}
		ld := plog.NewLogs()
		recs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for i := 0; i < 10; i++ {
			recs.AppendEmpty().Attributes().PutInt("i", int64(b*10+i))
		}
		payload, merr := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
		require.NoError(t, merr)
		_, err = prod.Send(ctx, &pulsar.ProducerMessage{Payload: payload, Key: fmt.Sprint(b)})
		require.NoError(t, err)
	}

	require.Eventually(t, func() bool { d, _ := next.count(); return d == 600 }, 90*time.Second, 100*time.Millisecond,
		"all 600 records arrive despite refusals")
	msg, err := dlqCons.Receive(ctx)
	require.NoError(t, err, "poison message in the dead-letter topic")
	assert.Equal(t, []byte("\xff\xff not OTLP"), msg.Payload())
	assert.Equal(t, "poison", msg.Key())
	assert.Equal(t, "undecodable", msg.Properties()["latencywatch.dlq.reason"])
	assert.Equal(t, "test", msg.Properties()["origin"])
	assert.Equal(t, topic, msg.Properties()["latencywatch.dlq.original_topic"])

	distinct, total := next.count()
	next.mu.Lock()
	t.Logf("records: %d distinct, %d delivered (duplicates %d); refused batches: %d; pipeline calls: %d",
		distinct, total, total-distinct, next.refusals, next.calls)
	assert.Equal(t, 20, next.refusals)
	next.mu.Unlock()
	assert.True(t, host.sawOK(), "component status OK after subscribing")
}

// TestIntegrationReceiverTopicsPattern: a pattern subscription picks up every
// matching topic (metrics from two regions) and nothing else.
func TestIntegrationReceiverTopicsPattern(t *testing.T) {
	url, _ := testbrokers.Pulsar(t)
	base := fmt.Sprintf("persistent://public/default/pat%d", time.Now().UnixNano())
	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, Logger: pulsarclient.NewLogger(nil)})
	require.NoError(t, err)
	defer client.Close()
	send := func(topic string, n int) {
		p, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic})
		require.NoError(t, err)
		defer p.Close()
		md := testdataMetrics(n)
		b, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
		require.NoError(t, err)
		_, err = p.Send(context.Background(), &pulsar.ProducerMessage{Payload: b})
		require.NoError(t, err)
	}
	// Topics exist before the subscription, so the pattern sees them at once.
	send(base+"-metrics-eu", 3)
	send(base+"-metrics-us", 4)
	send(base+"-other", 100)

	cfg := createDefaultConfig().(*Config)
	cfg.ServiceURL = url
	cfg.Metrics.TopicsPattern = base + "-metrics-.*"
	cfg.DeadLetter.Topic = base + "-dlq"
	cfg.InitialPosition = "earliest"
	sink := new(consumertest.MetricsSink)
	r, err := createMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), &statusHost{}))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool { return sink.DataPointCount() >= 7 }, 60*time.Second, 100*time.Millisecond)
	time.Sleep(time.Second)
	assert.Equal(t, 7, sink.DataPointCount(), "both region topics, not the other one")
}

func testdataMetrics(points int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	g := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("latency")
	dps := g.SetEmptyGauge().DataPoints()
	for i := range points {
		dps.AppendEmpty().SetDoubleValue(float64(i))
	}
	return md
}
