package pulsarexporter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/exporter/pulsarexporter/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/pulsarclient"
)

type pulsarExporter struct {
	cfg    *Config
	signal SignalConfig
	set    exporter.Settings
	logger *zap.Logger

	// Set in start; newClient is replaced by tests.
	newClient func(ctx context.Context) (*pulsarclient.Client, producerFactory, error)
	client    *pulsarclient.Client
	producers *producerCache
	telemetry *metadata.TelemetryBuilder
	host      component.Host
	started   time.Time
	// degraded is true while the last outcome was an auth failure reported
	// as a component status, so status is reported on transitions only.
	degraded atomic.Bool

	traces  *signal[ptrace.Traces]
	metrics *signal[pmetric.Metrics]
	logs    *signal[plog.Logs]
}

type producerFactory func(topic string) (producer, error)

func newExporter(cfg *Config, set exporter.Settings, sig SignalConfig) *pulsarExporter {
	e := &pulsarExporter{
		cfg:     cfg,
		signal:  sig,
		set:     set,
		logger:  set.Logger,
		traces:  tracesSignal(sig.Encoding),
		metrics: metricsSignal(sig.Encoding),
		logs:    logsSignal(sig.Encoding),
	}
	e.newClient = e.realClient
	return e
}

func (e *pulsarExporter) realClient(ctx context.Context) (*pulsarclient.Client, producerFactory, error) {
	c, err := pulsarclient.NewClient(ctx, &e.cfg.ClientConfig, e.logger)
	if err != nil {
		return nil, nil, err
	}
	opts := e.producerOptions()
	return c, func(topic string) (producer, error) {
		o := opts
		o.Topic = topic
		return c.CreateProducer(o)
	}, nil
}

func (e *pulsarExporter) producerOptions() pulsar.ProducerOptions {
	p := e.cfg.Producer
	o := pulsar.ProducerOptions{
		SendTimeout:             p.SendTimeout,
		MaxPendingMessages:      p.MaxPendingMessages,
		DisableBatching:         !p.Batching.Enabled,
		BatchingMaxPublishDelay: p.Batching.MaxDelay,
		BatchingMaxMessages:     p.Batching.MaxMessages,
		BatchingMaxSize:         p.Batching.MaxBytes,
	}
	switch p.Compression {
	case "lz4":
		o.CompressionType = pulsar.LZ4
	case "zlib":
		o.CompressionType = pulsar.ZLib
	case "zstd":
		o.CompressionType = pulsar.ZSTD
	}
	return o
}

func (e *pulsarExporter) start(ctx context.Context, host component.Host) error {
	tb, err := metadata.NewTelemetryBuilder(e.set.TelemetrySettings)
	if err != nil {
		return err
	}
	e.telemetry = tb
	e.host = host
	e.started = time.Now()
	c, create, err := e.newClient(ctx)
	if err != nil {
		return err
	}
	e.client = c
	e.producers = newProducerCache(create)
	if c != nil {
		e.producers.rejectedSince = c.RejectedSince
	}
	// Connect the default topic's producer now, in the background: the first
	// export is faster, and a rejected credential is reported at start.
	go func() {
		wctx, cancel := context.WithTimeout(context.Background(), e.cfg.OperationTimeout+5*time.Second)
		defer cancel()
		if _, err := e.producers.get(wctx, e.signal.Topic); err != nil {
			err = e.explain(err, e.started)
			e.noteFailure(err)
			e.logger.Warn("Pulsar producer not ready yet; exports will retry",
				zap.String("topic", e.signal.Topic), zap.Error(err))
		}
	}()
	return nil
}

func (e *pulsarExporter) shutdown(context.Context) error {
	if e.producers != nil {
		e.producers.close()
	}
	if e.client != nil {
		e.client.Close()
	}
	if e.telemetry != nil {
		e.telemetry.Shutdown()
	}
	return nil
}

func (e *pulsarExporter) explain(err error, since time.Time) error {
	if e.client == nil {
		return err
	}
	return e.client.Explain(err, since)
}

// noteFailure reports auth failures as a recoverable component status.
func (e *pulsarExporter) noteFailure(err error) {
	if e.host == nil || pulsarclient.Classify(err).Reason != "auth" {
		return
	}
	if e.degraded.CompareAndSwap(false, true) {
		e.logger.Error("Pulsar broker rejected the credentials; data stays queued and is retried slowly", zap.Error(err))
		componentstatus.ReportStatus(e.host, componentstatus.NewRecoverableErrorEvent(err))
	}
}

