// Package watchstatetest provides in-process fakes for tests of watchstate
// users: a storage extension whose data outlives its clients, so a test can
// stop a component and start a new one on the same "disk".
package watchstatetest

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Storage is a storage.Extension backed by a map shared by all its clients.
type Storage struct {
	mu   sync.Mutex
	data map[string][]byte
	// FailWrites makes Set/Batch/Delete fail (to test error paths).
	FailWrites bool
	// Clients counts GetClient calls; Closed counts Close calls.
	Clients, Closed int
}

var _ storage.Extension = (*Storage)(nil)

// NewStorage returns an empty Storage.
func NewStorage() *Storage { return &Storage{data: map[string][]byte{}} }

func (s *Storage) Start(context.Context, component.Host) error { return nil }
func (s *Storage) Shutdown(context.Context) error              { return nil }

// GetClient returns a client over the shared map, namespaced by component.
func (s *Storage) GetClient(_ context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Clients++
	return &client{s: s, prefix: kind.String() + "/" + id.String() + "/" + name + "/"}, nil
}

type client struct {
	s      *Storage
	prefix string
}

var errWrite = errors.New("watchstatetest: write failed (FailWrites)")

func (c *client) Get(_ context.Context, key string) ([]byte, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	v, ok := c.s.data[c.prefix+key]
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), v...), nil
}

func (c *client) Set(_ context.Context, key string, value []byte) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.FailWrites {
		return errWrite
	}
	c.s.data[c.prefix+key] = append([]byte(nil), value...)
	return nil
}

func (c *client) Delete(_ context.Context, key string) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.FailWrites {
		return errWrite
	}
	delete(c.s.data, c.prefix+key)
	return nil
}

func (c *client) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		var err error
		switch op.Type {
		case storage.Get:
			op.Value, err = c.Get(ctx, op.Key)
		case storage.Set:
			err = c.Set(ctx, op.Key, op.Value)
		case storage.Delete:
			err = c.Delete(ctx, op.Key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *client) Close(context.Context) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.Closed++
	return nil
}
