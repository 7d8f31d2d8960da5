package latencyenrichprocessor

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/filesource"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/kafkasource"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadata"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/pulsarsource"
)

var (
	attrHit           = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "hit")))
	attrMiss          = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "miss")))
	attrReloadSuccess = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "success")))
	attrReloadFailure = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "failure")))
	errTableNotReady  = errors.New("latency_enrich: metadata table is still loading; records are enriched with defaults until it is ready")
	emptyMap          = pcommon.NewMap()
)

// output is one allow-listed column, compiled.
type output struct {
	name   string
	def    metadatatable.Value
	hasDef bool
}

// enricher is shared by the traces, metrics and logs processors of one
// component ID: one table, one source, one set of telemetry.
type enricher struct {
	cfg        *Config
	set        processor.Settings
	logger     *zap.Logger
	table      *metadatatable.Table
	sourceName string
	newSource  func() (metadatatable.Source, error)
	obs        *tableObserver

	rules        [][]KeyPart
	resourceKeys bool // every key part comes from the resource
	outputs      []output
	action       string
	latencyNames *nameMatcher
	quantiles    *quantileTracker
	now          func() time.Time

	mu        sync.Mutex // protects the fields below
	starts    int
	startErr  error
	source    metadatatable.Source
	telemetry *metadata.TelemetryBuilder
	stop      chan struct{}
	stopped   chan struct{}
}

func newEnricher(set processor.Settings, cfg *Config) (*enricher, error) {
	e := &enricher{
		cfg:    cfg,
		set:    set,
		logger: set.Logger,
		action: cfg.Action,
		now:    time.Now,
	}
	e.obs = &tableObserver{logger: set.Logger, badRowLog: newLogLimiter(10 * time.Second)}
	proj := metadatatable.Projection{SLOColumn: cfg.SLO.ThresholdColumn}
	for _, a := range cfg.Attributes {
		o := output{name: a.outputName()}
		if a.Default != nil {
			v, err := defaultValue(a.Default)
			if err != nil {
				return nil, err
			}
			o.def, o.hasDef = v, true
		}
		e.outputs = append(e.outputs, o)
		proj.Columns = append(proj.Columns, a.Column)
	}
	e.table = metadatatable.New(proj, e.obs)
	e.resourceKeys = true
	for _, r := range cfg.Keys {
		e.rules = append(e.rules, r.Attributes)
		for _, p := range r.Attributes {
			if p.From != ContextResource {
				e.resourceKeys = false
			}
		}
	}
	re, err := regexp.Compile(cfg.Metrics.LatencyNamePattern)
	if err != nil {
		return nil, fmt.Errorf("metrics.latency_name_pattern: %w", err)
	}
	e.latencyNames = newNameMatcher(re)
	if len(cfg.Metrics.Quantiles) > 0 {
		e.quantiles = newQuantileTracker(cfg.Metrics.Quantiles, cfg.Metrics.MaxSeries, cfg.Metrics.SeriesTTL)
	}
	lim := metadatatable.Limits{MaxRowBytes: cfg.MaxRowBytes}
	switch {
	case cfg.Table.Inline.HasValue():
		e.sourceName = "inline"
		rows := cfg.Table.Inline.Get().Rows
		e.newSource = func() (metadatatable.Source, error) { return &inlineSource{rows: rows, table: e.table}, nil }
	case cfg.Table.File.HasValue():
		e.sourceName = "file"
		fc := *cfg.Table.File.Get()
		e.newSource = func() (metadatatable.Source, error) {
			return filesource.New(fc, e.table, e.obs.reloaded), nil
		}
	case cfg.Table.Kafka.HasValue():
		e.sourceName = "kafka"
		kc := *cfg.Table.Kafka.Get()
		e.newSource = func() (metadatatable.Source, error) {
			return kafkasource.New(kc, e.table, lim, e.set.Logger, e.reportAsyncError)
		}
	case cfg.Table.Pulsar.HasValue():
		e.sourceName = "pulsar"
		pc := *cfg.Table.Pulsar.Get()
		e.newSource = func() (metadatatable.Source, error) {
			return pulsarsource.New(pc, e.table, lim, e.set.Logger, e.reportAsyncError)
		}
	default:
		return nil, errors.New("table: no source configured")
	}
	return e, nil
}

// start is called once per pipeline; only the first call does the work, the
// others return its result.
func (e *enricher) start(ctx context.Context, host component.Host) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.starts++
	if e.starts > 1 {
		return e.startErr
	}
	e.startErr = e.doStart(ctx, host)
	return e.startErr
}

