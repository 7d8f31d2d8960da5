package watchstate

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"

	"github.com/latencywatch/latencywatch/internal/watchstate/watchstatetest"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const tokenA = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
const tokenB = "0000000000000000000000000000000000000000000000000000000000000001"

func newTestBoard(t *testing.T) (*Board, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: t0}
	return NewBoard(Options{Now: clk.Now}), clk
}

func device(token string, teams ...string) Device {
	return Device{Token: token, Environment: EnvironmentDevelopment, Topic: "dev.latencywatch.watchkitapp", User: "ana", Teams: teams}
}

func firing(labels map[string]string, since time.Time) Alert {
	return Alert{
		ID: Fingerprint(labels), GroupKey: "{}:{team=\"" + labels["team"] + "\"}", Labels: labels,
		Series: labels["service.name"] + " p99", State: AlertFiring, Severity: SeverityCritical,
		Value: 1.2, Expected: 0.2, Score: 0.97, Since: since,
	}
}

func TestRegisterDevice(t *testing.T) {
	b, clk := newTestBoard(t)
	ctx := context.Background()
	d, created, err := b.RegisterDevice(ctx, device(strings.ToUpper(tokenA), "payments", "payments", "checkout"))
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, tokenA, d.Token, "token is normalised to lower case")
	assert.Equal(t, []string{"checkout", "payments"}, d.Teams, "teams sorted and de-duplicated")
	assert.Equal(t, t0, d.RegisteredAt)

	clk.Add(time.Hour)
	d2, created, err := b.RegisterDevice(ctx, device(tokenA, "search"))
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, t0, d2.RegisteredAt, "re-registration keeps the first registration time")
	assert.Equal(t, t0.Add(time.Hour), d2.UpdatedAt)
	assert.Equal(t, []string{"search"}, d2.Teams)

	require.NoError(t, b.UnregisterDevice(ctx, tokenA))
	assert.ErrorIs(t, b.UnregisterDevice(ctx, tokenA), ErrNotFound)
	assert.NoError(t, b.ForgetDevice(ctx, tokenA), "forgetting an unknown token is not an error")
}

func TestDeviceValidation(t *testing.T) {
	b, _ := newTestBoard(t)
	cases := map[string]struct {
		mut   func(*Device)
		field string
	}{
		"short token":   {func(d *Device) { d.Token = "abcd" }, "token"},
		"non-hex token": {func(d *Device) { d.Token = strings.Repeat("zz", 32) }, "token"},
		"environment":   {func(d *Device) { d.Environment = "staging" }, "environment"},
		"topic":         {func(d *Device) { d.Topic = "" }, "topic"},
		"topic spaces":  {func(d *Device) { d.Topic = "a b" }, "topic"},
		"user":          {func(d *Device) { d.User = " " }, "user"},
		"team empty":    {func(d *Device) { d.Teams = []string{""} }, "teams"},
		"control chars": {func(d *Device) { d.Name = "a\x00b" }, "name"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := device(tokenA)
			tc.mut(&d)
			_, _, err := b.RegisterDevice(context.Background(), d)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
		})
	}
}

func TestDevicesForTeams(t *testing.T) {
	b, _ := newTestBoard(t)
	ctx := context.Background()
	_, _, err := b.RegisterDevice(ctx, device(tokenA, "payments"))
	require.NoError(t, err)
	_, _, err = b.RegisterDevice(ctx, device(tokenB)) // no teams: receives everything
	require.NoError(t, err)
	tokens := func(ds []Device) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Token)
		}
		return out
	}
	assert.Equal(t, []string{tokenB, tokenA}, tokens(b.Devices("payments")))
	assert.Equal(t, []string{tokenB}, tokens(b.Devices("search")))
	assert.Equal(t, []string{tokenB, tokenA}, tokens(b.Devices()))
}

