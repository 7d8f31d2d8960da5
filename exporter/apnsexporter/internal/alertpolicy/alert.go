package alertpolicy

import (
	"time"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// Alert is one anomalous series. Its ID is watchstate.Fingerprint(Labels).
type Alert struct {
	ID     string            `json:"id"`
	Labels map[string]string `json:"labels"`
	Series string            `json:"series"`
	// GroupKey is the key of the alert's first group (its first matching
	// route); an alert with continue routes is in more groups.
	GroupKey string              `json:"group_key"`
	Severity watchstate.Severity `json:"severity"`
	Value    float64             `json:"value"`
	Expected float64             `json:"expected"`
	Score    float64             `json:"score"`
	// StartsAt is when this occurrence began; a new occurrence after a
	// resolution gets a new StartsAt (acknowledgements do not carry over).
	StartsAt time.Time `json:"starts_at"`
	// LastFlagged is the newest flagged point; resolve_timeout counts from it.
	LastFlagged time.Time `json:"last_flagged"`
	UpdatedAt   time.Time `json:"updated_at"`
	// ResolvedAt is zero while the alert fires.
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

// Resolved reports whether the alert has stopped firing.
func (a *Alert) Resolved() bool { return !a.ResolvedAt.IsZero() }

// Observation is one data point of a series, as the exporter reads it.
type Observation struct {
	Labels   map[string]string
	Series   string
	Flagged  bool
	Score    float64
	Value    float64
	Expected float64
	// Severity from the point's attribute (see SeverityPolicy.Attribute); "" if absent.
	SeverityLabel string
}

// worse orders alerts for display: firing before resolved, then severity,
// then score, then id.
func worse(a, b *Alert) bool {
	if a.Resolved() != b.Resolved() {
		return !a.Resolved()
	}
	if ra, rb := a.Severity.Rank(), b.Severity.Rank(); ra != rb {
		return ra > rb
	}
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.ID < b.ID
}
