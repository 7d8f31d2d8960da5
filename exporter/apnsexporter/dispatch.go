package apnsexporter

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/apnsclient"
	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/metadata"
)

// sender is what the dispatcher needs from the APNs client.
type sender interface {
	Send(ctx context.Context, n apnsclient.Notification) apnsclient.Verdict
	CloseIdleConnections()
}

// pushJob is one push to one device.
type pushJob struct {
	n       apnsclient.Notification
	decided time.Time
}

// dispatcher sends pushes with bounded concurrency, a per-device rate limit
// and back-off, and acts on every verdict (forget, retry, drop).
type dispatcher struct {
	client   sender
	retry    configretry.BackOffConfig
	limits   *deviceLimits
	onForget func(token string)
	tel      *metadata.TelemetryBuilder
	logger   *zap.Logger

	jobs   chan pushJob
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// pending counts jobs queued or in flight (for draining on shutdown).
	pending sync.WaitGroup
}

func newDispatcher(c sender, cfg APNsConfig, tel *metadata.TelemetryBuilder, logger *zap.Logger, onForget func(string)) *dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	d := &dispatcher{
		client: c, retry: cfg.Retry,
		limits: newDeviceLimits(rate.Limit(cfg.PerDevice.Rate), cfg.PerDevice.Burst), onForget: onForget,
		tel: tel, logger: logger, jobs: make(chan pushJob, cfg.QueueSize), ctx: ctx, cancel: cancel,
	}
	for range cfg.MaxConcurrency {
		d.wg.Add(1)
		go d.work()
	}
	return d
}

func (d *dispatcher) enqueue(j pushJob) {
	d.pending.Add(1)
	select {
	case d.jobs <- j:
	default:
		d.pending.Done()
		d.dropped("queue_full")
	}
}

// Attribute sets are built once: the counters are on the per-push path.
var (
	outcomeAttrs = func() map[apnsclient.Kind]metric.AddOption {
		m := map[apnsclient.Kind]metric.AddOption{}
		for k := apnsclient.Sent; k <= apnsclient.Permanent; k++ {
			m[k] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", k.String())))
		}
		return m
	}()
	dropReasons = []string{"queue_full", "retries_exhausted", "permanent", "payload", "shutdown"}
	dropAttrs   = func() map[string]metric.AddOption {
		m := map[string]metric.AddOption{}
		for _, r := range dropReasons {
			m[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r)))
		}
		return m
	}()
)

func (d *dispatcher) dropped(reason string) {
	d.tel.ApnsExporterPushesDropped.Add(context.Background(), 1, dropAttrs[reason])
}

func (d *dispatcher) work() {
	defer d.wg.Done()
	for {
		select {
		case <-d.ctx.Done():
			return
		case j := <-d.jobs:
			d.deliver(j)
			d.pending.Done()
		}
	}
}

// stop waits for queued pushes until ctx ends, then cancels the rest.
func (d *dispatcher) stop(ctx context.Context) {
	drained := make(chan struct{})
	go func() { d.pending.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-ctx.Done():
	}
	d.cancel()
	d.wg.Wait()
	d.client.CloseIdleConnections()
}

func (d *dispatcher) sleep(wait time.Duration) bool {
	if wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-d.ctx.Done():
		return false
	}
}

func shortToken(t string) string {
	if len(t) > 8 {
		return t[:8] + "…"
	}
	return t
}

func (d *dispatcher) deliver(j pushJob) {
	if !d.sleep(d.limits.delay(j.n.DeviceToken)) {
		d.dropped("shutdown")
		return
	}
	start := time.Now()
	interval := d.retry.InitialInterval
	for {
		// The HTTP client's own timeout (request_timeout) bounds the request.
		v := d.client.Send(d.ctx, j.n)
		d.tel.ApnsExporterPushes.Add(context.Background(), 1, outcomeAttrs[v.Kind])
		switch v.Kind {
		case apnsclient.Sent:
			d.tel.ApnsExporterPushLatency.Record(context.Background(), time.Since(j.decided).Seconds())
			return
		case apnsclient.ForgetDevice:
			d.logger.Info("APNs rejected a device token for good; forgetting it",
				zap.String("device", shortToken(j.n.DeviceToken)), zap.String("reason", v.Reason), zap.Int("status", v.Status))
			d.onForget(j.n.DeviceToken)
			return
		case apnsclient.Permanent:
			d.logger.Warn("APNs refused a push; not retrying", zap.String("device", shortToken(j.n.DeviceToken)), zap.Error(v.Err))
			d.dropped("permanent")
			return
		}
		if d.ctx.Err() != nil {
			d.dropped("shutdown")
			return
		}
		if !d.retry.Enabled || (d.retry.MaxElapsedTime > 0 && time.Since(start) > d.retry.MaxElapsedTime) {
			d.logger.Warn("giving up on a push after retries", zap.String("device", shortToken(j.n.DeviceToken)), zap.Error(v.Err))
			d.dropped("retries_exhausted")
			return
		}
		wait := jitter(interval, d.retry.RandomizationFactor)
		if v.Kind == apnsclient.Throttled {
			wait = max(wait, apnsclient.ThrottleDelay)
		}
		if !d.sleep(wait) {
			d.dropped("shutdown")
			return
		}
		interval = min(time.Duration(float64(interval)*max(d.retry.Multiplier, 1)), max(d.retry.MaxInterval, interval))
	}
}

func jitter(d time.Duration, factor float64) time.Duration {
	if factor <= 0 || d <= 0 {
		return d
	}
	delta := factor * float64(d)
	return time.Duration(float64(d) - delta + rand.Float64()*2*delta)
}

// deviceLimits is a token bucket per device token. Apple throttles
// (429 TooManyRequests) pushes sent too often to one device.
type deviceLimits struct {
	limit rate.Limit
	burst int

	mu       sync.Mutex // protects limiters and lastSweep
	limiters map[string]*rate.Limiter
	lastSeen map[string]time.Time
	sweep    time.Time
}

func newDeviceLimits(l rate.Limit, burst int) *deviceLimits {
	return &deviceLimits{limit: l, burst: burst, limiters: map[string]*rate.Limiter{}, lastSeen: map[string]time.Time{}}
}

// delay reserves a push for the token and returns how long to wait for it.
func (d *deviceLimits) delay(token string) time.Duration {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Sub(d.sweep) > 10*time.Minute {
		// Forget idle devices so the map does not grow without bound.
		for t, seen := range d.lastSeen {
			if now.Sub(seen) > 10*time.Minute {
				delete(d.limiters, t)
				delete(d.lastSeen, t)
			}
		}
		d.sweep = now
	}
	l := d.limiters[token]
	if l == nil {
		l = rate.NewLimiter(d.limit, d.burst)
		d.limiters[token] = l
	}
	d.lastSeen[token] = now
	return l.ReserveN(now, 1).DelayFrom(now)
}
