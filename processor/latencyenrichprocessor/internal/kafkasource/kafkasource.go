// Package kafkasource fills the latency_enrich metadata table from a compacted
// Kafka topic with IBM/sarama. Each instance reads the whole topic from the
// earliest offset on start (the table is a cache rebuilt from the log), keeps
// following it, and marks the table ready once every partition reached the end
// offset it had at start. It never commits offsets: it has no consumer group.
package kafkasource

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/sessionloop"
)

// offsetReader is the part of sarama.Client the source needs besides the
// consumer; tests substitute it.
type offsetReader interface {
	Partitions(topic string) ([]int32, error)
	GetOffset(topic string, partition int32, time int64) (int64, error)
	Close() error
}

type dialFunc func() (offsetReader, sarama.Consumer, error)

// Source is the kafka table source.
type Source struct {
	topic  string
	table  *metadatatable.Table
	lim    metadatatable.Limits
	logger *zap.Logger
	// reportErr is called with each failure after Start, and with nil once
	// the source works again after one.
	reportErr func(error)
	failing   atomic.Bool
	dial      dialFunc

	loop sessionloop.Loop
}

// New builds the source. It reads the TLS files named in cfg but does not
// connect.
func New(cfg Config, table *metadatatable.Table, lim metadatatable.Limits, logger *zap.Logger, reportErr func(error)) (*Source, error) {
	sc, err := saramaConfig(cfg)
	if err != nil {
		return nil, err
	}
	brokers := cfg.Brokers
	s := newSource(cfg.Topic, table, lim, logger, reportErr, func() (offsetReader, sarama.Consumer, error) {
		client, err := sarama.NewClient(brokers, sc)
		if err != nil {
			return nil, nil, fmt.Errorf("connecting to kafka brokers %v: %w", brokers, err)
		}
		consumer, err := sarama.NewConsumerFromClient(client)
		if err != nil {
			_ = client.Close()
			return nil, nil, fmt.Errorf("creating kafka consumer: %w", err)
		}
		return client, consumer, nil
	})
	return s, nil
}

func newSource(topic string, table *metadatatable.Table, lim metadatatable.Limits, logger *zap.Logger, reportErr func(error), dial dialFunc) *Source {
	if reportErr == nil {
		reportErr = func(error) {}
	}
	return &Source{topic: topic, table: table, lim: lim, logger: logger, reportErr: reportErr, dial: dial,
		loop: sessionloop.Loop{Name: "kafka table source", RetryMin: 500 * time.Millisecond, RetryMax: 15 * time.Second}}
}

func saramaConfig(cfg Config) (*sarama.Config, error) {
	sc := sarama.NewConfig()
	v, err := sarama.ParseKafkaVersion(cfg.ProtocolVersion)
	if err != nil {
		return nil, fmt.Errorf("protocol_version: %w", err)
	}
	sc.Version = v
	sc.ClientID = cfg.ClientID
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Metadata.Full = false
	// Reading a table must never create its topic: a typo would otherwise
	// yield an empty, "ready" table.
	sc.Metadata.AllowAutoTopicCreation = false
	sc.Net.DialTimeout = 10 * time.Second
	if t := cfg.TLS.Get(); t != nil {
		tlsCfg, err := t.LoadTLSConfig(context.Background())
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		if tlsCfg != nil {
			sc.Net.TLS.Enable = true
			sc.Net.TLS.Config = tlsCfg
		}
	}
	if s := cfg.SASL.Get(); s != nil {
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Handshake = true
		sc.Net.SASL.User = s.Username
		sc.Net.SASL.Password = string(s.Password)
		switch s.Mechanism {
		case MechanismPlain:
			sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		case MechanismSCRAMSHA256:
			sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.HashGeneratorFcn(sha256.New)} }
		case MechanismSCRAMSHA512:
			sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.HashGeneratorFcn(sha512.New)} }
		default:
			return nil, fmt.Errorf("sasl.mechanism: %q is not supported", s.Mechanism)
		}
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka client settings: %w", err)
	}
	return sc, nil
}

// Start connects and consumes in the background; it does not block on the
// brokers. Connection failures are reported and retried with backoff.
func (s *Source) Start(context.Context) error {
	s.loop.Start(s.consume, func(err error, backoff time.Duration) {
		s.fail(fmt.Errorf("kafka table source (topic %q): %w; retrying in %s", s.topic, err, backoff))
	})
	return nil
}

// Shutdown stops consuming and closes the connection. Idempotent and safe
// before Start.
func (s *Source) Shutdown(ctx context.Context) error {
	return s.loop.Shutdown(ctx)
}

