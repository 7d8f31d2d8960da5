// Package pulsarsource fills the latency_enrich metadata table from a Pulsar
// topic through a pulsar-client-go TableView: the view reads the (compacted)
// topic from the start on every Start, so the table is a cache rebuilt from
// the log, and then follows it. Empty payloads are deletes.
package pulsarsource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/internal/pulsarclient"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/sessionloop"
)

// Source is the pulsar table source.
type Source struct {
	cfg    Config
	table  *metadatatable.Table
	lim    metadatatable.Limits
	logger *zap.Logger
	// reportErr is called with each failure after Start, and with nil once
	// the source works again after one.
	reportErr func(error)
	failing   bool // only touched by the run goroutine

	loop sessionloop.Loop
}

// New builds the source; it does not connect.
func New(cfg Config, table *metadatatable.Table, lim metadatatable.Limits, logger *zap.Logger, reportErr func(error)) (*Source, error) {
	if reportErr == nil {
		reportErr = func(error) {}
	}
	return &Source{cfg: cfg, table: table, lim: lim, logger: logger, reportErr: reportErr,
		loop: sessionloop.Loop{Name: "pulsar table source", RetryMin: 500 * time.Millisecond, RetryMax: 15 * time.Second}}, nil
}

// Start connects and builds the table view in the background.
func (s *Source) Start(context.Context) error {
	s.loop.Start(s.session, func(err error, backoff time.Duration) {
		s.failing = true
		s.reportErr(fmt.Errorf("pulsar table source (topic %q): %w; retrying in %s", s.cfg.Topic, err, backoff))
	})
	return nil
}

// Shutdown closes the table view and the client. Idempotent and safe before
// Start.
func (s *Source) Shutdown(ctx context.Context) error {
	return s.loop.Shutdown(ctx)
}

// session creates a client and a table view and follows it until ctx is done.
// CreateTableView returns once the view has read the topic up to its end, so
// the table is ready after the first pass below.
func (s *Source) session(ctx context.Context) error {
	started := time.Now()
	client, err := pulsarclient.NewClient(ctx, &s.cfg.ClientConfig, s.logger)
	if err != nil {
		return err
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
			Schema:          rawSchema{},
			SchemaValueType: anyType,
			Logger:          pulsarclient.NewLogger(s.logger),
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
			return fmt.Errorf("creating table view: %w", client.Explain(r.err, started))
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
		payload := payloadOf(v)
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
		payload := payloadOf(v)
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
	if s.failing {
		s.failing = false
		s.reportErr(nil)
	}
	<-ctx.Done()
	return ctx.Err()
}

// anyType lets the view hold whatever a message's own schema decodes to, so
// no producer schema can make the client's reflection panic.
var anyType = reflect.TypeOf((*any)(nil)).Elem()

// rawSchema subscribes without a schema (GetSchemaInfo is nil, so the
// broker runs no compatibility check) and hands payloads over as bytes.
// pulsar-client-go's BytesSchema cannot be used: it is sent as schema type
// NONE, which the broker refuses on a topic written without a schema.
type rawSchema struct{}

func (rawSchema) Encode(v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("raw schema encodes []byte, got %T", v)
	}
	return b, nil
}

func (rawSchema) Decode(data []byte, v any) error {
	p, ok := v.(*any)
	if !ok {
		return fmt.Errorf("raw schema decodes into *any, got %T", v)
	}
	*p = bytes.Clone(data)
	return nil
}

func (rawSchema) Validate([]byte) error { return nil }

func (rawSchema) GetSchemaInfo() *pulsar.SchemaInfo { return nil }

// payloadOf turns a view value back into the JSON payload. Messages of
// schema-less producers arrive as bytes; a producer's STRING or JSON schema
// decodes to a string or a map. nil (an empty payload) is a delete.
func payloadOf(v any) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		return x
	case string:
		return []byte(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			// Not representable as JSON: ParseJSON rejects it as not_json.
			return []byte(fmt.Sprintf("%v", x))
		}
		return b
	}
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
