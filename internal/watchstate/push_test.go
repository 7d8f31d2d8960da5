package watchstate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInterruptionLevel(t *testing.T) {
	assert.Equal(t, InterruptionPassive, InterruptionLevel(SeverityInfo, true))
	assert.Equal(t, InterruptionActive, InterruptionLevel(SeverityWarning, true))
	assert.Equal(t, InterruptionTimeSensitive, InterruptionLevel(SeverityCritical, false))
	assert.Equal(t, InterruptionCritical, InterruptionLevel(SeverityCritical, true))
}

func TestPushPayloadShape(t *testing.T) {
	a := firing(map[string]string{"service.name": "checkout", "team": "payments", "cloud.region": "eu-west-1"}, t0)
	a.Link = "https://grafana.example/d/checkout"
	p := NewPushPayload(a, true)
	data, err := p.Encode(0)
	require.NoError(t, err)
	var m map[string]map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	assert.Equal(t, "critical", m["aps"]["interruption-level"])
	assert.Equal(t, CategoryAlert, m["aps"]["category"])
	assert.Equal(t, a.GroupKey, m["aps"]["thread-id"])
	assert.Equal(t, map[string]any{"critical": 1.0, "name": "default", "volume": 1.0}, m["aps"]["sound"])
	assert.Equal(t, a.ID, m["lw"]["alert_id"])
	assert.Equal(t, "payments", m["lw"]["team"])
	assert.Equal(t, "eu-west-1", m["lw"]["region"])
	assert.Equal(t, "checkout p99: 1.2s (expected 200ms, score 0.97)", p.APS.Alert.Body)

	res := a
	res.State = AlertResolved
	rp := NewPushPayload(res, false)
	assert.Nil(t, rp.APS.Sound, "resolved notices are silent")
	assert.Equal(t, "Resolved", rp.APS.Alert.Title)
}

func TestPushPayloadTrimsToLimit(t *testing.T) {
	a := firing(map[string]string{"service.name": strings.Repeat("s", 200)}, t0)
	a.Series = strings.Repeat("series-", 30)
	a.Link = "https://example/" + strings.Repeat("l", 2000)
	a.GroupKey = strings.Repeat("g", 1000)
	p := NewPushPayload(a, false)
	full, err := json.Marshal(p)
	require.NoError(t, err)
	require.Greater(t, len(full), 1024)
	data, err := p.Encode(1024)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(data), 1024)
	var back PushPayload
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Empty(t, back.LW.Link, "the link goes first")
	assert.Equal(t, a.ID, back.LW.AlertID, "the alert id is never trimmed")

	_, err = p.Encode(100)
	assert.ErrorContains(t, err, "after trimming, the limit is 100")
}

func TestFormatSeconds(t *testing.T) {
	for in, want := range map[float64]string{0: "0ms", 0.00085: "850µs", 0.0123: "12.3ms", 0.2: "200ms", 1.42: "1.42s", 1.2: "1.2s", 12: "12s"} {
		assert.Equal(t, want, FormatSeconds(in), "%v", in)
	}
}
