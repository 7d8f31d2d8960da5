package alertpolicy

import (
	"fmt"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// InhibitRule mutes target alerts while a source alert fires whose Equal
// labels have the same values (Alertmanager's inhibit_rules).
type InhibitRule struct {
	SourceMatchers []watchstate.Matcher
	TargetMatchers []watchstate.Matcher
	Equal          []string
}

// Compile validates the rule; path names the YAML location.
func (r *InhibitRule) Compile(path string) error {
	if len(r.SourceMatchers) == 0 || len(r.TargetMatchers) == 0 {
		return fmt.Errorf("%s: source_matchers and target_matchers are both required", path)
	}
	for i := range r.SourceMatchers {
		if err := r.SourceMatchers[i].Compile(); err != nil {
			return fmt.Errorf("%s::source_matchers[%d]: %w", path, i, err)
		}
	}
	for i := range r.TargetMatchers {
		if err := r.TargetMatchers[i].Compile(); err != nil {
			return fmt.Errorf("%s::target_matchers[%d]: %w", path, i, err)
		}
	}
	return nil
}

func matchAll(ms []watchstate.Matcher, labels map[string]string) bool {
	for i := range ms {
		if !ms[i].Matches(labels) {
			return false
		}
	}
	return true
}

// inhibitor answers "is this alert inhibited?" against a snapshot of the
// firing alerts, taken once per flush.
type inhibitor struct {
	rules  []InhibitRule
	firing []*Alert
}

// inhibited reports whether a firing source (other than a itself) mutes a.
func (in *inhibitor) inhibited(a *Alert) bool {
	for i := range in.rules {
		r := &in.rules[i]
		if !matchAll(r.TargetMatchers, a.Labels) {
			continue
		}
		for _, s := range in.firing {
			if s.ID == a.ID || !matchAll(r.SourceMatchers, s.Labels) {
				continue
			}
			equal := true
			for _, l := range r.Equal {
				if s.Labels[l] != a.Labels[l] {
					equal = false
					break
				}
			}
			if equal {
				return true
			}
		}
	}
	return false
}
