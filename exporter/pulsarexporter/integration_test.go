//go:build integration

package pulsarexporter

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"

	"github.com/latencywatch/latencywatch/exporter/pulsarexporter/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/pulsarclient"
	"github.com/latencywatch/latencywatch/internal/testbrokers"
)

func uniqueTopic(t *testing.T, prefix string) string {
	return fmt.Sprintf("persistent://public/default/%s-%d", prefix, time.Now().UnixNano())
}

// subscribeRaw subscribes a plain pulsar-client-go consumer from the earliest message.
func subscribeRaw(t *testing.T, url, topic string) pulsar.Consumer {
	t.Helper()
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, Logger: pulsarclient.NewLogger(nil)})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	cons, err := c.Subscribe(pulsar.ConsumerOptions{
		Topic: topic, SubscriptionName: "check", SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
	})
	require.NoError(t, err, "subscribing to %s", topic)
	t.Cleanup(cons.Close)
	return cons
}

func startRealExporter(t *testing.T, cfg *Config) *pulsarExporter {
	t.Helper()
	e := newExporter(cfg, exportertest.NewNopSettings(metadata.Type), cfg.Traces)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, e.shutdown(context.Background())) })
	return e
}

func TestIntegrationExporterRoundTrip(t *testing.T) {
	url, _ := testbrokers.Pulsar(t)
	cfg := createDefaultConfig().(*Config)
	cfg.ServiceURL = url
	cfg.Traces.Topic = uniqueTopic(t, "exp-roundtrip")
	cfg.Traces.MessageKey = KeyTraceID
	cfg.Producer.MaxMessageBytes = 16 * 1024 // force splitting of the big batch
	cons := subscribeRaw(t, url, cfg.Traces.Topic)
	e := startRealExporter(t, cfg)

	td := testdata.GenerateTraces(300)
	for i, s := range td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
		s.SetTraceID([16]byte{15: byte(i % 7)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, e.exportTraces(ctx, td))

	got := ptrace.NewTraces()
	keys := map[string]bool{}
	for got.SpanCount() < 300 {
		msg, err := cons.Receive(ctx)
		require.NoError(t, err, "received %d of 300 spans", got.SpanCount())
		part, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(msg.Payload())
		require.NoError(t, err)
		assert.LessOrEqual(t, len(msg.Payload()), 16*1024)
		for _, rs := range part.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					assert.Equal(t, s.TraceID().String(), msg.Key(), "message key is the trace id")
				}
			}
		}
		keys[msg.Key()] = true
		assert.False(t, msg.EventTime().IsZero())
		part.ResourceSpans().MoveAndAppendTo(got.ResourceSpans())
		require.NoError(t, cons.Ack(msg))
	}
	assert.Equal(t, 300, got.SpanCount())
	assert.Len(t, keys, 7)
}

// TestIntegrationExporterAuth: over TLS with token auth, the right token
// delivers; a wrong token gives a clear error that names the method but not
// the token, and causes no retry storm.
func TestIntegrationExporterAuth(t *testing.T) {
	sec := testbrokers.PulsarTLS(t)
	topic := uniqueTopic(t, "exp-auth")

	good := createDefaultConfig().(*Config)
	good.ServiceURL = sec.URL
	good.TLS.CAFile = sec.CAFile
	good.Auth.Token = configOpaque(sec.Token)
	good.Traces.Topic = topic
	require.NoError(t, good.Validate())
	e := startRealExporter(t, good)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, e.exportTraces(ctx, testdata.GenerateTraces(3)), "right token over TLS")

	bad := *good
	const wrongToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJlLWlzLXdyb25n"
	bad.Auth.Token = wrongToken
	var creates atomic.Int32
	be := newExporter(&bad, exportertest.NewNopSettings(metadata.Type), bad.Traces)
	be.newClient = func(ctx context.Context) (*pulsarclient.Client, producerFactory, error) {
		c, create, err := be.realClient(ctx)
		return c, func(topic string) (producer, error) { creates.Add(1); return create(topic) }, err
	}
	require.NoError(t, be.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, be.shutdown(context.Background())) }()

	start := time.Now()
	var lastErr error
	exports := 0
	for time.Since(start) < 10*time.Second {
		ectx, ecancel := context.WithTimeout(context.Background(), 5*time.Second)
		lastErr = be.exportTraces(ectx, testdata.GenerateTraces(1))
		ecancel()
		exports++
		require.Error(t, lastErr, "a wrong token must not deliver")
		time.Sleep(100 * time.Millisecond)
	}
	rejections := be.client.HandshakeRejections()
	t.Logf("wrong token: %d export calls in 10s, %d producer creations, %d connection attempts refused by the broker; last error: %v",
		exports, creates.Load(), rejections, lastErr)
	msg := lastErr.Error()
	assert.Contains(t, msg, "rejected the connection handshake (authentication)")
	assert.Contains(t, msg, `auth method "token"`)
	assert.NotContains(t, msg, wrongToken)
	assert.True(t, strings.HasPrefix(msg, "Throttle (30s)"), "auth failures are throttled for 30s: %s", msg)
	// One creation attempt per failedCreateTTL at most, whatever the export rate.
	assert.LessOrEqual(t, int(creates.Load()), 11, "no retry storm")
	assert.Greater(t, exports, 5, "a refused handshake fails the export at once, not at its deadline")
	assert.LessOrEqual(t, rejections, int64(40), "no retry storm of connections")
}

func configOpaque(s string) configopaque.String { return configopaque.String(s) }