func (e *pulsarExporter) noteSuccess() {
	if e.host != nil && e.degraded.CompareAndSwap(true, false) {
		componentstatus.ReportStatus(e.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

// route is where and how one part of a request is sent.
type route struct {
	topic    string
	key      string
	props    map[string]string // from resource attributes
	clusters []string
}

// resourceRoute computes the resource-level part of a route and an id that
// is equal for resources that route identically.
func (e *pulsarExporter) resourceRoute(res pcommon.Resource, baseTopic string) (route, string) {
	r := route{topic: baseTopic}
	attrs := res.Attributes()
	var id strings.Builder
	if e.cfg.TopicFromAttribute != "" {
		if v, ok := attrs.Get(e.cfg.TopicFromAttribute); ok && v.AsString() != "" {
			r.topic = v.AsString()
		}
	}
	id.WriteString(r.topic)
	if len(e.cfg.PropertiesFromResourceAttributes) > 0 {
		r.props = make(map[string]string, len(e.cfg.PropertiesFromResourceAttributes))
		for _, k := range e.cfg.PropertiesFromResourceAttributes {
			if v, ok := attrs.Get(k); ok {
				r.props[k] = v.AsString()
				id.WriteString("\x00" + k + "=" + v.AsString())
			}
		}
	}
	if e.cfg.Replication.ClustersFromAttribute != "" {
		if v, ok := attrs.Get(e.cfg.Replication.ClustersFromAttribute); ok && v.AsString() != "" {
			for _, c := range strings.Split(v.AsString(), ",") {
				if c = strings.TrimSpace(c); c != "" {
					r.clusters = append(r.clusters, c)
				}
			}
			id.WriteString("\x01" + strings.Join(r.clusters, ","))
		}
	}
	if e.signal.MessageKey == KeyResourceAttributes {
		r.key = hashAttributes(attrs, e.cfg.MessageKeyAttributes)
		id.WriteString("\x02" + r.key)
	}
	return r, id.String()
}

// static reports whether every item of a request goes to one message route,
// so the request can be sent without copying.
func (e *pulsarExporter) static() bool {
	return e.cfg.TopicFromAttribute == "" && len(e.cfg.PropertiesFromResourceAttributes) == 0 &&
		e.cfg.Replication.ClustersFromAttribute == "" && e.signal.MessageKey == KeyNone
}

func (e *pulsarExporter) baseTopic(ctx context.Context) string {
	if e.cfg.TopicFromMetadataKey != "" {
		if vals := client.FromContext(ctx).Metadata.Get(e.cfg.TopicFromMetadataKey); len(vals) > 0 && vals[0] != "" {
			return vals[0]
		}
	}
	return e.signal.Topic
}

type routed[T any] struct {
	route route
	data  T
}

// routeParts applies the resource routes and item keys to a partition.
func routeParts[T any](parts []keyed[T], routes map[string]route) []routed[T] {
	out := make([]routed[T], len(parts))
	for i, p := range parts {
		out[i] = routed[T]{route: routes[p.key], data: p.data}
	}
	return out
}

func (e *pulsarExporter) routeTraces(ctx context.Context, td ptrace.Traces) []routed[ptrace.Traces] {
	base := e.baseTopic(ctx)
	if e.static() {
		return []routed[ptrace.Traces]{{route: route{topic: base}, data: td}}
	}
	resRoutes, resIDs := e.resourceRoutes(td.ResourceSpans().Len(), func(i int) pcommon.Resource { return td.ResourceSpans().At(i).Resource() }, base)
	routes := map[string]route{}
	parts := partitionTraces(td, func(res int, span ptrace.Span, _ int) string {
		r, id := resRoutes[res], resIDs[res]
		if e.signal.MessageKey == KeyTraceID {
			r.key = traceKey(span.TraceID())
			id += "\x03" + r.key
		}
		routes[id] = r
		return id
	})
	return routeParts(parts, routes)
}

func (e *pulsarExporter) routeLogs(ctx context.Context, ld plog.Logs) []routed[plog.Logs] {
	base := e.baseTopic(ctx)
	if e.static() {
		return []routed[plog.Logs]{{route: route{topic: base}, data: ld}}
	}
	resRoutes, resIDs := e.resourceRoutes(ld.ResourceLogs().Len(), func(i int) pcommon.Resource { return ld.ResourceLogs().At(i).Resource() }, base)
	routes := map[string]route{}
	parts := partitionLogs(ld, func(res int, rec plog.LogRecord, _ int) string {
		r, id := resRoutes[res], resIDs[res]
		if e.signal.MessageKey == KeyTraceID {
			r.key = traceKey(rec.TraceID())
			id += "\x03" + r.key
		}
		routes[id] = r
		return id
	})
	return routeParts(parts, routes)
}

func (e *pulsarExporter) routeMetrics(ctx context.Context, md pmetric.Metrics) []routed[pmetric.Metrics] {
	base := e.baseTopic(ctx)
	if e.static() {
		return []routed[pmetric.Metrics]{{route: route{topic: base}, data: md}}
	}
	n := md.ResourceMetrics().Len()
	resRoutes, resIDs := e.resourceRoutes(n, func(i int) pcommon.Resource { return md.ResourceMetrics().At(i).Resource() }, base)
	var resHashes []string
	if e.signal.MessageKey == KeyMetricSeries {
		resHashes = make([]string, n)
		for i := range n {
			resHashes[i] = hashAttributes(md.ResourceMetrics().At(i).Resource().Attributes(), nil)
		}
	}
	routes := map[string]route{}
	parts := partitionMetrics(md, func(res int, m pmetric.Metric, attrs pcommon.Map, _ int) string {
		r, id := resRoutes[res], resIDs[res]
		if e.signal.MessageKey == KeyMetricSeries {
			r.key = seriesKey(resHashes[res], m, attrs)
			id += "\x03" + r.key
		}
		routes[id] = r
		return id
	})
	return routeParts(parts, routes)
}

func (e *pulsarExporter) resourceRoutes(n int, res func(int) pcommon.Resource, base string) ([]route, []string) {
	routes, ids := make([]route, n), make([]string, n)
	for i := range n {
		routes[i], ids[i] = e.resourceRoute(res(i), base)
	}
	return routes, ids
}

func traceKey(id pcommon.TraceID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

func (e *pulsarExporter) exportTraces(ctx context.Context, td ptrace.Traces) error {
	return export(ctx, e, e.traces, e.routeTraces(ctx, td), td)
}

func (e *pulsarExporter) exportMetrics(ctx context.Context, md pmetric.Metrics) error {
	return export(ctx, e, e.metrics, e.routeMetrics(ctx, md), md)
}

func (e *pulsarExporter) exportLogs(ctx context.Context, ld plog.Logs) error {
	return export(ctx, e, e.logs, e.routeLogs(ctx, ld), ld)
}

// outgoing is one message and the data it carries.
type outgoing[T any] struct {
	msg   *pulsar.ProducerMessage
	topic string
	data  T
}

// export encodes, splits and sends a request, waits for every broker
// acknowledgement, and turns the outcome into the error exporterhelper needs:
// nil, a retryable error carrying only the failed data, a throttled retry, or
// a permanent error.
func export[T any](ctx context.Context, e *pulsarExporter, s *signal[T], parts []routed[T], whole T) error {
	var out []outgoing[T]
	var permanent []error
	for _, p := range parts {
		out, permanent = encodePart(e, s, p.route, p.data, out, permanent)
	}
	results := sendAll(ctx, e, out)

	var failedData []T
	var firstErr error
	failedMsgs := 0
	var throttle time.Duration
	for i, err := range results {
		if err == nil {
			continue
		}
		v := pulsarclient.Classify(err)
		if v.Class == pulsarclient.Permanent {
			permanent = append(permanent, fmt.Errorf("topic %q: %w", out[i].topic, err))
			continue
		}
		failedMsgs++
		if firstErr == nil {
			firstErr = err
		}
		if v.Class == pulsarclient.Throttled {
			throttle = max(throttle, v.RetryAfter)
		}
		failedData = append(failedData, out[i].data)
	}
	if len(permanent) > 0 && firstErr != nil {
		e.logger.Warn("Dropping data the broker can never accept; retrying the rest",
			zap.Int("dropped_parts", len(permanent)), zap.Error(errors.Join(permanent...)))
	}
	if firstErr != nil {
		err := fmt.Errorf("%d of %d pulsar messages failed: %w", failedMsgs, len(out), firstErr)
		var retry T
		if failedMsgs == len(out) && len(permanent) == 0 {
			retry = whole
		} else {
			retry = s.merge(failedData)
		}
		err = s.failed(err, retry)
		if throttle > 0 {
			err = exporterhelper.NewThrottleRetry(err, throttle)
		}
		return err
	}
	if len(permanent) > 0 {
		return consumererror.NewPermanent(errors.Join(permanent...))
	}
	return nil
}

// encodePart marshals one routed part, splitting it in halves while it is
// larger than producer.max_message_bytes. An item that alone exceeds the
// limit cannot be sent and becomes a permanent error.
func encodePart[T any](e *pulsarExporter, s *signal[T], r route, data T, out []outgoing[T], permanent []error) ([]outgoing[T], []error) {
	payload, err := s.marshal(data)
	if err != nil {
		e.countFailure(pulsarclient.Verdict{Class: pulsarclient.Permanent, Reason: "encoding"})
		return out, append(permanent, fmt.Errorf("encoding %s: %w", e.signal.Encoding, err))
	}
	if len(payload) > e.cfg.Producer.MaxMessageBytes {
		if n := s.items(data); n > 1 {
			if halves := s.halves(data); len(halves) > 1 {
				for _, h := range halves {
					out, permanent = encodePart(e, s, r, h, out, permanent)
				}
				return out, permanent
			}
		}
		e.countFailure(pulsarclient.Verdict{Class: pulsarclient.Permanent, Reason: "too_large"})
		return out, append(permanent, fmt.Errorf("one item encodes to %d bytes, more than producer.max_message_bytes (%d)",
			len(payload), e.cfg.Producer.MaxMessageBytes))
	}
	msg := &pulsar.ProducerMessage{Payload: payload, Key: r.key}
	if len(e.cfg.Properties) > 0 || len(r.props) > 0 {
		msg.Properties = make(map[string]string, len(e.cfg.Properties)+len(r.props))
		maps.Copy(msg.Properties, e.cfg.Properties)
		maps.Copy(msg.Properties, r.props)
	}
	if e.cfg.EventTime {
		msg.EventTime = eventTime(s.earliest(data))
	}
	switch {
	case e.cfg.Replication.Disable:
		msg.DisableReplication = true
	case len(r.clusters) > 0:
		msg.ReplicationClusters = r.clusters
	case len(e.cfg.Replication.Clusters) > 0:
		msg.ReplicationClusters = e.cfg.Replication.Clusters
	}
	return append(out, outgoing[T]{msg: msg, topic: r.topic, data: data}), permanent
}

type sendResult struct {
	i   int
	err error
}

// sendAll hands every message to its producer and waits until the broker
// answered each one or ctx ends. Messages still unanswered then are reported
// as failed (the broker may still store them: a retry can duplicate, never lose).
func sendAll[T any](ctx context.Context, e *pulsarExporter, out []outgoing[T]) []error {
	results := make([]error, len(out))
	if len(out) == 0 {
		return results
	}
	ch := make(chan sendResult, len(out))
	for i, o := range out {
		p, err := e.producers.get(ctx, o.topic)
		if err != nil {
			err = e.explain(err, time.Now().Add(-e.cfg.OperationTimeout-time.Second))
			e.countFailure(pulsarclient.Classify(err))
			e.noteFailure(err)
			ch <- sendResult{i, err}
			continue
		}
		start := time.Now()
		topic, size := o.topic, int64(len(o.msg.Payload))
		p.SendAsync(ctx, o.msg, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			e.telemetry.PulsarExporterSendLatency.Record(context.Background(), time.Since(start).Seconds())
			if err != nil {
				if pulsarclient.ProducerGone(err) {
					e.producers.drop(topic, p)
				}
				e.countFailure(pulsarclient.Classify(err))
			} else {
				attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("topic", topic)))
				e.telemetry.PulsarExporterMessages.Add(context.Background(), 1, attrs)
				e.telemetry.PulsarExporterBytes.Add(context.Background(), size, attrs)
			}
			ch <- sendResult{i, err}
		})
	}
	answered := make([]bool, len(out))
	ok := true
	for n := 0; n < len(out); n++ {
		select {
		case r := <-ch:
			answered[r.i] = true
			results[r.i] = r.err
			ok = ok && r.err == nil
		case <-ctx.Done():
			for i := range out {
				if !answered[i] {
					results[i] = fmt.Errorf("no broker acknowledgement before the export deadline: %w", ctx.Err())
				}
			}
			return results
		}
	}
	if ok {
		e.noteSuccess()
	}
	return results
}

func (e *pulsarExporter) countFailure(v pulsarclient.Verdict) {
	e.telemetry.PulsarExporterSendFailures.Add(context.Background(), 1, metric.WithAttributeSet(
		attribute.NewSet(attribute.String("reason", v.Reason), attribute.String("class", v.Class.String()))))
}
