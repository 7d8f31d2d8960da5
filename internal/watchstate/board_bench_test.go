package watchstate

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The apns exporter calls UpsertAlert, ActiveSilences, Acknowledged and
// Devices for every flagged series it notifies; the watch reads ListAlerts.
// Board sizes below are a busy on-call rotation: 1000 alerts, 50 silences,
// 500 devices, 2 open event streams.
func benchBoard(b *testing.B) (*Board, []Alert) {
	b.Helper()
	ctx := context.Background()
	board := NewBoard(Options{})
	alerts := make([]Alert, 1000)
	for i := range alerts {
		labels := map[string]string{"service.name": fmt.Sprintf("svc-%d", i%100), "team": fmt.Sprintf("team-%d", i%20), "cloud.region": fmt.Sprintf("region-%d", i%5), "series": fmt.Sprint(i)}
		alerts[i] = Alert{ID: Fingerprint(labels), GroupKey: "{}:{team=\"" + labels["team"] + "\"}", Labels: labels, Series: "s", State: AlertFiring, Severity: SeverityWarning, Value: 1, Expected: 0.2, Score: 0.9, Since: time.Unix(1_795_000_000, 0)}
		if _, err := board.UpsertAlert(ctx, alerts[i]); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 50; i++ {
		if _, err := board.CreateSilence(ctx, Silence{Matchers: []Matcher{{Name: "team", Op: MatchRegexp, Value: fmt.Sprintf("team-%d|nobody", i)}}, EndsAt: time.Now().Add(time.Hour), CreatedBy: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 500; i++ {
		d := Device{Token: fmt.Sprintf("%064x", i), Environment: EnvironmentProduction, Topic: "t", User: "u", Teams: []string{fmt.Sprintf("team-%d", i%20)}}
		if _, _, err := board.RegisterDevice(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		events, cancel := board.Subscribe(1 << 20)
		b.Cleanup(cancel)
		go func() {
			for range events {
			}
		}()
	}
	return board, alerts
}

func BenchmarkUpsertAlert(b *testing.B) {
	board, alerts := benchBoard(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := board.UpsertAlert(ctx, alerts[i%len(alerts)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkNotifyDecision is the exporter's per-alert read path before a push.
func BenchmarkNotifyDecision(b *testing.B) {
	board, alerts := benchBoard(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a := alerts[i%len(alerts)]
		_ = board.ActiveSilences(a.Labels)
		_, _ = board.Acknowledged(a.ID)
		_ = board.Devices(a.Labels["team"])
		i++
	}
}

func BenchmarkListAlerts(b *testing.B) {
	board, _ := benchBoard(b)
	b.ReportAllocs()
	for b.Loop() {
		if len(board.ListAlerts(AlertFilter{State: AlertFiring, Limit: 100})) != 100 {
			b.Fatal("short list")
		}
	}
}

func BenchmarkPushPayloadEncode(b *testing.B) {
	_, alerts := benchBoard(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewPushPayload(alerts[0], false).Encode(0); err != nil {
			b.Fatal(err)
		}
	}
}
