package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"2024-01-02T03:04:05Z", "2024-01-02 03:04:05", "2024-01-02T04:04:05+01:00", "2024-01-02 03:04:05.000000"} {
		got, err := parseTime(s)
		require.NoError(t, err, s)
		assert.True(t, want.Equal(got), s)
	}
	got, err := parseTime("2024-01-02 03:04:05.25")
	require.NoError(t, err)
	assert.Equal(t, 250*time.Millisecond, got.Sub(want))
	_, err = parseTime("02/01/2024")
	assert.ErrorContains(t, err, "neither RFC 3339 nor")
}

// evaluate on hand-made flags: one window detected late, one missed, one
// false alarm, one alarm split in two inside a window.
func TestEvaluate(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0).UTC()
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 10 * time.Second) }
	s := &series{rel: "x.csv"}
	for i := 0; i < 100; i++ {
		s.times = append(s.times, at(i))
		s.values = append(s.values, 1)
	}
	s.windows = [][2]time.Time{{at(10), at(20)}, {at(40), at(45)}, {at(70), at(80)}}
	res := make([]pointResult, 100)
	for _, i := range []int{13, 14, 15, 60, 72, 73, 76} {
		res[i].flag = true
	}
	r := evaluate(&dataset{files: []*series{s}}, [][]pointResult{res})
	assert.Equal(t, 3, r.Windows)
	assert.Equal(t, 2, r.WindowsDetected)
	assert.InDelta(t, 2.0/3, r.WindowRecall, 1e-9)
	assert.Equal(t, 4, r.Alarms)
	assert.Equal(t, 1, r.FalseAlarms)
	assert.InDelta(t, 10, r.FalseAlarmsPer1000, 1e-9)
	assert.InDelta(t, 0.75, r.Precision, 1e-9)
	assert.InDelta(t, 2*0.75*(2.0/3)/(0.75+2.0/3), r.F1, 1e-9)
	assert.InDelta(t, 25, r.DelayMedianSeconds, 1e-9) // 30 s and 20 s
	assert.InDelta(t, 2.5, r.DelayMedianPoints, 1e-9)
}

// The tool end to end on testdata: a 12x burst in svc/a.csv is found by both
// modes, b.csv (unlabelled, rows out of file order) raises nothing, and the
// output mirrors the input tree.
func TestRunOnTestdata(t *testing.T) {
	out := t.TempDir()
	require.NoError(t, run([]string{"-data", "testdata/data", "-labels", "testdata/labels.json", "-out", out}))
	raw, err := os.ReadFile(filepath.Join(out, "summary.json"))
	require.NoError(t, err)
	var doc struct {
		Files, Points, Windows int
		Modes                  []modeResult
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, 2, doc.Files)
	assert.Equal(t, 280, doc.Points)
	require.Len(t, doc.Modes, 2)
	for _, m := range doc.Modes {
		assert.Equal(t, 1, m.WindowsDetected, m.Mode)
		assert.Zero(t, m.FalseAlarms, m.Mode)
		assert.Equal(t, 2*(140-63), m.PointsScored, m.Mode) // scored from the 64th point
	}
	assert.True(t, strings.HasPrefix(doc.Modes[0].Model, "latency_anomaly@"), doc.Modes[0].Model)
	assert.Equal(t, "robust_zscore@1", doc.Modes[1].Model)

	csv, err := os.ReadFile(filepath.Join(out, "model", "svc", "a.csv"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	require.Len(t, lines, 141)
	assert.Equal(t, "timestamp,value,anomaly_score,label", lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "2024-01-01T00:00:00Z,0.05,0.000000,0"), lines[1])
	assert.True(t, strings.HasSuffix(lines[101], ",1"), "the burst is labelled: %s", lines[101])
	assert.True(t, strings.HasSuffix(lines[109], ",0"), "after the window: %s", lines[109])
	_, err = os.Stat(filepath.Join(out, "statistical", "b.csv"))
	assert.NoError(t, err)
}

func TestLabelsMustNameFiles(t *testing.T) {
	dir := t.TempDir()
	labels := filepath.Join(dir, "labels.json")
	require.NoError(t, os.WriteFile(labels, []byte(`{"nope.csv": []}`), 0o600))
	err := run([]string{"-data", "testdata/data", "-labels", labels, "-out", dir})
	assert.ErrorContains(t, err, "labels nope.csv: no such file")
}
