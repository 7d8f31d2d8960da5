package apnsexporter

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/apnsclient"
	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/apnstest"
)

// slowSender records the highest number of concurrent sends.
type slowSender struct {
	inFlight, peak, sent atomic.Int64
	release              chan struct{}
}

func (s *slowSender) Send(ctx context.Context, _ apnsclient.Notification) apnsclient.Verdict {
	n := s.inFlight.Add(1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	select {
	case <-s.release:
	case <-ctx.Done():
	}
	s.inFlight.Add(-1)
	s.sent.Add(1)
	return apnsclient.Verdict{Kind: apnsclient.Sent}
}

func (*slowSender) CloseIdleConnections() {}

func newTestDispatcher(t *testing.T, c sender, mod func(*APNsConfig)) *dispatcher {
	t.Helper()
	cfg := createDefaultConfig().(*Config).APNs
	cfg.PerDevice = RateLimitConfig{Rate: 1000, Burst: 1000}
	if mod != nil {
		mod(&cfg)
	}
	tel, err := metadata.NewTelemetryBuilder(exportertest.NewNopSettings(metadata.Type).TelemetrySettings)
	require.NoError(t, err)
	return newDispatcher(c, cfg, tel, zap.NewNop(), func(string) {})
}

func TestConcurrencyIsBounded(t *testing.T) {
	s := &slowSender{release: make(chan struct{})}
	d := newTestDispatcher(t, s, func(c *APNsConfig) { c.MaxConcurrency = 3 })
	for i := range 20 {
		d.enqueue(pushJob{n: apnsclient.Notification{DeviceToken: apnstest.Token(i)}, decided: time.Now()})
	}
	require.Eventually(t, func() bool { return s.inFlight.Load() == 3 }, 2*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, int64(3), s.peak.Load())
	close(s.release)
	d.stop(context.Background())
	assert.Equal(t, int64(20), s.sent.Load(), "stop drains the queue")
}

func TestFullQueueDrops(t *testing.T) {
	s := &slowSender{release: make(chan struct{})}
	d := newTestDispatcher(t, s, func(c *APNsConfig) { c.MaxConcurrency, c.QueueSize = 1, 2 })
	for i := range 10 {
		d.enqueue(pushJob{n: apnsclient.Notification{DeviceToken: apnstest.Token(i)}})
	}
	close(s.release)
	d.stop(context.Background())
	// One in flight (maybe), two queued; the rest were dropped.
	assert.LessOrEqual(t, s.sent.Load(), int64(3))
	assert.GreaterOrEqual(t, s.sent.Load(), int64(2))
}

func TestPerDeviceRateLimit(t *testing.T) {
	l := newDeviceLimits(1, 2) // 1/s, burst 2
	a, b := apnstest.Token(1), apnstest.Token(2)
	assert.Zero(t, l.delay(a))
	assert.Zero(t, l.delay(a))
	third := l.delay(a)
	assert.Greater(t, third, 500*time.Millisecond, "the third push within a second waits for a token")
	assert.LessOrEqual(t, third, time.Second)
	assert.Zero(t, l.delay(b), "another device has its own bucket")
}

func TestShutdownCancelsWaitingPushes(t *testing.T) {
	s := &slowSender{release: make(chan struct{})}
	d := newTestDispatcher(t, s, func(c *APNsConfig) { c.MaxConcurrency = 1 })
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.enqueue(pushJob{n: apnsclient.Notification{DeviceToken: apnstest.Token(1)}})
	}()
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { d.stop(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not return after its context ended")
	}
}
