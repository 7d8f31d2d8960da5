package watchapiextension

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/latencywatch/latencywatch/extension/watchapiextension/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/watchstate"
	"github.com/latencywatch/latencywatch/internal/watchstate/watchstatetest"
)

const (
	tokenA = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
	tokenB = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
)

func registerBody(token string, teams ...string) map[string]any {
	return map[string]any{"token": token, "environment": "development", "topic": "dev.latencywatch.app.watchkitapp", "user": "ana@example.com", "teams": teams}
}

func alertBody(service, team, severity string) map[string]any {
	return map[string]any{
		"labels": map[string]string{"service.name": service, "team": team, "cloud.region": "eu-west-1"},
		"series": service + " p99 eu-west-1", "state": "firing", "severity": severity,
		"value": 1.25, "expected": 0.21, "score": 0.97, "group_key": `{}:{team="` + team + `"}`,
	}
}

func TestDevicesEndpoints(t *testing.T) {
	e := startEnv(t, watchstatetest.NewStorage())
	var d watchstate.Device
	e.expect(http.StatusCreated, "POST", "/v1/devices", registerBody(strings.ToUpper(tokenA), "payments"), &d)
	assert.Equal(t, tokenA, d.Token)
	assert.Equal(t, t0, d.RegisteredAt)
	e.clock.Add(time.Minute)
	e.expect(http.StatusOK, "POST", "/v1/devices", registerBody(tokenA, "payments", "search"), &d)
	assert.Equal(t, []string{"payments", "search"}, d.Teams)
	assert.Equal(t, t0, d.RegisteredAt)
	e.expect(http.StatusCreated, "POST", "/v1/devices", registerBody(tokenB, "ads"), nil)

	var list deviceList
	e.expect(http.StatusOK, "GET", "/v1/devices", nil, &list)
	assert.Len(t, list.Devices, 2)
	e.expect(http.StatusOK, "GET", "/v1/devices?team=search", nil, &list)
	require.Len(t, list.Devices, 1)
	assert.Equal(t, tokenA, list.Devices[0].Token)

	e.expect(http.StatusNoContent, "DELETE", "/v1/devices/"+tokenA, nil, nil)
	code, _ := errorCode(t, e.expect(http.StatusNotFound, "DELETE", "/v1/devices/"+tokenA, nil, nil))
	assert.Equal(t, "not_found", code)
	code, field := errorCode(t, e.expect(http.StatusBadRequest, "DELETE", "/v1/devices/xyz", nil, nil))
	assert.Equal(t, "invalid_request", code)
	assert.Equal(t, "token", field)

	for name, tc := range map[string]struct {
		mut   func(map[string]any)
		field string
	}{
		"bad environment": {func(m map[string]any) { m["environment"] = "staging" }, "environment"},
		"missing topic":   {func(m map[string]any) { delete(m, "topic") }, "topic"},
		"short token":     {func(m map[string]any) { m["token"] = "abc" }, "token"},
		"unknown field":   {func(m map[string]any) { m["colour"] = "red" }, "colour"},
		"teams not array": {func(m map[string]any) { m["teams"] = "payments" }, "teams"},
	} {
		t.Run(name, func(t *testing.T) {
			b := registerBody(tokenA)
			tc.mut(b)
			code, field := errorCode(t, e.expect(http.StatusBadRequest, "POST", "/v1/devices", b, nil))
			assert.Equal(t, "invalid_request", code)
			assert.Equal(t, tc.field, field)
		})
	}
}

func TestMalformedBodies(t *testing.T) {
	e := startEnv(t, nil, func(c *Config) { c.InsecureAllowUnauthenticated = true; c.MaxRequestBodySize = 512 })
	for name, tc := range map[string]struct {
		body   string
		ctype  string
		status int
		code   string
	}{
		"syntax":        {`{"token":`, "application/json", 400, "invalid_request"},
		"not an object": {`[1,2]`, "application/json", 400, "invalid_request"},
		"empty":         {``, "application/json", 400, "invalid_request"},
		"trailing":      {`{"by":"a"} {"by":"b"}`, "application/json", 400, "invalid_request"},
		"media type":    {`{}`, "text/plain", 415, "unsupported_media_type"},
		"too large":     {`{"token":"` + strings.Repeat("a", 2048) + `"}`, "application/json", 413, "payload_too_large"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, data := e.doWith("POST", "/v1/devices", tc.body, map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": tc.ctype})
			require.Equal(t, tc.status, resp.StatusCode, "%s", data)
			code, _ := errorCode(t, data)
			assert.Equal(t, tc.code, code)
		})
	}
}

