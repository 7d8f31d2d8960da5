package pulsarreceiver

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"

	"github.com/latencywatch/latencywatch/internal/pulsarclient"
	"github.com/latencywatch/latencywatch/receiver/pulsarreceiver/internal/metadata"
)

// NewFactory creates the pulsar receiver factory.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithTraces(createTraces, metadata.TracesStability),
		receiver.WithMetrics(createMetrics, metadata.MetricsStability),
		receiver.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		ClientConfig:      pulsarclient.NewDefaultClientConfig(),
		Traces:            SignalConfig{Topics: []string{"otlp_spans"}, Encoding: EncodingProto},
		Metrics:           SignalConfig{Topics: []string{"otlp_metrics"}, Encoding: EncodingProto},
		Logs:              SignalConfig{Topics: []string{"otlp_logs"}, Encoding: EncodingProto},
		Subscription:      "otlp_receiver",
		SubscriptionType:  "shared",
		InitialPosition:   "latest",
		ReceiverQueueSize: 1000,
		Redelivery: RedeliveryConfig{
			InitialBackoff:  time.Second,
			MaxBackoff:      time.Minute,
			MaxRedeliveries: 10,
		},
	}
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	c := cfg.(*Config)
	var u ptrace.Unmarshaler = &ptrace.ProtoUnmarshaler{}
	if c.Traces.Encoding == EncodingJSON {
		u = &ptrace.JSONUnmarshaler{}
	}
	return newReceiver(c, set, c.Traces, func(obs *receiverhelper.ObsReport) signalHandler {
		return signalHandler{
			decode: func(b []byte) (any, int, error) {
				td, err := u.UnmarshalTraces(b)
				if err != nil {
					return nil, 0, err
				}
				return td, td.SpanCount(), nil
			},
			annotate: func(d any, attrs map[string]string) {
				for _, rs := range d.(ptrace.Traces).ResourceSpans().All() {
					putAll(rs.Resource().Attributes(), attrs)
				}
			},
			startOp: obs.StartTracesOp,
			endOp:   obs.EndTracesOp,
			consume: func(ctx context.Context, d any) error { return next.ConsumeTraces(ctx, d.(ptrace.Traces)) },
		}
	})
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	c := cfg.(*Config)
	var u pmetric.Unmarshaler = &pmetric.ProtoUnmarshaler{}
	if c.Metrics.Encoding == EncodingJSON {
		u = &pmetric.JSONUnmarshaler{}
	}
	return newReceiver(c, set, c.Metrics, func(obs *receiverhelper.ObsReport) signalHandler {
		return signalHandler{
			decode: func(b []byte) (any, int, error) {
				md, err := u.UnmarshalMetrics(b)
				if err != nil {
					return nil, 0, err
				}
				return md, md.DataPointCount(), nil
			},
			annotate: func(d any, attrs map[string]string) {
				for _, rm := range d.(pmetric.Metrics).ResourceMetrics().All() {
					putAll(rm.Resource().Attributes(), attrs)
				}
			},
			startOp: obs.StartMetricsOp,
			endOp:   obs.EndMetricsOp,
			consume: func(ctx context.Context, d any) error { return next.ConsumeMetrics(ctx, d.(pmetric.Metrics)) },
		}
	})
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	c := cfg.(*Config)
	var u plog.Unmarshaler = &plog.ProtoUnmarshaler{}
	if c.Logs.Encoding == EncodingJSON {
		u = &plog.JSONUnmarshaler{}
	}
	return newReceiver(c, set, c.Logs, func(obs *receiverhelper.ObsReport) signalHandler {
		return signalHandler{
			decode: func(b []byte) (any, int, error) {
				ld, err := u.UnmarshalLogs(b)
				if err != nil {
					return nil, 0, err
				}
				return ld, ld.LogRecordCount(), nil
			},
			annotate: func(d any, attrs map[string]string) {
				for _, rl := range d.(plog.Logs).ResourceLogs().All() {
					putAll(rl.Resource().Attributes(), attrs)
				}
			},
			startOp: obs.StartLogsOp,
			endOp:   obs.EndLogsOp,
			consume: func(ctx context.Context, d any) error { return next.ConsumeLogs(ctx, d.(plog.Logs)) },
		}
	})
}
