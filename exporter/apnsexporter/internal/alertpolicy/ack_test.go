package alertpolicy

import (
	"testing"
	"time"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

type fakeAcks map[string]watchstate.Acknowledgement

func (f fakeAcks) Acknowledged(id string) (watchstate.Acknowledgement, bool) {
	a, ok := f[id]
	return a, ok
}

func TestAcknowledgementStopsRepeats(t *testing.T) {
	tests := []struct {
		name       string
		ackTimeout time.Duration
		// ackSince shifts the acknowledged occurrence's start from the real one.
		ackSince time.Duration
		want     []int // notifications at +0, +10m, +20m, +30m, +40m
	}{
		{"until resolved", 0, 0, []int{1, 0, 0, 0, 0}},
		{"ack_timeout 25m resumes repeats", 25 * time.Minute, 0, []int{1, 0, 0, 1, 1}},
		{"ack of another occurrence", 0, -time.Hour, []int{1, 1, 1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acks := fakeAcks{}
			e := newTestEngine(t, func(c *Config) {
				c.Route.GroupWait, c.Route.GroupInterval, c.Route.RepeatInterval = dur(0), dur(time.Minute), dur(10*time.Minute)
				c.AckTimeout = tt.ackTimeout
			})
			e.SetSources(nil, acks)
			o := obs("checkout", "eu", "p99", true, 0.95)
			for i, want := range tt.want {
				now := t0.Add(time.Duration(i) * 10 * time.Minute)
				r := e.Observe(now, o)
				if got := len(e.Flush(now).Notifications); got != want {
					t.Fatalf("at +%s: %d notifications, want %d", now.Sub(t0), got, want)
				}
				if i == 0 { // the wearer acknowledges a minute after the push
					acks[r.Alert.ID] = watchstate.Acknowledgement{AlertID: r.Alert.ID, AlertSince: r.Alert.StartsAt.Add(tt.ackSince), By: "ana", At: now.Add(time.Minute)}
				}
			}
		})
	}
}

func TestAcknowledgedAlertStillGetsItsResolution(t *testing.T) {
	acks := fakeAcks{}
	e := newTestEngine(t, func(c *Config) {
		c.Route.GroupWait, c.Route.GroupInterval = dur(0), dur(time.Minute)
		c.ResolveTimeout = time.Minute
	})
	e.SetSources(nil, acks)
	r := e.Observe(t0, obs("checkout", "eu", "p99", true, 0.95))
	run(t, e, []step{{at: 0, want: 1}})
	acks[r.Alert.ID] = watchstate.Acknowledgement{AlertID: r.Alert.ID, AlertSince: r.Alert.StartsAt, At: t0}
	n := run(t, e, []step{{at: time.Minute, want: 1}})
	if len(n[0][0].Resolved) != 1 {
		t.Fatalf("%+v", n[0][0])
	}
}
