package alertpolicy

import "time"

// Notification is one message for one aggregation group: the firing alerts
// the receiver has to know about and the resolutions of alerts it was told of.
type Notification struct {
	Receiver    string
	GroupKey    string
	GroupLabels map[string]string
	// Firing is sorted worst first; Resolved likewise.
	Firing   []Alert
	Resolved []Alert
	// Repeat is true when nothing changed and repeat_interval elapsed.
	Repeat bool
}

// Lead is the alert the push shows: the worst firing one, else the worst resolved one.
func (n *Notification) Lead() Alert {
	if len(n.Firing) > 0 {
		return n.Firing[0]
	}
	return n.Resolved[0]
}

// notifyLog is what a group last told its receiver (Alertmanager's nflog entry).
type notifyLog struct {
	// Notified holds the ids told as firing and not yet told as resolved.
	Notified map[string]bool `json:"notified"`
	// At is the time of the last notification; zero if none yet.
	At time.Time `json:"at,omitzero"`
}

// decision is the dedup stage: whether to notify, given the alerts that fire
// (after silences, inhibition and acknowledgements) and the resolutions of
// notified alerts.
func (l *notifyLog) decision(firing, resolved []*Alert, sendResolved bool, repeat time.Duration, now time.Time) (notify, isRepeat bool) {
	if l.At.IsZero() {
		return len(firing) > 0, false
	}
	for _, a := range firing {
		if !l.Notified[a.ID] {
			return true, false
		}
	}
	if sendResolved && len(resolved) > 0 {
		return true, false
	}
	if len(firing) > 0 && !now.Before(l.At.Add(repeat)) {
		return true, true
	}
	return false, false
}

// record updates the log after a notification was handed to the sender.
func (l *notifyLog) record(firing, resolved []*Alert, now time.Time) {
	if l.Notified == nil {
		l.Notified = map[string]bool{}
	}
	for _, a := range firing {
		l.Notified[a.ID] = true
	}
	for _, a := range resolved {
		delete(l.Notified, a.ID)
	}
	l.At = now
}