func TestAlertsEndpoints(t *testing.T) {
	e := startEnv(t, watchstatetest.NewStorage())
	var crit, warn watchstate.Alert
	e.expect(http.StatusOK, "POST", "/v1/alerts", alertBody("checkout", "payments", "critical"), &crit)
	assert.Equal(t, watchstate.Fingerprint(map[string]string{"service.name": "checkout", "team": "payments", "cloud.region": "eu-west-1"}), crit.ID)
	assert.Equal(t, t0, crit.Since, "no since: the occurrence starts now")
	e.clock.Add(time.Minute)
	e.expect(http.StatusOK, "POST", "/v1/alerts", alertBody("search", "discovery", "warning"), &warn)

	var list alertList
	e.expect(http.StatusOK, "GET", "/v1/alerts", nil, &list)
	require.Len(t, list.Alerts, 2)
	assert.Equal(t, crit.ID, list.Alerts[0].ID, "critical first")
	for q, want := range map[string][]string{
		"?severity=warning": {warn.ID}, "?team=payments": {crit.ID}, "?service=search": {warn.ID},
		"?state=resolved": nil, "?limit=1": {crit.ID}, "?acknowledged=false": {crit.ID, warn.ID}, "?silenced=true": nil,
	} {
		e.expect(http.StatusOK, "GET", "/v1/alerts"+q, nil, &list)
		var ids []string
		for _, a := range list.Alerts {
			ids = append(ids, a.ID)
		}
		assert.Equal(t, want, ids, q)
	}
	for _, q := range []string{"?state=pending", "?severity=page", "?acknowledged=maybe", "?limit=0", "?limit=x"} {
		code, _ := errorCode(t, e.expect(http.StatusBadRequest, "GET", "/v1/alerts"+q, nil, nil))
		assert.Equal(t, "invalid_request", code, q)
	}

	var got watchstate.Alert
	e.expect(http.StatusOK, "GET", "/v1/alerts/"+crit.ID, nil, &got)
	assert.Equal(t, crit.Series, got.Series)
	e.expect(http.StatusNotFound, "GET", "/v1/alerts/nope", nil, nil)

	// Acknowledge and see it acknowledged; re-posting the alert keeps the occurrence.
	e.clock.Add(time.Minute)
	e.expect(http.StatusOK, "POST", "/v1/alerts/"+crit.ID+"/ack", map[string]string{"by": "ana", "comment": "on it"}, &got)
	assert.Equal(t, "ana", got.AcknowledgedBy)
	e.expect(http.StatusOK, "POST", "/v1/alerts", alertBody("checkout", "payments", "critical"), &got)
	assert.Equal(t, "ana", got.AcknowledgedBy)
	e.expect(http.StatusOK, "GET", "/v1/alerts?acknowledged=true", nil, &list)
	require.Len(t, list.Alerts, 1)
	assert.Equal(t, crit.ID, list.Alerts[0].ID)
	code, field := errorCode(t, e.expect(http.StatusBadRequest, "POST", "/v1/alerts/"+crit.ID+"/ack", map[string]string{}, nil))
	assert.Equal(t, "invalid_request", code)
	assert.Equal(t, "by", field)
	e.expect(http.StatusNotFound, "POST", "/v1/alerts/nope/ack", map[string]string{"by": "ana"}, nil)

	e.expect(http.StatusOK, "DELETE", "/v1/alerts/"+crit.ID+"/ack", nil, &got)
	assert.Empty(t, got.AcknowledgedBy)
	e.expect(http.StatusNotFound, "DELETE", "/v1/alerts/nope/ack", nil, nil)

	// Silence 1h from the watch.
	var s watchstate.Silence
	e.expect(http.StatusCreated, "POST", "/v1/alerts/"+crit.ID+"/silence", map[string]any{"duration_seconds": 3600, "created_by": "ana"}, &s)
	assert.Equal(t, t0.Add(2*time.Minute+time.Hour), s.EndsAt)
	assert.Len(t, s.Matchers, 3)
	assert.Equal(t, "cloud.region", s.Matchers[0].Name, "matchers sorted by name")
	e.expect(http.StatusOK, "GET", "/v1/alerts/"+crit.ID, nil, &got)
	assert.Equal(t, []string{s.ID}, got.SilencedBy)
	e.expect(http.StatusBadRequest, "POST", "/v1/alerts/"+crit.ID+"/silence", map[string]any{"duration_seconds": 5, "created_by": "ana"}, nil)
	e.expect(http.StatusNotFound, "POST", "/v1/alerts/nope/silence", map[string]any{"duration_seconds": 3600, "created_by": "ana"}, nil)

	// Resolve: acknowledging a resolved alert is a conflict.
	res := alertBody("checkout", "payments", "critical")
	res["state"] = "resolved"
	e.expect(http.StatusOK, "POST", "/v1/alerts", res, &got)
	assert.Equal(t, watchstate.AlertResolved, got.State)
	assert.Equal(t, t0, got.Since, "resolving keeps the occurrence")
	code, _ = errorCode(t, e.expect(http.StatusConflict, "POST", "/v1/alerts/"+crit.ID+"/ack", map[string]string{"by": "ana"}, nil))
	assert.Equal(t, "conflict", code)

	bad := alertBody("x", "y", "page")
	code, field = errorCode(t, e.expect(http.StatusBadRequest, "POST", "/v1/alerts", bad, nil))
	assert.Equal(t, "invalid_request", code)
	assert.Equal(t, "severity", field)
}

