package tfanomalyprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/latencywatch/latencywatch/processor/tfanomalyprocessor/internal/metadata"
)

func loadConfig(t *testing.T, file, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(file)
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	statistical := createDefaultConfig()
	statistical.Mode = ModeStatistical
	statistical.Direction = DirectionBoth
	statistical.Include = IncludeConfig{MetricNames: []string{`^http\.server\.request\.duration$`, "latency"}, Types: []string{TypeHistogram, TypeGauge}}
	statistical.SeriesAttributes = []string{"service.name", "http.route"}
	statistical.HistogramStatistic = "p99.9"
	statistical.WindowSize = 32
	statistical.MinPoints = 16
	statistical.MaxSeries = 5000
	statistical.SeriesTTL = 5 * time.Minute
	statistical.MaxGap = 10 * time.Minute
	statistical.Threshold = 0.999
	statistical.Trigger = TriggerConfig{Points: 3, Of: 5}
	statistical.RecoveryPoints = 4

	custom := createDefaultConfig()
	custom.ModelPath = "/etc/latencywatch/latency.tflite"
	custom.ModelReloadInterval = 10 * time.Second
	custom.BatchSize = 64
	custom.HistogramStatistic = "mean"
	custom.Attributes = AttributeNames{Score: "anomaly.score", Flag: "anomaly.flag", Expected: "anomaly.expected", Model: "anomaly.model"}
	custom.ScoreMetric = ScoreMetricConfig{Enabled: true, Name: "anomaly_score"}

	for _, tc := range []struct {
		name string
		want *Config
	}{
		{"", createDefaultConfig()},
		{"statistical", statistical},
		{"custom_model", custom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := loadConfig(t, filepath.Join("testdata", "config.yaml"), tc.name)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestConfigThresholdDefaults(t *testing.T) {
	c := createDefaultConfig()
	assert.Equal(t, defaultModelThreshold, c.threshold())
	c.Mode = ModeStatistical
	assert.Equal(t, defaultStatisticalThreshold, c.threshold())
	c.Threshold = 0.9
	assert.Equal(t, 0.9, c.threshold())
}

func TestConfigInvalid(t *testing.T) {
	for file, want := range map[string]string{
		"mode":                   `mode: "neural" is not one of`,
		"model_path_statistical": "model_path: set, but mode is \"statistical\"",
		"reload_negative":        "model_reload_interval: must not be negative",
		"metric_regex":           "include.metric_names[0]: error parsing regexp",
		"types_empty":            "include.types: select at least one",
		"types_unknown":          `include.types[0]: "summary" is not one of`,
		"series_attribute_empty": "series_attributes[0]: empty attribute key",
		"statistic":              `histogram_statistic: "p100" is not`,
		"window_size":            "window_size: must be within 8..1024, got 4",
		"min_points":             "min_points: must be within 2..window_size (64), got 65",
		"max_series":             "max_series: must be at least 1, got 0",
		"series_ttl":             "series_ttl: must be positive",
		"max_gap":                "max_gap: must be positive",
		"batch_size":             "batch_size: must be within 1..4096, got 0",
		"threshold":              "threshold: must be within 0..1",
		"trigger_of":             "trigger.of: must be within 1..16, got 17",
		"trigger_points":         "trigger.points: must be within 1..trigger.of (3), got 4",
		"recovery":               "recovery_points: must be within 1..255, got 0",
		"direction_model":        `direction: "both" applies to statistical mode only`,
		"direction_unknown":      `direction: "down" is not one of`,
		"attribute_empty":        "attributes.flag: must not be empty",
		"attribute_duplicate":    `attributes.score: "latencywatch.anomaly.score" is also used by attributes.expected`,
		"score_metric_name":      "score_metric.name: must not be empty",
	} {
		t.Run(file, func(t *testing.T) {
			_, err := loadConfig(t, filepath.Join("testdata", "invalid", file+".yaml"), "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}
