package alertpolicy

import (
	"testing"
	"time"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// fakeSilences holds silences and answers with the fake clock.
type fakeSilences struct {
	now      *time.Time
	silences []watchstate.Silence
}

func (f *fakeSilences) ActiveSilences(labels map[string]string) []watchstate.Silence {
	var out []watchstate.Silence
	for _, s := range f.silences {
		if s.StateAt(*f.now) == watchstate.SilenceActive && s.Matches(labels) {
			out = append(out, s)
		}
	}
	return out
}

func TestSilences(t *testing.T) {
	mk := func(t *testing.T, matcher string, from, to time.Duration) watchstate.Silence {
		s := watchstate.Silence{ID: "s", Matchers: []watchstate.Matcher{mustMatcher(t, matcher)}, StartsAt: t0.Add(from), EndsAt: t0.Add(to)}
		return s
	}
	tests := []struct {
		name    string
		silence func(t *testing.T) watchstate.Silence
		want    []int // notifications at +0, +1m, +2m, +3m
	}{
		{"matching silence for 90s", func(t *testing.T) watchstate.Silence { return mk(t, "service.name=checkout", 0, 90*time.Second) }, []int{0, 0, 1, 0}},
		{"other service", func(t *testing.T) watchstate.Silence { return mk(t, "service.name=search", 0, time.Hour) }, []int{1, 0, 0, 0}},
		{"regexp on region", func(t *testing.T) watchstate.Silence { return mk(t, "cloud.region=~e.*", 0, time.Hour) }, []int{0, 0, 0, 0}},
		{"pending until +1m", func(t *testing.T) watchstate.Silence { return mk(t, "service.name=checkout", time.Minute, time.Hour) }, []int{1, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			fs := &fakeSilences{now: &now, silences: []watchstate.Silence{tt.silence(t)}}
			e := newTestEngine(t, func(c *Config) { c.Route.GroupWait, c.Route.GroupInterval = dur(0), dur(time.Minute) })
			e.SetSources(fs, nil)
			var steps []step
			for i, w := range tt.want {
				steps = append(steps, step{at: time.Duration(i) * time.Minute, obs: []Observation{obs("checkout", "eu", "p99", true, 0.95)}, want: w})
			}
			for _, s := range steps {
				now = t0.Add(s.at)
				run(t, e, []step{s})
			}
		})
	}
}

func TestSilenceDoesNotHideAResolution(t *testing.T) {
	now := t0
	fs := &fakeSilences{now: &now}
	e := newTestEngine(t, func(c *Config) {
		c.Route.GroupWait, c.Route.GroupInterval = dur(0), dur(time.Minute)
		c.ResolveTimeout = time.Minute
	})
	e.SetSources(fs, nil)
	run(t, e, []step{{at: 0, obs: []Observation{obs("checkout", "eu", "p99", true, 0.95)}, want: 1}})
	fs.silences = []watchstate.Silence{{ID: "s", Matchers: []watchstate.Matcher{mustMatcher(t, "service.name=checkout")}, StartsAt: t0, EndsAt: t0.Add(time.Hour)}}
	now = t0.Add(time.Minute)
	n := run(t, e, []step{{at: time.Minute, want: 1}})
	if len(n[0][0].Resolved) != 1 {
		t.Fatalf("%+v", n[0][0])
	}
}
