//go:build integration

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/latencywatch/latencywatch/internal/apnstest"
	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// apnsRig is the built collector on config/gateway-apns-e2e.yaml, pointed at
// an in-test APNs server that behaves like Apple's.
type apnsRig struct {
	tb       testing.TB
	srv      *apnstest.Server
	col      *collector
	otlpURL  string
	watchURL string
	token    string
	http     *http.Client
	config   string
	health   int
}

func startAPNsRig(t *testing.T, timing map[string]string) *apnsRig {
	t.Helper()
	r, raw, vars, health := prepareAPNsRig(t, timing)
	for k, v := range vars {
		t.Setenv(k, v)
	}
	r.config, r.health = raw, health
	r.col = launchCollector(t, raw)
	r.col.waitReady(t, fmt.Sprintf("http://127.0.0.1:%d/", health), 60*time.Second)
	return r
}

// restart stops the collector and starts it again on the same config, ports and storage.
func (r *apnsRig) restart(t *testing.T) {
	t.Helper()
	r.col.stop(t)
	r.col = launchCollector(t, r.config)
	r.col.waitReady(t, fmt.Sprintf("http://127.0.0.1:%d/", r.health), 60*time.Second)
}

// prepareAPNsRig starts the APNs server and returns the rig (without the
// collector), the config text, the environment it needs and the health port.
func prepareAPNsRig(tb testing.TB, timing map[string]string) (*apnsRig, string, map[string]string, int) {
	tb.Helper()
	srv, err := apnstest.NewServer(apnstest.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	dir := tb.TempDir()
	keyFile, caFile, storage := filepath.Join(dir, "AuthKey.p8"), filepath.Join(dir, "ca.pem"), filepath.Join(dir, "state")
	for p, data := range map[string][]byte{keyFile: srv.AuthKeyPEM(), caFile: srv.CAPEM()} {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.MkdirAll(storage, 0o700); err != nil {
		tb.Fatal(err)
	}
	root := os.Getenv("LW_REPO")
	if root == "" {
		root = "../.."
	}
	raw, err := os.ReadFile(filepath.Join(root, "config", "gateway-apns-e2e.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	otlp, watch, health := freePort(tb), freePort(tb), freePort(tb)
	r := &apnsRig{
		tb: tb, srv: srv, token: "e2e-apns-token-7c1d", http: &http.Client{Timeout: 10 * time.Second},
		otlpURL: fmt.Sprintf("http://127.0.0.1:%d/v1/metrics", otlp), watchURL: fmt.Sprintf("http://127.0.0.1:%d", watch),
	}
	vars := map[string]string{
		"LW_APNS_E2E_OTLP_PORT": fmt.Sprint(otlp), "LW_APNS_E2E_WATCH_PORT": fmt.Sprint(watch),
		"LW_APNS_E2E_HEALTH_PORT": fmt.Sprint(health), "LW_APNS_E2E_TOKEN": r.token,
		"LW_APNS_E2E_ENDPOINT": srv.URL, "LW_APNS_E2E_CA_FILE": caFile, "LW_APNS_E2E_KEY_FILE": keyFile,
		"LW_APNS_E2E_KEY_ID": srv.KeyID, "LW_APNS_E2E_TEAM_ID": srv.TeamID, "LW_APNS_E2E_STORAGE_DIR": storage,
		"LW_APNS_E2E_DEVICE":     apnstest.Token(100),
		"LW_APNS_E2E_GROUP_WAIT": "0s", "LW_APNS_E2E_GROUP_INTERVAL": "1s", "LW_APNS_E2E_REPEAT_INTERVAL": "3s",
		"LW_APNS_E2E_RESOLVE_TIMEOUT": "2s",
	}
	for k, v := range timing {
		vars[k] = v
	}
	return r, string(raw), vars, health
}

// call is a watch_api request with the bearer token.
func (r *apnsRig) call(method, path string, body any, want int, into any) {
	r.tb.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, r.watchURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		r.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		var msg bytes.Buffer
		_, _ = msg.ReadFrom(resp.Body)
		r.tb.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, msg.String())
	}
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			r.tb.Fatalf("%s %s: decoding: %v", method, path, err)
		}
	}
}

