package sessionloop

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestRetriesWithDoublingBackoffUntilShutdown(t *testing.T) {
	l := &Loop{Name: "test source", RetryMin: time.Millisecond, RetryMax: 4 * time.Millisecond}
	var mu sync.Mutex
	var backoffs []time.Duration
	sessions := 0
	l.Start(func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		sessions++
		return errors.New("broker down")
	}, func(err error, backoff time.Duration) {
		if err.Error() != "broker down" {
			t.Errorf("onError got %v", err)
		}
		mu.Lock()
		backoffs = append(backoffs, backoff)
		mu.Unlock()
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(backoffs)
		mu.Unlock()
		if n >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := l.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond}
	if len(backoffs) < len(want) {
		t.Fatalf("only %d failed sessions reported: %v", len(backoffs), backoffs)
	}
	for i, w := range want {
		if backoffs[i] != w {
			t.Errorf("back-off %d = %s, want %s (all: %v)", i, backoffs[i], w, backoffs)
		}
	}
}

func TestShutdownEndsARunningSessionWithoutReportingIt(t *testing.T) {
	l := &Loop{Name: "test source", RetryMin: time.Millisecond, RetryMax: time.Millisecond}
	started := make(chan struct{})
	l.Start(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}, func(err error, _ time.Duration) { t.Errorf("a cancelled session was reported as failed: %v", err) })
	<-started
	if err := l.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestShutdownBeforeStart(t *testing.T) {
	if err := (&Loop{Name: "x"}).Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestShutdownGivesUpWithTheSourceName(t *testing.T) {
	l := &Loop{Name: "kafka table source", RetryMin: time.Millisecond, RetryMax: time.Millisecond}
	release := make(chan struct{})
	started := make(chan struct{})
	l.Start(func(context.Context) error { close(started); <-release; return nil }, func(error, time.Duration) {})
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := l.Shutdown(ctx)
	close(release)
	if err == nil || err.Error() != "kafka table source did not stop: context deadline exceeded" {
		t.Fatalf("Shutdown error = %v", err)
	}
}
