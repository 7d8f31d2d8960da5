package metadata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.yaml.in/yaml/v3"
)

// The hand-written telemetry must match metadata.yaml, the source of truth.
func TestTelemetryMatchesMetadataYAML(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "metadata.yaml"))
	require.NoError(t, err)
	var md struct {
		Type      string `yaml:"type"`
		Telemetry struct {
			Metrics map[string]struct {
				Unit string `yaml:"unit"`
			} `yaml:"metrics"`
		} `yaml:"telemetry"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &md))
	assert.Equal(t, md.Type, Type.String())
	src, err := os.ReadFile("generated_telemetry.go")
	require.NoError(t, err)
	require.NotEmpty(t, md.Telemetry.Metrics)
	for name, m := range md.Telemetry.Metrics {
		assert.Contains(t, string(src), `"otelcol_`+name+`"`, "metric %s", name)
		assert.Contains(t, string(src), `metric.WithUnit("`+m.Unit+`")`, "unit of %s", name)
	}
	assert.Equal(t, len(md.Telemetry.Metrics), strings.Count(string(src), `"otelcol_`), "no metric outside metadata.yaml")
}

func TestNewTelemetryBuilder(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(t.Context())) }()
	tb, err := NewTelemetryBuilder(tel.NewTelemetrySettings(),
		WithLatencyEnrichTableSizeCallback(func() int64 { return 7 }),
		WithLatencyEnrichTableAgeCallback(func() float64 { return 1.5 }),
		WithLatencyEnrichTableReadyCallback(func() int64 { return 1 }))
	require.NoError(t, err)
	_, err = tel.GetMetric("otelcol_latency_enrich_table_size")
	require.NoError(t, err)
	tb.Shutdown()
	tb.Shutdown() // idempotent
}
