package alertpolicy

import (
	"sort"
	"sync"
	"time"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// Config is the policy. Routes must be compiled (Route.Compile) and inhibit
// rules too (InhibitRule.Compile).
type Config struct {
	Route   *Route
	Inhibit []InhibitRule
	// ResolveTimeout: an alert without a flagged point for this long resolves.
	ResolveTimeout time.Duration
	// SendResolved: notify resolutions of alerts the receiver was told about.
	SendResolved bool
	// AckTimeout: an acknowledgement stops repeats for this long (0 = until resolved).
	AckTimeout time.Duration
	Severity   SeverityPolicy
}

// Engine holds the alerts and aggregation groups. It is safe for concurrent use.
type Engine struct {
	cfg Config

	mu       sync.Mutex // protects everything below
	alerts   map[string]*Alert
	groups   map[string]*alertGroup
	silences Silences
	acks     Acks
}

// New returns an empty engine.
func New(cfg Config) *Engine {
	return &Engine{cfg: cfg, alerts: map[string]*Alert{}, groups: map[string]*alertGroup{}}
}

// SetSources connects silences and acknowledgements (nil = none).
func (e *Engine) SetSources(s Silences, a Acks) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.silences, e.acks = s, a
}

// ObserveResult says what one observation did.
type ObserveResult struct {
	// Alert is the alert's state after the observation (ok=false: the series is not alerting).
	Alert Alert
	OK    bool
	// NewOccurrence is true when the alert started (or started again).
	NewOccurrence bool
	// Due is true when a group is due for evaluation now (group_wait 0).
	Due bool
}

// Observe feeds one point. A flagged point creates or refreshes the series'
// alert; an unflagged point only updates the values of an existing alert.
func (e *Engine) Observe(now time.Time, o Observation) ObserveResult {
	id := watchstate.Fingerprint(o.Labels)
	e.mu.Lock()
	defer e.mu.Unlock()
	a, exists := e.alerts[id]
	if !o.Flagged {
		if !exists {
			return ObserveResult{}
		}
		a.Value, a.Expected, a.UpdatedAt = o.Value, o.Expected, now
		return ObserveResult{Alert: *a, OK: true}
	}
	res := ObserveResult{OK: true}
	sev := e.cfg.Severity.Severity(o)
	switch {
	case !exists:
		a = &Alert{ID: id, Labels: o.Labels, Series: o.Series, StartsAt: now}
		e.alerts[id] = a
		res.NewOccurrence = true
	case a.Resolved():
		a.StartsAt, a.ResolvedAt = now, time.Time{}
		res.NewOccurrence = true
	}
	if res.NewOccurrence || sev.Rank() > a.Severity.Rank() {
		a.Severity = sev
	}
	a.Value, a.Expected, a.Score, a.LastFlagged, a.UpdatedAt = o.Value, o.Expected, o.Score, now, now
	if !exists {
		e.place(a, now)
	}
	for _, g := range e.groups {
		if g.alerts[id] != nil && g.due(now) {
			res.Due = true
		}
	}
	res.Alert = *a
	return res
}

// place routes an alert into its groups.
func (e *Engine) place(a *Alert, now time.Time) {
	for _, r := range e.cfg.Route.Match(a.Labels) {
		gl := r.groupLabels(a.Labels)
		key := groupKey(r, gl)
		g := e.groups[key]
		if g == nil {
			g = newAlertGroup(r, gl, now)
			e.groups[key] = g
		}
		g.add(a, now)
	}
}

// FlushResult is what one evaluation produced.
type FlushResult struct {
	Notifications []Notification
	// Resolved are the alerts that resolved in this evaluation (for the board).
	Resolved []Alert
	// Removed are the ids of resolved alerts the engine no longer tracks.
	Removed []string
}

// Flush resolves quiet alerts and evaluates every due group.
func (e *Engine) Flush(now time.Time) FlushResult {
	e.mu.Lock()
	defer e.mu.Unlock()
	var res FlushResult
	for _, a := range e.alerts {
		if !a.Resolved() && e.cfg.ResolveTimeout > 0 && !now.Before(a.LastFlagged.Add(e.cfg.ResolveTimeout)) {
			a.ResolvedAt, a.UpdatedAt = now, now
			res.Resolved = append(res.Resolved, *a)
		}
	}
	in := inhibitor{rules: e.cfg.Inhibit}
	if len(in.rules) > 0 {
		for _, a := range e.alerts {
			if !a.Resolved() {
				in.firing = append(in.firing, a)
			}
		}
	}
	keys := make([]string, 0, len(e.groups))
	for k, g := range e.groups {
		if g.due(now) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := e.groups[k]
		if n, ok := e.evaluate(g, &in, now); ok {
			res.Notifications = append(res.Notifications, n)
		}
		g.advance(now)
		// Resolved alerts leave the group once evaluated, told or not.
		for id, a := range g.alerts {
			if a.Resolved() {
				delete(g.alerts, id)
				delete(g.log.Notified, id)
			}
		}
		if len(g.alerts) == 0 && len(g.log.Notified) == 0 {
			delete(e.groups, k)
		}
	}
	// Drop resolved alerts no group holds any more.
	held := map[string]bool{}
	for _, g := range e.groups {
		for id := range g.alerts {
			held[id] = true
		}
	}
	for id, a := range e.alerts {
		if a.Resolved() && !held[id] {
			delete(e.alerts, id)
			res.Removed = append(res.Removed, id)
		}
	}
	sort.Strings(res.Removed)
	return res
}

func (e *Engine) evaluate(g *alertGroup, in *inhibitor, now time.Time) (Notification, bool) {
	var firing, resolved []*Alert
	for _, a := range g.alerts {
		switch {
		case a.Resolved():
			if g.log.Notified[a.ID] {
				resolved = append(resolved, a)
			}
		case silenced(e.silences, a), in.inhibited(a), acknowledged(e.acks, a, e.cfg.AckTimeout, now):
		default:
			firing = append(firing, a)
		}
	}
	notify, repeat := g.log.decision(firing, resolved, e.cfg.SendResolved, g.route.repeat, now)
	if !notify {
		return Notification{}, false
	}
	if !e.cfg.SendResolved {
		resolved = nil
	}
	g.log.record(firing, resolved, now)
	n := Notification{Receiver: g.route.Receiver, GroupKey: g.key, GroupLabels: g.labels, Repeat: repeat}
	sort.Slice(firing, func(i, j int) bool { return worse(firing[i], firing[j]) })
	sort.Slice(resolved, func(i, j int) bool { return worse(resolved[i], resolved[j]) })
	for _, a := range firing {
		n.Firing = append(n.Firing, *a)
	}
	for _, a := range resolved {
		n.Resolved = append(n.Resolved, *a)
	}
	return n, true
}

// NextFlush returns when Flush next has work: the earliest group evaluation
// or alert resolution (zero time if nothing is pending).
func (e *Engine) NextFlush() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	var next time.Time
	consider := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, g := range e.groups {
		consider(g.nextFlush)
	}
	if e.cfg.ResolveTimeout > 0 {
		for _, a := range e.alerts {
			if !a.Resolved() {
				consider(a.LastFlagged.Add(e.cfg.ResolveTimeout))
			}
		}
	}
	return next
}

// Alerts returns a copy of every tracked alert, sorted by id.
func (e *Engine) Alerts() []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Alert, 0, len(e.alerts))
	for _, a := range e.alerts {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