// consume runs one session: read end offsets, consume every partition from
// the earliest offset until ctx is done. It returns only on a setup error or
// when ctx is cancelled.
func (s *Source) consume(ctx context.Context) error {
	client, consumer, err := s.dial()
	if err != nil {
		return err
	}
	defer client.Close()
	defer consumer.Close()
	parts, err := client.Partitions(s.topic)
	if err != nil {
		return fmt.Errorf("reading partitions: %w", err)
	}
	if len(parts) == 0 {
		return errors.New("topic has no partitions")
	}
	// A partition is caught up once the message just before the end offset
	// seen now has been applied. Empty partitions (end == earliest) start
	// caught up.
	ends := make(map[int32]int64, len(parts))
	for _, p := range parts {
		newest, err := client.GetOffset(s.topic, p, sarama.OffsetNewest)
		if err != nil {
			return fmt.Errorf("reading end offset of partition %d: %w", p, err)
		}
		oldest, err := client.GetOffset(s.topic, p, sarama.OffsetOldest)
		if err != nil {
			return fmt.Errorf("reading earliest offset of partition %d: %w", p, err)
		}
		if newest > oldest {
			ends[p] = newest
		}
	}
	tracker := newCatchUp(ends, s.table.MarkReady)
	pcs := make([]sarama.PartitionConsumer, 0, len(parts))
	defer func() {
		for _, pc := range pcs {
			pc.AsyncClose()
		}
	}()
	for _, p := range parts {
		pc, err := consumer.ConsumePartition(s.topic, p, sarama.OffsetOldest)
		if err != nil {
			return fmt.Errorf("consuming partition %d: %w", p, err)
		}
		pcs = append(pcs, pc)
	}
	// Connected and consuming: a failure reported before is over.
	s.recovered()
	var wg sync.WaitGroup
	// ended receives the partition of a consumer that sarama closed on its
	// own (e.g. offset out of range): the session is then rebuilt rather than
	// silently losing the partition.
	ended := make(chan int32, len(pcs))
	for i, pc := range pcs {
		wg.Add(1)
		go func(p int32, pc sarama.PartitionConsumer) {
			defer wg.Done()
			if s.consumePartition(ctx, p, pc, tracker) {
				ended <- p
			}
		}(parts[i], pc)
	}
	var endErr error
	select {
	case <-ctx.Done():
		endErr = ctx.Err()
	case p := <-ended:
		endErr = fmt.Errorf("partition %d consumer stopped; re-reading the topic", p)
	}
	for _, pc := range pcs {
		pc.AsyncClose()
	}
	pcs = nil
	wg.Wait()
	return endErr
}

// consumePartition applies messages until the consumer's channels close. It
// reports whether they closed while the session was still meant to run.
func (s *Source) consumePartition(ctx context.Context, p int32, pc sarama.PartitionConsumer, tracker *catchUp) bool {
	msgs, errs := pc.Messages(), pc.Errors()
	done := ctx.Done()
	stopping := false
	// Both channels are serviced until sarama closes them after AsyncClose.
	for msgs != nil || errs != nil {
		select {
		case <-done:
			stopping, done = true, nil
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			if !stopping {
				s.apply(m)
				tracker.seen(p, m.Offset)
				s.recovered()
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if !stopping {
				s.fail(fmt.Errorf("kafka table source (topic %q, partition %d): %w", s.topic, p, err))
			}
		}
	}
	return !stopping && ctx.Err() == nil
}

func (s *Source) fail(err error) {
	s.failing.Store(true)
	s.reportErr(err)
}

// recovered reports recovery once after a failure; cheap on the hot path.
func (s *Source) recovered() {
	if s.failing.Load() && s.failing.CompareAndSwap(true, false) {
		s.reportErr(nil)
	}
}

// apply turns one message into a table change. A null value is a tombstone.
func (s *Source) apply(m *sarama.ConsumerMessage) {
	key := string(m.Key)
	if len(m.Value) == 0 {
		if key == "" {
			s.table.Reject(&metadatatable.BadRowError{Reason: metadatatable.ReasonMissingKey, Err: errors.New("tombstone without a key")})
			return
		}
		s.table.Delete(key)
		return
	}
	r, err := metadatatable.ParseJSON(key, m.Value, s.lim)
	if err != nil {
		s.table.Reject(err)
		return
	}
	if r.Version == "" {
		r.Version = "kafka:" + strconv.Itoa(int(m.Partition)) + ":" + strconv.FormatInt(m.Offset, 10)
	}
	_ = s.table.Upsert(r) // a rejected row is reported by the table
}

// catchUp tracks which partitions reached their start-time end offset.
type catchUp struct {
	mu      sync.Mutex // protects pending
	pending map[int32]int64
	onDone  func()
}

func newCatchUp(ends map[int32]int64, onDone func()) *catchUp {
	c := &catchUp{pending: ends, onDone: onDone}
	if len(ends) == 0 {
		onDone()
	}
	return c
}

func (c *catchUp) seen(p int32, offset int64) {
	c.mu.Lock()
	end, ok := c.pending[p]
	if !ok || offset < end-1 {
		c.mu.Unlock()
		return
	}
	delete(c.pending, p)
	done := len(c.pending) == 0
	c.mu.Unlock()
	if done {
		c.onDone()
	}
}

// scramClient adapts xdg-go/scram to sarama's SCRAMClient.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (c *scramClient) Begin(user, password, authzID string) error {
	cl, err := c.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	c.conv = cl.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }

func (c *scramClient) Done() bool { return c.conv.Done() }