func TestDeviceLimit(t *testing.T) {
	clk := &fakeClock{t: t0}
	b := NewBoard(Options{Now: clk.Now, MaxDevices: 1})
	_, _, err := b.RegisterDevice(context.Background(), device(tokenA))
	require.NoError(t, err)
	_, _, err = b.RegisterDevice(context.Background(), device(tokenB))
	assert.ErrorIs(t, err, ErrLimit)
	_, _, err = b.RegisterDevice(context.Background(), device(tokenA, "x"))
	assert.NoError(t, err, "updating an existing device is allowed at the limit")
}

func TestAcknowledgementAppliesToOneOccurrence(t *testing.T) {
	b, clk := newTestBoard(t)
	ctx := context.Background()
	labels := map[string]string{"service.name": "checkout", "team": "payments"}
	a, err := b.UpsertAlert(ctx, firing(labels, t0))
	require.NoError(t, err)
	assert.Nil(t, a.AcknowledgedAt)

	clk.Add(time.Minute)
	acked, err := b.Acknowledge(ctx, a.ID, "ana", "looking")
	require.NoError(t, err)
	assert.Equal(t, "ana", acked.AcknowledgedBy)
	require.NotNil(t, acked.AcknowledgedAt)
	assert.Equal(t, t0.Add(time.Minute), *acked.AcknowledgedAt)
	ack, ok := b.Acknowledged(a.ID)
	require.True(t, ok)
	assert.Equal(t, "looking", ack.Comment)

	// The producer updates the same occurrence: still acknowledged.
	upd := firing(labels, t0)
	upd.Value = 2
	got, err := b.UpsertAlert(ctx, upd)
	require.NoError(t, err)
	assert.Equal(t, "ana", got.AcknowledgedBy)

	// Resolved: acknowledging it is a conflict; the ack stays visible on the resolved alert.
	res := firing(labels, t0)
	res.State = AlertResolved
	got, err = b.UpsertAlert(ctx, res)
	require.NoError(t, err)
	assert.Equal(t, "ana", got.AcknowledgedBy)
	require.NotNil(t, got.ResolvedAt)
	_, err = b.Acknowledge(ctx, a.ID, "bob", "")
	assert.ErrorIs(t, err, ErrConflict)

	// A new occurrence is not acknowledged.
	clk.Add(time.Hour)
	got, err = b.UpsertAlert(ctx, firing(labels, t0.Add(time.Hour)))
	require.NoError(t, err)
	assert.Empty(t, got.AcknowledgedBy)
	_, ok = b.Acknowledged(a.ID)
	assert.False(t, ok)

	// Unacknowledge.
	_, err = b.Acknowledge(ctx, a.ID, "bob", "")
	require.NoError(t, err)
	got, err = b.Unacknowledge(ctx, a.ID)
	require.NoError(t, err)
	assert.Nil(t, got.AcknowledgedAt)
	_, err = b.Acknowledge(ctx, "nope", "bob", "")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = b.Acknowledge(ctx, a.ID, "", "")
	var ve *ValidationError
	assert.ErrorAs(t, err, &ve)
}

