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

// TelemetryBuilder holds the receiver's instruments.
type TelemetryBuilder struct {
	meter                  metric.Meter
	PulsarReceiverMessages metric.Int64Counter
	PulsarReceiverBytes    metric.Int64Counter
}

// Shutdown releases the builder (it has no asynchronous instruments).
func (*TelemetryBuilder) Shutdown() {}

// NewTelemetryBuilder creates the instruments declared in metadata.yaml.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{meter: Meter(settings)}
	var err, errs error
	builder.PulsarReceiverMessages, err = builder.meter.Int64Counter(
		"otelcol_pulsar_receiver_messages",
		metric.WithDescription("Messages handled, by outcome and reason. [Alpha]"),
		metric.WithUnit("{message}"),
	)
	errs = errors.Join(errs, err)
	builder.PulsarReceiverBytes, err = builder.meter.Int64Counter(
		"otelcol_pulsar_receiver_bytes",
		metric.WithDescription("Payload bytes received. [Alpha]"),
		metric.WithUnit("By"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
