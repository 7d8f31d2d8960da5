package apnsexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/metadata"
)

// NewFactory creates the apns exporter factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	retry := configretry.NewDefaultBackOffConfig()
	retry.MaxElapsedTime = 2 * time.Minute
	return &Config{
		APNs: APNsConfig{
			Environment:    "production",
			Priority:       10,
			Expiration:     time.Hour,
			MaxConcurrency: 8,
			QueueSize:      10000,
			PerDevice:      RateLimitConfig{Rate: 1, Burst: 5},
			RequestTimeout: 10 * time.Second,
			Retry:          retry,
		},
		Route:              RouteConfig{Receiver: "all", GroupBy: []string{"service.name", "cloud.region"}},
		Receivers:          []ReceiverConfig{{Name: "all"}},
		ResolveTimeout:     5 * time.Minute,
		SendResolved:       true,
		Severity:           SeverityConfig{ScoreBands: []ScoreBandConfig{{MinScore: 0.9, Severity: "critical"}, {MinScore: 0.7, Severity: "warning"}}, Default: "info"},
		EvaluationInterval: time.Second,
	}
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c := cfg.(*Config)
	exp, err := newAPNsExporter(c, set)
	if err != nil {
		return nil, err
	}
	// No sending_queue/retry: consuming only updates the policy; pushes are
	// queued and retried by the exporter's dispatcher.
	return exporterhelper.NewMetrics(ctx, set, cfg, exp.consumeMetrics,
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
	)
}
