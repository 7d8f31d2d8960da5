package alertpolicy

import (
	"sort"
	"time"
)

// Snapshot is the engine's durable state: the alerts and what each group last
// notified. Group timers are not kept: after a restart a group is evaluated
// group_interval after the restart (or at once if it never flushed and its
// alerts are older than group_wait), and its notification log prevents a
// duplicate push.
type Snapshot struct {
	Version int             `json:"version"`
	Alerts  []Alert         `json:"alerts"`
	Groups  []GroupSnapshot `json:"groups"`
}

// GroupSnapshot is one group's notification log.
type GroupSnapshot struct {
	Key     string    `json:"key"`
	Flushed bool      `json:"flushed"`
	Log     notifyLog `json:"log"`
}

const snapshotVersion = 1

// Snapshot copies the durable state.
func (e *Engine) Snapshot() Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Snapshot{Version: snapshotVersion}
	for _, a := range e.alerts {
		s.Alerts = append(s.Alerts, *a)
	}
	sort.Slice(s.Alerts, func(i, j int) bool { return s.Alerts[i].ID < s.Alerts[j].ID })
	for k, g := range e.groups {
		gs := GroupSnapshot{Key: k, Flushed: g.flushed, Log: notifyLog{At: g.log.At, Notified: map[string]bool{}}}
		for id := range g.log.Notified {
			gs.Log.Notified[id] = true
		}
		s.Groups = append(s.Groups, gs)
	}
	sort.Slice(s.Groups, func(i, j int) bool { return s.Groups[i].Key < s.Groups[j].Key })
	return s
}

// Restore replaces the engine's state with a snapshot, re-routing the alerts
// through the current routing tree. Logs of groups that no longer exist are
// dropped. It reports false for a snapshot of an unknown version.
func (e *Engine) Restore(s Snapshot, now time.Time) bool {
	if s.Version != snapshotVersion {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reset()
	for i := range s.Alerts {
		a := s.Alerts[i]
		e.alerts[a.ID] = &a
		e.place(&a, now)
		if !a.Resolved() {
			e.noteDeadline(&a)
		}
	}
	for _, gs := range s.Groups {
		g := e.groups[gs.Key]
		if g == nil {
			continue
		}
		g.log = gs.Log
		if g.log.Notified == nil {
			g.log.Notified = map[string]bool{}
		}
		if gs.Flushed {
			g.flushed = true
			g.nextFlush = now.Add(g.route.interval)
			e.queue.schedule(g)
		}
	}
	return true
}
