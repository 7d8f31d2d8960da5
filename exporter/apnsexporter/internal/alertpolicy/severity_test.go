package alertpolicy

import (
	"testing"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

func TestSeverity(t *testing.T) {
	p := DefaultSeverityPolicy()
	if err := p.Validate("severity"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		score float64
		label string
		want  watchstate.Severity
	}{
		{0.95, "", watchstate.SeverityCritical},
		{0.9, "", watchstate.SeverityCritical},
		{0.8, "", watchstate.SeverityWarning},
		{0.5, "", watchstate.SeverityInfo},
		{0.5, "critical", watchstate.SeverityCritical},
		{0.99, "Warning", watchstate.SeverityWarning},
		{0.99, "nonsense", watchstate.SeverityCritical},
	}
	for _, tt := range tests {
		if got := p.Severity(Observation{Score: tt.score, SeverityLabel: tt.label}); got != tt.want {
			t.Errorf("score %.2f label %q: got %s, want %s", tt.score, tt.label, got, tt.want)
		}
	}
}

func TestSeverityBandsAreSortedAndValidated(t *testing.T) {
	p := SeverityPolicy{Default: "info", Bands: []ScoreBand{{0.5, "warning"}, {0.8, "critical"}}}
	if err := p.Validate("severity"); err != nil {
		t.Fatal(err)
	}
	if got := p.Severity(Observation{Score: 0.85}); got != watchstate.SeverityCritical {
		t.Fatalf("got %s", got)
	}
	bad := []SeverityPolicy{
		{Default: "urgent"},
		{Default: "info", Bands: []ScoreBand{{1.5, "warning"}}},
		{Default: "info", Bands: []ScoreBand{{0.5, "loud"}}},
	}
	for _, b := range bad {
		if err := b.Validate("severity"); err == nil {
			t.Errorf("%+v accepted", b)
		}
	}
}

func TestSeverityOnlyEscalatesWithinAnOccurrence(t *testing.T) {
	e := newTestEngine(t, nil)
	e.Observe(t0, obs("checkout", "eu", "p99", true, 0.95))
	r := e.Observe(t0, obs("checkout", "eu", "p99", true, 0.75))
	if r.Alert.Severity != watchstate.SeverityCritical {
		t.Fatalf("severity dropped to %s", r.Alert.Severity)
	}
}
