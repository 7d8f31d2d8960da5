package tfanomalyprocessor

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/processor/tfanomalyprocessor/internal/metadata"
)

// statisticalLabel names the baseline in the model attribute.
const statisticalLabel = "robust_zscore@1"

// skipReason says why a selected point was not added to a window.
type skipReason uint8

const (
	skipNone skipReason = iota
	skipNotFinite
	skipNegative
	skipNoTimestamp
	skipOutOfOrder
	skipDuplicate
	skipEmptyInterval
	skipCumulativeStart
	skipSeriesLimit // counted as series_dropped, not points_skipped
	skipInference
	numSkipReasons
)

var skipNames = [numSkipReasons]string{
	skipNotFinite: "not_finite", skipNegative: "negative", skipNoTimestamp: "no_timestamp",
	skipOutOfOrder: "out_of_order", skipDuplicate: "duplicate", skipEmptyInterval: "empty_interval",
	skipCumulativeStart: "cumulative_start", skipInference: "inference_error",
}

// pendingPoint is a point whose window is ready and whose score is computed
// when its batch is flushed. The pdata wrappers are valid for the duration of
// one ConsumeMetrics call; batches never outlive it.
type pendingPoint struct {
	slot          uint32
	ts            pcommon.Timestamp
	attrs         pcommon.Map
	scope         pmetric.ScopeMetrics
	metricName    string
	logv          float32
	median, scale float32
}

// callCounts are the telemetry increments of one ConsumeMetrics call, added
// to the instruments once at its end rather than per point.
type callCounts struct {
	scored, dropped, resets, flagged int64
	skipped                          [numSkipReasons]int64
}

type anomalyProcessor struct {
	cfg       *Config
	logger    *zap.Logger
	tel       *metadata.TelemetryBuilder
	selector  *metricSelector
	identity  seriesIdentity
	stat      statistic
	threshold float64
	maxGapNs  int64
	epoch     time.Time
	now       func() time.Time
	reasons   [numSkipReasons]metric.MeasurementOption
	modeAttr  metric.MeasurementOption

	mu           sync.Mutex // protects everything below; held for a whole ConsumeMetrics
	windows      *seriesWindows
	hists        map[uint64]*histogramPrev
	model        *anomalyModel // nil in statistical mode
	lastSweep    uint32
	pend         []pendingPoint
	hints        []slotHint // by point position in the request: the slot that position had last time
	position     int        // position of the next point within this ConsumeMetrics call
	feat         []float32  // model input rows of the pending points (the largest interpreter's input)
	countScratch []uint64
	counts       callCounts
	// score gauge of the scope being flushed (score_metric.enabled)
	scoreScope  pmetric.ScopeMetrics
	scoreGauge  pmetric.NumberDataPointSlice
	scoreActive bool

	reload *modelReloader // nil unless model_path and model_reload_interval
}

func newAnomalyProcessor(set processor.Settings, cfg *Config) (*anomalyProcessor, error) {
	st, err := parseStatistic(cfg.HistogramStatistic)
	if err != nil {
		return nil, err
	}
	p := &anomalyProcessor{
		cfg:       cfg,
		logger:    set.Logger,
		selector:  newMetricSelector(cfg.Include),
		identity:  seriesIdentity{keys: cfg.SeriesAttributes},
		stat:      st,
		threshold: cfg.threshold(),
		maxGapNs:  cfg.MaxGap.Nanoseconds(),
		now:       time.Now,
		windows:   newSeriesWindows(cfg.WindowSize),
		hists:     map[uint64]*histogramPrev{},
	}
	p.epoch = p.now()
	for r := skipNone + 1; r < numSkipReasons; r++ {
		p.reasons[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", skipNames[r])))
	}
	p.modeAttr = metric.WithAttributeSet(attribute.NewSet(attribute.String("mode", cfg.Mode)))
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings,
		metadata.WithTfAnomalySeriesCallback(func() int64 {
			p.mu.Lock()
			defer p.mu.Unlock()
			return int64(p.windows.len())
		}))
	if err != nil {
		return nil, err
	}
	p.tel = tel
	return p, nil
}

