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
	meter                               metric.Meter
	mu                                  sync.Mutex
	registrations                       []metric.Registration
	LatencyEnrichLookups                metric.Int64Counter
	LatencyEnrichTableSize              metric.Int64ObservableGauge
	observeLatencyEnrichTableSize       func(context.Context, metric.Observer) error
	LatencyEnrichTableAge               metric.Float64ObservableGauge
	observeLatencyEnrichTableAge        func(context.Context, metric.Observer) error
	LatencyEnrichTableReady             metric.Int64ObservableGauge
	observeLatencyEnrichTableReady      func(context.Context, metric.Observer) error
	LatencyEnrichMetadataPropagationLag metric.Float64Histogram
	LatencyEnrichRowsApplied            metric.Int64Counter
	LatencyEnrichRowsDeleted            metric.Int64Counter
	LatencyEnrichRowsBad                metric.Int64Counter
	LatencyEnrichSourceReloads          metric.Int64Counter
	LatencyEnrichQuantileSeriesDropped  metric.Int64Counter
}

// TelemetryBuilderOption applies changes to default builder.
type TelemetryBuilderOption interface {
	apply(*TelemetryBuilder)
}

type telemetryBuilderOptionFunc func(mb *TelemetryBuilder)

func (tbof telemetryBuilderOptionFunc) apply(mb *TelemetryBuilder) {
	tbof(mb)
}

// WithLatencyEnrichTableSizeCallback sets callback for observable LatencyEnrichTableSize metric.
func WithLatencyEnrichTableSizeCallback(cb func() int64, opts ...metric.ObserveOption) TelemetryBuilderOption {
	return telemetryBuilderOptionFunc(func(builder *TelemetryBuilder) {
		builder.observeLatencyEnrichTableSize = func(_ context.Context, o metric.Observer) error {
			o.ObserveInt64(builder.LatencyEnrichTableSize, cb(), opts...)
			return nil
		}
	})
}

// WithLatencyEnrichTableAgeCallback sets callback for observable LatencyEnrichTableAge metric.
func WithLatencyEnrichTableAgeCallback(cb func() float64, opts ...metric.ObserveOption) TelemetryBuilderOption {
	return telemetryBuilderOptionFunc(func(builder *TelemetryBuilder) {
		builder.observeLatencyEnrichTableAge = func(_ context.Context, o metric.Observer) error {
			o.ObserveFloat64(builder.LatencyEnrichTableAge, cb(), opts...)
			return nil
		}
	})
}

// WithLatencyEnrichTableReadyCallback sets callback for observable LatencyEnrichTableReady metric.
func WithLatencyEnrichTableReadyCallback(cb func() int64, opts ...metric.ObserveOption) TelemetryBuilderOption {
	return telemetryBuilderOptionFunc(func(builder *TelemetryBuilder) {
		builder.observeLatencyEnrichTableReady = func(_ context.Context, o metric.Observer) error {
			o.ObserveInt64(builder.LatencyEnrichTableReady, cb(), opts...)
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
	builder.LatencyEnrichLookups, err = builder.meter.Int64Counter(
		"otelcol_latency_enrich_lookups",
		metric.WithDescription("Records looked up in the metadata table, by result (hit, miss). [Development]"),
		metric.WithUnit("{records}"),
	)
	errs = errors.Join(errs, err)
	builder.LatencyEnrichTableSize, err = builder.meter.Int64ObservableGauge(
		"otelcol_latency_enrich_table_size",
		metric.WithDescription("Rows in the metadata table. [Development]"),
		metric.WithUnit("{rows}"),
	)
	errs = errors.Join(errs, err)
	if builder.observeLatencyEnrichTableSize != nil {
		reg, err := builder.meter.RegisterCallback(builder.observeLatencyEnrichTableSize, builder.LatencyEnrichTableSize)
		errs = errors.Join(errs, err)
		builder.registrations = append(builder.registrations, reg)
	}
	builder.LatencyEnrichTableAge, err = builder.meter.Float64ObservableGauge(
		"otelcol_latency_enrich_table_age",
		metric.WithDescription("Seconds since the metadata table last changed (row applied, deleted or file reloaded). [Development]"),
		metric.WithUnit("s"),
	)
	errs = errors.Join(errs, err)
	if builder.observeLatencyEnrichTableAge != nil {
		reg, err := builder.meter.RegisterCallback(builder.observeLatencyEnrichTableAge, builder.LatencyEnrichTableAge)
		errs = errors.Join(errs, err)
		builder.registrations = append(builder.registrations, reg)
	}
	builder.LatencyEnrichTableReady, err = builder.meter.Int64ObservableGauge(
		"otelcol_latency_enrich_table_ready",
		metric.WithDescription("1 once the table source finished its initial load, else 0. [Development]"),
		metric.WithUnit("1"),
	)
	errs = errors.Join(errs, err)
	if builder.observeLatencyEnrichTableReady != nil {
		reg, err := builder.meter.RegisterCallback(builder.observeLatencyEnrichTableReady, builder.LatencyEnrichTableReady)
		errs = errors.Join(errs, err)
		builder.registrations = append(builder.registrations, reg)
	}
	builder.LatencyEnrichMetadataPropagationLag, err = builder.meter.Float64Histogram(
		"otelcol_latency_enrich_metadata_propagation_lag",
		metric.WithDescription("Time from a row's updated_at to the moment it was applied to the table. [Development]"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries([]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}...),
	)
	errs = errors.Join(errs, err)
	builder.LatencyEnrichRowsApplied, err = builder.meter.Int64Counter(
		"otelcol_latency_enrich_rows_applied",
		metric.WithDescription("Rows inserted or replaced in the table. [Development]"),
		metric.WithUnit("{rows}"),
	)
	errs = errors.Join(errs, err)
	builder.LatencyEnrichRowsDeleted, err = builder.meter.Int64Counter(
		"otelcol_latency_enrich_rows_deleted",
		metric.WithDescription("Rows deleted from the table (tombstones, rows missing from a reloaded file). [Development]"),
		metric.WithUnit("{rows}"),
	)
	errs = errors.Join(errs, err)
	builder.LatencyEnrichRowsBad, err = builder.meter.Int64Counter(
		"otelcol_latency_enrich_rows_bad",
		metric.WithDescription("Rows skipped because they were not valid, by reason (not_json, wrong_type, oversized, missing_key). [Development]"),
		metric.WithUnit("{rows}"),
	)
	errs = errors.Join(errs, err)
	builder.LatencyEnrichSourceReloads, err = builder.meter.Int64Counter(
		"otelcol_latency_enrich_source_reloads",
		metric.WithDescription("File source reloads, by result (success, failure). A failed reload keeps the last good table. [Development]"),
		metric.WithUnit("{reloads}"),
	)
	errs = errors.Join(errs, err)
	builder.LatencyEnrichQuantileSeriesDropped, err = builder.meter.Int64Counter(
		"otelcol_latency_enrich_quantile_series_dropped",
		metric.WithDescription("Cumulative histogram series not tracked for derived quantiles because max_series was reached. [Development]"),
		metric.WithUnit("{series}"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
