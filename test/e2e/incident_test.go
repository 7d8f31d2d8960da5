//go:build integration

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/latencywatch/latencywatch/internal/apnstest"
	"github.com/latencywatch/latencywatch/internal/testbrokers"
	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// incidentSidecar is the sidecar half of DESIGN.md's data flow: OTLP in →
// latency_enrich (inline metadata table) → tf_anomaly (embedded TF model) →
// pulsar exporter. It knows nothing about the owning team or the region: the
// metadata table adds them.
const incidentSidecar = `
extensions:
  health_check:
    endpoint: 127.0.0.1:${HEALTH_PORT}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${OTLP_PORT}
processors:
  latency_enrich:
    keys:
      - attributes:
          - {from: resource, attribute: service.name}
    attributes:
      - {column: region, name: cloud.region}
      - {column: team, name: team}
    table:
      inline:
        rows:
          - {key: checkout, values: {region: eu-west-1, team: payments}}
          - {key: search, values: {region: us-east-1, team: discovery}}
  tf_anomaly:
    series_attributes: [service.name, http.route]
exporters:
  pulsar:
    service_url: ${PULSAR_URL}
    metrics: {topic: "${TOPIC}"}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics: {receivers: [otlp], processors: [latency_enrich, tf_anomaly], exporters: [pulsar]}
`

// TestE2EIncidentSidecarToWatch runs the whole path of DESIGN.md through two
// built collectors and a real Pulsar broker: a latency incident in one series
// is enriched and flagged by the sidecar, carried over Pulsar to the gateway,
// turned into exactly one alert push to the on-call device (with the region
// and team the sidecar's metadata table added), shown on the watch API board,
// and resolved with a resolved push once the series is quiet.
func TestE2EIncidentSidecarToWatch(t *testing.T) {
	pulsarURL, _ := testbrokers.Pulsar(t)
	topic := fmt.Sprintf("persistent://public/default/lw-e2e-incident-%d", time.Now().UnixNano())

	// Gateway: config/gateway-apns-e2e.yaml with the pulsar receiver in place of OTLP.
	rig, raw, vars, health := prepareAPNsRig(t, map[string]string{
		"LW_APNS_E2E_REPEAT_INTERVAL": "1h", "LW_APNS_E2E_RESOLVE_TIMEOUT": "3s",
	})
	otlpBlock := "receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:${env:LW_APNS_E2E_OTLP_PORT}\n"
	if !strings.Contains(raw, otlpBlock) || !strings.Contains(raw, "receivers: [otlp]") {
		t.Fatalf("config/gateway-apns-e2e.yaml changed shape: this test swaps its OTLP receiver block for a pulsar receiver")
	}
	raw = strings.Replace(raw, otlpBlock, fmt.Sprintf(`receivers:
  pulsar:
    service_url: %s
    metrics: {topics: ["%s"]}
    subscription: lw-e2e-gateway
    initial_position: earliest
`, pulsarURL, topic), 1)
	raw = strings.Replace(raw, "receivers: [otlp]", "receivers: [pulsar]", 1)
	for k, v := range vars {
		t.Setenv(k, v)
	}
	gateway := launchCollector(t, raw)
	gateway.waitReady(t, fmt.Sprintf("http://127.0.0.1:%d/", health), 60*time.Second)
	device := vars["LW_APNS_E2E_DEVICE"]

	otlpPort := freePort(t)
	startCollector(t, incidentSidecar, map[string]string{
		"OTLP_PORT": fmt.Sprint(otlpPort), "PULSAR_URL": pulsarURL, "TOPIC": topic,
	})
	client := newOTLPClient(t, fmt.Sprintf("127.0.0.1:%d", otlpPort))

	// 100 steady points (the model's warm-up and context), then a 10x burst.
	for b := 0; b < 10; b++ {
		client.sendMetrics(t, []pmetric.Metrics{latencySeries(100*b, 10, 0.08)})
	}
	client.sendMetrics(t, []pmetric.Metrics{latencySeries(1000, 8, 0.8)})

	firing := func(reqs []apnstest.Request) []watchstate.PushPayload {
		var out []watchstate.PushPayload
		for _, p := range apnsPushesFor(reqs, "checkout")[device] {
			if p.LW.State == watchstate.AlertFiring {
				out = append(out, p)
			}
		}
		return out
	}
	reqs, ok := rig.srv.WaitFor(60*time.Second, func(q []apnstest.Request) bool { return len(firing(q)) > 0 })
	if !ok {
		t.Fatalf("no firing push reached APNs within 60s; %d APNs requests in all:\nsidecar→pulsar→gateway output:\n%s", len(reqs), gateway.out.String())
	}
	push := firing(reqs)[0]
	if push.LW.Region != "eu-west-1" || push.LW.Team != "payments" {
		t.Errorf("push carries region %q team %q, want eu-west-1/payments from the sidecar's metadata table: %+v", push.LW.Region, push.LW.Team, push.LW)
	}
	if !strings.Contains(push.LW.GroupKey, `cloud.region="eu-west-1"`) {
		t.Errorf("group key %q does not group by the enriched region", push.LW.GroupKey)
	}
	if push.LW.Score < 0 || push.LW.Score > 1 || push.LW.Expected <= 0 || push.LW.Expected > 0.2 {
		t.Errorf("push score %v expected %v: want a 0..1 score and the model's expectation near the 0.08 s baseline", push.LW.Score, push.LW.Expected)
	}

	// The board behind the watch API shows the same alert.
	var list struct {
		Alerts []watchstate.Alert `json:"alerts"`
	}
	rig.call(http.MethodGet, "/v1/alerts", nil, http.StatusOK, &list)
	found := false
	for _, a := range list.Alerts {
		if a.ID == push.LW.AlertID {
			found = true
			if a.Labels["team"] != "payments" {
				t.Errorf("board alert labels %v lack the enriched team", a.Labels)
			}
		}
	}
	if !found {
		t.Errorf("alert %s from the push is not on the watch API board (%d alerts)", push.LW.AlertID, len(list.Alerts))
	}

	// Quiet series → resolved push; never a second firing push for the incident.
	reqs, ok = rig.srv.WaitFor(60*time.Second, func(q []apnstest.Request) bool {
		for _, p := range apnsPushesFor(q, "checkout")[device] {
			if p.LW.State == watchstate.AlertResolved {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("no resolved push within 60s of the incident ending")
	}
	if n := len(firing(reqs)); n != 1 {
		t.Errorf("%d firing pushes for one incident, want exactly 1", n)
	}
	t.Logf("incident → %d APNs requests; first push %q (score %.2f, expected %.3f s)", len(reqs), push.APS.Alert.Title, push.LW.Score, push.LW.Expected)
}
