package pulsarexporter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// producer is the part of pulsar.Producer the exporter uses (a fake in tests).
type producer interface {
	SendAsync(context.Context, *pulsar.ProducerMessage, func(pulsar.MessageID, *pulsar.ProducerMessage, error))
	Close()
}

// failedCreateTTL is how long a failed producer creation is answered from
// memory: concurrent exports then share one attempt instead of all dialling
// a broker that just refused (no retry storm).
const failedCreateTTL = time.Second

var errExporterShutdown = errors.New("pulsar exporter is shut down")

// producerCache creates one producer per topic on first use, in the
// background, so an export waits at most until its context ends.
type producerCache struct {
	create func(topic string) (producer, error)
	// rejectedSince reports a refused handshake after t (nil: never). The
	// client keeps retrying a refused connection until operation_timeout;
	// the cache answers at once instead.
	rejectedSince func(t time.Time) bool

	mu     sync.Mutex // guards slots and closed
	slots  map[string]*producerSlot
	closed bool
}

type producerSlot struct {
	started  time.Time
	done     chan struct{} // closed when p/err/failedAt are set
	p        producer
	err      error
	failedAt time.Time
}

func newProducerCache(create func(topic string) (producer, error)) *producerCache {
	return &producerCache{create: create, slots: map[string]*producerSlot{}}
}

func (c *producerCache) get(ctx context.Context, topic string) (producer, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errExporterShutdown
	}
	s := c.slots[topic]
	if s != nil {
		select {
		case <-s.done:
			if s.err != nil && time.Since(s.failedAt) >= failedCreateTTL {
				s = nil
			}
		default:
		}
	}
	if s == nil {
		s = &producerSlot{started: time.Now(), done: make(chan struct{})}
		c.slots[topic] = s
		go c.fill(topic, s)
	}
	c.mu.Unlock()
	var poll <-chan time.Time
	if c.rejectedSince != nil {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case <-s.done:
			return s.p, s.err
		case <-ctx.Done():
			return nil, fmt.Errorf("creating producer for topic %q: %w", topic, ctx.Err())
		case <-poll:
			if c.rejectedSince(s.started) {
				return nil, fmt.Errorf("creating producer for topic %q: %w", topic, errHandshakeRejected)
			}
		}
	}
}

var errHandshakeRejected = errors.New("connection refused by the broker")

func (c *producerCache) fill(topic string, s *producerSlot) {
	p, err := c.create(topic)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		s.err = fmt.Errorf("creating producer for topic %q: %w", topic, err)
		s.failedAt = time.Now()
	} else if c.closed {
		p.Close()
		s.err = errExporterShutdown
	} else {
		s.p = p
	}
	close(s.done)
}

// drop forgets p if it is still the producer of topic and closes it, so the
// next send creates a new one.
func (c *producerCache) drop(topic string, p producer) {
	c.mu.Lock()
	s := c.slots[topic]
	if s != nil && s.p == p {
		delete(c.slots, topic)
	} else {
		p = nil
	}
	c.mu.Unlock()
	if p != nil {
		go p.Close()
	}
}

// close closes every producer; Close flushes what the client still holds.
func (c *producerCache) close() {
	c.mu.Lock()
	c.closed = true
	var ps []producer
	for _, s := range c.slots {
		select {
		case <-s.done:
			if s.p != nil {
				ps = append(ps, s.p)
			}
		default:
		}
	}
	c.slots = map[string]*producerSlot{}
	c.mu.Unlock()
	for _, p := range ps {
		p.Close()
	}
}
