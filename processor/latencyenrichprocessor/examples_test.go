package latencyenrichprocessor

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

// envDefault matches ${env:NAME:-default}; examples are checked with defaults.
var envDefault = regexp.MustCompile(`\$\{env:[A-Z_]+:-([^}]*)\}`)

// TestExampleConfigs keeps config/enrich-*.yaml loadable and valid.
func TestExampleConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "enrich-*.yaml"))
	require.NoError(t, err)
	checked := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		if !strings.Contains(string(raw), "latency_enrich") {
			continue // the example table itself
		}
		tmp := filepath.Join(t.TempDir(), filepath.Base(f))
		require.NoError(t, os.WriteFile(tmp, envDefault.ReplaceAll(raw, []byte("$1")), 0o600))
		cm, err := confmaptest.LoadConf(tmp)
		require.NoError(t, err, f)
		procs, err := cm.Sub("processors")
		require.NoError(t, err)
		for key := range procs.ToStringMap() {
			if key != "latency_enrich" && !strings.HasPrefix(key, "latency_enrich/") {
				continue
			}
			sub, err := procs.Sub(key)
			require.NoError(t, err)
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, sub.Unmarshal(cfg), f)
			assert.NoError(t, confmap.Validate(cfg), f)
			checked++
		}
	}
	assert.GreaterOrEqual(t, checked, 3, "config/enrich-file.yaml, -kafka.yaml, -pulsar.yaml")

	// The example table parses with the file source and every row is good.
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"keys":       []any{map[string]any{"attributes": []any{map[string]any{"from": "resource", "attribute": "service.name"}}}},
		"attributes": []any{map[string]any{"column": "region"}},
		"table":      map[string]any{"file": map[string]any{"path": filepath.Join("..", "..", "config", "enrich-table.yaml")}},
	}).Unmarshal(cfg))
	e, err := newEnricher(settings(), cfg)
	require.NoError(t, err)
	src, err := e.newSource()
	require.NoError(t, err)
	require.NoError(t, src.Start(t.Context()))
	require.NoError(t, src.Shutdown(t.Context()))
	assert.Equal(t, 3, e.table.Len())
}