func TestSilences(t *testing.T) {
	b, clk := newTestBoard(t)
	ctx := context.Background()
	labels := map[string]string{"service.name": "checkout", "team": "payments", "cloud.region": "eu-west-1"}
	a, err := b.UpsertAlert(ctx, firing(labels, t0))
	require.NoError(t, err)
	assert.Empty(t, a.SilencedBy)

	s, err := b.CreateSilence(ctx, Silence{
		Matchers:  []Matcher{{Name: "team", Op: MatchEqual, Value: "payments"}, {Name: "cloud.region", Op: MatchRegexp, Value: "eu-.*"}},
		EndsAt:    t0.Add(time.Hour),
		CreatedBy: "ana", Comment: "deploy",
	})
	require.NoError(t, err)
	assert.Equal(t, SilenceActive, s.State)
	assert.Equal(t, t0, s.StartsAt, "zero starts_at means now")

	got, err := b.GetAlert(a.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{s.ID}, got.SilencedBy)
	assert.Len(t, b.ActiveSilences(labels), 1)
	assert.Empty(t, b.ActiveSilences(map[string]string{"team": "payments", "cloud.region": "us-east-1"}))

	pending, err := b.CreateSilence(ctx, Silence{
		Matchers: []Matcher{{Name: "team", Op: MatchNotEqual, Value: "search"}},
		StartsAt: t0.Add(2 * time.Hour), EndsAt: t0.Add(3 * time.Hour), CreatedBy: "bob",
	})
	require.NoError(t, err)
	assert.Equal(t, SilencePending, pending.State)
	assert.Len(t, b.ListSilences(SilencePending), 1)

	clk.Add(30 * time.Minute)
	exp, err := b.ExpireSilence(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, SilenceExpired, exp.State)
	assert.Equal(t, t0.Add(30*time.Minute), exp.EndsAt)
	got, _ = b.GetAlert(a.ID)
	assert.Empty(t, got.SilencedBy)
	assert.Len(t, b.ListSilences(""), 2)
	assert.Len(t, b.ListSilences(SilenceExpired), 1)
	_, err = b.ExpireSilence(ctx, "missing")
	assert.ErrorIs(t, err, ErrNotFound)

	// Sweep drops silences expired longer than the retention.
	// Now t0+30m; the first silence ended at t0+30m, the second ends at t0+3h.
	clk.Add(7*24*time.Hour + time.Hour)
	require.NoError(t, b.Sweep(ctx))
	left := b.ListSilences("")
	require.Len(t, left, 1, "only the silence that ended more than 7 days ago is dropped")
	assert.Equal(t, pending.ID, left[0].ID)
}

func TestSilenceValidation(t *testing.T) {
	b, _ := newTestBoard(t)
	cases := map[string]struct {
		s     Silence
		field string
	}{
		"no matchers": {Silence{EndsAt: t0.Add(time.Hour), CreatedBy: "a"}, "matchers"},
		"bad op":      {Silence{Matchers: []Matcher{{Name: "a", Op: "==", Value: "b"}}, EndsAt: t0.Add(time.Hour), CreatedBy: "a"}, "matchers[0]"},
		"bad regexp":  {Silence{Matchers: []Matcher{{Name: "a", Op: MatchRegexp, Value: "("}}, EndsAt: t0.Add(time.Hour), CreatedBy: "a"}, "matchers[0]"},
		"long name":   {Silence{Matchers: []Matcher{{Name: strings.Repeat("n", 129), Op: MatchEqual, Value: "b"}}, EndsAt: t0.Add(time.Hour), CreatedBy: "a"}, "matchers[0]"},
		"control":     {Silence{Matchers: []Matcher{{Name: "a", Op: MatchEqual, Value: "b\x01"}}, EndsAt: t0.Add(time.Hour), CreatedBy: "a"}, "matchers[0]"},
		"past end":    {Silence{Matchers: []Matcher{{Name: "a", Op: MatchEqual, Value: "b"}}, StartsAt: t0.Add(-2 * time.Hour), EndsAt: t0.Add(-time.Hour), CreatedBy: "a"}, "ends_at"},
		"end<=start":  {Silence{Matchers: []Matcher{{Name: "a", Op: MatchEqual, Value: "b"}}, StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(time.Hour), CreatedBy: "a"}, "ends_at"},
		"too long":    {Silence{Matchers: []Matcher{{Name: "a", Op: MatchEqual, Value: "b"}}, EndsAt: t0.Add(100 * 24 * time.Hour), CreatedBy: "a"}, "ends_at"},
		"no author":   {Silence{Matchers: []Matcher{{Name: "a", Op: MatchEqual, Value: "b"}}, EndsAt: t0.Add(time.Hour)}, "created_by"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := b.CreateSilence(context.Background(), tc.s)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
		})
	}
}

