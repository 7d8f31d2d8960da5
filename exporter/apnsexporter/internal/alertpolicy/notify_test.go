package alertpolicy

import (
	"testing"
	"time"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

func TestRepeatIntervalAndResolvedNotice(t *testing.T) {
	for _, sendResolved := range []bool{true, false} {
		t.Run(map[bool]string{true: "send_resolved", false: "no_send_resolved"}[sendResolved], func(t *testing.T) {
			e := newTestEngine(t, func(c *Config) {
				c.Route.GroupWait, c.Route.GroupInterval, c.Route.RepeatInterval = dur(0), dur(time.Minute), dur(10*time.Minute)
				c.ResolveTimeout = 2 * time.Minute
				c.SendResolved = sendResolved
			})
			flag := []Observation{obs("checkout", "eu", "p99", true, 0.95)}
			resolvedWant := map[bool]int{true: 1, false: 0}[sendResolved]
			n := run(t, e, []step{
				{at: 0, obs: flag, want: 1},
				{at: time.Minute, obs: flag, want: 0},
				{at: 9 * time.Minute, obs: flag, want: 0},
				{at: 10 * time.Minute, obs: flag, want: 1}, // repeat
				{at: 11 * time.Minute, want: 0},
				// Last flag at +10m, resolve_timeout 2m: resolved at +12m.
				{at: 12 * time.Minute, want: resolvedWant},
				{at: 13 * time.Minute, want: 0},
			})
			if !n[3][0].Repeat {
				t.Fatal("the +10m notification is not marked as a repeat")
			}
			if sendResolved {
				r := n[5][0]
				if len(r.Firing) != 0 || len(r.Resolved) != 1 || r.Lead().ResolvedAt.IsZero() {
					t.Fatalf("resolved notification: %+v", r)
				}
			}
			if len(e.Alerts()) != 0 {
				t.Fatalf("resolved alert still tracked: %+v", e.Alerts())
			}
		})
	}
}

func TestNewAlertInGroupNotifiesBeforeRepeat(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Route.GroupWait, c.Route.GroupInterval = dur(0), dur(time.Minute) })
	n := run(t, e, []step{
		{at: 0, obs: []Observation{obs("checkout", "eu", "a", true, 0.95)}, want: 1},
		{at: 30 * time.Second, obs: []Observation{obs("checkout", "eu", "b", true, 0.95)}, want: 0},
		{at: time.Minute, want: 1},
	})
	if len(n[2][0].Firing) != 2 || n[2][0].Repeat {
		t.Fatalf("second notification: %+v", n[2][0])
	}
}

func TestReFiringAfterResolutionIsANewOccurrence(t *testing.T) {
	e := newTestEngine(t, func(c *Config) {
		c.Route.GroupWait, c.Route.GroupInterval = dur(0), dur(time.Minute)
		c.ResolveTimeout = time.Minute
	})
	o := obs("checkout", "eu", "p99", true, 0.95)
	first := e.Observe(t0, o)
	run(t, e, []step{{at: 0, want: 1}, {at: time.Minute, want: 1}}) // fire, resolve
	again := e.Observe(t0.Add(2*time.Minute), o)
	if !again.NewOccurrence || !again.Alert.StartsAt.After(first.Alert.StartsAt) || again.Alert.ID != first.Alert.ID {
		t.Fatalf("re-fire: %+v", again)
	}
	if got := e.Flush(t0.Add(2 * time.Minute)); len(got.Notifications) != 1 {
		t.Fatalf("re-fire notifications: %+v", got)
	}
}

func TestNotifyLogDecision(t *testing.T) {
	a := &Alert{ID: "a"}
	b := &Alert{ID: "b"}
	tests := []struct {
		name             string
		log              notifyLog
		firing, resolved []*Alert
		sendResolved     bool
		at               time.Duration
		notify, isRepeat bool
	}{
		{"first with firing", notifyLog{}, []*Alert{a}, nil, true, 0, true, false},
		{"first without firing", notifyLog{}, nil, nil, true, 0, false, false},
		{"new alert", notifyLog{Notified: map[string]bool{"a": true}, At: t0}, []*Alert{a, b}, nil, true, time.Minute, true, false},
		{"same, before repeat", notifyLog{Notified: map[string]bool{"a": true}, At: t0}, []*Alert{a}, nil, true, time.Minute, false, false},
		{"same, at repeat", notifyLog{Notified: map[string]bool{"a": true}, At: t0}, []*Alert{a}, nil, true, time.Hour, true, true},
		{"resolved, send", notifyLog{Notified: map[string]bool{"a": true}, At: t0}, nil, []*Alert{a}, true, time.Minute, true, false},
		{"resolved, no send", notifyLog{Notified: map[string]bool{"a": true}, At: t0}, nil, []*Alert{a}, false, time.Minute, false, false},
		{"muted only, past repeat", notifyLog{Notified: map[string]bool{"a": true}, At: t0}, nil, nil, true, 2 * time.Hour, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, r := tt.log.decision(tt.firing, tt.resolved, tt.sendResolved, time.Hour, t0.Add(tt.at))
			if n != tt.notify || r != tt.isRepeat {
				t.Fatalf("got notify=%v repeat=%v", n, r)
			}
		})
	}
}

func TestLeadIsTheWorstAlert(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Route.GroupWait = dur(time.Second) })
	low := obs("checkout", "eu", "low", true, 0.71)
	high := obs("checkout", "eu", "high", true, 0.99)
	e.Observe(t0, low)
	e.Observe(t0, high)
	n := e.Flush(t0.Add(time.Second)).Notifications
	if len(n) != 1 || n[0].Lead().Labels["series"] != "high" || n[0].Lead().Severity != watchstate.SeverityCritical {
		t.Fatalf("%+v", n)
	}
}
