package apnsexporter

import (
	"context"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/apnstest"
	"github.com/latencywatch/latencywatch/internal/watchstate"
)

func TestOneIncidentInAGroupIsOnePushPerDevice(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Devices = []DeviceConfig{{Token: apnstest.Token(100), Teams: []string{"payments"}}}
	})
	e.start()
	tokA := e.register(1, "payments")
	e.register(2, "search") // another team: gets nothing
	tokAll := e.register(3) // no teams: gets everything
	e.at(0,
		point{service: "checkout", region: "eu-west-1", route: "/pay", team: "payments", flagged: true, score: 0.97, value: 1.2, expected: 0.2},
		point{service: "checkout", region: "eu-west-1", route: "/cart", team: "payments", flagged: false, score: 0.1, value: 0.1, expected: 0.1},
		point{service: "checkout", region: "eu-west-1", route: "/home", team: "payments", flagged: false, score: 0.2, value: 0.1, expected: 0.1},
	)
	reqs := e.waitPushes(3)
	got := map[string]bool{}
	for _, r := range reqs {
		got[r.DeviceToken] = true
		assert.Equal(t, 200, r.Status)
		assert.Equal(t, "alert", r.Header.Get("apns-push-type"))
		assert.Equal(t, topic, r.Header.Get("apns-topic"))
		assert.Equal(t, "10", r.Header.Get("apns-priority"))
		assert.Len(t, r.Header.Get("apns-collapse-id"), 16)
		assert.NotEmpty(t, r.Header.Get("apns-expiration"))
		p := decode(t, r)
		assert.Equal(t, watchstate.CategoryAlert, p.APS.Category)
		assert.Equal(t, watchstate.InterruptionTimeSensitive, p.APS.InterruptionLevel) // critical without allow_critical
		assert.InDelta(t, 0.97, p.APS.RelevanceScore, 1e-9)
		assert.Equal(t, `/:{cloud.region="eu-west-1",service.name="checkout"}`, p.APS.ThreadID)
		assert.Equal(t, p.APS.ThreadID, p.LW.GroupKey)
		assert.Equal(t, watchstate.AlertFiring, p.LW.State)
		assert.Equal(t, watchstate.SeverityCritical, p.LW.Severity)
		assert.Equal(t, "payments", p.LW.Team)
		assert.Equal(t, "eu-west-1", p.LW.Region)
		assert.Equal(t, "https://grafana.example.com/d/l?service=checkout", p.LW.Link)
		assert.Equal(t, "checkout http.server.request.duration.p99 eu-west-1 /pay", p.LW.Series)
		assert.InDelta(t, 1.2, p.LW.Value, 1e-9)
		assert.True(t, p.LW.Since.Equal(t0))
	}
	assert.Equal(t, map[string]bool{tokA: true, tokAll: true, apnstest.Token(100): true}, got)

	// The board shows the alert (with its group) and the three series.
	alerts := e.board.ListAlerts(watchstate.AlertFilter{})
	require.Len(t, alerts, 1)
	assert.Equal(t, `/:{cloud.region="eu-west-1",service.name="checkout"}`, alerts[0].GroupKey)
	assert.Len(t, e.board.Status(), 3)
}

func TestRepeatResolvedSilenceAndAck(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.register(1)
	flag := point{service: "checkout", region: "eu", route: "/pay", flagged: true, score: 0.8, value: 1, expected: 0.2}
	quiet := flag
	quiet.flagged, quiet.score = false, 0.1

	e.at(0, flag)
	e.waitPushes(1)
	assert.Equal(t, watchstate.InterruptionActive, decode(t, e.srv.Requests()[0]).APS.InterruptionLevel) // warning
	e.at(time.Minute, flag)
	e.at(9*time.Minute, flag)
	e.waitPushes(1)
	e.at(10*time.Minute, flag) // repeat_interval
	reqs := e.waitPushes(2)
	assert.Contains(t, decode(t, reqs[1]).APS.Alert.Title, "Still firing")
	// Resolves 2m after the last flag; the next group tick sends the resolution.
	e.at(11*time.Minute, quiet)
	e.at(12*time.Minute, quiet)
	reqs = e.waitPushes(3)
	res := decode(t, reqs[2])
	assert.Equal(t, watchstate.AlertResolved, res.LW.State)
	assert.Equal(t, "Resolved", res.APS.Alert.Title)
	assert.Equal(t, watchstate.InterruptionActive, res.APS.InterruptionLevel)
	assert.Equal(t, reqs[0].Header.Get("apns-collapse-id"), reqs[2].Header.Get("apns-collapse-id"))
	assert.Equal(t, watchstate.AlertResolved, e.board.ListAlerts(watchstate.AlertFilter{})[0].State)

	// A silence on the service mutes a new incident.
	e.clock.Set(20 * time.Minute)
	_, err := e.board.CreateSilence(context.Background(), watchstate.Silence{
		Matchers: []watchstate.Matcher{{Name: "service.name", Op: "=", Value: "checkout"}},
		EndsAt:   t0.Add(30 * time.Minute), CreatedBy: "ana",
	})
	require.NoError(t, err)
	e.at(20*time.Minute, flag)
	e.at(21*time.Minute, flag)
	e.waitPushes(3)
	// The silence ends: the incident is pushed.
	e.at(30*time.Minute, flag)
	e.waitPushes(4)
	// Acknowledged: no repeat at +40m; after un-acknowledging, the repeat comes.
	id := watchstate.Fingerprint(mustLabels(t, e))
	_, err = e.board.Acknowledge(context.Background(), id, "ana", "on it")
	require.NoError(t, err)
	e.at(40*time.Minute, flag)
	e.waitPushes(4)
	_, err = e.board.Unacknowledge(context.Background(), id)
	require.NoError(t, err)
	e.at(41*time.Minute, flag)
	e.waitPushes(5)
}

