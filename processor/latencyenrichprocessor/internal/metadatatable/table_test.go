package metadatatable

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type recorder struct {
	mu       sync.Mutex
	applied  int
	lags     []time.Duration
	deleted  int
	rejected []string
}

func (r *recorder) Applied(lag time.Duration, known bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied++
	if known {
		r.lags = append(r.lags, lag)
	}
}

func (r *recorder) Deleted(n int) { r.mu.Lock(); r.deleted += n; r.mu.Unlock() }

func (r *recorder) Rejected(err error) {
	r.mu.Lock()
	r.rejected = append(r.rejected, ReasonOf(err))
	r.mu.Unlock()
}

func TestParseJSON(t *testing.T) {
	lim := Limits{MaxRowBytes: 128}
	r, err := ParseJSON("checkout|prod", []byte(`{"region":"eu-west-1","replicas":3,"slo":0.25,"canary":true,"updated_at":"2026-11-25T11:59:30.5Z","metadata_version":42}`), lim)
	require.NoError(t, err)
	assert.Equal(t, "checkout|prod", r.Key)
	assert.Equal(t, StringValue("eu-west-1"), r.Columns["region"])
	assert.Equal(t, IntValue(3), r.Columns["replicas"])
	assert.Equal(t, DoubleValue(0.25), r.Columns["slo"])
	assert.Equal(t, BoolValue(true), r.Columns["canary"])
	assert.Equal(t, time.Date(2026, 11, 25, 11, 59, 30, 5e8, time.UTC), r.UpdatedAt)
	assert.Equal(t, "42", r.Version)
	assert.NotContains(t, r.Columns, "updated_at")

	r, err = ParseJSON("k", []byte(`{"updated_at":1795593600000}`), lim)
	require.NoError(t, err)
	assert.Equal(t, time.UnixMilli(1795593600000), r.UpdatedAt)

	bad := map[string]struct {
		key, value, reason string
	}{
		"not json":         {"k", `{"region":`, ReasonNotJSON},
		"array":            {"k", `["a"]`, ReasonNotJSON},
		"null":             {"k", `null`, ReasonNotJSON},
		"trailing":         {"k", `{"a":"b"} {"c":"d"}`, ReasonNotJSON},
		"nested object":    {"k", `{"region":{"name":"eu"}}`, ReasonWrongType},
		"array value":      {"k", `{"zones":["a","b"]}`, ReasonWrongType},
		"null value":       {"k", `{"region":null}`, ReasonWrongType},
		"bad updated_at":   {"k", `{"updated_at":"yesterday"}`, ReasonWrongType},
		"bool updated_at":  {"k", `{"updated_at":true}`, ReasonWrongType},
		"bool version":     {"k", `{"metadata_version":true}`, ReasonWrongType},
		"oversized":        {"k", `{"region":"` + strings.Repeat("x", 200) + `"}`, ReasonOversized},
		"missing key":      {"", `{"region":"eu"}`, ReasonMissingKey},
		"huge number":      {"k", `{"n":1e400}`, ReasonWrongType},
		"not even a value": {"k", `garbage`, ReasonNotJSON},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := ParseJSON(c.key, []byte(c.value), lim)
			require.Error(t, err)
			assert.Equal(t, c.reason, ReasonOf(err), "%v", err)
		})
	}
}

func TestTableUpsertProjectsAllowList(t *testing.T) {
	rec := &recorder{}
	tbl := New(Projection{Columns: []string{"region", "zone"}, SLOColumn: "slo"}, rec)
	require.NoError(t, tbl.Upsert(Row{Key: "a", Columns: map[string]Value{"region": StringValue("eu"), "secret": StringValue("x"), "slo": StringValue("0.5")}}))
	e := tbl.Lookup("a")
	require.NotNil(t, e)
	assert.Equal(t, []Value{StringValue("eu"), {}}, e.Values)
	assert.True(t, e.HasSLO)
	assert.Equal(t, 0.5, e.SLOThreshold)
	assert.Same(t, e, tbl.LookupBytes([]byte("a")))
	assert.Nil(t, tbl.Lookup("b"))
	assert.Equal(t, 1, tbl.Len())
}

