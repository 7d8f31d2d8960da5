package alertpolicy

import (
	"time"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// Acks is where acknowledgements come from: the watch_api board.
// *watchstate.Board implements it.
type Acks interface {
	Acknowledged(alertID string) (watchstate.Acknowledgement, bool)
}

// acknowledged reports whether someone took the alert's current occurrence
// less than ackTimeout ago (ackTimeout 0 = until resolved). An acknowledged
// alert is not repeated; an occurrence that starts after a resolution is not
// covered by the old acknowledgement.
func acknowledged(acks Acks, a *Alert, ackTimeout time.Duration, now time.Time) bool {
	if acks == nil || a.Resolved() {
		return false
	}
	ack, ok := acks.Acknowledged(a.ID)
	if !ok || !ack.AlertSince.Equal(a.StartsAt) {
		return false
	}
	return ackTimeout <= 0 || now.Sub(ack.At) < ackTimeout
}