func mustLabels(t *testing.T, e *env) map[string]string {
	t.Helper()
	alerts := e.exp.engine.Alerts()
	require.Len(t, alerts, 1)
	return alerts[0].Labels
}

func TestGoneDeviceIsForgotten(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Devices = []DeviceConfig{{Token: apnstest.Token(100)}, {Token: apnstest.Token(101)}}
	})
	e.start()
	gone := e.register(1)
	bad := e.register(2)
	e.srv.Unregister(gone)
	e.srv.Unregister(apnstest.Token(100))
	e.srv.FailToken(bad, apnstest.Failure{Status: 400, Reason: "BadDeviceToken"})
	e.at(0, point{service: "checkout", region: "eu", route: "/pay", flagged: true, score: 0.8, value: 1})
	reqs := e.waitPushes(4)
	statuses := map[int]int{}
	for _, r := range reqs {
		statuses[r.Status]++
	}
	assert.Equal(t, map[int]int{410: 2, 400: 1, 200: 1}, statuses)
	require.Eventually(t, func() bool { return len(e.board.Devices()) == 0 }, 2*time.Second, 10*time.Millisecond)
	// The next notification goes only to the device that still works.
	e.at(10*time.Minute, point{service: "checkout", region: "eu", route: "/pay", flagged: true, score: 0.8, value: 1})
	reqs = e.waitPushes(5)
	assert.Equal(t, apnstest.Token(101), reqs[4].DeviceToken)

	// Forgotten static tokens stay forgotten after a restart.
	require.NoError(t, e.exp.shutdown(context.Background()))
	e.start()
	assert.True(t, e.exp.forgotten[apnstest.Token(100)])
}

func TestRetriesThrottlingAndTokenRefresh(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.register(1)
	e.srv.FailNext(
		apnstest.Failure{Status: 503, Reason: "ServiceUnavailable"},
		apnstest.Failure{Status: 500, Reason: "InternalServerError"},
		apnstest.Failure{Status: 403, Reason: "ExpiredProviderToken"},
	)
	e.at(0, point{service: "checkout", region: "eu", route: "/pay", flagged: true, score: 0.8, value: 1})
	reqs := e.waitPushes(4)
	assert.Equal(t, []int{503, 500, 403, 200}, []int{reqs[0].Status, reqs[1].Status, reqs[2].Status, reqs[3].Status})
	assert.NotEqual(t, reqs[2].Bearer, reqs[3].Bearer, "a new provider token after ExpiredProviderToken")
}

func TestThrottledPushWaitsAtLeastASecond(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.register(1)
	e.srv.FailNext(apnstest.Failure{Status: 429, Reason: "TooManyRequests"})
	e.at(0, point{service: "checkout", region: "eu", route: "/pay", flagged: true, score: 0.8, value: 1})
	reqs := e.waitPushes(2)
	assert.Equal(t, 429, reqs[0].Status)
	assert.Equal(t, 200, reqs[1].Status)
	assert.GreaterOrEqual(t, reqs[1].Received.Sub(reqs[0].Received), 900*time.Millisecond)
}

func TestPermanentFailureIsNotRetried(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.register(1)
	e.srv.FailNext(apnstest.Failure{Status: 400, Reason: "TopicDisallowed"})
	e.at(0, point{service: "checkout", region: "eu", route: "/pay", flagged: true, score: 0.8, value: 1})
	e.waitPushes(1)
	assert.Len(t, e.board.Devices(), 1, "a request error must not forget the device")
}

func TestStateSurvivesRestart(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.register(1)
	flag := point{service: "checkout", region: "eu", route: "/pay", flagged: true, score: 0.8, value: 1}
	e.at(0, flag)
	e.waitPushes(1)
	require.NoError(t, e.exp.shutdown(context.Background()))
	// A new exporter on the same storage: the incident is known and notified.
	e.start()
	assert.Len(t, e.exp.engine.Alerts(), 1)
	e.at(2*time.Minute, flag)
	e.at(5*time.Minute, flag)
	e.waitPushes(1)
	e.at(10*time.Minute, flag)
	e.waitPushes(2)
}

