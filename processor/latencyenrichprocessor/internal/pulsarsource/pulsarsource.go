// Package pulsarsource fills the latency_enrich metadata table from a Pulsar
// topic through a pulsar-client-go TableView: the view reads the (compacted)
// topic from the start on every Start, so the table is a cache rebuilt from
// the log, and then follows it. Empty payloads are deletes.
package pulsarsource

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
)

// Source is the pulsar table source.
type Source struct {
	cfg       Config
	table     *metadatatable.Table
	lim       metadatatable.Limits
	logger    *zap.Logger
	reportErr func(error)
	retryMin  time.Duration
	retryMax  time.Duration

	mu     sync.Mutex // protects cancel, done
	cancel context.CancelFunc
	done   chan struct{}
}

// New builds the source; it does not connect.
func New(cfg Config, table *metadatatable.Table, lim metadatatable.Limits, logger *zap.Logger, reportErr func(error)) (*Source, error) {
	if reportErr == nil {
		reportErr = func(error) {}
	}
	return &Source{cfg: cfg, table: table, lim: lim, logger: logger, reportErr: reportErr,
		retryMin: 500 * time.Millisecond, retryMax: 15 * time.Second}, nil
}

func (s *Source) clientOptions() pulsar.ClientOptions {
	o := pulsar.ClientOptions{
		URL:                        s.cfg.URL,
		OperationTimeout:           s.cfg.OperationTimeout,
		ConnectionTimeout:          s.cfg.ConnectionTimeout,
		TLSTrustCertsFilePath:      s.cfg.TLSTrustCertsFile,
		TLSAllowInsecureConnection: s.cfg.TLSAllowInsecureConnection,
		TLSValidateHostname:        s.cfg.TLSValidateHostname,
		Logger:                     newZapLogger(s.logger),
		// A private registry: the client's metrics must not collide with
		// other Pulsar clients in the same process.
		MetricsRegisterer: prometheus.NewRegistry(),
	}
	switch {
	case s.cfg.Token != "":
		o.Authentication = pulsar.NewAuthenticationToken(string(s.cfg.Token))
	case s.cfg.TokenFile != "":
		o.Authentication = pulsar.NewAuthenticationTokenFromFile(s.cfg.TokenFile)
	}
	return o
}

// Start connects and builds the table view in the background.
func (s *Source) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.cancel = cancel
	s.done = make(chan struct{})
	done := s.done
	s.mu.Unlock()
	go func() {
		defer close(done)
		s.run(ctx)
	}()
	return nil
}

// Shutdown closes the table view and the client. Idempotent and safe before
// Start.
func (s *Source) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel = nil
	s.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pulsar table source did not stop: %w", ctx.Err())
	}
}

func (s *Source) run(ctx context.Context) {
	backoff := s.retryMin
	for {
		err := s.session(ctx)
		if ctx.Err() != nil {
			return
		}
		s.reportErr(fmt.Errorf("pulsar table source (topic %q): %w; retrying in %s", s.cfg.Topic, err, backoff))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, s.retryMax)
	}
}

// session creates a client and a table view and follows it until ctx is done.
// CreateTableView returns once the view has read the topic up to its end, so
// the table is ready after the first pass below.
func (s *Source) session(ctx context.Context) error {
	client, err := pulsar.NewClient(s.clientOptions())
	if err != nil {
		return fmt.Errorf("creating pulsar client for %s: %w", s.cfg.URL, err)
	}
	defer client.Close()
	type result struct {
		tv  pulsar.TableView
		err error
	}
	created := make(chan result, 1)
	go func() {
		tv, err := client.CreateTableView(pulsar.TableViewOptions{
			Topic:           s.cfg.Topic,
			Schema:          pulsar.NewBytesSchema(nil),
			SchemaValueType: reflect.TypeOf([]byte(nil)),
			Logger:          newZapLogger(s.logger),
		})
		created <- result{tv, err}
	}()
	var tv pulsar.TableView
	select {
	case <-ctx.Done():
		go func() {
			if r := <-created; r.tv != nil {
				r.tv.Close()
			}
		}()
		return ctx.Err()
	case r := <-created:
		if r.err != nil {
			return fmt.Errorf("creating table view: %w", r.err)
		}
		tv = r.tv
	}
	defer tv.Close()

	// The view only calls listeners for messages that arrive after they are
	// registered; a message handled between the first pass and registration
	// would be missed, so a second pass reconciles against what was applied.
	first := map[string]uint64{}
	var firstMu sync.Mutex
	recording := true
	err = tv.ForEachAndListen(func(key string, v any) error {
		payload, _ := v.([]byte)
		firstMu.Lock()
		if recording {
			first[key] = hashBytes(payload)
		}
		firstMu.Unlock()
		s.apply(key, payload)
		return nil
	})
	if err != nil {
		return fmt.Errorf("listening to table view: %w", err)
	}
	firstMu.Lock()
	recording = false
	seen := first
	first = nil
	firstMu.Unlock()
	current := map[string]struct{}{}
	_ = tv.ForEach(func(key string, v any) error {
		current[key] = struct{}{}
		payload, _ := v.([]byte)
		if h, ok := seen[key]; !ok || h != hashBytes(payload) {
			s.apply(key, payload)
		}
		return nil
	})
	for key := range seen {
		if _, ok := current[key]; !ok {
			s.table.Delete(key)
		}
	}
	s.table.MarkReady()
	<-ctx.Done()
	return ctx.Err()
}

func hashBytes(b []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(b)
	return h.Sum64()
}

func (s *Source) apply(key string, payload []byte) {
	if len(payload) == 0 {
		if key == "" {
			s.table.Reject(&metadatatable.BadRowError{Reason: metadatatable.ReasonMissingKey, Err: errors.New("delete without a key")})
			return
		}
		s.table.Delete(key)
		return
	}
	r, err := metadatatable.ParseJSON(key, payload, s.lim)
	if err != nil {
		s.table.Reject(err)
		return
	}
	if r.Version == "" {
		r.Version = fmt.Sprintf("pulsar:%016x", hashBytes(payload))
	}
	_ = s.table.Upsert(r)
}