func (r *apnsRig) register(token string) {
	r.call("POST", "/v1/devices", map[string]any{
		"token": token, "environment": "development", "topic": "com.example.latencywatch.watchkitapp", "user": "ana",
	}, http.StatusCreated, nil)
}

// apnsSeries is one latency series of the incident generator.
type apnsSeries struct {
	service, region, route string
	flagged                bool
	score                  float64
}

func apnsMetrics(ss ...apnsSeries) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for _, s := range ss {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", s.service)
		rm.Resource().Attributes().PutStr("cloud.region", s.region)
		rm.Resource().Attributes().PutStr("team", "payments")
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("http.server.request.duration.p99")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		value, expected := 0.12, 0.1
		if s.flagged {
			value = 1.4
		}
		dp.SetDoubleValue(value)
		dp.Attributes().PutStr("http.route", s.route)
		dp.Attributes().PutBool("latencywatch.anomaly.flag", s.flagged)
		dp.Attributes().PutDouble("latencywatch.anomaly.score", s.score)
		dp.Attributes().PutDouble("latencywatch.anomaly.expected", expected)
	}
	return md
}

func (r *apnsRig) send(ss ...apnsSeries) {
	r.tb.Helper()
	body, err := pmetricotlp.NewExportRequestFromMetrics(apnsMetrics(ss...)).MarshalProto()
	if err != nil {
		r.tb.Fatal(err)
	}
	resp, err := r.http.Post(r.otlpURL, "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		r.tb.Fatalf("OTLP export: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.tb.Fatalf("OTLP export: %d", resp.StatusCode)
	}
}

