package pulsarexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/latencywatch/latencywatch/exporter/pulsarexporter/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/pulsarclient"
)

// NewFactory creates the pulsar exporter factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
		exporter.WithMetrics(createMetrics, metadata.MetricsStability),
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		// Longer than the default 5 s: a send is awaited until the broker
		// acknowledged, and producer.send_timeout must fit inside.
		TimeoutSettings:  exporterhelper.TimeoutConfig{Timeout: 30 * time.Second},
		BackOffConfig:    configretry.NewDefaultBackOffConfig(),
		QueueBatchConfig: configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		ClientConfig:     pulsarclient.NewDefaultClientConfig(),
		Traces:           SignalConfig{Topic: "otlp_spans", Encoding: EncodingProto, MessageKey: KeyNone},
		Metrics:          SignalConfig{Topic: "otlp_metrics", Encoding: EncodingProto, MessageKey: KeyNone},
		Logs:             SignalConfig{Topic: "otlp_logs", Encoding: EncodingProto, MessageKey: KeyNone},
		EventTime:        true,
		Producer: ProducerConfig{
			Compression: "none",
			Batching: BatchingConfig{
				Enabled:     true,
				MaxDelay:    10 * time.Millisecond,
				MaxMessages: 1000,
				MaxBytes:    128 * 1024,
			},
			MaxPendingMessages: 1000,
			SendTimeout:        20 * time.Second,
			MaxMessageBytes:    defaultMaxMessageBytes,
		},
	}
}

func helperOptions(cfg *Config, exp *pulsarExporter) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(cfg.TimeoutSettings),
		exporterhelper.WithRetry(cfg.BackOffConfig),
		exporterhelper.WithQueue(cfg.QueueBatchConfig),
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	return exporterhelperTraces(ctx, set, c, newExporter(c, set, c.Traces))
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c := cfg.(*Config)
	exp := newExporter(c, set, c.Metrics)
	return exporterhelper.NewMetrics(ctx, set, cfg, exp.exportMetrics, helperOptions(c, exp)...)
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	exp := newExporter(c, set, c.Logs)
	return exporterhelper.NewLogs(ctx, set, cfg, exp.exportLogs, helperOptions(c, exp)...)
}

// exporterhelperTraces wraps exp in exporterhelper (tests swap exp's client
// before wrapping).
func exporterhelperTraces(ctx context.Context, set exporter.Settings, cfg *Config, exp *pulsarExporter) (exporter.Traces, error) {
	return exporterhelper.NewTraces(ctx, set, cfg, exp.exportTraces, helperOptions(cfg, exp)...)
}
