package alertpolicy

import (
	"testing"
	"time"
)

func TestGroupWaitBatchesOneNotificationPerGroup(t *testing.T) {
	e := newTestEngine(t, nil)
	n := run(t, e, []step{
		{at: 0, obs: []Observation{obs("checkout", "eu", "p99", true, 0.95)}, want: 0},
		{at: 10 * time.Second, obs: []Observation{obs("checkout", "eu", "p50", true, 0.75), obs("search", "us", "p99", true, 0.8)}, want: 0},
		{at: 29 * time.Second, want: 0},
		// checkout/eu's group_wait is over: one notification with both series.
		{at: 30 * time.Second, want: 1},
		{at: 39 * time.Second, want: 0},
		{at: 40 * time.Second, want: 1}, // search/us
	})
	got := n[3][0]
	if len(got.Firing) != 2 || got.Lead().Labels["series"] != "p99" || got.Repeat {
		t.Fatalf("checkout group notification: %+v", got)
	}
	if got.GroupKey != `/:{cloud.region="eu",service.name="checkout"}` || got.Receiver != "oncall" {
		t.Fatalf("group key %q receiver %q", got.GroupKey, got.Receiver)
	}
}

func TestGroupIntervalDelaysNewAlertsInAFlushedGroup(t *testing.T) {
	e := newTestEngine(t, nil)
	flag := func(series string) Observation { return obs("checkout", "eu", series, true, 0.95) }
	run(t, e, []step{
		{at: 0, obs: []Observation{flag("a")}, want: 0},
		{at: 30 * time.Second, obs: []Observation{flag("a")}, want: 1},
		{at: time.Minute, obs: []Observation{flag("a"), flag("b")}, want: 0},
		{at: 5*time.Minute + 29*time.Second, obs: []Observation{flag("a"), flag("b")}, want: 0},
		{at: 5*time.Minute + 30*time.Second, obs: []Observation{flag("a"), flag("b")}, want: 1},
		// Nothing new, repeat_interval (4h) not reached: silence.
		{at: 10*time.Minute + 30*time.Second, obs: []Observation{flag("a"), flag("b")}, want: 0},
	})
}

func TestGroupWaitZeroIsDueAtOnce(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Route.GroupWait = dur(0) })
	res := e.Observe(t0, obs("checkout", "eu", "p99", true, 0.95))
	if !res.Due || !res.NewOccurrence {
		t.Fatalf("observe: %+v", res)
	}
	if got := len(e.Flush(t0).Notifications); got != 1 {
		t.Fatalf("%d notifications", got)
	}
	if res := e.Observe(t0.Add(time.Second), obs("checkout", "eu", "p99", true, 0.95)); res.Due || res.NewOccurrence {
		t.Fatalf("second observe: %+v", res)
	}
}

func TestUnflaggedPointsDoNotStartAlerts(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Route.GroupWait = dur(0) })
	if res := e.Observe(t0, obs("checkout", "eu", "p99", false, 0.1)); res.OK {
		t.Fatalf("unflagged point made an alert: %+v", res)
	}
	if len(e.Alerts()) != 0 || len(e.Flush(t0).Notifications) != 0 {
		t.Fatal("engine tracks an unflagged series")
	}
	if !e.NextFlush().IsZero() {
		t.Fatal("NextFlush without alerts")
	}
}
