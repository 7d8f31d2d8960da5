package pulsarexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/latencywatch/latencywatch/exporter/pulsarexporter/internal/metadata"
)

func TestFactoryCreatesAllSignals(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	cfg := f.CreateDefaultConfig()
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	require.NoError(t, cfg.(*Config).Validate())
	set := exportertest.NewNopSettings(metadata.Type)
	ctx := context.Background()

	te, err := f.CreateTraces(ctx, set, cfg)
	require.NoError(t, err)
	me, err := f.CreateMetrics(ctx, set, cfg)
	require.NoError(t, err)
	le, err := f.CreateLogs(ctx, set, cfg)
	require.NoError(t, err)
	// Shutdown before Start is safe; Start does not need a reachable broker.
	require.NoError(t, me.Shutdown(ctx))
	require.NoError(t, le.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, le.Shutdown(ctx))
	require.NoError(t, te.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, te.Shutdown(ctx))
}

func TestShutdownIsIdempotent(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	e := newExporter(cfg, exportertest.NewNopSettings(metadata.Type), cfg.Traces)
	require.NoError(t, e.shutdown(context.Background()))
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, e.shutdown(context.Background()))
	require.NoError(t, e.shutdown(context.Background()))
}