func (p *anomalyProcessor) start(_ context.Context, _ component.Host) error {
	if p.cfg.Mode != ModeModel {
		return nil
	}
	var m *anomalyModel
	var err error
	if p.cfg.ModelPath == "" {
		m, err = loadDefaultModel(p.cfg.WindowSize, p.cfg.BatchSize)
		if err != nil {
			return fmt.Errorf("tf_anomaly: embedded default model: %w", err)
		}
	} else {
		p.reload = newModelReloader(p, p.cfg.ModelPath, p.cfg.ModelReloadInterval)
		m, err = p.reload.loadInitial()
		if err != nil {
			return fmt.Errorf("tf_anomaly: model_path: %w", err)
		}
	}
	p.swapModel(m)
	if p.reload != nil && p.cfg.ModelReloadInterval > 0 {
		p.reload.run()
	}
	return nil
}

func (p *anomalyProcessor) shutdown(context.Context) error {
	if p.reload != nil {
		p.reload.stop()
	}
	if p.tel != nil {
		p.tel.Shutdown()
	}
	return nil
}

// swapModel replaces the running model (hot reload) between two calls.
func (p *anomalyProcessor) swapModel(m *anomalyModel) {
	p.mu.Lock()
	p.model = m
	// Features are written straight into the largest interpreter's input;
	// a short final batch is copied into a smaller interpreter.
	p.feat = m.interp[len(m.interp)-1].in
	p.mu.Unlock()
}

func (p *anomalyProcessor) modelLabel() string {
	if p.model == nil {
		return statisticalLabel
	}
	return p.model.label
}

func (p *anomalyProcessor) nowSeconds() uint32 {
	return uint32(p.now().Sub(p.epoch) / time.Second)
}

func (p *anomalyProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.Mode == ModeModel && p.model == nil {
		return md, nil // not started: pass through
	}
	now := p.nowSeconds()
	evicted := p.sweep(now)
	p.counts = callCounts{}
	p.position = 0
	p.scoreActive = false

	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		resHash := p.identity.resourceHash(res)
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			metrics := sm.Metrics()
			n := metrics.Len() // the score gauge is appended after these
			for k := 0; k < n; k++ {
				m := metrics.At(k)
				if !p.selector.selected(m) {
					continue
				}
				mh, toSeconds := metricHash(m.Name(), m.Unit())
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					p.numberPoints(m.Gauge().DataPoints(), m.Name(), mh, resHash, res, toSeconds, sm, now)
				case pmetric.MetricTypeSum:
					p.numberPoints(m.Sum().DataPoints(), m.Name(), mh, resHash, res, toSeconds, sm, now)
				case pmetric.MetricTypeHistogram:
					cumulative := m.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
					dps := m.Histogram().DataPoints()
					for d := 0; d < dps.Len(); d++ {
						dp := dps.At(d)
						key := p.identity.key(mh, resHash, dp.Attributes(), res)
						v, why := p.histogramValue(key, dp, cumulative)
						p.observe(key, dp.Timestamp(), v*toSeconds, why, dp.Attributes(), sm, m.Name(), now)
					}
				case pmetric.MetricTypeExponentialHistogram:
					cumulative := m.ExponentialHistogram().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
					dps := m.ExponentialHistogram().DataPoints()
					for d := 0; d < dps.Len(); d++ {
						dp := dps.At(d)
						key := p.identity.key(mh, resHash, dp.Attributes(), res)
						v, why := p.exponentialValue(key, dp, cumulative)
						p.observe(key, dp.Timestamp(), v*toSeconds, why, dp.Attributes(), sm, m.Name(), now)
					}
				}
			}
		}
	}
	p.flush()
	p.record(ctx, evicted)
	return md, nil
}

func (p *anomalyProcessor) numberPoints(dps pmetric.NumberDataPointSlice, name string, mh, resHash uint64, res pcommon.Map, toSeconds float64, sm pmetric.ScopeMetrics, now uint32) {
	for d := 0; d < dps.Len(); d++ {
		dp := dps.At(d)
		var v float64
		switch dp.ValueType() {
		case pmetric.NumberDataPointValueTypeDouble:
			v = dp.DoubleValue()
		case pmetric.NumberDataPointValueTypeInt:
			v = float64(dp.IntValue())
		default:
			continue
		}
		key := p.identity.key(mh, resHash, dp.Attributes(), res)
		p.observe(key, dp.Timestamp(), v*toSeconds, skipNone, dp.Attributes(), sm, name, now)
	}
}