func TestFactoryWiring(t *testing.T) {
	e := newEnv(t, nil)
	exp, err := NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), e.cfg)
	require.NoError(t, err)
	host := testHost{ext: map[component.ID]component.Component{watchID: boardExt{b: e.board}, storageID: e.storage}}
	require.NoError(t, exp.Start(context.Background(), host))
	e.register(1)
	require.NoError(t, exp.ConsumeMetrics(context.Background(), metrics(point{service: "checkout", region: "eu", route: "/pay", flagged: true, score: 0.8, value: 1})))
	e.waitPushes(1)
	require.NoError(t, exp.Shutdown(context.Background()))
	require.NoError(t, exp.Shutdown(context.Background()), "Shutdown is idempotent")
}

func TestShutdownBeforeStart(t *testing.T) {
	e := newEnv(t, nil)
	exp, err := NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), e.cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Shutdown(context.Background()))
}

func TestStartErrorsNameWhatIsWrong(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		host map[component.ID]component.Component
		want string
	}{
		{"no watch_api", nil, map[component.ID]component.Component{}, `watch_api: extension "watch_api" is not configured`},
		{"not a board", nil, map[component.ID]component.Component{watchID: boardlessExt{}}, "is not a watch_api extension"},
		{"missing key", func(c *Config) { c.APNs.Token.KeyFile = "/nonexistent/AuthKey.p8" }, nil, `reading the APNs key file "/nonexistent/AuthKey.p8"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.mod)
			exp, err := newAPNsExporter(e.cfg, exportertest.NewNopSettings(metadata.Type))
			require.NoError(t, err)
			host := tt.host
			if host == nil {
				host = map[component.ID]component.Component{watchID: boardExt{b: e.board}, storageID: e.storage}
			}
			err = exp.start(context.Background(), testHost{ext: host})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			require.NoError(t, exp.shutdown(context.Background()))
		})
	}
}

type boardlessExt struct {
	component.StartFunc
	component.ShutdownFunc
}

func TestStateIsSavedByTheLoopWithoutShutdown(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.EvaluationInterval = 10 * time.Millisecond })
	e.start()
	e.register(1)
	client, err := e.storage.GetClient(context.Background(), component.KindExporter, component.NewID(metadata.Type), "alerts")
	require.NoError(t, err)
	data, err := client.Get(context.Background(), stateKey)
	require.NoError(t, err)
	require.Nil(t, data, "nothing to save before an alert")
	e.at(0, point{service: "checkout", region: "eu", route: "/pay", flagged: true, score: 0.8, value: 1})
	e.waitPushes(1)
	require.Eventually(t, func() bool {
		data, _ := client.Get(context.Background(), stateKey)
		return strings.Contains(string(data), `"notified"`)
	}, 2*time.Second, 10*time.Millisecond)
}

func TestHugeLabelsStillGiveAValidPayload(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.APNs.AllowCritical = true })
	e.start()
	e.register(1)
	long := "/" + strings.Repeat("very-long-route-segment/", 400) // ~9.6 KB
	e.at(0, point{service: "checkout", region: "eu-west-1", route: long, flagged: true, score: 0.99, value: 1})
	reqs := e.waitPushes(1)
	require.Equal(t, 200, reqs[0].Status, "APNs refused the push: %s", reqs[0].Reason)
	require.LessOrEqual(t, len(reqs[0].Payload), watchstate.MaxPushPayload)
	p := decode(t, reqs[0])
	assert.Equal(t, watchstate.InterruptionCritical, p.APS.InterruptionLevel, "allow_critical")
	assert.Equal(t, map[string]any{"critical": float64(1), "name": "default", "volume": float64(1)}, p.APS.Sound)
	assert.LessOrEqual(t, len(p.LW.Series), watchstate.MaxTextLen)
	// The label value is over the board's 256-byte limit: the push went out,
	// the board refused the alert and the status entry.
	assert.Empty(t, e.board.ListAlerts(watchstate.AlertFilter{}))
}

func TestConcurrentConsumersPushEachIncidentOnce(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.register(1)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				md := metrics(point{service: fmt.Sprintf("svc-%d-%d", g, i), region: "eu", route: "/pay", flagged: true, score: 0.8, value: 1})
				assert.NoError(t, e.exp.consumeMetrics(context.Background(), md))
			}
		}()
	}
	wg.Wait()
	reqs := e.waitPushes(200)
	seen := map[string]bool{}
	for _, r := range reqs {
		k := decode(t, r).LW.GroupKey
		assert.False(t, seen[k], "group %s pushed twice", k)
		seen[k] = true
	}
}

func TestCollapseIDIsFNV1aHex(t *testing.T) {
	for _, k := range []string{"", "{}:{team=\"payments\"}", strings.Repeat("g", 500)} {
		h := fnv.New64a()
		h.Write([]byte(k))
		assert.Equal(t, hex.EncodeToString(h.Sum(nil)), collapseID(k), "%q", k)
	}
}