func TestTableBadRowIsNeverHalfApplied(t *testing.T) {
	rec := &recorder{}
	tbl := New(Projection{Columns: []string{"region"}, SLOColumn: "slo"}, rec)
	require.NoError(t, tbl.Upsert(Row{Key: "a", Columns: map[string]Value{"region": StringValue("eu"), "slo": DoubleValue(0.2)}}))
	err := tbl.Upsert(Row{Key: "a", Columns: map[string]Value{"region": StringValue("us"), "slo": StringValue("fast")}})
	require.Error(t, err)
	assert.Equal(t, ReasonWrongType, ReasonOf(err))
	e := tbl.Lookup("a")
	assert.Equal(t, "eu", e.Values[0].Str, "the previous row stays whole")
	assert.Equal(t, 0.2, e.SLOThreshold)
	assert.Equal(t, []string{ReasonWrongType}, rec.rejected)
	require.Error(t, tbl.Upsert(Row{Key: "b", Columns: map[string]Value{"slo": DoubleValue(-1)}}))
	assert.Nil(t, tbl.Lookup("b"))
}

func TestTableDeleteReplaceAndAge(t *testing.T) {
	rec := &recorder{}
	tbl := New(Projection{Columns: []string{"region"}}, rec)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tbl.now = func() time.Time { return now }
	_, ok := tbl.Age()
	assert.False(t, ok)
	require.NoError(t, tbl.Upsert(Row{Key: "a"}))
	require.NoError(t, tbl.Upsert(Row{Key: "b"}))
	now = now.Add(5 * time.Second)
	age, ok := tbl.Age()
	assert.True(t, ok)
	assert.Equal(t, 5*time.Second, age)
	tbl.Delete("a")
	tbl.Delete("a") // absent: no event
	assert.Equal(t, 1, rec.deleted)
	age, _ = tbl.Age()
	assert.Equal(t, time.Duration(0), age)

	tbl.Replace([]Row{
		{Key: "c", Columns: map[string]Value{"region": StringValue("eu")}},
		{Key: "d"},
	})
	assert.Equal(t, 2, tbl.Len())
	assert.Nil(t, tbl.Lookup("b"))
	assert.Equal(t, 2, rec.deleted, "b was dropped by the replace")
}

func TestPropagationLagOnlyForLiveChanges(t *testing.T) {
	rec := &recorder{}
	tbl := New(Projection{Columns: []string{"region"}}, rec)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tbl.now = func() time.Time { return now }
	// Initial load: how old the row is, not how fast it travelled.
	require.NoError(t, tbl.Upsert(Row{Key: "a", UpdatedAt: now.Add(-time.Hour)}))
	assert.Empty(t, rec.lags)
	tbl.MarkReady()
	tbl.MarkReady() // idempotent
	assert.True(t, tbl.IsReady())
	require.NoError(t, tbl.Upsert(Row{Key: "a", UpdatedAt: now.Add(-40 * time.Millisecond)}))
	assert.Equal(t, []time.Duration{40 * time.Millisecond}, rec.lags)
	// A reload with the same row does not count again; a changed row does.
	tbl.Replace([]Row{{Key: "a", UpdatedAt: now.Add(-40 * time.Millisecond)}, {Key: "b", UpdatedAt: now.Add(-time.Second)}})
	assert.Equal(t, []time.Duration{40 * time.Millisecond, time.Second}, rec.lags)
}

func TestReadyChannel(t *testing.T) {
	tbl := New(Projection{}, nil)
	select {
	case <-tbl.Ready():
		t.Fatal("ready before MarkReady")
	default:
	}
	go tbl.MarkReady()
	select {
	case <-tbl.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("not ready after MarkReady")
	}
}

func TestReasonOfPlainError(t *testing.T) {
	assert.Equal(t, "", ReasonOf(errors.New("x")))
	assert.Equal(t, "1.5", DoubleValue(1.5).String())
	assert.Equal(t, "true", BoolValue(true).String())
}