func TestMatcherOps(t *testing.T) {
	labels := map[string]string{"team": "payments"}
	for _, tc := range []struct {
		m    Matcher
		want bool
	}{
		{Matcher{Name: "team", Op: MatchEqual, Value: "payments"}, true},
		{Matcher{Name: "team", Op: MatchNotEqual, Value: "payments"}, false},
		{Matcher{Name: "team", Op: MatchRegexp, Value: "pay.*"}, true},
		{Matcher{Name: "team", Op: MatchRegexp, Value: "pay"}, false}, // anchored
		{Matcher{Name: "team", Op: MatchNotRegexp, Value: "search|ads"}, true},
		{Matcher{Name: "region", Op: MatchEqual, Value: ""}, true}, // missing label is ""
	} {
		require.NoError(t, tc.m.Compile())
		assert.Equal(t, tc.want, tc.m.Matches(labels), "%+v", tc.m)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	st := watchstatetest.NewStorage()
	ctx := context.Background()
	id := component.MustNewID("watch_api")
	open := func() (*Board, *fakeClock) {
		b, clk := newTestBoard(t)
		c, err := st.GetClient(ctx, component.KindExtension, id, "")
		require.NoError(t, err)
		require.NoError(t, b.Load(ctx, c))
		return b, clk
	}
	b, _ := open()
	_, _, err := b.RegisterDevice(ctx, device(tokenA, "payments"))
	require.NoError(t, err)
	labels := map[string]string{"service.name": "checkout", "team": "payments"}
	a, err := b.UpsertAlert(ctx, firing(labels, t0))
	require.NoError(t, err)
	_, err = b.Acknowledge(ctx, a.ID, "ana", "")
	require.NoError(t, err)
	s, err := b.CreateSilence(ctx, Silence{Matchers: []Matcher{{Name: "team", Op: MatchRegexp, Value: "pay.*"}}, EndsAt: t0.Add(time.Hour), CreatedBy: "ana"})
	require.NoError(t, err)

	// "Restart": a new board over the same storage.
	b2, _ := open()
	require.Len(t, b2.Devices(), 1)
	assert.Equal(t, tokenA, b2.Devices()[0].Token)
	assert.Equal(t, []string{s.ID}, func() []string {
		var ids []string
		for _, s := range b2.ActiveSilences(labels) {
			ids = append(ids, s.ID)
		}
		return ids
	}(), "the silence and its compiled regexp survive")
	_, err = b2.GetAlert(a.ID)
	assert.ErrorIs(t, err, ErrNotFound, "alerts are not persisted: the producer re-publishes them")
	got, err := b2.UpsertAlert(ctx, firing(labels, t0))
	require.NoError(t, err)
	assert.Equal(t, "ana", got.AcknowledgedBy, "the acknowledgement re-attaches to the same occurrence")
}

func TestStorageFailureLeavesMemoryUnchanged(t *testing.T) {
	st := watchstatetest.NewStorage()
	ctx := context.Background()
	b, _ := newTestBoard(t)
	c, err := st.GetClient(ctx, component.KindExtension, component.MustNewID("watch_api"), "")
	require.NoError(t, err)
	require.NoError(t, b.Load(ctx, c))
	st.FailWrites = true
	_, _, err = b.RegisterDevice(ctx, device(tokenA))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "writing watchstate.devices.v1 to storage")
	assert.Empty(t, b.Devices())
}

func TestStatusBoard(t *testing.T) {
	b, clk := newTestBoard(t)
	ctx := context.Background()
	_, err := b.UpsertStatus(ctx, StatusEntry{Series: "checkout p99", Service: "checkout", State: StatusOK, Value: 0.1, Expected: 0.1})
	require.NoError(t, err)
	_, err = b.UpsertStatus(ctx, StatusEntry{Series: "search p99", Service: "search", State: StatusCritical, Value: 2, Expected: 0.2, Score: 0.99})
	require.NoError(t, err)
	clk.Add(time.Minute)
	_, err = b.UpsertStatus(ctx, StatusEntry{Series: "checkout p99", Service: "checkout", State: StatusOK, Value: 0.11, Expected: 0.1})
	require.NoError(t, err)
	st := b.Status()
	require.Len(t, st, 2)
	assert.Equal(t, "search p99", st[0].Series, "worst first")
	assert.Equal(t, t0, st[1].Since, "since kept while the state is unchanged")
	assert.Equal(t, t0.Add(time.Minute), st[1].Updated)
	clk.Add(time.Minute)
	_, err = b.UpsertStatus(ctx, StatusEntry{Series: "checkout p99", Service: "checkout", State: StatusWarning, Value: 0.5, Expected: 0.1})
	require.NoError(t, err)
	assert.Equal(t, t0.Add(2*time.Minute), b.Status()[1].Since, "since moves on a state change")
	_, err = b.UpsertStatus(ctx, StatusEntry{Series: "x", Service: "x", State: "bad"})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "state", ve.Field)
}

