package pulsarreceiver

import (
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
)

// action is what happens to a message after the pipeline answered.
type action int

const (
	actAck action = iota
	actNack
	actDeadLetter
)

// verdict is the decision for one message and why.
type verdict struct {
	action action
	reason string
}

// decide is the receiver's one acknowledgement rule. redeliveries is how
// often the message was already redelivered.
//   - accepted → ack
//   - permanent error → dead-letter (retrying gives the same answer)
//   - retryable error, redeliveries < max (or max == 0) → nack
//   - retryable error, redeliveries ≥ max → dead-letter
func decide(consumeErr error, redeliveries, maxRedeliveries int) verdict {
	switch {
	case consumeErr == nil:
		return verdict{actAck, "accepted"}
	case consumererror.IsPermanent(consumeErr):
		return verdict{actDeadLetter, "permanent"}
	case maxRedeliveries > 0 && redeliveries >= maxRedeliveries:
		return verdict{actDeadLetter, "max_redeliveries"}
	default:
		return verdict{actNack, "retryable"}
	}
}

// backoff is the delay after the n-th consecutive failure (n ≥ 1):
// initial·2^(n-1), at most max.
func backoff(n int, initial, maxDelay time.Duration) time.Duration {
	d := initial
	for i := 1; i < n && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// nackBackoff is the client's negative-ack delay policy.
type nackBackoff struct{ initial, max time.Duration }

func (p nackBackoff) Next(redeliveryCount uint32) time.Duration {
	return backoff(int(redeliveryCount)+1, p.initial, p.max)
}

// redeliveryCounter counts failures per message id itself, because the
// broker tracks redelivery counts only for shared and key_shared
// subscriptions. Bounded: when full it starts over (falling back to the
// broker's count).
type redeliveryCounter struct {
	mu     sync.Mutex // guards counts
	counts map[string]int
	limit  int
}

func newRedeliveryCounter(limit int) *redeliveryCounter {
	return &redeliveryCounter{counts: map[string]int{}, limit: limit}
}

func (c *redeliveryCounter) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[id]
}

func (c *redeliveryCounter) inc(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.counts) >= c.limit {
		c.counts = map[string]int{}
	}
	c.counts[id]++
}

func (c *redeliveryCounter) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.counts, id)
}

// acceptedSet remembers the ids of recently accepted messages. When one
// message of a producer batch is nacked, brokers without batch-index
// acknowledgement redeliver the whole batch; the receiver then acks the
// messages it already forwarded instead of forwarding them twice. Bounded
// (oldest ids are forgotten first).
type acceptedSet struct {
	mu   sync.Mutex // guards ids, ring, next
	ids  map[string]struct{}
	ring []string
	next int
}

func newAcceptedSet(size int) *acceptedSet {
	return &acceptedSet{ids: make(map[string]struct{}, size), ring: make([]string, size)}
}

func (s *acceptedSet) contains(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}

func (s *acceptedSet) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.ids, old)
	}
	s.ring[s.next] = id
	s.ids[id] = struct{}{}
	s.next = (s.next + 1) % len(s.ring)
}
