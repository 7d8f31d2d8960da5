package pulsarreceiver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/internal/pulsarclient"
	"github.com/latencywatch/latencywatch/receiver/pulsarreceiver/internal/metadata"
)

// messageConsumer is the part of pulsar.Consumer the receiver uses.
type messageConsumer interface {
	Receive(context.Context) (pulsar.Message, error)
	Ack(pulsar.Message) error
	Nack(pulsar.Message)
	Close()
}

// deadLetterProducer is the part of pulsar.Producer the dead-letter path uses.
type deadLetterProducer interface {
	Send(context.Context, *pulsar.ProducerMessage) (pulsar.MessageID, error)
	Close()
}

// backend connects the receiver to Pulsar (a fake in unit tests).
type backend struct {
	subscribe  func() (messageConsumer, error)
	deadLetter func(topic string) (deadLetterProducer, error)
	explain    func(err error, since time.Time) error
	close      func()
}

// signalHandler decodes and forwards one signal's payloads.
type signalHandler struct {
	decode   func([]byte) (data any, items int, err error)
	annotate func(data any, attrs map[string]string)
	startOp  func(context.Context) context.Context
	endOp    func(ctx context.Context, format string, items int, err error)
	consume  func(context.Context, any) error
}

type pulsarReceiver struct {
	cfg      *Config
	signal   SignalConfig
	set      receiver.Settings
	logger   *zap.Logger
	handler  signalHandler
	obsrecv  *receiverhelper.ObsReport
	counter  *redeliveryCounter
	accepted *acceptedSet
	dlqTopic string

	// connect is replaced by tests.
	connect func(context.Context) (*backend, error)

	mu        sync.Mutex // guards the fields below
	cancel    context.CancelFunc
	done      chan struct{}
	be        *backend
	telemetry *metadata.TelemetryBuilder
	host      component.Host
	dlq       deadLetterProducer
}

func newReceiver(cfg *Config, set receiver.Settings, sig SignalConfig, h func(*receiverhelper.ObsReport) signalHandler) (*pulsarReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "pulsar",
		LongLivedCtx:           true,
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	r := &pulsarReceiver{
		cfg:      cfg,
		signal:   sig,
		set:      set,
		logger:   set.Logger,
		handler:  h(obs),
		obsrecv:  obs,
		counter:  newRedeliveryCounter(100_000),
		accepted: newAcceptedSet(100_000),
		dlqTopic: cfg.deadLetterTopic(sig),
	}
	r.connect = r.realBackend
	return r, nil
}

func (r *pulsarReceiver) consumerOptions() pulsar.ConsumerOptions {
	o := pulsar.ConsumerOptions{
		TopicsPattern:       r.signal.TopicsPattern,
		SubscriptionName:    r.cfg.Subscription,
		ReceiverQueueSize:   r.cfg.ReceiverQueueSize,
		Name:                r.cfg.ConsumerName,
		NackRedeliveryDelay: r.cfg.Redelivery.InitialBackoff,
		NackBackoffPolicy:   nackBackoff{initial: r.cfg.Redelivery.InitialBackoff, max: r.cfg.Redelivery.MaxBackoff},
		// Batch-index acknowledgement stays off: on a broker without
		// acknowledgmentAtBatchIndexLevelEnabled an index ack would ack the
		// whole batch entry, losing a nacked sibling. The client then acks an
		// entry once all its messages are acked, and acceptedSet drops the
		// redelivered siblings that were already forwarded.
	}
	switch {
	case r.signal.TopicsPattern != "":
	case len(r.signal.Topics) == 1:
		o.Topic = r.signal.Topics[0]
	default:
		o.Topics = r.signal.Topics
	}
	switch r.cfg.SubscriptionType {
	case "exclusive":
		o.Type = pulsar.Exclusive
	case "failover":
		o.Type = pulsar.Failover
	case "shared":
		o.Type = pulsar.Shared
	case "key_shared":
		o.Type = pulsar.KeyShared
	}
	if r.cfg.InitialPosition == "earliest" {
		o.SubscriptionInitialPosition = pulsar.SubscriptionPositionEarliest
	}
	return o
}

func (r *pulsarReceiver) realBackend(ctx context.Context) (*backend, error) {
	c, err := pulsarclient.NewClient(ctx, &r.cfg.ClientConfig, r.logger)
	if err != nil {
		return nil, err
	}
	opts := r.consumerOptions()
	return &backend{
		subscribe: func() (messageConsumer, error) { return c.Subscribe(opts) },
		deadLetter: func(topic string) (deadLetterProducer, error) {
			return c.CreateProducer(pulsar.ProducerOptions{Topic: topic, SendTimeout: 30 * time.Second})
		},
		explain: c.Explain,
		close:   c.Close,
	}, nil
}

