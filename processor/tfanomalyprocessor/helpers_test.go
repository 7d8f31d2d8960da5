package tfanomalyprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/latencywatch/latencywatch/processor/tfanomalyprocessor/internal/metadata"
)

const baseSeconds = 1_700_000_000

// point is one gauge value of a test series.
type point struct {
	sec   int64 // seconds after baseSeconds
	value float64
}

// gauge builds one Metrics with one gauge metric holding the points (in
// order) of one series.
func gauge(name, unit string, attrs map[string]any, pts ...point) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	dps := m.SetEmptyGauge().DataPoints()
	for _, p := range pts {
		dp := dps.AppendEmpty()
		if err := dp.Attributes().FromRaw(attrs); err != nil {
			panic(err) // test input is static
		}
		dp.SetTimestamp(pcommon.Timestamp((baseSeconds + p.sec) * int64(time.Second)))
		dp.SetDoubleValue(p.value)
	}
	return md
}

// steady returns n points every 10 s from start with a deterministic ±5 %
// wiggle around level.
func steady(start int64, n int, level float64) []point {
	out := make([]point, n)
	for i := range out {
		wiggle := []float64{1, 1.03, 0.97, 1.05, 0.95, 1.01, 0.99, 1.02}[i%8]
		out[i] = point{sec: start + int64(i)*10, value: level * wiggle}
	}
	return out
}

type harness struct {
	p    *anomalyProcessor
	proc processor.Metrics
	sink *consumertest.MetricsSink
}

func newHarness(t *testing.T, cfg *Config, opts ...func(*processor.Settings)) *harness {
	t.Helper()
	require.NoError(t, cfg.Validate())
	set := processortest.NewNopSettings(metadata.Type)
	for _, o := range opts {
		o(&set)
	}
	sink := new(consumertest.MetricsSink)
	p, err := newAnomalyProcessor(set, cfg)
	require.NoError(t, err)
	proc, err := createMetricsWith(context.Background(), set, cfg, sink, p)
	require.NoError(t, err)
	require.NoError(t, proc.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, proc.Shutdown(context.Background())) })
	return &harness{p: p, proc: proc, sink: sink}
}

func (h *harness) consume(t *testing.T, md pmetric.Metrics) pmetric.Metrics {
	t.Helper()
	h.sink.Reset()
	require.NoError(t, h.proc.ConsumeMetrics(context.Background(), md))
	all := h.sink.AllMetrics()
	require.Len(t, all, 1)
	return all[0]
}

// gaugePoints returns the data points of the first metric named name.
func gaugePoints(md pmetric.Metrics, name string) pmetric.NumberDataPointSlice {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				if ms.At(k).Name() == name {
					return ms.At(k).Gauge().DataPoints()
				}
			}
		}
	}
	return pmetric.NewNumberDataPointSlice()
}

func statisticalConfig() *Config {
	c := createDefaultConfig()
	c.Mode = ModeStatistical
	c.WindowSize = 16
	c.MinPoints = 16
	return c
}

func processorSettings() processor.Settings { return processortest.NewNopSettings(metadata.Type) }