// keepSending re-sends the series every 300ms (an incident keeps being
// flagged) until the returned stop is called.
func (r *apnsRig) keepSending(ss ...apnsSeries) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			body, _ := pmetricotlp.NewExportRequestFromMetrics(apnsMetrics(ss...)).MarshalProto()
			if resp, err := r.http.Post(r.otlpURL, "application/x-protobuf", bytes.NewReader(body)); err == nil {
				resp.Body.Close()
			}
			select {
			case <-done:
				return
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// apnsPushesFor returns the accepted pushes whose group is the service's, per device.
func apnsPushesFor(reqs []apnstest.Request, service string) map[string][]watchstate.PushPayload {
	out := map[string][]watchstate.PushPayload{}
	for _, q := range reqs {
		var p watchstate.PushPayload
		if json.Unmarshal(q.Payload, &p) != nil || !strings.Contains(p.LW.GroupKey, `service.name="`+service+`"`) {
			continue
		}
		if q.Status == http.StatusOK {
			out[q.DeviceToken] = append(out[q.DeviceToken], p)
		}
	}
	return out
}

func apnsCountFor(reqs []apnstest.Request, service, token string) int {
	return len(apnsPushesFor(reqs, service)[token])
}

// TestE2EAPNs drives the built collector through an incident's life:
// one push per group and device, 410 forgets the device, repeats honour
// repeat_interval, an acknowledgement suppresses repeats, the resolution is
// pushed, and a silence created through watch_api mutes a new incident.
func TestE2EAPNs(t *testing.T) {
	r := startAPNsRig(t, nil)
	ok, gone, static := apnstest.Token(1), apnstest.Token(2), apnstest.Token(100)
	r.register(ok)
	r.register(gone)
	r.srv.Unregister(gone)

	checkout := []apnsSeries{
		{"checkout", "eu-west-1", "/pay", true, 0.97},
		{"checkout", "eu-west-1", "/cart", false, 0.1},
		{"checkout", "eu-west-1", "/home", false, 0.2},
	}
	search := []apnsSeries{{"search", "us-east-1", "/q", false, 0.1}, {"search", "us-east-1", "/suggest", false, 0.3}}
	stop := r.keepSending(append(checkout, search...)...)
	defer stop()

	t.Run("one push per group and device", func(t *testing.T) {
		reqs, done := r.srv.WaitFor(10*time.Second, func(q []apnstest.Request) bool {
			return apnsCountFor(q, "checkout", ok) >= 1 && apnsCountFor(q, "checkout", static) >= 1
		})
		if !done {
			t.Fatalf("no push for the checkout group: %d requests", len(reqs))
		}
		time.Sleep(1500 * time.Millisecond) // a group_interval later: still one (repeat_interval is 3s)
		reqs = r.srv.Requests()
		for _, tok := range []string{ok, static} {
			ps := apnsPushesFor(reqs, "checkout")[tok]
			if len(ps) != 1 {
				t.Fatalf("device %s got %d checkout pushes, want 1", tok[:8], len(ps))
			}
			p := ps[0]
			if p.LW.State != watchstate.AlertFiring || p.LW.Severity != watchstate.SeverityCritical ||
				p.APS.InterruptionLevel != watchstate.InterruptionTimeSensitive || p.APS.Category != watchstate.CategoryAlert ||
				!strings.Contains(p.LW.Series, "/pay") || p.APS.ThreadID != p.LW.GroupKey {
				t.Fatalf("push payload: %+v", p)
			}
		}
		if n := len(apnsPushesFor(reqs, "search")); n != 0 {
			t.Fatalf("the search group has no anomaly but %d devices got pushes", n)
		}
	})

	t.Run("410 removes the device", func(t *testing.T) {
		var list struct {
			Devices []watchstate.Device `json:"devices"`
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			r.call("GET", "/v1/devices", nil, http.StatusOK, &list)
			if len(list.Devices) == 1 && list.Devices[0].Token == ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("devices after a 410: %+v", list.Devices)
			}
			time.Sleep(100 * time.Millisecond)
		}
		gones := 0
		for _, q := range r.srv.Requests() {
			if q.DeviceToken == gone {
				gones++
			}
		}
		if gones != 1 {
			t.Fatalf("%d requests to the unregistered token, want exactly 1", gones)
		}
	})

	t.Run("repeats honour repeat_interval", func(t *testing.T) {
		var firstAt time.Time
		for _, q := range r.srv.Requests() {
			if q.DeviceToken == ok && q.Status == 200 {
				firstAt = q.Received
				break
			}
		}
		reqs, done := r.srv.WaitFor(10*time.Second, func(q []apnstest.Request) bool { return apnsCountFor(q, "checkout", ok) >= 2 })
		if !done {
			t.Fatalf("no repeat within 10s (repeat_interval 3s)")
		}
		var second time.Time
		n := 0
		for _, q := range reqs {
			if q.DeviceToken == ok && q.Status == 200 {
				if n++; n == 2 {
					second = q.Received
				}
			}
		}
		gap := second.Sub(firstAt)
		if gap < 2900*time.Millisecond || gap > 5*time.Second {
			t.Fatalf("repeat came %s after the first push; want 3s..4s (repeat_interval 3s on a 1s group_interval)", gap)
		}
		if p := apnsPushesFor(reqs, "checkout")[ok][1]; !strings.HasPrefix(p.APS.Alert.Title, "Still firing") {
			t.Fatalf("repeat title %q", p.APS.Alert.Title)
		}
	})

	var alertID string
	t.Run("acknowledgement suppresses repeats", func(t *testing.T) {
		var list struct {
			Alerts []watchstate.Alert `json:"alerts"`
		}
		r.call("GET", "/v1/alerts?state=firing", nil, http.StatusOK, &list)
		for _, a := range list.Alerts {
			if a.Labels["service.name"] == "checkout" {
				alertID = a.ID
			}
		}
		if alertID == "" {
			t.Fatalf("the checkout alert is not on the board: %+v", list.Alerts)
		}
		r.call("POST", "/v1/alerts/"+alertID+"/ack", map[string]string{"by": "ana", "comment": "on it"}, http.StatusOK, nil)
		before := apnsCountFor(r.srv.Requests(), "checkout", ok)
		time.Sleep(4500 * time.Millisecond) // longer than repeat_interval
		if after := apnsCountFor(r.srv.Requests(), "checkout", ok); after > before+1 {
			// One repeat may already have been decided when the ack arrived.
			t.Fatalf("%d checkout pushes after the acknowledgement", after-before)
		}
		before = apnsCountFor(r.srv.Requests(), "checkout", ok)
		time.Sleep(3500 * time.Millisecond)
		if after := apnsCountFor(r.srv.Requests(), "checkout", ok); after != before {
			t.Fatalf("%d repeats while acknowledged", after-before)
		}
	})

	t.Run("resolved push arrives", func(t *testing.T) {
		stop()
		quiet := append([]apnsSeries(nil), checkout...)
		quiet[0].flagged, quiet[0].score = false, 0.1
		stopQuiet := r.keepSending(quiet...)
		defer stopQuiet()
		reqs, done := r.srv.WaitFor(10*time.Second, func(q []apnstest.Request) bool {
			ps := apnsPushesFor(q, "checkout")[ok]
			return len(ps) > 0 && ps[len(ps)-1].LW.State == watchstate.AlertResolved
		})
		if !done {
			t.Fatalf("no resolved push within 10s (resolve_timeout 2s): %d requests", len(reqs))
		}
		ps := apnsPushesFor(reqs, "checkout")[ok]
		last := ps[len(ps)-1]
		if last.APS.Alert.Title != "Resolved" || last.LW.AlertID != alertID {
			t.Fatalf("resolved push: %+v", last)
		}
	})

	t.Run("silence suppresses", func(t *testing.T) {
		r.call("POST", "/v1/silences", map[string]any{
			"matchers":         []map[string]string{{"name": "service.name", "op": "=", "value": "payments"}},
			"duration_seconds": 3600, "created_by": "ana", "comment": "deploy",
		}, http.StatusCreated, nil)
		stopIncident := r.keepSending(apnsSeries{"payments", "eu-west-1", "/charge", true, 0.99}, apnsSeries{"inventory", "eu-west-1", "/stock", true, 0.99})
		defer stopIncident()
		// The unsilenced inventory incident proves the pipeline is live.
		if _, done := r.srv.WaitFor(10*time.Second, func(q []apnstest.Request) bool { return apnsCountFor(q, "inventory", ok) >= 1 }); !done {
			t.Fatal("no push for the unsilenced inventory incident")
		}
		time.Sleep(2 * time.Second)
		if n := apnsCountFor(r.srv.Requests(), "payments", ok); n != 0 {
			t.Fatalf("%d pushes for the silenced payments incident", n)
		}
	})

	// Every request the collector made was valid by Apple's rules (apart
	// from the scripted 410) and signed with a provider token.
	for _, q := range r.srv.Requests() {
		if q.Status != 200 && !(q.Status == 410 && q.DeviceToken == gone) {
			t.Errorf("APNs answered %d %s to a request for %s", q.Status, q.Reason, q.DeviceToken[:8])
		}
		if q.Bearer == "" {
			t.Errorf("a request without a provider token")
		}
	}
	if strings.Contains(r.col.out.String(), string(r.srv.AuthKeyPEM()[40:80])) {
		t.Error("the collector's output contains key material")
	}
}

