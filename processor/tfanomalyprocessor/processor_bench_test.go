package tfanomalyprocessor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

const benchSeries = 10000

// cpuTime is the process's user+system CPU time. On a shared machine wall
// time per op swings with other load; CPU time per point is the steadier
// comparison between variants (GC workers included).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRequest is one OTLP export request with one gauge point for each of
// n series (10 resources of n/10 points, attributes like a sidecar's);
// reversed lists each resource's points in the opposite order.
func benchRequest(b *testing.B, n int, reversed bool) []byte {
	md := pmetric.NewMetrics()
	per := n / 10
	for r := 0; r < 10; r++ {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", r))
		rm.Resource().Attributes().PutStr("k8s.pod.name", fmt.Sprintf("svc-%d-7d9f", r))
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("http.server.request.duration")
		m.SetUnit("s")
		dps := m.SetEmptyGauge().DataPoints()
		for j := 0; j < per; j++ {
			i := j
			if reversed {
				i = per - 1 - j
			}
			dp := dps.AppendEmpty()
			dp.Attributes().PutStr("http.route", fmt.Sprintf("/api/v1/route/%d", i))
			dp.Attributes().PutStr("http.request.method", "GET")
			dp.SetTimestamp(pcommon.Timestamp(baseSeconds * int64(time.Second)))
			dp.SetDoubleValue(0.05 + 0.001*float64(i%17))
		}
	}
	raw, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// setTimestamps moves every point of a round to the round's time; it is
// charged to the processor runs only (passthrough does not need it).
func setTimestamps(md pmetric.Metrics, round int64) {
	ts := pcommon.Timestamp((baseSeconds + 10*round) * int64(time.Second))
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		dps := rms.At(i).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			dps.At(j).SetTimestamp(ts)
		}
	}
}

// BenchmarkThroughput10kSeries decodes an OTLP request of 10k points (one
// per series) and passes it on: straight to a nop consumer (passthrough), or
// through tf_anomaly in each mode with every point scored (windows warm),
// and once more in model mode with the series order changing every request.
// points/s and ns/op of the variants compare directly (same run).
func BenchmarkThroughput10kSeries(b *testing.B) {
	raw := benchRequest(b, benchSeries, false)
	rawReversed := benchRequest(b, benchSeries, true)
	decodeRaw := func(raw []byte) pmetric.Metrics {
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(raw); err != nil {
			b.Fatal(err)
		}
		return req.Metrics()
	}
	decode := func() pmetric.Metrics { return decodeRaw(raw) }
	nop := consumertest.NewNop()
	ctx := context.Background()

	b.Run("passthrough", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime(b)
		for b.Loop() {
			if err := nop.ConsumeMetrics(ctx, decode()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(benchSeries*b.N), "cpu-ns/point")
		b.ReportMetric(float64(benchSeries)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
	})
	// model_reordered alternates two orders of the same series, so no point
	// sits where its series sat in the previous request (the slot hints
	// miss and every lookup goes to the series index).
	for _, v := range []struct {
		name, mode string
		reorder    bool
	}{{"statistical", ModeStatistical, false}, {"model", ModeModel, false}, {"model_reordered", ModeModel, true}} {
		b.Run(v.name, func(b *testing.B) {
			cfg := createDefaultConfig()
			cfg.Mode = v.mode
			cfg.MaxSeries = 2 * benchSeries
			p, err := newAnomalyProcessor(processorSettings(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			proc, err := createMetricsWith(ctx, processorSettings(), cfg, nop, p)
			if err != nil {
				b.Fatal(err)
			}
			if err := proc.Start(ctx, componenttest.NewNopHost()); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = proc.Shutdown(ctx) }()
			request := func(round int64) pmetric.Metrics {
				if v.reorder && round%2 == 1 {
					return decodeRaw(rawReversed)
				}
				return decode()
			}
			round := int64(0)
			for ; round < int64(cfg.MinPoints); round++ { // warm every window
				md := request(round)
				setTimestamps(md, round)
				if err := proc.ConsumeMetrics(ctx, md); err != nil {
					b.Fatal(err)
				}
			}
			scored := int64(0)
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				md := request(round)
				setTimestamps(md, round)
				round++
				if err := proc.ConsumeMetrics(ctx, md); err != nil {
					b.Fatal(err)
				}
				scored += p.counts.scored
			}
			if scored != int64(b.N)*benchSeries {
				b.Fatalf("scored %d points, want every point (%d)", scored, int64(b.N)*benchSeries)
			}
			b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(scored), "cpu-ns/point")
			b.ReportMetric(float64(scored)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// BenchmarkMemoryPerSeries tracks 1M series (one point each; every window is
// allocated at full size on creation) and reports the live heap they hold.
func BenchmarkMemoryPerSeries(b *testing.B) {
	const series = 1_000_000
	const chunk = 10_000
	ctx := context.Background()
	for b.Loop() {
		cfg := createDefaultConfig()
		cfg.Mode = ModeStatistical
		cfg.MaxSeries = series
		p, err := newAnomalyProcessor(processorSettings(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for c := 0; c < series/chunk; c++ {
			md := pmetric.NewMetrics()
			dps := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints()
			md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).SetName("latency")
			for i := 0; i < chunk; i++ {
				dp := dps.AppendEmpty()
				dp.Attributes().PutInt("series", int64(c*chunk+i))
				dp.SetTimestamp(pcommon.Timestamp(baseSeconds * int64(time.Second)))
				dp.SetDoubleValue(0.1)
			}
			if _, err := p.processMetrics(ctx, md); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		if p.windows.len() != series {
			b.Fatalf("tracked %d series, want %d", p.windows.len(), series)
		}
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/series, "B/series")
		runtime.KeepAlive(p)
	}
}

// BenchmarkWindowStep is the per-point window work of a scored point in
// model mode: push into a full window, robust statistics, model rows.
func BenchmarkWindowStep(b *testing.B) {
	const w, series = 64, 1024
	s := newSeriesWindows(w)
	r := rand.New(rand.NewPCG(7, 8))
	vals := make([]float32, 4096)
	for i := range vals {
		vals[i] = float32(r.NormFloat64()*0.3 - 2)
	}
	for k := uint64(0); k < series; k++ {
		slot, _ := s.get(k+1, series, 0)
		for i := 0; i < w; i++ {
			s.push(slot, int64(i+1)*10e9, vals[(int(k)+i)%len(vals)], 1e12)
		}
	}
	dst := make([]float32, w*numFeatures)
	ts, i := int64(w+1)*10e9, 0
	b.ReportAllocs()
	for b.Loop() {
		slot := uint32(i % series)
		if slot == 0 {
			ts += 10e9
		}
		s.push(slot, ts, vals[i%len(vals)], 1e12)
		m, sc := s.robustStats(slot)
		s.features(slot, m, sc, dst)
		i++
	}
}