// Start connects in the background: a broker that is down at start is
// retried (status RecoverableError) instead of failing the collector.
func (r *pulsarReceiver) Start(_ context.Context, host component.Host) error {
	tb, err := metadata.NewTelemetryBuilder(r.set.TelemetrySettings)
	if err != nil {
		return err
	}
	// The run loop outlives Start's context.
	ctx, cancel := context.WithCancel(context.Background())
	be, err := r.connect(ctx)
	if err != nil {
		cancel()
		return err
	}
	r.mu.Lock()
	r.telemetry, r.host, r.be, r.cancel, r.done = tb, host, be, cancel, make(chan struct{})
	r.mu.Unlock()
	go r.run(ctx, be)
	return nil
}

// Shutdown stops consuming, waits for the message in flight to be settled,
// and closes consumer, dead-letter producer and client. Safe before Start and
// more than once.
func (r *pulsarReceiver) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	cancel, done, be := r.cancel, r.done, r.be
	r.cancel, r.be = nil, nil
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("pulsar receiver did not stop in time: %w", ctx.Err())
	}
	r.mu.Lock()
	if r.dlq != nil {
		r.dlq.Close()
		r.dlq = nil
	}
	r.mu.Unlock()
	if be.close != nil {
		be.close()
	}
	return nil
}

func (r *pulsarReceiver) report(ev *componentstatus.Event) {
	if r.host != nil {
		componentstatus.ReportStatus(r.host, ev)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *pulsarReceiver) run(ctx context.Context, be *backend) {
	defer close(r.done)
	var cons messageConsumer
	for attempt := 1; cons == nil; attempt++ {
		started := time.Now()
		c, err := be.subscribe()
		if err == nil {
			cons = c
			break
		}
		if be.explain != nil {
			err = be.explain(err, started)
		}
		r.logger.Warn("Subscribing to Pulsar failed; retrying",
			zap.Strings("topics", r.signal.Topics), zap.String("topics_pattern", r.signal.TopicsPattern),
			zap.String("subscription", r.cfg.Subscription), zap.Error(err))
		r.report(componentstatus.NewRecoverableErrorEvent(err))
		delay := backoff(attempt, 500*time.Millisecond, 30*time.Second)
		if pulsarclient.Classify(err).Reason == "auth" {
			delay = pulsarclient.AuthRetryDelay
		}
		if !sleepCtx(ctx, delay) {
			return
		}
	}
	defer cons.Close()
	r.report(componentstatus.NewEvent(componentstatus.StatusOK))

	failures := 0
	for {
		msg, err := cons.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.logger.Warn("Receiving from Pulsar failed", zap.Error(err))
			if !sleepCtx(ctx, r.cfg.Redelivery.InitialBackoff) {
				return
			}
			continue
		}
		if r.handle(ctx, cons, msg) {
			failures = 0
			continue
		}
		// Pause after a failure: the pipeline refused, so pulling the next
		// message at full speed would only produce more refusals.
		failures++
		if !sleepCtx(ctx, backoff(failures, r.cfg.Redelivery.InitialBackoff, r.cfg.Redelivery.MaxBackoff)) {
			return
		}
	}
}

// handle forwards one message and settles it; it reports whether the
// message left the subscription (acked or dead-lettered).
func (r *pulsarReceiver) handle(ctx context.Context, cons messageConsumer, msg pulsar.Message) bool {
	id := messageKey(msg)
	if r.accepted.contains(id) {
		r.ack(cons, msg, "duplicate")
		return true
	}
	payload := msg.Payload()
	r.telemetry.PulsarReceiverBytes.Add(ctx, int64(len(payload)))
	data, items, err := r.handler.decode(payload)
	if err != nil {
		opCtx := r.handler.startOp(ctx)
		r.handler.endOp(opCtx, r.signal.Encoding, 0, err)
		return r.deadLetter(ctx, cons, msg, "undecodable", fmt.Errorf("decoding %s: %w", r.signal.Encoding, err))
	}
	if r.cfg.Metadata.ResourceAttributes {
		r.handler.annotate(data, resourceAttributes(msg))
	}
	cctx := ctx
	if r.cfg.Metadata.ClientMetadata {
		cctx = client.NewContext(ctx, client.Info{Metadata: client.NewMetadata(clientMetadata(msg))})
	}
	opCtx := r.handler.startOp(cctx)
	err = r.handler.consume(opCtx, data)
	r.handler.endOp(opCtx, r.signal.Encoding, items, err)

	redeliveries := max(int(msg.RedeliveryCount()), r.counter.get(id))
	v := decide(err, redeliveries, r.cfg.Redelivery.MaxRedeliveries)
	switch v.action {
	case actAck:
		r.counter.forget(id)
		r.accepted.add(id)
		r.ack(cons, msg, v.reason)
		return true
	case actDeadLetter:
		return r.deadLetter(ctx, cons, msg, v.reason, err)
	default:
		r.counter.inc(id)
		cons.Nack(msg)
		r.count("nacked", v.reason)
		return false
	}
}