func TestSilencesEndpoints(t *testing.T) {
	e := startEnv(t, watchstatetest.NewStorage())
	matchers := []map[string]string{{"name": "team", "op": "=~", "value": "pay.*"}}
	var s, s2 watchstate.Silence
	e.expect(http.StatusCreated, "POST", "/v1/silences", map[string]any{"matchers": matchers, "duration_seconds": 1800, "created_by": "ana", "comment": "deploy"}, &s)
	assert.Equal(t, watchstate.SilenceActive, s.State)
	assert.Equal(t, t0.Add(30*time.Minute), s.EndsAt)
	e.expect(http.StatusCreated, "POST", "/v1/silences", map[string]any{
		"matchers": matchers, "starts_at": t0.Add(time.Hour), "ends_at": t0.Add(2 * time.Hour), "created_by": "bob",
	}, &s2)
	assert.Equal(t, watchstate.SilencePending, s2.State)

	for name, body := range map[string]map[string]any{
		"both ends":      {"matchers": matchers, "duration_seconds": 60, "ends_at": t0.Add(time.Hour), "created_by": "a"},
		"no end":         {"matchers": matchers, "created_by": "a"},
		"bad regexp":     {"matchers": []map[string]string{{"name": "a", "op": "=~", "value": "("}}, "duration_seconds": 60, "created_by": "a"},
		"bad op":         {"matchers": []map[string]string{{"name": "a", "op": "~", "value": "b"}}, "duration_seconds": 60, "created_by": "a"},
		"no matchers":    {"matchers": []map[string]string{}, "duration_seconds": 60, "created_by": "a"},
		"ends in past":   {"matchers": matchers, "ends_at": t0.Add(-time.Hour), "starts_at": t0.Add(-2 * time.Hour), "created_by": "a"},
		"zero duration":  {"matchers": matchers, "duration_seconds": 0, "created_by": "a"},
		"bad time":       {"matchers": matchers, "ends_at": "tomorrow", "created_by": "a"},
		"missing author": {"matchers": matchers, "duration_seconds": 60},
	} {
		code, _ := errorCode(t, e.expect(http.StatusBadRequest, "POST", "/v1/silences", body, nil))
		assert.Equal(t, "invalid_request", code, name)
	}

	var list silenceList
	e.expect(http.StatusOK, "GET", "/v1/silences", nil, &list)
	assert.Len(t, list.Silences, 2)
	e.expect(http.StatusOK, "GET", "/v1/silences?state=pending", nil, &list)
	require.Len(t, list.Silences, 1)
	assert.Equal(t, s2.ID, list.Silences[0].ID)
	e.expect(http.StatusBadRequest, "GET", "/v1/silences?state=old", nil, nil)

	var got watchstate.Silence
	e.expect(http.StatusOK, "GET", "/v1/silences/"+s.ID, nil, &got)
	assert.Equal(t, "deploy", got.Comment)
	e.expect(http.StatusNotFound, "GET", "/v1/silences/nope", nil, nil)
	e.clock.Add(time.Minute)
	e.expect(http.StatusOK, "DELETE", "/v1/silences/"+s.ID, nil, &got)
	assert.Equal(t, watchstate.SilenceExpired, got.State)
	assert.Equal(t, t0.Add(time.Minute), got.EndsAt)
	e.expect(http.StatusNotFound, "DELETE", "/v1/silences/nope", nil, nil)
}

