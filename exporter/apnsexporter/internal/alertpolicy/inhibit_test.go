package alertpolicy

import (
	"testing"
	"time"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

func TestInhibition(t *testing.T) {
	rule := func(t *testing.T) InhibitRule {
		return InhibitRule{
			SourceMatchers: []watchstate.Matcher{mustMatcher(t, "service.name=gateway")},
			TargetMatchers: []watchstate.Matcher{mustMatcher(t, "service.name!=gateway")},
			Equal:          []string{"cloud.region"},
		}
	}
	tests := []struct {
		name        string
		source      *Observation
		target      Observation
		wantTargets int // firing target alerts notified
	}{
		{"source in same region mutes target", ptr(obs("gateway", "eu", "p99", true, 0.95)), obs("checkout", "eu", "p99", true, 0.95), 0},
		{"source in other region does not", ptr(obs("gateway", "us", "p99", true, 0.95)), obs("checkout", "eu", "p99", true, 0.95), 1},
		{"no source", nil, obs("checkout", "eu", "p99", true, 0.95), 1},
		{"unflagged source does not", ptr(obs("gateway", "eu", "p99", false, 0.1)), obs("checkout", "eu", "p99", true, 0.95), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, func(c *Config) {
				c.Route.GroupWait = dur(0)
				c.Inhibit = []InhibitRule{rule(t)}
			})
			if tt.source != nil {
				e.Observe(t0, *tt.source)
			}
			e.Observe(t0, tt.target)
			got := 0
			for _, n := range e.Flush(t0).Notifications {
				for _, a := range n.Firing {
					if a.Labels["service.name"] == "checkout" {
						got++
					}
				}
			}
			if got != tt.wantTargets {
				t.Fatalf("target notified %d times, want %d", got, tt.wantTargets)
			}
		})
	}
}

func TestInhibitionEndsWithTheSource(t *testing.T) {
	e := newTestEngine(t, func(c *Config) {
		c.Route.GroupWait, c.Route.GroupInterval = dur(0), dur(time.Minute)
		c.ResolveTimeout = time.Minute
		c.Inhibit = []InhibitRule{{
			SourceMatchers: []watchstate.Matcher{mustMatcher(t, "service.name=gateway")},
			TargetMatchers: []watchstate.Matcher{mustMatcher(t, "service.name=checkout")},
		}}
	})
	gw, co := obs("gateway", "eu", "p99", true, 0.95), obs("checkout", "eu", "p99", true, 0.95)
	n := run(t, e, []step{
		{at: 0, obs: []Observation{gw, co}, want: 1}, // only the gateway group
		// The gateway resolves; its resolved notice and the now uninhibited checkout alert.
		{at: time.Minute, obs: []Observation{co}, want: 2},
	})
	if n[0][0].Lead().Labels["service.name"] != "gateway" {
		t.Fatalf("first: %+v", n[0][0])
	}
	var resolvedGW, firingCO bool
	for _, x := range n[1] {
		resolvedGW = resolvedGW || (len(x.Resolved) == 1 && x.Resolved[0].Labels["service.name"] == "gateway")
		firingCO = firingCO || (len(x.Firing) == 1 && x.Firing[0].Labels["service.name"] == "checkout")
	}
	if !resolvedGW || !firingCO {
		t.Fatalf("second: %+v", n[1])
	}
}

func ptr[T any](v T) *T { return &v }