func (e *enricher) doStart(ctx context.Context, host component.Host) error {
	tb, err := metadata.NewTelemetryBuilder(e.set.TelemetrySettings,
		metadata.WithLatencyEnrichTableSizeCallback(func() int64 { return int64(e.table.Len()) }),
		metadata.WithLatencyEnrichTableAgeCallback(func() float64 {
			age, ok := e.table.Age()
			if !ok {
				return 0
			}
			return age.Seconds()
		}),
		metadata.WithLatencyEnrichTableReadyCallback(func() int64 {
			if e.table.IsReady() {
				return 1
			}
			return 0
		}),
	)
	if err != nil {
		return fmt.Errorf("latency_enrich: creating internal telemetry: %w", err)
	}
	e.telemetry = tb
	e.obs.setTelemetry(tb)
	src, err := e.newSource()
	if err != nil {
		return fmt.Errorf("latency_enrich: %s table source: %w", e.sourceName, err)
	}
	e.source = src
	e.obs.setHost(host)
	if err := src.Start(ctx); err != nil {
		return fmt.Errorf("latency_enrich: starting the %s table source: %w", e.sourceName, err)
	}
	if e.cfg.WaitForReady {
		timer := time.NewTimer(e.cfg.WaitForReadyTimeout)
		defer timer.Stop()
		select {
		case <-e.table.Ready():
		case <-timer.C:
			_ = src.Shutdown(context.Background())
			err := fmt.Errorf("latency_enrich: the %s metadata table was not ready within wait_for_ready_timeout (%s)", e.sourceName, e.cfg.WaitForReadyTimeout)
			if last := e.obs.lastSourceError(); last != nil {
				err = fmt.Errorf("%w; last source error: %w", err, last)
			}
			return err
		case <-ctx.Done():
			_ = src.Shutdown(context.Background())
			return fmt.Errorf("latency_enrich: start cancelled while waiting for the %s metadata table: %w", e.sourceName, ctx.Err())
		}
		return nil
	}
	if e.table.IsReady() {
		return nil
	}
	componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(errTableNotReady))
	e.stop = make(chan struct{})
	e.stopped = make(chan struct{})
	go func(stop, stopped chan struct{}) {
		defer close(stopped)
		select {
		case <-e.table.Ready():
			e.logger.Info("metadata table ready", zap.String("source", e.sourceName), zap.Int("rows", e.table.Len()))
			componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusOK))
		case <-stop:
		}
	}(e.stop, e.stopped)
	return nil
}

// shutdown is called once per pipeline; the last call stops the source.
// Safe before start and idempotent.
func (e *enricher) shutdown(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.starts > 0 {
		e.starts--
	}
	if e.starts > 0 {
		return nil
	}
	var err error
	if e.stop != nil {
		close(e.stop)
		<-e.stopped
		e.stop = nil
	}
	if e.source != nil {
		err = e.source.Shutdown(ctx)
		e.source = nil
	}
	if e.telemetry != nil {
		e.telemetry.Shutdown()
		e.obs.setTelemetry(nil)
		e.telemetry = nil
	}
	forgetEnricher(e)
	return err
}

// reportAsyncError is handed to sources for failures after Start (broker
// unreachable, consumer errors): it logs at a bounded rate and reports a
// recoverable status. A nil error means the source works again: once the
// table is ready, the status returns to OK.
func (e *enricher) reportAsyncError(err error) {
	h := e.obs.getHost()
	if err == nil {
		e.obs.setSourceError(nil)
		if h != nil && e.table.IsReady() {
			e.logger.Info("metadata table source recovered", zap.String("source", e.sourceName))
			componentstatus.ReportStatus(h, componentstatus.NewEvent(componentstatus.StatusOK))
		}
		return
	}
	e.obs.setSourceError(err)
	if ok, suppressed := e.obs.sourceErrLog.allow(time.Now()); ok {
		e.logger.Warn("metadata table source error", zap.String("source", e.sourceName), zap.Error(err), zap.Int("suppressed", suppressed))
	}
	if h != nil {
		componentstatus.ReportStatus(h, componentstatus.NewRecoverableErrorEvent(err))
	}
}

// inlineSource is the `inline` table: rows from the collector config.
type inlineSource struct {
	rows  []InlineRow
	table *metadatatable.Table
}

func (s *inlineSource) Start(context.Context) error {
	rows := make([]metadatatable.Row, 0, len(s.rows))
	for _, ir := range s.rows {
		r, err := metadatatable.FromMap(ir.Key, ir.Values)
		if err != nil {
			// Validate already rejected these; keep the table whole anyway.
			s.table.Reject(err)
			continue
		}
		if r.Version == "" {
			r.Version = "inline"
		}
		rows = append(rows, r)
	}
	s.table.Replace(rows)
	s.table.MarkReady()
	return nil
}

func (*inlineSource) Shutdown(context.Context) error { return nil }
