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

	mu     sync.Mutex // protects everything below
	alerts map[string]*Alert
	groups map[string]*alertGroup
	// groupsOf lists the groups each alert is in (one per matching route).
	groupsOf map[string][]*alertGroup
	queue    flushQueue
	// nextSweep is no later than the earliest resolve deadline of a firing
	// alert (zero: none); Flush scans for resolutions only from then on.
	nextSweep time.Time
	silences  Silences
	acks      Acks
	// dueBuf is Flush's reusable list of due groups (emptied after use).
	dueBuf []*alertGroup
}

// New returns an empty engine.
func New(cfg Config) *Engine {
	e := &Engine{cfg: cfg}
	e.reset()
	return e
}

func (e *Engine) reset() {
	e.alerts, e.groups, e.groupsOf = map[string]*Alert{}, map[string]*alertGroup{}, map[string][]*alertGroup{}
	e.queue, e.nextSweep = nil, time.Time{}
}

// noteDeadline keeps nextSweep no later than the alert's resolve deadline.
func (e *Engine) noteDeadline(a *Alert) {
	if e.cfg.ResolveTimeout <= 0 {
		return
	}
	d := a.LastFlagged.Add(e.cfg.ResolveTimeout)
	if e.nextSweep.IsZero() || d.Before(e.nextSweep) {
		e.nextSweep = d
	}
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
	if res.NewOccurrence {
		e.noteDeadline(a)
	}
	for _, g := range e.groupsOf[id] {
		if g.due(now) {
			res.Due = true
		}
	}
	res.Alert = *a
	return res
}

// place routes an alert into its groups.
func (e *Engine) place(a *Alert, now time.Time) {
	for i, r := range e.cfg.Route.Match(a.Labels) {
		gl := r.groupLabels(a.Labels)
		key := groupKey(r, gl)
		if i == 0 {
			a.GroupKey = key
		}
		g := e.groups[key]
		if g == nil {
			g = newAlertGroup(key, r, gl, now)
			e.groups[key] = g
			e.queue.schedule(g)
		}
		if g.add(a, now) {
			e.queue.schedule(g)
		}
		e.groupsOf[a.ID] = append(e.groupsOf[a.ID], g)
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
	if !e.nextSweep.IsZero() && !now.Before(e.nextSweep) {
		e.nextSweep = time.Time{}
		for _, a := range e.alerts {
			if a.Resolved() {
				continue
			}
			if !now.Before(a.LastFlagged.Add(e.cfg.ResolveTimeout)) {
				a.ResolvedAt, a.UpdatedAt = now, now
				res.Resolved = append(res.Resolved, *a)
				continue
			}
			e.noteDeadline(a)
		}
		sort.Slice(res.Resolved, func(i, j int) bool { return res.Resolved[i].ID < res.Resolved[j].ID })
	}
	due := e.queue.popDue(now, e.dueBuf[:0])
	defer func() {
		clear(due) // keep no deleted group alive
		e.dueBuf = due[:0]
	}()
	if len(due) == 0 {
		return res
	}
	in := inhibitor{rules: e.cfg.Inhibit}
	if len(in.rules) > 0 {
		for _, a := range e.alerts {
			if !a.Resolved() {
				in.firing = append(in.firing, a)
			}
		}
	}
	for _, g := range due {
		if n, ok := e.evaluate(g, &in, now); ok {
			res.Notifications = append(res.Notifications, n)
		}
		g.advance(now)
		// Resolved alerts leave the group once evaluated, told or not.
		for id, a := range g.alerts {
			if a.Resolved() {
				delete(g.alerts, id)
				delete(g.log.Notified, id)
				if e.leave(id, g) {
					res.Removed = append(res.Removed, id)
				}
			}
		}
		if len(g.alerts) == 0 && len(g.log.Notified) == 0 {
			g.deleted = true
			delete(e.groups, g.key)
			continue
		}
		e.queue.schedule(g)
	}
	sort.Strings(res.Removed)
	return res
}

// leave removes g from the alert's groups and drops the alert when no group
// holds it any more (reporting true).
func (e *Engine) leave(id string, g *alertGroup) bool {
	gs := e.groupsOf[id]
	for i, x := range gs {
		if x == g {
			gs = append(gs[:i], gs[i+1:]...)
			break
		}
	}
	if len(gs) > 0 {
		e.groupsOf[id] = gs
		return false
	}
	delete(e.groupsOf, id)
	delete(e.alerts, id)
	return true
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
	sortWorstFirst(firing)
	sortWorstFirst(resolved)
	for _, a := range firing {
		n.Firing = append(n.Firing, *a)
	}
	for _, a := range resolved {
		n.Resolved = append(n.Resolved, *a)
	}
	return n, true
}

// NextFlush returns when Flush next has work: the earliest group evaluation
// or resolution check (zero time if nothing is pending).
func (e *Engine) NextFlush() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	next := e.queue.next()
	if !e.nextSweep.IsZero() && (next.IsZero() || e.nextSweep.Before(next)) {
		next = e.nextSweep
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

// sortWorstFirst sorts alerts with worse. sort.Slice boxes its argument, so a
// slice with nothing to sort (a group of one, the usual case) skips it.
func sortWorstFirst(as []*Alert) {
	if len(as) > 1 {
		sort.Slice(as, func(i, j int) bool { return worse(as[i], as[j]) })
	}
}