func TestListAlertsFiltersAndOrder(t *testing.T) {
	b, _ := newTestBoard(t)
	ctx := context.Background()
	mk := func(svc, team string, sev Severity, state AlertState, since time.Time) Alert {
		a := firing(map[string]string{"service.name": svc, "team": team}, since)
		a.Severity, a.State = sev, state
		got, err := b.UpsertAlert(ctx, a)
		require.NoError(t, err)
		return got
	}
	w := mk("search", "discovery", SeverityWarning, AlertFiring, t0)
	c := mk("checkout", "payments", SeverityCritical, AlertFiring, t0.Add(-time.Hour))
	r := mk("ads", "ads", SeverityCritical, AlertResolved, t0)
	ids := func(as []Alert) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	assert.Equal(t, []string{c.ID, w.ID, r.ID}, ids(b.ListAlerts(AlertFilter{})))
	assert.Equal(t, []string{c.ID, w.ID}, ids(b.ListAlerts(AlertFilter{State: AlertFiring})))
	assert.Equal(t, []string{w.ID}, ids(b.ListAlerts(AlertFilter{Team: "discovery"})))
	assert.Equal(t, []string{c.ID}, ids(b.ListAlerts(AlertFilter{Service: "checkout"})))
	assert.Equal(t, []string{c.ID, r.ID}, ids(b.ListAlerts(AlertFilter{Severity: SeverityCritical})))
	_, err := b.Acknowledge(ctx, w.ID, "ana", "")
	require.NoError(t, err)
	yes, no := true, false
	assert.Equal(t, []string{w.ID}, ids(b.ListAlerts(AlertFilter{Acknowledged: &yes})))
	assert.Equal(t, []string{c.ID, r.ID}, ids(b.ListAlerts(AlertFilter{Acknowledged: &no})))
	assert.Equal(t, []string{c.ID}, ids(b.ListAlerts(AlertFilter{Limit: 1})))
	assert.Empty(t, b.ListAlerts(AlertFilter{Silenced: &yes}))
	require.NoError(t, b.RemoveAlert(ctx, r.ID))
	assert.ErrorIs(t, b.RemoveAlert(ctx, r.ID), ErrNotFound)
}

