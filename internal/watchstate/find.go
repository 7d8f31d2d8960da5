package watchstate

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
)

// AlertBoard is what an alert producer (the apns exporter) needs from the
// watch_api extension. *Board implements it.
type AlertBoard interface {
	// UpsertAlert publishes the producer's current view of an alert. Use
	// Fingerprint(labels) as the id; a new Since starts a new occurrence
	// (acknowledgements of the previous one stop applying).
	UpsertAlert(ctx context.Context, a Alert) (Alert, error)
	// RemoveAlert drops an alert the producer no longer tracks (ErrNotFound if unknown).
	RemoveAlert(ctx context.Context, id string) error
	// UpsertStatus publishes the latest view of one series for the status board.
	UpsertStatus(ctx context.Context, s StatusEntry) (StatusEntry, error)
	// Devices lists the devices that receive alerts of any of the teams
	// (devices without teams receive all; no teams given = all devices).
	Devices(teams ...string) []Device
	// ForgetDevice removes a token APNs rejected for good (410, BadDeviceToken,
	// DeviceTokenNotForTopic); unknown tokens are not an error.
	ForgetDevice(ctx context.Context, token string) error
	// ActiveSilences returns the silences that mute an alert with these labels now.
	ActiveSilences(labels map[string]string) []Silence
	// Acknowledged returns the acknowledgement of the alert's current occurrence.
	Acknowledged(alertID string) (Acknowledgement, bool)
}

var _ AlertBoard = (*Board)(nil)

// BoardProvider is implemented by the watch_api extension. Board returns nil
// until the extension has started.
type BoardProvider interface {
	AlertBoard() AlertBoard
}

// FindBoard looks up the extension with the given id among the host's
// extensions (call it from a component's Start; extensions start first) and
// returns its board, with an error that names what is wrong.
func FindBoard(host component.Host, id component.ID) (AlertBoard, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("extension %q is not configured (add it under extensions: and service::extensions)", id)
	}
	p, ok := ext.(BoardProvider)
	if !ok {
		return nil, fmt.Errorf("extension %q is not a watch_api extension (it does not provide an alert board)", id)
	}
	b := p.AlertBoard()
	if b == nil {
		return nil, fmt.Errorf("extension %q has not started", id)
	}
	return b, nil
}
