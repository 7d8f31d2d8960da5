package alertpolicy

import "github.com/latencywatch/latencywatch/internal/watchstate"

// Silences is where active silences come from: the watch_api board, where
// the wearer creates them ("Silence 1h"). *watchstate.Board implements it.
type Silences interface {
	ActiveSilences(labels map[string]string) []watchstate.Silence
}

// silenced reports whether an active silence mutes the alert. Only firing
// alerts are muted: the resolution of an incident the wearer was told about
// still arrives.
func silenced(s Silences, a *Alert) bool {
	if s == nil || a.Resolved() {
		return false
	}
	return len(s.ActiveSilences(a.Labels)) > 0
}