func TestStatusEndpoint(t *testing.T) {
	e := startEnv(t, nil)
	var board statusBoard
	e.expect(http.StatusOK, "GET", "/v1/status", nil, &board)
	assert.Empty(t, board.Entries)
	assert.Equal(t, watchstate.StatusOK, board.Worst)
	var entry watchstate.StatusEntry
	e.expect(http.StatusOK, "POST", "/v1/status", map[string]any{"series": "checkout p99", "service": "checkout", "state": "ok", "value": 0.2, "expected": 0.21, "score": 0.1}, &entry)
	assert.Equal(t, t0, entry.Since)
	e.expect(http.StatusOK, "POST", "/v1/status", map[string]any{"series": "search p99", "service": "search", "state": "critical", "value": 2.5, "expected": 0.3, "score": 0.99}, nil)
	e.expect(http.StatusOK, "POST", "/v1/alerts", alertBody("search", "discovery", "critical"), nil)
	e.expect(http.StatusOK, "GET", "/v1/status", nil, &board)
	require.Len(t, board.Entries, 2)
	assert.Equal(t, "search p99", board.Entries[0].Series)
	assert.Equal(t, watchstate.StatusCritical, board.Worst)
	assert.Equal(t, 1, board.FiringAlerts)
	code, field := errorCode(t, e.expect(http.StatusBadRequest, "POST", "/v1/status", map[string]any{"series": "s", "service": "s", "state": "fine"}, nil))
	assert.Equal(t, "invalid_request", code)
	assert.Equal(t, "state", field)
}

func TestIngestDisabled(t *testing.T) {
	e := startEnv(t, nil, func(c *Config) { c.Ingest.Enabled = false })
	code, _ := errorCode(t, e.expect(http.StatusForbidden, "POST", "/v1/alerts", alertBody("a", "b", "info"), nil))
	assert.Equal(t, "ingest_disabled", code)
	e.expect(http.StatusForbidden, "POST", "/v1/status", map[string]any{"series": "s", "service": "s", "state": "ok"}, nil)
}

