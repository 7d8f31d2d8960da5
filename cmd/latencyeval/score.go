package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/latencywatch/latencywatch/processor/tfanomalyprocessor"
)

type runOptions struct {
	mode      string
	modelPath string
	threshold float64
}

// pointResult is what the processor wrote onto one point.
type pointResult struct {
	scored bool
	score  float64
	flag   bool
}

const (
	seriesAttr = "latencyeval.file"
	metricName = "latency"
)

// score streams every file through a tf_anomaly processor built by its
// factory, as the collector builds it, and returns the result per point and
// the model label the processor wrote.
func score(ctx context.Context, set *dataset, o runOptions) ([][]pointResult, string, error) {
	f := tfanomalyprocessor.NewFactory()
	cfg := f.CreateDefaultConfig().(*tfanomalyprocessor.Config)
	cfg.Mode = o.mode
	if o.mode == tfanomalyprocessor.ModeModel {
		cfg.ModelPath = o.modelPath
	}
	cfg.ModelReloadInterval = 0
	cfg.Threshold = o.threshold
	cfg.Include.MetricNames = nil
	cfg.SeriesAttributes = []string{seriesAttr}
	cfg.MaxSeries = len(set.files) + 1
	if err := cfg.Validate(); err != nil {
		return nil, "", err
	}

	results := make([][]pointResult, len(set.files))
	for i, s := range set.files {
		results[i] = make([]pointResult, len(s.values))
	}
	var label string
	// step lists the (file, point) pairs of the call in flight, in the order
	// their data points were appended.
	var step [][2]int
	var sinkErr error
	sink, err := consumer.NewMetrics(func(_ context.Context, md pmetric.Metrics) error {
		dps := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints()
		if dps.Len() != len(step) {
			sinkErr = fmt.Errorf("processor returned %d points for %d sent", dps.Len(), len(step))
			return sinkErr
		}
		for j := 0; j < dps.Len(); j++ {
			a := dps.At(j).Attributes()
			r := &results[step[j][0]][step[j][1]]
			if v, ok := a.Get(cfg.Attributes.Score); ok {
				r.scored, r.score = true, v.Double()
			}
			if v, ok := a.Get(cfg.Attributes.Flag); ok {
				r.flag = v.Bool()
			}
			if v, ok := a.Get(cfg.Attributes.Model); ok && label == "" {
				label = v.Str()
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	settings := processortest.NewNopSettings(f.Type())
	proc, err := f.CreateMetrics(ctx, settings, cfg, sink)
	if err != nil {
		return nil, "", err
	}
	if err := proc.Start(ctx, componenttest.NewNopHost()); err != nil {
		return nil, "", err
	}
	defer func() { _ = proc.Shutdown(ctx) }()

	longest := 0
	for _, s := range set.files {
		longest = max(longest, len(s.values))
	}
	for k := 0; k < longest; k++ {
		md := pmetric.NewMetrics()
		m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName(metricName)
		m.SetUnit("s")
		dps := m.SetEmptyGauge().DataPoints()
		step = step[:0]
		for i, s := range set.files {
			if k >= len(s.values) {
				continue
			}
			dp := dps.AppendEmpty()
			dp.Attributes().PutStr(seriesAttr, s.rel)
			dp.SetTimestamp(pcommon.NewTimestampFromTime(s.times[k]))
			dp.SetDoubleValue(s.values[k])
			step = append(step, [2]int{i, k})
		}
		if err := proc.ConsumeMetrics(ctx, md); err != nil {
			return nil, "", errors.Join(err, sinkErr)
		}
	}
	return results, label, nil
}

var _ component.Config = (*tfanomalyprocessor.Config)(nil)

// runSweep evaluates a list of thresholds for one mode and prints a table.
func runSweep(ctx context.Context, set *dataset, o runOptions, list string) error {
	fmt.Printf("mode %s\n| threshold | window recall | false alarms / 1k | event precision | event recall | event F1 | median delay (s) |\n|---|---|---|---|---|---|---|\n", o.mode)
	for _, f := range strings.Split(list, ",") {
		thr, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return fmt.Errorf("-sweep: %q: %w", f, err)
		}
		o.threshold = thr
		scored, _, err := score(ctx, set, o)
		if err != nil {
			return err
		}
		r := evaluate(set, scored)
		fmt.Printf("| %g | %.3f | %.3f | %.3f | %.3f | %.3f | %.0f |\n", thr, r.WindowRecall, r.FalseAlarmsPer1000,
			r.Precision, r.Recall, r.F1, r.DelayMedianSeconds)
	}
	return nil
}