// observe adds one value (seconds) to its series and queues the point for
// scoring once the series is warm.
func (p *anomalyProcessor) observe(key uint64, ts pcommon.Timestamp, v float64, why skipReason, attrs pcommon.Map, sm pmetric.ScopeMetrics, name string, now uint32) {
	switch {
	case why != skipNone:
	case math.IsNaN(v) || math.IsInf(v, 0):
		why = skipNotFinite
	case v < 0:
		why = skipNegative
	case ts == 0:
		why = skipNoTimestamp
	}
	if why == skipSeriesLimit {
		p.counts.dropped++
		return
	}
	if why == skipCumulativeStart {
		// Register the series so that idle-TTL eviction also forgets its
		// histogram state.
		if slot, ok := p.slotFor(key, now); ok {
			p.windows.states[slot].lastSeen = now
		}
	}
	if why != skipNone {
		p.counts.skipped[why]++
		return
	}
	slot, ok := p.slotFor(key, now)
	if !ok {
		p.counts.dropped++
		return
	}
	st := &p.windows.states[slot]
	st.lastSeen = now
	logv := float32(math.Log(math.Max(v, logFloor)))
	switch p.windows.push(slot, int64(ts), logv, p.maxGapNs) {
	case pushOutOfOrder:
		p.counts.skipped[skipOutOfOrder]++
		return
	case pushDuplicate:
		p.counts.skipped[skipDuplicate]++
		return
	case pushReset:
		p.counts.resets++
	}
	if int(st.count) < p.cfg.MinPoints {
		return
	}
	median, scale := p.windows.robustStats(slot)
	i := len(p.pend)
	p.pend = append(p.pend, pendingPoint{slot: slot, ts: ts, attrs: attrs, scope: sm, metricName: name, logv: logv, median: median, scale: scale})
	if p.model != nil {
		row := p.cfg.WindowSize * numFeatures
		p.windows.features(slot, median, scale, p.feat[i*row:(i+1)*row])
	}
	if len(p.pend) == p.cfg.BatchSize {
		p.flush()
	}
}

// slotHint remembers which series a point position of the previous request
// belonged to.
type slotHint struct {
	key  uint64
	slot uint32
}

// slotFor returns the window slot of key (creating it when there is room).
// Exporters send a series at the same position of each periodic request (an
// SDK's metric reader walks its instruments in a fixed order), so the slot
// the same position had last time is tried first: a match costs one compare
// against sequential memory instead of a hash-map probe into a cold table.
// A hint is trusted only while the slot still holds that key, so eviction and
// slot reuse cannot misdirect a point; a miss falls back to the index.
func (p *anomalyProcessor) slotFor(key uint64, now uint32) (uint32, bool) {
	i := p.position
	p.position++
	if i < len(p.hints) {
		if h := p.hints[i]; h.key == key {
			if st := &p.windows.states[h.slot]; st.key == key && st.flags&flagUsed != 0 {
				return h.slot, true
			}
		}
	}
	slot, ok := p.windows.get(key, p.cfg.MaxSeries, now)
	// Recorded even when !ok (slot 0 then): every hint is checked before use.
	if i < len(p.hints) {
		p.hints[i] = slotHint{key: key, slot: slot}
	} else if i < p.cfg.MaxSeries {
		p.hints = append(p.hints, slotHint{key: key, slot: slot})
	}
	return slot, ok
}