func TestAuthRefusal(t *testing.T) {
	e := startEnv(t, nil)
	for name, headers := range map[string]map[string]string{
		"no token":    {},
		"wrong token": {"Authorization": "Bearer not-the-token"},
		"wrong kind":  {"Authorization": "Basic " + testToken},
	} {
		t.Run(name, func(t *testing.T) {
			for _, route := range [][2]string{{"GET", "/v1/alerts"}, {"GET", "/v1/status"}, {"POST", "/v1/devices"}, {"GET", "/v1/events"}, {"DELETE", "/v1/silences/x"}} {
				resp, data := e.doWith(route[0], route[1], nil, headers)
				require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%v", route)
				assert.Equal(t, `Bearer realm="latencywatch"`, resp.Header.Get("WWW-Authenticate"))
				code, _ := errorCode(t, data)
				assert.Equal(t, "unauthorized", code)
				assert.NotContains(t, string(data), testToken, "the authenticator's error must not reach the client")
			}
		})
	}
	// /health and /openapi.yaml are public.
	resp, data := e.doWith("GET", "/health", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var h health
	require.NoError(t, json.Unmarshal(data, &h))
	assert.Equal(t, "ok", h.Status)
	assert.Nil(t, h.Counts, "board sizes are not public")
	e.expect(http.StatusOK, "GET", "/health", nil, &h)
	require.NotNil(t, h.Counts, "authenticated callers see the board sizes")
	resp, data = e.doWith("GET", "/openapi.yaml", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/yaml", resp.Header.Get("Content-Type"))
	assert.Equal(t, openAPISpec, data)
	resp, data = e.doWith("GET", "/nowhere", nil, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	code, _ := errorCode(t, data)
	assert.Equal(t, "not_found", code)
}

func TestRefusesToStartWithoutAuth(t *testing.T) {
	cfg := testConfig()
	cfg.Auth = configoptional.None[confighttp.AuthConfig]()
	cfg.Storage = nil
	require.ErrorContains(t, cfg.Validate(), "auth: ")
	ext := newWatchAPI(cfg, extensiontest.NewNopSettings(metadata.Type))
	err := ext.Start(context.Background(), testHost{})
	require.ErrorContains(t, err, "refusing to start without auth")
	require.NoError(t, ext.Shutdown(context.Background()))

	core, logs := observer.New(zapcore.WarnLevel)
	set := extensiontest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	cfg.InsecureAllowUnauthenticated = true
	require.NoError(t, cfg.Validate())
	ext = newWatchAPI(cfg, set)
	require.NoError(t, ext.Start(context.Background(), testHost{}))
	defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()
	assert.Equal(t, 1, logs.FilterMessageSnippet("WATCH API IS UNAUTHENTICATED").Len())
	assert.Equal(t, 1, logs.FilterMessageSnippet("no storage extension").Len())
	resp, err := http.Get("http://" + ext.Addr().String() + "/v1/alerts")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestStartErrors(t *testing.T) {
	cfg := testConfig()
	ext := newWatchAPI(cfg, extensiontest.NewNopSettings(metadata.Type))
	err := ext.Start(context.Background(), testHost{exts: map[component.ID]component.Component{authID: tokenAuth{token: "x"}}})
	require.ErrorContains(t, err, `storage: extension "file_storage" is not configured`)

	err = ext.Start(context.Background(), testHost{exts: map[component.ID]component.Component{storageID: watchstatetest.NewStorage()}})
	require.ErrorContains(t, err, "watch_api: auth:")

	err = ext.Start(context.Background(), testHost{exts: map[component.ID]component.Component{storageID: tokenAuth{}, authID: tokenAuth{}}})
	require.ErrorContains(t, err, "is not a storage extension")

	// The port is taken.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg.NetAddr.Endpoint = ln.Addr().String()
	st := watchstatetest.NewStorage()
	err = ext.Start(context.Background(), testHost{exts: map[component.ID]component.Component{storageID: st, authID: tokenAuth{}}})
	require.ErrorContains(t, err, "listening on")
	assert.Equal(t, st.Clients, st.Closed, "the storage client is closed when Start fails")
}

func TestShutdownBeforeStartAndTwice(t *testing.T) {
	ext := newWatchAPI(testConfig(), extensiontest.NewNopSettings(metadata.Type))
	require.NoError(t, ext.Shutdown(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))
	assert.Nil(t, ext.AlertBoard())
}

func TestPersistenceAcrossRestart(t *testing.T) {
	st := watchstatetest.NewStorage()
	e := startEnv(t, st)
	e.expect(http.StatusCreated, "POST", "/v1/devices", registerBody(tokenA, "payments"), nil)
	var a watchstate.Alert
	body := alertBody("checkout", "payments", "critical")
	body["since"] = t0
	e.expect(http.StatusOK, "POST", "/v1/alerts", body, &a)
	e.expect(http.StatusOK, "POST", "/v1/alerts/"+a.ID+"/ack", map[string]string{"by": "ana"}, nil)
	var s watchstate.Silence
	e.expect(http.StatusCreated, "POST", "/v1/silences", map[string]any{"matchers": []map[string]string{{"name": "team", "op": "=", "value": "payments"}}, "duration_seconds": 3600, "created_by": "ana"}, &s)
	require.NoError(t, e.ext.Shutdown(context.Background()))
	assert.Equal(t, st.Clients, st.Closed, "storage client closed on shutdown")

	e2 := startEnv(t, st)
	var devices deviceList
	e2.expect(http.StatusOK, "GET", "/v1/devices", nil, &devices)
	require.Len(t, devices.Devices, 1)
	assert.Equal(t, tokenA, devices.Devices[0].Token)
	var silences silenceList
	e2.expect(http.StatusOK, "GET", "/v1/silences?state=active", nil, &silences)
	require.Len(t, silences.Silences, 1)
	assert.Equal(t, s.ID, silences.Silences[0].ID)
	// The producer re-publishes the alert after the restart: the ack and silence apply again.
	var got watchstate.Alert
	e2.expect(http.StatusOK, "POST", "/v1/alerts", body, &got)
	assert.Equal(t, "ana", got.AcknowledgedBy)
	assert.Equal(t, []string{s.ID}, got.SilencedBy)
}

func TestStorageWriteFailureIs503(t *testing.T) {
	st := watchstatetest.NewStorage()
	e := startEnv(t, st)
	st.FailWrites = true
	code, _ := errorCode(t, e.expect(http.StatusServiceUnavailable, "POST", "/v1/devices", registerBody(tokenA), nil))
	assert.Equal(t, "storage_unavailable", code)
}

func TestRateLimit(t *testing.T) {
	// One token per 100s: no refill can happen during the test, however slow the machine.
	e := startEnv(t, nil, func(c *Config) { c.RateLimit.RequestsPerSecond = 0.01; c.RateLimit.Burst = 3 })
	for i := 0; i < 3; i++ {
		e.expect(http.StatusOK, "GET", "/v1/status", nil, nil)
	}
	resp, data := e.do("GET", "/v1/status", nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "100", resp.Header.Get("Retry-After"))
	code, _ := errorCode(t, data)
	assert.Equal(t, "rate_limited", code)
	// Unauthenticated floods are limited too (the limiter runs before auth).
	resp, _ = e.doWith("GET", "/v1/status", nil, nil)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
}

func TestClientLimiterIsBounded(t *testing.T) {
	clk := &fakeClock{t: t0}
	l := newClientLimiter(RateLimitConfig{RequestsPerSecond: 1, Burst: 1, MaxClients: 2}, clk.Now)
	assert.True(t, l.allow("a"))
	assert.False(t, l.allow("a"))
	clk.Add(100 * time.Millisecond)
	assert.True(t, l.allow("b"))
	clk.Add(100 * time.Millisecond)
	assert.True(t, l.allow("c"), "a third client evicts the longest idle one")
	assert.Len(t, l.clients, 2)
	assert.NotContains(t, l.clients, "a")
	assert.Nil(t, newClientLimiter(RateLimitConfig{}, clk.Now), "0 rps disables the limiter")
}

func TestEventsStream(t *testing.T) {
	e := startEnv(t, nil)
	var first watchstate.Alert
	e.expect(http.StatusOK, "POST", "/v1/alerts", alertBody("checkout", "payments", "critical"), &first)

	req, err := http.NewRequest("GET", e.base+"/v1/events?snapshot=true", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := e.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := make(chan [2]string, 8)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var kind string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- [2]string{kind, strings.TrimPrefix(line, "data: ")}
			}
		}
		close(events)
	}()
	next := func() watchstate.Event {
		select {
		case ev, ok := <-events:
			require.True(t, ok, "stream ended")
			var out watchstate.Event
			require.NoError(t, json.Unmarshal([]byte(ev[1]), &out))
			assert.Equal(t, ev[0], string(out.Kind))
			return out
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5s")
		}
		return watchstate.Event{}
	}
	ev := next()
	assert.Equal(t, first.ID, ev.Alert.ID, "snapshot first")
	e.expect(http.StatusOK, "POST", "/v1/alerts/"+first.ID+"/ack", map[string]string{"by": "ana"}, nil)
	ev = next()
	assert.Equal(t, watchstate.EventAlertUpdated, ev.Kind)
	assert.Equal(t, "ana", ev.Alert.AcknowledgedBy)

	// Shutdown ends the stream (the server can drain).
	require.NoError(t, e.ext.Shutdown(context.Background()))
	select {
	case _, ok := <-events:
		assert.False(t, ok)
	case <-time.After(5 * time.Second):
		t.Fatal("stream not closed by shutdown")
	}
}

func TestStreamLimit(t *testing.T) {
	e := startEnv(t, nil, func(c *Config) { c.Stream.MaxClients = 1 })
	req, err := http.NewRequest("GET", e.base+"/v1/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := e.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	r2, data := e.do("GET", "/v1/events", nil)
	require.Equal(t, http.StatusServiceUnavailable, r2.StatusCode)
	code, _ := errorCode(t, data)
	assert.Equal(t, "too_many_streams", code)
}

func TestAlertBoardProvider(t *testing.T) {
	e := startEnv(t, nil)
	board, err := watchstate.FindBoard(testHost{exts: map[component.ID]component.Component{component.MustNewID("watch_api"): e.ext}}, component.MustNewID("watch_api"))
	require.NoError(t, err)
	// What the apns exporter does: publish an alert, see the watch's acknowledgement.
	a, err := board.UpsertAlert(context.Background(), watchstate.Alert{
		ID: "abc", Labels: map[string]string{"team": "payments"}, Series: "checkout p99", State: watchstate.AlertFiring,
		Severity: watchstate.SeverityWarning, Since: t0,
	})
	require.NoError(t, err)
	e.expect(http.StatusOK, "POST", "/v1/alerts/"+a.ID+"/ack", map[string]string{"by": "ana"}, nil)
	ack, ok := board.Acknowledged(a.ID)
	require.True(t, ok)
	assert.Equal(t, "ana", ack.By)
	e.expect(http.StatusCreated, "POST", "/v1/devices", registerBody(tokenA, "payments"), nil)
	require.Len(t, board.Devices("payments"), 1)
	require.NoError(t, board.ForgetDevice(context.Background(), tokenA))
	assert.Empty(t, board.Devices())
}

// writeSelfSigned writes an ECDSA certificate for 127.0.0.1 and returns the file paths.
func writeSelfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "watch-api-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}

func TestTLSPrefersPostQuantumKeyExchange(t *testing.T) {
	certFile, keyFile := writeSelfSigned(t)
	e := startEnv(t, nil, func(c *Config) {
		c.TLS = configoptional.Some(configtls.ServerConfig{Config: configtls.Config{CertFile: certFile, KeyFile: keyFile}})
	})
	addr := strings.TrimPrefix(e.base, "https://")
	for name, tc := range map[string]struct {
		client []tls.CurveID
		want   tls.CurveID
	}{
		"client offers the hybrid and classic groups": {[]tls.CurveID{tls.X25519, tls.X25519MLKEM768, tls.CurveP256}, tls.X25519MLKEM768},
		"go default client":                           {nil, tls.X25519MLKEM768},
		"classic-only client still connects":          {[]tls.CurveID{tls.X25519}, tls.X25519},
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, CurvePreferences: tc.client, MinVersion: tls.VersionTLS13}) //nolint:gosec // test cert
			require.NoError(t, err)
			defer conn.Close()
			assert.Equal(t, tc.want, conn.ConnectionState().CurveID)
		})
	}
	// And HTTP works over it.
	e.expect(http.StatusOK, "GET", "/v1/status", nil, nil)
}

// An idle stream outlives its per-write deadline and the server's
// write_timeout: each write sets a fresh deadline before it happens.
func TestIdleStreamKeepsHeartbeating(t *testing.T) {
	e := startEnv(t, nil, func(c *Config) { c.Stream.Heartbeat = time.Second; c.WriteTimeout = 1500 * time.Millisecond })
	req, err := http.NewRequest("GET", e.base+"/v1/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := e.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	beats := 0
	deadline := time.Now().Add(8 * time.Second)
	for beats < 3 && time.Now().Before(deadline) && sc.Scan() {
		if sc.Text() == ": keep-alive" {
			beats++
		}
	}
	assert.Equal(t, 3, beats, "stream ended early: %v", sc.Err())
}
