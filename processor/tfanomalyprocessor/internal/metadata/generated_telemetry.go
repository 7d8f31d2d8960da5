// Written by hand in mdatagen's shape from metadata.yaml (see the component README).

package metadata

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

func Tracer(settings component.TelemetrySettings) trace.Tracer {
	return settings.TracerProvider.Tracer(ScopeName)
}

// TelemetryBuilder provides an interface for components to report telemetry
// as defined in metadata and user config.
type TelemetryBuilder struct {
	meter                      metric.Meter
	mu                         sync.Mutex
	registrations              []metric.Registration
	TfAnomalySeries            metric.Int64ObservableGauge
	observeTfAnomalySeries     func(context.Context, metric.Observer) error
	TfAnomalySeriesEvicted     metric.Int64Counter
	TfAnomalySeriesDropped     metric.Int64Counter
	TfAnomalyPointsScored      metric.Int64Counter
	TfAnomalyPointsSkipped     metric.Int64Counter
	TfAnomalyWindowResets      metric.Int64Counter
	TfAnomalyInferenceDuration metric.Float64Histogram
	TfAnomalyAnomaliesFlagged  metric.Int64Counter
	TfAnomalyModelReloads      metric.Int64Counter
}

// TelemetryBuilderOption applies changes to default builder.
type TelemetryBuilderOption interface {
	apply(*TelemetryBuilder)
}

type telemetryBuilderOptionFunc func(mb *TelemetryBuilder)

func (tbof telemetryBuilderOptionFunc) apply(mb *TelemetryBuilder) {
	tbof(mb)
}

// WithTfAnomalySeriesCallback sets callback for observable TfAnomalySeries metric.
func WithTfAnomalySeriesCallback(cb func() int64, opts ...metric.ObserveOption) TelemetryBuilderOption {
	return telemetryBuilderOptionFunc(func(builder *TelemetryBuilder) {
		builder.observeTfAnomalySeries = func(_ context.Context, o metric.Observer) error {
			o.ObserveInt64(builder.TfAnomalySeries, cb(), opts...)
			return nil
		}
	})
}

// Shutdown unregister all registered callbacks for async instruments.
func (builder *TelemetryBuilder) Shutdown() {
	builder.mu.Lock()
	defer builder.mu.Unlock()
	for _, reg := range builder.registrations {
		_ = reg.Unregister()
	}
	builder.registrations = nil
}

// NewTelemetryBuilder provides a struct with methods to update all internal telemetry
// for a component
func NewTelemetryBuilder(settings component.TelemetrySettings, options ...TelemetryBuilderOption) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{}
	for _, op := range options {
		op.apply(&builder)
	}
	builder.meter = Meter(settings)
	var err, errs error
	builder.TfAnomalySeries, err = builder.meter.Int64ObservableGauge(
		"otelcol_tf_anomaly_series",
		metric.WithDescription("Series whose window is currently tracked. [Development]"),
		metric.WithUnit("{series}"),
	)
	errs = errors.Join(errs, err)
	if builder.observeTfAnomalySeries != nil {
		reg, err := builder.meter.RegisterCallback(builder.observeTfAnomalySeries, builder.TfAnomalySeries)
		errs = errors.Join(errs, err)
		builder.registrations = append(builder.registrations, reg)
	}
	builder.TfAnomalySeriesEvicted, err = builder.meter.Int64Counter(
		"otelcol_tf_anomaly_series_evicted",
		metric.WithDescription("Series forgotten because they were idle longer than series_ttl. [Development]"),
		metric.WithUnit("{series}"),
	)
	errs = errors.Join(errs, err)
	builder.TfAnomalySeriesDropped, err = builder.meter.Int64Counter(
		"otelcol_tf_anomaly_series_dropped",
		metric.WithDescription("Points of new series not tracked because max_series was reached. [Development]"),
		metric.WithUnit("{points}"),
	)
	errs = errors.Join(errs, err)
	builder.TfAnomalyPointsScored, err = builder.meter.Int64Counter(
		"otelcol_tf_anomaly_points_scored",
		metric.WithDescription("Data points that received an anomaly score. [Development]"),
		metric.WithUnit("{points}"),
	)
	errs = errors.Join(errs, err)
	builder.TfAnomalyPointsSkipped, err = builder.meter.Int64Counter(
		"otelcol_tf_anomaly_points_skipped",
		metric.WithDescription("Selected data points not added to a window, by reason (not_finite, negative, no_timestamp, out_of_order, duplicate, empty_interval, cumulative_start). [Development]"),
		metric.WithUnit("{points}"),
	)
	errs = errors.Join(errs, err)
	builder.TfAnomalyWindowResets, err = builder.meter.Int64Counter(
		"otelcol_tf_anomaly_window_resets",
		metric.WithDescription("Windows restarted because a series had a gap longer than max_gap. [Development]"),
		metric.WithUnit("{series}"),
	)
	errs = errors.Join(errs, err)
	builder.TfAnomalyInferenceDuration, err = builder.meter.Float64Histogram(
		"otelcol_tf_anomaly_inference_duration",
		metric.WithDescription("Time to score one batch of windows (feature matrix already built), by mode. [Development]"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries([]float64{0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5}...),
	)
	errs = errors.Join(errs, err)
	builder.TfAnomalyAnomaliesFlagged, err = builder.meter.Int64Counter(
		"otelcol_tf_anomaly_anomalies_flagged",
		metric.WithDescription("Series that entered the flagged state (trigger satisfied). [Development]"),
		metric.WithUnit("{anomalies}"),
	)
	errs = errors.Join(errs, err)
	builder.TfAnomalyModelReloads, err = builder.meter.Int64Counter(
		"otelcol_tf_anomaly_model_reloads",
		metric.WithDescription("Attempts to load a changed model_path, by result (success, failure). A failed reload keeps the running model. [Development]"),
		metric.WithUnit("{reloads}"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
