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
	meter                        metric.Meter
	ApnsExporterNotifications    metric.Int64Counter
	ApnsExporterPushes           metric.Int64Counter
	ApnsExporterPushesDropped    metric.Int64Counter
	ApnsExporterDevicesForgotten metric.Int64Counter
	ApnsExporterPushLatency      metric.Float64Histogram
	ApnsExporterBoardErrors      metric.Int64Counter
}

// Shutdown releases the builder (it has no asynchronous instruments).
func (*TelemetryBuilder) Shutdown() {}

// NewTelemetryBuilder creates the instruments declared in metadata.yaml.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{meter: Meter(settings)}
	var err, errs error
	builder.ApnsExporterNotifications, err = builder.meter.Int64Counter(
		"otelcol_apns_exporter_notifications",
		metric.WithDescription("Group notifications the alert policy decided to send (firing, repeat or resolved). [Alpha]"),
		metric.WithUnit("{notification}"),
	)
	errs = errors.Join(errs, err)
	builder.ApnsExporterPushes, err = builder.meter.Int64Counter(
		"otelcol_apns_exporter_pushes",
		metric.WithDescription("APNs requests by classified outcome. [Alpha]"),
		metric.WithUnit("{push}"),
	)
	errs = errors.Join(errs, err)
	builder.ApnsExporterPushesDropped, err = builder.meter.Int64Counter(
		"otelcol_apns_exporter_pushes_dropped",
		metric.WithDescription("Pushes given up, by reason. [Alpha]"),
		metric.WithUnit("{push}"),
	)
	errs = errors.Join(errs, err)
	builder.ApnsExporterDevicesForgotten, err = builder.meter.Int64Counter(
		"otelcol_apns_exporter_devices_forgotten",
		metric.WithDescription("Device tokens forgotten after APNs rejected them for good (410, BadDeviceToken, DeviceTokenNotForTopic). [Alpha]"),
		metric.WithUnit("{device}"),
	)
	errs = errors.Join(errs, err)
	builder.ApnsExporterPushLatency, err = builder.meter.Float64Histogram(
		"otelcol_apns_exporter_push_latency",
		metric.WithDescription("Time from the policy's decision to APNs' answer, retries included. [Alpha]"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
	)
	errs = errors.Join(errs, err)
	builder.ApnsExporterBoardErrors, err = builder.meter.Int64Counter(
		"otelcol_apns_exporter_board_errors",
		metric.WithDescription("Alerts and status entries the watch_api board refused (limits, label sizes). [Alpha]"),
		metric.WithUnit("{update}"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