// flush scores the pending points and writes the results onto them, in
// arrival order (the trigger of a series sees its points in order).
func (p *anomalyProcessor) flush() {
	n := len(p.pend)
	if n == 0 {
		return
	}
	start := time.Now()
	var scores, expected []float32
	if p.model != nil {
		mi := p.model.interpFor(n)
		if row := p.cfg.WindowSize * numFeatures; &mi.in[0] != &p.feat[0] {
			copy(mi.in, p.feat[:n*row])
		}
		if err := mi.ip.Invoke(); err != nil {
			// Not expected after the self-test; never fail the pipeline for it.
			p.counts.skipped[skipInference] += int64(n)
			p.logger.Warn("tf_anomaly: inference failed; the batch passes through unscored", zap.Error(err))
			p.pend = p.pend[:0]
			return
		}
		scores, expected = mi.score, mi.expected
	}
	p.tel.TfAnomalyInferenceDuration.Record(context.Background(), time.Since(start).Seconds(), p.modeAttr)

	names := &p.cfg.Attributes
	label := p.modelLabel()
	recovery, trigN, trigM := p.cfg.RecoveryPoints, p.cfg.Trigger.Points, p.cfg.Trigger.Of
	for i := range p.pend {
		pp := &p.pend[i]
		var score, exp float64
		if scores != nil {
			score = float64(scores[i])
			if math.IsNaN(score) {
				score = 0
			}
			score = math.Max(0, math.Min(1, score))
			exp = math.Exp(float64(pp.median) + float64(expected[i])*float64(pp.scale))
			if math.IsNaN(exp) || math.IsInf(exp, 0) {
				exp = math.Exp(float64(pp.median)) // a user model's bad forecast: fall back to the median
			}
		} else {
			z := (float64(pp.logv) - float64(pp.median)) / float64(pp.scale)
			if p.cfg.Direction == DirectionBoth {
				z = math.Abs(z)
			} else if z < 0 {
				z = 0
			}
			score = math.Erf(z / math.Sqrt2)
			exp = math.Exp(float64(pp.median))
		}
		st := &p.windows.states[pp.slot]
		flagged, rose := st.trigger(score >= p.threshold, trigN, trigM, recovery)
		if rose {
			p.counts.flagged++
		}
		if p.cfg.ScoreMetric.Enabled {
			dp := p.scoreGaugeFor(pp.scope).AppendEmpty()
			pp.attrs.CopyTo(dp.Attributes())
			dp.Attributes().PutStr("metric.name", pp.metricName)
			dp.Attributes().PutBool(names.Flag, flagged)
			dp.SetTimestamp(pp.ts)
			dp.SetDoubleValue(score)
		}
		pp.attrs.EnsureCapacity(pp.attrs.Len() + 4)
		pp.attrs.PutDouble(names.Score, score)
		pp.attrs.PutBool(names.Flag, flagged)
		pp.attrs.PutDouble(names.Expected, exp)
		pp.attrs.PutStr(names.Model, label)
	}
	p.counts.scored += int64(n)
	clear(p.pend) // drop the pdata references
	p.pend = p.pend[:0]
}

func (p *anomalyProcessor) scoreGaugeFor(sm pmetric.ScopeMetrics) pmetric.NumberDataPointSlice {
	if p.scoreActive && p.scoreScope == sm {
		return p.scoreGauge
	}
	m := sm.Metrics().AppendEmpty()
	m.SetName(p.cfg.ScoreMetric.Name)
	m.SetDescription("Anomaly score (0..1) of the data point of metric.name at the same timestamp, from the tf_anomaly processor.")
	m.SetUnit("1")
	p.scoreScope, p.scoreGauge, p.scoreActive = sm, m.SetEmptyGauge().DataPoints(), true
	return p.scoreGauge
}

// sweep evicts idle series at most every quarter TTL.
func (p *anomalyProcessor) sweep(now uint32) int {
	ttl := uint32(p.cfg.SeriesTTL / time.Second)
	if ttl == 0 {
		ttl = 1
	}
	every := max(ttl/4, 1)
	if now-p.lastSweep < every || now < ttl {
		return 0
	}
	p.lastSweep = now
	return p.windows.evictIdle(now-ttl, func(key uint64) { delete(p.hists, key) })
}

func (p *anomalyProcessor) record(ctx context.Context, evicted int) {
	c := &p.counts
	t := p.tel
	if c.scored > 0 {
		t.TfAnomalyPointsScored.Add(ctx, c.scored)
	}
	if c.dropped > 0 {
		t.TfAnomalySeriesDropped.Add(ctx, c.dropped)
	}
	if c.resets > 0 {
		t.TfAnomalyWindowResets.Add(ctx, c.resets)
	}
	if c.flagged > 0 {
		t.TfAnomalyAnomaliesFlagged.Add(ctx, c.flagged)
	}
	if evicted > 0 {
		t.TfAnomalySeriesEvicted.Add(ctx, int64(evicted))
	}
	for r, v := range c.skipped {
		if v > 0 {
			t.TfAnomalyPointsSkipped.Add(ctx, v, p.reasons[r])
		}
	}
}

func (p *anomalyProcessor) currentLabel() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.modelLabel()
}