func TestSweepDropsOldResolvedAlertsAndOrphanAcks(t *testing.T) {
	b, clk := newTestBoard(t)
	ctx := context.Background()
	labels := map[string]string{"service.name": "checkout"}
	a, err := b.UpsertAlert(ctx, firing(labels, t0))
	require.NoError(t, err)
	_, err = b.Acknowledge(ctx, a.ID, "ana", "")
	require.NoError(t, err)
	res := firing(labels, t0)
	res.State = AlertResolved
	_, err = b.UpsertAlert(ctx, res)
	require.NoError(t, err)
	clk.Add(23 * time.Hour)
	require.NoError(t, b.Sweep(ctx))
	_, err = b.GetAlert(a.ID)
	require.NoError(t, err, "kept within the resolved retention")
	clk.Add(2 * time.Hour)
	require.NoError(t, b.Sweep(ctx))
	_, err = b.GetAlert(a.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	b.mu.Lock()
	assert.Len(t, b.acks, 1, "the ack is kept for the expired retention")
	b.mu.Unlock()
	clk.Add(7 * 24 * time.Hour)
	require.NoError(t, b.Sweep(ctx))
	b.mu.Lock()
	assert.Empty(t, b.acks)
	b.mu.Unlock()
}

func TestSubscribe(t *testing.T) {
	b, _ := newTestBoard(t)
	ctx := context.Background()
	events, cancel := b.Subscribe(2)
	labels := map[string]string{"service.name": "checkout"}
	a, err := b.UpsertAlert(ctx, firing(labels, t0))
	require.NoError(t, err)
	_, err = b.Acknowledge(ctx, a.ID, "ana", "")
	require.NoError(t, err)
	e := <-events
	assert.Equal(t, EventAlertUpdated, e.Kind)
	assert.Empty(t, e.Alert.AcknowledgedBy)
	e = <-events
	assert.Equal(t, "ana", e.Alert.AcknowledgedBy)
	assert.Equal(t, 1, b.Counts().Subscribers)
	cancel()
	cancel() // idempotent
	_, open := <-events
	assert.False(t, open)

	// A slow subscriber is dropped (channel closed) instead of blocking producers.
	slow, cancelSlow := b.Subscribe(1)
	defer cancelSlow()
	for i := 0; i < 3; i++ {
		_, err = b.UpsertAlert(ctx, firing(labels, t0))
		require.NoError(t, err)
	}
	<-slow
	_, open = <-slow
	assert.False(t, open)
	assert.Equal(t, 0, b.Counts().Subscribers)
}

func TestAlertValidation(t *testing.T) {
	b, _ := newTestBoard(t)
	base := firing(map[string]string{"service.name": "x"}, t0)
	cases := map[string]struct {
		mut   func(*Alert)
		field string
	}{
		"id":       {func(a *Alert) { a.ID = "has space" }, "id"},
		"state":    {func(a *Alert) { a.State = "pending" }, "state"},
		"severity": {func(a *Alert) { a.Severity = "page" }, "severity"},
		"score":    {func(a *Alert) { a.Score = 1.5 }, "score"},
		"since":    {func(a *Alert) { a.Since = time.Time{} }, "since"},
		"series":   {func(a *Alert) { a.Series = "" }, "series"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a := base
			tc.mut(&a)
			_, err := b.UpsertAlert(context.Background(), a)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
		})
	}
}

func TestFingerprintIsStable(t *testing.T) {
	a := Fingerprint(map[string]string{"a": "1", "b": "2"})
	assert.Equal(t, a, Fingerprint(map[string]string{"b": "2", "a": "1"}))
	assert.NotEqual(t, a, Fingerprint(map[string]string{"a": "12"}))
	assert.Len(t, a, 16)
}

type fakeHost struct {
	exts map[component.ID]component.Component
}

func (h fakeHost) GetExtensions() map[component.ID]component.Component { return h.exts }

type provider struct {
	component.StartFunc
	component.ShutdownFunc
	b AlertBoard
}

func (p provider) AlertBoard() AlertBoard { return p.b }

func TestFindBoard(t *testing.T) {
	id := component.MustNewID("watch_api")
	b, _ := newTestBoard(t)
	got, err := FindBoard(fakeHost{map[component.ID]component.Component{id: provider{b: b}}}, id)
	require.NoError(t, err)
	assert.Same(t, b, got)

	_, err = FindBoard(fakeHost{}, id)
	assert.ErrorContains(t, err, `extension "watch_api" is not configured`)
	other := component.MustNewID("health_check")
	_, err = FindBoard(fakeHost{map[component.ID]component.Component{other: provider{}}}, other)
	assert.ErrorContains(t, err, "has not started")
	_, err = FindBoard(fakeHost{map[component.ID]component.Component{other: struct {
		component.StartFunc
		component.ShutdownFunc
	}{}}}, other)
	assert.ErrorContains(t, err, "is not a watch_api extension")
	assert.False(t, errors.Is(err, ErrNotFound))
}
