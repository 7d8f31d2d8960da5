package tfanomalyprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/latencywatch/latencywatch/processor/tfanomalyprocessor/internal/metadata"
)

// The processor writes attributes onto points (and may append the score gauge).
var capabilities = consumer.Capabilities{MutatesData: true}

// NewFactory returns the tf_anomaly processor factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	p, err := newAnomalyProcessor(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return createMetricsWith(ctx, set, cfg, next, p)
}

func createMetricsWith(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics, p *anomalyProcessor) (processor.Metrics, error) {
	return processorhelper.NewMetrics(ctx, set, cfg, next, p.processMetrics,
		processorhelper.WithCapabilities(capabilities),
		processorhelper.WithStart(p.start),
		processorhelper.WithShutdown(p.shutdown))
}
