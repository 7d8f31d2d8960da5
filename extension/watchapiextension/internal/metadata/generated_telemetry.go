package metadata

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
)

// TelemetryBuilder holds the extension's instruments (metadata.yaml, telemetry).
type TelemetryBuilder struct {
	meter                             metric.Meter
	registrations                     []metric.Registration
	LatencywatchWatchAPIRateLimited   metric.Int64Counter
	LatencywatchWatchAPIAuthFailure   metric.Int64Counter
	LatencywatchWatchAPIStreamClients metric.Int64UpDownCounter
}

// NewTelemetryBuilder creates the instruments; devices and firing alerts are
// observed through the callbacks.
func NewTelemetryBuilder(settings component.TelemetrySettings, devices, firing func() int64) (*TelemetryBuilder, error) {
	tb := &TelemetryBuilder{meter: settings.MeterProvider.Meter(ScopeName)}
	var errs, err error
	tb.LatencywatchWatchAPIRateLimited, err = tb.meter.Int64Counter("latencywatch.watch_api.rate_limited",
		metric.WithDescription("Requests refused with 429 by the per-client rate limiter."), metric.WithUnit("{request}"))
	errs = errors.Join(errs, err)
	tb.LatencywatchWatchAPIAuthFailure, err = tb.meter.Int64Counter("latencywatch.watch_api.auth_failures",
		metric.WithDescription("Requests refused with 401 by the configured authenticator."), metric.WithUnit("{request}"))
	errs = errors.Join(errs, err)
	tb.LatencywatchWatchAPIStreamClients, err = tb.meter.Int64UpDownCounter("latencywatch.watch_api.stream_clients",
		metric.WithDescription("Open server-sent-event streams."), metric.WithUnit("{client}"))
	errs = errors.Join(errs, err)
	devGauge, err := tb.meter.Int64ObservableGauge("latencywatch.watch_api.devices",
		metric.WithDescription("Registered devices."), metric.WithUnit("{device}"))
	errs = errors.Join(errs, err)
	firingGauge, err := tb.meter.Int64ObservableGauge("latencywatch.watch_api.alerts.firing",
		metric.WithDescription("Firing alerts on the board."), metric.WithUnit("{alert}"))
	errs = errors.Join(errs, err)
	if errs != nil {
		return nil, errs
	}
	reg, err := tb.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(devGauge, devices())
		o.ObserveInt64(firingGauge, firing())
		return nil
	}, devGauge, firingGauge)
	if err != nil {
		return nil, err
	}
	tb.registrations = append(tb.registrations, reg)
	return tb, nil
}

// Shutdown unregisters the callbacks.
func (tb *TelemetryBuilder) Shutdown() {
	for _, r := range tb.registrations {
		_ = r.Unregister()
	}
	tb.registrations = nil
}
