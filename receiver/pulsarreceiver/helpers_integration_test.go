//go:build integration

package pulsarreceiver

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
)

func consumerLogs(fn func(context.Context, plog.Logs) error) (consumer.Logs, error) {
	return consumer.NewLogs(fn)
}

// statusHost records component status events.
type statusHost struct {
	mu     sync.Mutex
	events []componentstatus.Status
}

func (*statusHost) GetExtensions() map[component.ID]component.Component { return nil }

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev.Status())
}

func (h *statusHost) sawOK() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.events {
		if s == componentstatus.StatusOK {
			return true
		}
	}
	return false
}