// TestE2EAPNsRestart: the alert state survives a restart through file_storage:
// an incident notified before the restart is not pushed again after it
// (repeat_interval 1h), the registered device is still there, and new
// incidents are pushed.
func TestE2EAPNsRestart(t *testing.T) {
	r := startAPNsRig(t, map[string]string{"LW_APNS_E2E_REPEAT_INTERVAL": "1h", "LW_APNS_E2E_RESOLVE_TIMEOUT": "1h"})
	ok := apnstest.Token(1)
	r.register(ok)
	incident := apnsSeries{"checkout", "eu-west-1", "/pay", true, 0.97}
	stop := r.keepSending(incident)
	if _, done := r.srv.WaitFor(10*time.Second, func(q []apnstest.Request) bool { return apnsCountFor(q, "checkout", ok) >= 1 }); !done {
		t.Fatal("no push before the restart")
	}
	stop()
	r.restart(t)
	stop = r.keepSending(incident, apnsSeries{"inventory", "eu-west-1", "/stock", true, 0.97})
	defer stop()
	if _, done := r.srv.WaitFor(10*time.Second, func(q []apnstest.Request) bool { return apnsCountFor(q, "inventory", ok) >= 1 }); !done {
		t.Fatal("no push for a new incident after the restart")
	}
	time.Sleep(2500 * time.Millisecond) // more than two group_intervals
	if n := apnsCountFor(r.srv.Requests(), "checkout", ok); n != 1 {
		t.Fatalf("checkout pushed %d times across the restart, want 1", n)
	}
	var list struct {
		Alerts []watchstate.Alert `json:"alerts"`
	}
	r.call("GET", "/v1/alerts?state=firing", nil, http.StatusOK, &list)
	if len(list.Alerts) != 2 {
		t.Fatalf("firing alerts on the board after the restart: %+v", list.Alerts)
	}
}
