// Written by hand in the shape mdatagen generates from ../../metadata.yaml.

package metadata

import (
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
)

// Meter returns the meter of this component's scope.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the exporter's instruments.
type TelemetryBuilder struct {
	meter                      metric.Meter
	PulsarExporterMessages     metric.Int64Counter
	PulsarExporterBytes        metric.Int64Counter
	PulsarExporterSendLatency  metric.Float64Histogram
	PulsarExporterSendFailures metric.Int64Counter
}

// Shutdown releases the builder (it has no asynchronous instruments).
func (*TelemetryBuilder) Shutdown() {}

// NewTelemetryBuilder creates the instruments declared in metadata.yaml.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{meter: Meter(settings)}
	var err, errs error
	builder.PulsarExporterMessages, err = builder.meter.Int64Counter(
		"otelcol_pulsar_exporter_messages",
		metric.WithDescription("Messages the broker acknowledged. [Alpha]"),
		metric.WithUnit("{message}"),
	)
	errs = errors.Join(errs, err)
	builder.PulsarExporterBytes, err = builder.meter.Int64Counter(
		"otelcol_pulsar_exporter_bytes",
		metric.WithDescription("Payload bytes of the messages the broker acknowledged (before compression). [Alpha]"),
		metric.WithUnit("By"),
	)
	errs = errors.Join(errs, err)
	builder.PulsarExporterSendLatency, err = builder.meter.Float64Histogram(
		"otelcol_pulsar_exporter_send_latency",
		metric.WithDescription("Time from handing a message to the client to the broker's acknowledgement or the failure. [Alpha]"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
	)
	errs = errors.Join(errs, err)
	builder.PulsarExporterSendFailures, err = builder.meter.Int64Counter(
		"otelcol_pulsar_exporter_send_failures",
		metric.WithDescription("Messages (or items too large for any message) that could not be sent, by reason and class. [Alpha]"),
		metric.WithUnit("{message}"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
