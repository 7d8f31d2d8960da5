package alertpolicy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// ScoreBand maps anomaly scores >= MinScore to a severity.
type ScoreBand struct {
	MinScore float64
	Severity watchstate.Severity
}

// SeverityPolicy decides an alert's severity: from the point's severity
// attribute when present and valid, else from the highest score band the
// score reaches, else Default.
type SeverityPolicy struct {
	// Attribute names the point/resource attribute that carries a severity
	// ("" = use bands only). The exporter reads it into Observation.SeverityLabel.
	Attribute string
	Bands     []ScoreBand
	Default   watchstate.Severity
}

// DefaultSeverityPolicy: critical from 0.9, warning from 0.7, else info.
func DefaultSeverityPolicy() SeverityPolicy {
	return SeverityPolicy{
		Bands:   []ScoreBand{{MinScore: 0.9, Severity: watchstate.SeverityCritical}, {MinScore: 0.7, Severity: watchstate.SeverityWarning}},
		Default: watchstate.SeverityInfo,
	}
}

// Validate checks bands and default; path names the YAML location.
func (p *SeverityPolicy) Validate(path string) error {
	if p.Default.Rank() == 0 {
		return fmt.Errorf("%s::default: %q is not info, warning or critical", path, p.Default)
	}
	for i, b := range p.Bands {
		if b.Severity.Rank() == 0 {
			return fmt.Errorf("%s::score_bands[%d]::severity: %q is not info, warning or critical", path, i, b.Severity)
		}
		if b.MinScore < 0 || b.MinScore > 1 {
			return fmt.Errorf("%s::score_bands[%d]::min_score must be within 0..1", path, i)
		}
	}
	sort.SliceStable(p.Bands, func(i, j int) bool { return p.Bands[i].MinScore > p.Bands[j].MinScore })
	return nil
}

// Severity of an observation.
func (p *SeverityPolicy) Severity(o Observation) watchstate.Severity {
	if o.SeverityLabel != "" {
		if s := parseSeverity(o.SeverityLabel); s != "" {
			return s
		}
	}
	for _, b := range p.Bands {
		if o.Score >= b.MinScore {
			return b.Severity
		}
	}
	return p.Default
}

func parseSeverity(v string) watchstate.Severity {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "critical", "crit", "page", "error", "high":
		return watchstate.SeverityCritical
	case "warning", "warn", "medium":
		return watchstate.SeverityWarning
	case "info", "low", "notice":
		return watchstate.SeverityInfo
	}
	return ""
}
