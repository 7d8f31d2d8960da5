package alertpolicy

import (
	"testing"
	"time"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func dur(d time.Duration) *time.Duration { return &d }

func mustMatcher(t *testing.T, s string) watchstate.Matcher {
	t.Helper()
	m, err := ParseMatcher(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newTestEngine: one root route grouping by service and region with
// Alertmanager's default timings unless overridden.
func newTestEngine(t *testing.T, mod func(*Config)) *Engine {
	t.Helper()
	cfg := Config{
		Route:          &Route{Receiver: "oncall", GroupBy: []string{"service.name", "cloud.region"}},
		ResolveTimeout: 5 * time.Minute,
		SendResolved:   true,
		Severity:       DefaultSeverityPolicy(),
	}
	if mod != nil {
		mod(&cfg)
	}
	if err := cfg.Route.Compile("route"); err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Inhibit {
		if err := cfg.Inhibit[i].Compile("inhibit_rules"); err != nil {
			t.Fatal(err)
		}
	}
	if err := cfg.Severity.Validate("severity"); err != nil {
		t.Fatal(err)
	}
	return New(cfg)
}

func obs(service, region, series string, flagged bool, score float64) Observation {
	return Observation{
		Labels:  map[string]string{"service.name": service, "cloud.region": region, "series": series},
		Series:  service + " " + series + " " + region,
		Flagged: flagged, Score: score, Value: 0.9, Expected: 0.1,
	}
}

// step is one moment of a scenario: points to observe, then a flush; want
// is the number of notifications that flush must produce.
type step struct {
	at   time.Duration
	obs  []Observation
	want int
}

func run(t *testing.T, e *Engine, steps []step) [][]Notification {
	t.Helper()
	var all [][]Notification
	for _, s := range steps {
		now := t0.Add(s.at)
		for _, o := range s.obs {
			e.Observe(now, o)
		}
		res := e.Flush(now)
		if len(res.Notifications) != s.want {
			t.Fatalf("at +%s: %d notifications, want %d: %+v", s.at, len(res.Notifications), s.want, res.Notifications)
		}
		all = append(all, res.Notifications)
	}
	return all
}