func (r *pulsarReceiver) ack(cons messageConsumer, msg pulsar.Message, reason string) {
	if err := cons.Ack(msg); err != nil {
		// The broker will redeliver it: a duplicate, never a loss.
		r.logger.Warn("Acknowledging a Pulsar message failed", zap.String("topic", msg.Topic()), zap.Error(err))
	}
	r.count("acked", reason)
}

// deadLetter publishes the message unchanged (payload, key, properties,
// event time) plus the reason to the dead-letter topic and acks it. If that
// fails the message is nacked: it is never dropped.
func (r *pulsarReceiver) deadLetter(ctx context.Context, cons messageConsumer, msg pulsar.Message, reason string, cause error) bool {
	p, err := r.deadLetterProducer()
	if err == nil {
		props := make(map[string]string, len(msg.Properties())+5)
		maps.Copy(props, msg.Properties())
		props["latencywatch.dlq.reason"] = reason
		props["latencywatch.dlq.error"] = truncate(cause.Error(), 512)
		props["latencywatch.dlq.original_topic"] = msg.Topic()
		props["latencywatch.dlq.subscription"] = r.cfg.Subscription
		if id := msg.ID(); id != nil {
			props["latencywatch.dlq.message_id"] = formatID(id)
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = p.Send(sctx, &pulsar.ProducerMessage{
			Payload:    msg.Payload(),
			Key:        msg.Key(),
			Properties: props,
			EventTime:  msg.EventTime(),
		})
		cancel()
	}
	if err != nil {
		r.logger.Warn("Sending a Pulsar message to the dead-letter topic failed; it will be redelivered",
			zap.String("dead_letter_topic", r.dlqTopic), zap.String("reason", reason), zap.Error(err))
		cons.Nack(msg)
		r.count("nacked", "dead_letter_failed")
		return false
	}
	r.logger.Warn("Moved a Pulsar message to the dead-letter topic",
		zap.String("topic", msg.Topic()), zap.String("dead_letter_topic", r.dlqTopic),
		zap.String("reason", reason), zap.Error(cause))
	r.counter.forget(messageKey(msg))
	if err := cons.Ack(msg); err != nil {
		r.logger.Warn("Acknowledging a dead-lettered Pulsar message failed", zap.Error(err))
	}
	r.count("dead_lettered", reason)
	return true
}

func (r *pulsarReceiver) deadLetterProducer() (deadLetterProducer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dlq != nil {
		return r.dlq, nil
	}
	if r.be == nil {
		return nil, errors.New("pulsar receiver is shut down")
	}
	started := time.Now()
	p, err := r.be.deadLetter(r.dlqTopic)
	if err != nil {
		if r.be.explain != nil {
			err = r.be.explain(err, started)
		}
		return nil, fmt.Errorf("creating dead-letter producer for %q: %w", r.dlqTopic, err)
	}
	r.dlq = p
	return p, nil
}

func (r *pulsarReceiver) count(outcome, reason string) {
	r.telemetry.PulsarReceiverMessages.Add(context.Background(), 1, metric.WithAttributeSet(
		attribute.NewSet(attribute.String("outcome", outcome), attribute.String("reason", reason))))
}

// messageKey identifies one message of a subscription, including its index
// in a producer batch (MessageID.String leaves that out).
func messageKey(msg pulsar.Message) string {
	return msg.Topic() + "/" + formatID(msg.ID())
}

func formatID(id pulsar.MessageID) string {
	if id == nil {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d:%d", id.LedgerID(), id.EntryID(), id.PartitionIdx(), id.BatchIdx())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func clientMetadata(msg pulsar.Message) map[string][]string {
	md := map[string][]string{
		"pulsar.topic":        {msg.Topic()},
		"pulsar.publish_time": {msg.PublishTime().UTC().Format(time.RFC3339Nano)},
	}
	if msg.Key() != "" {
		md["pulsar.key"] = []string{msg.Key()}
	}
	if id := msg.ID(); id != nil {
		md["pulsar.message_id"] = []string{formatID(id)}
	}
	for k, v := range msg.Properties() {
		md["pulsar.property."+k] = []string{v}
	}
	return md
}

func resourceAttributes(msg pulsar.Message) map[string]string {
	attrs := map[string]string{
		"messaging.system":              "pulsar",
		"messaging.destination.name":    msg.Topic(),
		"messaging.pulsar.publish_time": msg.PublishTime().UTC().Format(time.RFC3339Nano),
		"messaging.pulsar.redeliveries": strconv.Itoa(int(msg.RedeliveryCount())),
	}
	if msg.Key() != "" {
		attrs["messaging.pulsar.message.key"] = msg.Key()
	}
	for k, v := range msg.Properties() {
		attrs["messaging.pulsar.property."+k] = v
	}
	return attrs
}

func putAll(m pcommon.Map, attrs map[string]string) {
	for k, v := range attrs {
		m.PutStr(k, v)
	}
}
