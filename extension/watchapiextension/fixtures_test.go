package watchapiextension

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/latencywatch/latencywatch/internal/watchstate"
	"github.com/latencywatch/latencywatch/internal/watchstate/watchstatetest"
)

// The watch API JSON and the APNs payload are a cross-language contract: this
// test records every response type from a running extension (fake clock,
// deterministic ids) and compares it with the golden files the Swift tests in
// watchapp/ decode. LW_UPDATE_FIXTURES=1 rewrites them.
var fixturesDir = filepath.Join("..", "..", "watchapp", "Tests", "Fixtures")

func checkFixture(t *testing.T, name string, body []byte) {
	t.Helper()
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, bytes.TrimSpace(body), "", "  "), "%s", body)
	pretty.WriteByte('\n')
	path := filepath.Join(fixturesDir, name)
	if os.Getenv("LW_UPDATE_FIXTURES") == "1" {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, pretty.Bytes(), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run LW_UPDATE_FIXTURES=1 go test ./extension/watchapiextension -run TestGoldenFixtures")
	assert.Equal(t, string(want), pretty.String(), "%s differs from the API's answer; if the change is intended, run with LW_UPDATE_FIXTURES=1 and update the Swift models", name)
}

func TestGoldenFixtures(t *testing.T) {
	e := startEnv(t, watchstatetest.NewStorage())
	rec := func(name string, status int, method, path string, body any) []byte {
		t.Helper()
		data := e.expect(status, method, path, body, nil)
		checkFixture(t, "api/"+name, data)
		return data
	}

	reg := registerBody(tokenA, "payments", "search")
	reg["name"] = "Ana's Watch"
	rec("device.json", http.StatusCreated, "POST", "/v1/devices", reg)
	e.expect(http.StatusCreated, "POST", "/v1/devices", registerBody(tokenB), nil)
	rec("device_list.json", http.StatusOK, "GET", "/v1/devices", nil)

	e.expect(http.StatusOK, "POST", "/v1/status", map[string]any{"series": "checkout p99 eu-west-1", "service": "checkout", "labels": map[string]string{"cloud.region": "eu-west-1", "team": "payments"}, "state": "critical", "value": 1.25, "expected": 0.21, "score": 0.97}, nil)
	e.expect(http.StatusOK, "POST", "/v1/status", map[string]any{"series": "search p95 us-east-1", "service": "search", "labels": map[string]string{"cloud.region": "us-east-1"}, "state": "ok", "value": 0.084, "expected": 0.09, "score": 0.12}, nil)
	e.expect(http.StatusOK, "POST", "/v1/status", map[string]any{"series": "ads p99 ap-south-1", "service": "ads", "state": "warning", "value": 0.41, "expected": 0.2, "score": 0.81}, nil)

	crit := alertBody("checkout", "payments", "critical")
	crit["since"] = t0.Add(-5 * time.Minute)
	crit["link"] = "https://grafana.example.com/d/latency?var-service=checkout"
	var a watchstate.Alert
	require.NoError(t, json.Unmarshal(rec("alert.json", http.StatusOK, "POST", "/v1/alerts", crit), &a))
	warn := alertBody("search", "discovery", "warning")
	warn["since"] = t0.Add(-time.Minute)
	e.expect(http.StatusOK, "POST", "/v1/alerts", warn, nil)
	rec("status_board.json", http.StatusOK, "GET", "/v1/status", nil)

	e.clock.Add(time.Minute)
	rec("alert_acknowledged.json", http.StatusOK, "POST", "/v1/alerts/"+a.ID+"/ack", map[string]string{"by": "ana@example.com", "comment": "rolling back"})
	var s watchstate.Silence
	require.NoError(t, json.Unmarshal(rec("silence.json", http.StatusCreated, "POST", "/v1/alerts/"+a.ID+"/silence", map[string]any{"duration_seconds": 3600, "created_by": "ana@example.com", "comment": "Silence 1h from the watch"}), &s))
	e.expect(http.StatusCreated, "POST", "/v1/silences", map[string]any{
		"matchers":  []map[string]string{{"name": "team", "op": "=~", "value": "ads|search"}, {"name": "cloud.region", "op": "!=", "value": "eu-west-1"}},
		"starts_at": t0.Add(time.Hour), "ends_at": t0.Add(3 * time.Hour), "created_by": "bob", "comment": "maintenance window",
	}, nil)
	rec("silence_list.json", http.StatusOK, "GET", "/v1/silences", nil)
	rec("alert_list.json", http.StatusOK, "GET", "/v1/alerts", nil)

	e.clock.Add(time.Minute)
	res := alertBody("checkout", "payments", "critical")
	res["state"] = "resolved"
	res["since"] = t0.Add(-5 * time.Minute)
	res["value"] = 0.22
	res["score"] = 0.2
	rec("alert_resolved.json", http.StatusOK, "POST", "/v1/alerts", res)
	rec("silence_expired.json", http.StatusOK, "DELETE", "/v1/silences/"+s.ID, nil)
	rec("health.json", http.StatusOK, "GET", "/health", nil)

	rec("error_invalid_request.json", http.StatusBadRequest, "POST", "/v1/devices", map[string]any{"token": tokenA, "environment": "staging", "topic": "t", "user": "u"})
	rec("error_not_found.json", http.StatusNotFound, "GET", "/v1/alerts/0000000000000000", nil)
	rec("error_conflict.json", http.StatusConflict, "POST", "/v1/alerts/"+a.ID+"/ack", map[string]string{"by": "ana@example.com"})
	resp, data := e.doWith("GET", "/v1/alerts", nil, map[string]string{"Authorization": "Bearer wrong"})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	checkFixture(t, "api/error_unauthorized.json", data)

	// One SSE event's data, as the stream sends it.
	ev, cancel := e.ext.board.Subscribe(4)
	defer cancel()
	e.expect(http.StatusOK, "POST", "/v1/alerts", warn, nil)
	event, err := json.Marshal(<-ev)
	require.NoError(t, err)
	checkFixture(t, "api/event.json", event)

	// APNs payloads (the apns exporter sends watchstate.PushPayload).
	var firing, acked watchstate.Alert
	require.NoError(t, json.Unmarshal(e.expect(http.StatusOK, "GET", "/v1/alerts/"+watchstate.Fingerprint(map[string]string{"service.name": "search", "team": "discovery", "cloud.region": "eu-west-1"}), nil, nil), &firing))
	for name, p := range map[string]watchstate.PushPayload{
		"push/alert_warning.json":        watchstate.NewPushPayload(firing, false),
		"push/alert_critical.json":       watchstate.NewPushPayload(withSeverity(firing, watchstate.SeverityCritical), true),
		"push/alert_time_sensitive.json": watchstate.NewPushPayload(withSeverity(firing, watchstate.SeverityCritical), false),
		"push/alert_info.json":           watchstate.NewPushPayload(withSeverity(firing, watchstate.SeverityInfo), false),
	} {
		data, err := p.Encode(0)
		require.NoError(t, err)
		checkFixture(t, name, data)
	}
	require.NoError(t, json.Unmarshal(e.expect(http.StatusOK, "GET", "/v1/alerts/"+a.ID, nil, nil), &acked))
	data, err = watchstate.NewPushPayload(acked, false).Encode(0)
	require.NoError(t, err)
	checkFixture(t, "push/alert_resolved.json", data)
}

func withSeverity(a watchstate.Alert, s watchstate.Severity) watchstate.Alert {
	a.Severity = s
	return a
}
