package alertpolicy

import (
	"encoding/json"
	"testing"
	"time"
)

func TestSnapshotRestoreAvoidsDuplicatesAndKeepsRepeats(t *testing.T) {
	mod := func(c *Config) {
		c.Route.GroupWait, c.Route.GroupInterval, c.Route.RepeatInterval = dur(0), dur(time.Minute), dur(10*time.Minute)
		c.ResolveTimeout = time.Hour
	}
	e := newTestEngine(t, mod)
	o := obs("checkout", "eu", "p99", true, 0.95)
	run(t, e, []step{{at: 0, obs: []Observation{o}, want: 1}})
	data, err := json.Marshal(e.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	// "Restart": a new engine from the persisted bytes.
	var s Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	e2 := newTestEngine(t, mod)
	if !e2.Restore(s, t0.Add(2*time.Minute)) {
		t.Fatal("restore refused the snapshot")
	}
	if len(e2.Alerts()) != 1 || !e2.Alerts()[0].StartsAt.Equal(t0) {
		t.Fatalf("alerts after restore: %+v", e2.Alerts())
	}
	run(t, e2, []step{
		{at: 2 * time.Minute, obs: []Observation{o}, want: 0},
		{at: 3 * time.Minute, obs: []Observation{o}, want: 0}, // already notified before the restart
		{at: 9 * time.Minute, obs: []Observation{o}, want: 0},
		{at: 10 * time.Minute, obs: []Observation{o}, want: 1}, // repeat_interval counted from before the restart
	})
	if r := e2.Observe(t0.Add(11*time.Minute), o); r.NewOccurrence {
		t.Fatal("restored alert started a new occurrence")
	}
}

func TestRestoreRejectsUnknownVersion(t *testing.T) {
	e := newTestEngine(t, nil)
	if e.Restore(Snapshot{Version: 99}, t0) {
		t.Fatal("accepted version 99")
	}
}

func TestRestoreUnflushedOldGroupFlushesAtOnce(t *testing.T) {
	e := newTestEngine(t, nil) // group_wait 30s
	e.Observe(t0, obs("checkout", "eu", "p99", true, 0.95))
	s := e.Snapshot()
	e2 := newTestEngine(t, nil)
	e2.Restore(s, t0.Add(time.Minute))
	if got := len(e2.Flush(t0.Add(time.Minute)).Notifications); got != 1 {
		t.Fatalf("%d notifications", got)
	}
}
