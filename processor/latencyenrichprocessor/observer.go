package latencyenrichprocessor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadata"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
)

// tableObserver turns table and source events into internal telemetry and
// rate-limited log lines. It never logs per row.
type tableObserver struct {
	logger       *zap.Logger
	tb           atomic.Pointer[metadata.TelemetryBuilder]
	badRowLog    *logLimiter
	reloadLog    logLimiter
	sourceErrLog logLimiter

	hostMu  sync.Mutex // protects host, lastErr
	host    component.Host
	lastErr error
}

func (o *tableObserver) setSourceError(err error) {
	o.hostMu.Lock()
	o.lastErr = err
	o.hostMu.Unlock()
}

// lastSourceError is the source's most recent unrecovered error, if any.
func (o *tableObserver) lastSourceError() error {
	o.hostMu.Lock()
	defer o.hostMu.Unlock()
	return o.lastErr
}

var _ metadatatable.Observer = (*tableObserver)(nil)

func (o *tableObserver) setTelemetry(tb *metadata.TelemetryBuilder) { o.tb.Store(tb) }

func (o *tableObserver) setHost(h component.Host) {
	o.hostMu.Lock()
	o.host = h
	o.hostMu.Unlock()
}

func (o *tableObserver) getHost() component.Host {
	o.hostMu.Lock()
	defer o.hostMu.Unlock()
	return o.host
}

func (o *tableObserver) Applied(lag time.Duration, known bool) {
	tb := o.tb.Load()
	if tb == nil {
		return
	}
	ctx := context.Background()
	tb.LatencyEnrichRowsApplied.Add(ctx, 1)
	if known {
		if lag < 0 {
			lag = 0 // clock skew between writer and us
		}
		tb.LatencyEnrichMetadataPropagationLag.Record(ctx, lag.Seconds())
	}
}

func (o *tableObserver) Deleted(n int) {
	if tb := o.tb.Load(); tb != nil {
		tb.LatencyEnrichRowsDeleted.Add(context.Background(), int64(n))
	}
}

func (o *tableObserver) Rejected(err error) {
	reason := metadatatable.ReasonOf(err)
	if reason == "" {
		reason = metadatatable.ReasonWrongType
	}
	if tb := o.tb.Load(); tb != nil {
		tb.LatencyEnrichRowsBad.Add(context.Background(), 1,
			metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason))))
	}
	if ok, suppressed := o.badRowLog.allow(time.Now()); ok {
		o.logger.Warn("skipping bad metadata row", zap.String("reason", reason), zap.Error(err),
			zap.Int("suppressed_since_last_log", suppressed))
	}
}

// reloaded is the file source's callback after each load attempt.
func (o *tableObserver) reloaded(err error) {
	tb := o.tb.Load()
	if err == nil {
		if tb != nil {
			tb.LatencyEnrichSourceReloads.Add(context.Background(), 1, attrReloadSuccess)
		}
		return
	}
	if tb != nil {
		tb.LatencyEnrichSourceReloads.Add(context.Background(), 1, attrReloadFailure)
	}
	if ok, suppressed := o.reloadLog.allow(time.Now()); ok {
		o.logger.Warn("metadata table file reload failed", zap.Error(err), zap.Int("suppressed_since_last_log", suppressed))
	}
}

// logLimiter allows one log line per interval and counts what it held back.
type logLimiter struct {
	mu         sync.Mutex // protects last, suppressed
	every      time.Duration
	last       time.Time
	suppressed int
}

func newLogLimiter(every time.Duration) *logLimiter { return &logLimiter{every: every} }

func (l *logLimiter) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	every := l.every
	if every == 0 {
		every = 10 * time.Second
	}
	if !l.last.IsZero() && now.Sub(l.last) < every {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}
