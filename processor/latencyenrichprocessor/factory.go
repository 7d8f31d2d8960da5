package latencyenrichprocessor

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/filesource"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/kafkasource"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadata"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/pulsarsource"
)

var capabilities = consumer.Capabilities{MutatesData: true}

// NewFactory returns the latency_enrich processor factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		KeySeparator:        "|",
		Target:              ContextResource,
		Action:              ActionUpsert,
		MaxRowBytes:         64 * 1024,
		WaitForReadyTimeout: 30 * time.Second,
		Metrics: MetricsConfig{
			LatencyNamePattern: `(?i)(duration|latency)`,
			MaxSeries:          10000,
			SeriesTTL:          10 * time.Minute,
		},
		Table: defaultTableConfig(),
	}
}

// enrichers shares one enricher (table, source, telemetry) between the
// traces, metrics and logs processors created from the same config.
var enrichers = struct {
	sync.Mutex
	m map[*Config]*enricher
}{m: map[*Config]*enricher{}}

func sharedEnricher(set processor.Settings, cfg *Config) (*enricher, error) {
	enrichers.Lock()
	defer enrichers.Unlock()
	if e, ok := enrichers.m[cfg]; ok {
		return e, nil
	}
	e, err := newEnricher(set, cfg)
	if err != nil {
		return nil, err
	}
	enrichers.m[cfg] = e
	return e, nil
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	e, err := sharedEnricher(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, e.processTraces,
		processorhelper.WithCapabilities(capabilities),
		processorhelper.WithStart(e.start),
		processorhelper.WithShutdown(e.shutdown))
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	e, err := sharedEnricher(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, next, e.processMetrics,
		processorhelper.WithCapabilities(capabilities),
		processorhelper.WithStart(e.start),
		processorhelper.WithShutdown(e.shutdown))
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	e, err := sharedEnricher(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, e.processLogs,
		processorhelper.WithCapabilities(capabilities),
		processorhelper.WithStart(e.start),
		processorhelper.WithShutdown(e.shutdown))
}

// defaultTableConfig gives each source section its defaults for when the
// section is present in the YAML; absent sections stay unset.
func defaultTableConfig() TableConfig {
	return TableConfig{
		Inline: configoptional.Default(InlineConfig{}),
		File:   configoptional.Default(filesource.Config{KeyColumn: "key", ReloadInterval: 5 * time.Second}),
		Kafka:  configoptional.Default(kafkasource.NewDefaultConfig()),
		Pulsar: configoptional.Default(pulsarsource.NewDefaultConfig()),
	}
}

func forgetEnricher(e *enricher) {
	enrichers.Lock()
	defer enrichers.Unlock()
	if enrichers.m[e.cfg] == e {
		delete(enrichers.m, e.cfg)
	}
}
