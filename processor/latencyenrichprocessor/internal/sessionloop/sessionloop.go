// Package sessionloop runs a streaming table source in the background: one
// session after another, with exponential back-off between failed sessions,
// until Shutdown. The Kafka and Pulsar table sources share it so both start,
// retry and stop the same way. It does no I/O and no logging of its own.
package sessionloop

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Loop is one background session loop. The zero value is not usable: set
// Name, RetryMin and RetryMax (tests shorten the back-off through them).
type Loop struct {
	Name     string        // for Shutdown's error, e.g. "kafka table source"
	RetryMin time.Duration // first back-off after a failed session
	RetryMax time.Duration // back-off doubles up to this

	mu     sync.Mutex // protects cancel, done
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs session repeatedly in a goroutine until Shutdown. A session runs
// until its context is cancelled or it fails; after a failure (while not
// stopping) onError gets the error and the back-off about to be waited.
func (l *Loop) Start(session func(context.Context) error, onError func(err error, backoff time.Duration)) {
	ctx, cancel := context.WithCancel(context.Background())
	l.mu.Lock()
	l.cancel = cancel
	l.done = make(chan struct{})
	done := l.done
	l.mu.Unlock()
	go func() {
		defer close(done)
		l.run(ctx, session, onError)
	}()
}

func (l *Loop) run(ctx context.Context, session func(context.Context) error, onError func(error, time.Duration)) {
	backoff := l.RetryMin
	for {
		err := session(ctx)
		if ctx.Err() != nil {
			return
		}
		onError(err, backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, l.RetryMax)
	}
}

// Shutdown cancels the running session and waits for the loop to end, or for
// ctx. Idempotent and safe before Start.
func (l *Loop) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.cancel = nil
	l.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s did not stop: %w", l.Name, ctx.Err())
	}
}
