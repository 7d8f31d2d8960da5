package apnsexporter

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/apnstest"
	"github.com/latencywatch/latencywatch/internal/watchstate"
	"github.com/latencywatch/latencywatch/internal/watchstate/watchstatetest"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock shared by the exporter and the board.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t0.Add(d)
}

type boardExt struct {
	component.StartFunc
	component.ShutdownFunc
	b *watchstate.Board
}

func (e boardExt) AlertBoard() watchstate.AlertBoard { return e.b }

type testHost struct {
	ext map[component.ID]component.Component
}

func (h testHost) GetExtensions() map[component.ID]component.Component { return h.ext }

var (
	watchID   = component.MustNewID("watch_api")
	storageID = component.MustNewID("file_storage")
	topic     = "com.example.latencywatch.watchkitapp"
)

// env is one exporter against one fake APNs with a board and storage.
type env struct {
	t       *testing.T
	srv     *apnstest.Server
	clock   *fakeClock
	board   *watchstate.Board
	storage *watchstatetest.Storage
	cfg     *Config
	exp     *apnsExporter
	logger  *zap.Logger
}

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	srv, err := apnstest.NewServer(apnstest.Options{})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "AuthKey.p8")
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(keyFile, srv.AuthKeyPEM(), 0o600))
	require.NoError(t, os.WriteFile(caFile, srv.CAPEM(), 0o600))
	cfg := createDefaultConfig().(*Config)
	cfg.APNs.Topic = topic
	cfg.APNs.Endpoint = srv.URL
	cfg.APNs.CAFile = caFile
	cfg.APNs.Token = &TokenAuthConfig{KeyFile: keyFile, KeyID: srv.KeyID, TeamID: srv.TeamID}
	cfg.APNs.PerDevice = RateLimitConfig{Rate: 1000, Burst: 1000}
	cfg.APNs.Retry.InitialInterval = 10 * time.Millisecond
	cfg.APNs.Retry.MaxInterval = 20 * time.Millisecond
	cfg.WatchAPI = &watchID
	cfg.Storage = &storageID
	zero := time.Duration(0)
	cfg.Route.GroupWait = &zero
	cfg.Route.GroupInterval = ptr(time.Minute)
	cfg.Route.RepeatInterval = ptr(10 * time.Minute)
	cfg.ResolveTimeout = 2 * time.Minute
	cfg.EvaluationInterval = time.Hour // the tests call evaluate with the fake clock
	cfg.LinkTemplate = "https://grafana.example.com/d/l?service={service.name}"
	if mod != nil {
		mod(cfg)
	}
	require.NoError(t, cfg.Validate())
	clock := &fakeClock{now: t0}
	e := &env{t: t, srv: srv, clock: clock, cfg: cfg, storage: watchstatetest.NewStorage(), logger: zap.NewNop()}
	e.board = watchstate.NewBoard(watchstate.Options{Now: clock.Now})
	return e
}

func ptr[T any](v T) *T { return &v }

// start creates and starts a (new) exporter on the env's board and storage.
func (e *env) start() *apnsExporter {
	e.t.Helper()
	set := exportertest.NewNopSettings(metadata.Type)
	set.Logger = e.logger
	set.ID = component.NewID(metadata.Type) // stable, so a restart finds its state
	exp, err := newAPNsExporter(e.cfg, set)
	require.NoError(e.t, err)
	exp.clock = e.clock.Now
	host := testHost{ext: map[component.ID]component.Component{watchID: boardExt{b: e.board}, storageID: e.storage}}
	require.NoError(e.t, exp.start(context.Background(), host))
	e.t.Cleanup(func() { _ = exp.shutdown(context.Background()) })
	e.exp = exp
	return exp
}

func (e *env) register(n int, teams ...string) string {
	e.t.Helper()
	tok := apnstest.Token(n)
	_, _, err := e.board.RegisterDevice(context.Background(), watchstate.Device{
		Token: tok, Environment: watchstate.EnvironmentProduction, Topic: topic, User: "ana", Teams: teams,
	})
	require.NoError(e.t, err)
	return tok
}

// point is one data point of a latency series.
type point struct {
	service, region, route, team string
	flagged                      bool
	score, value, expected       float64
}

func metrics(points ...point) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for _, p := range points {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", p.service)
		rm.Resource().Attributes().PutStr("cloud.region", p.region)
		if p.team != "" {
			rm.Resource().Attributes().PutStr("team", p.team)
		}
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("http.server.request.duration.p99")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(t0))
		dp.SetDoubleValue(p.value)
		dp.Attributes().PutStr("http.route", p.route)
		dp.Attributes().PutBool(attrFlag, p.flagged)
		dp.Attributes().PutDouble(attrScore, p.score)
		dp.Attributes().PutDouble(attrExpected, p.expected)
		dp.Attributes().PutStr("latencywatch.anomaly.model", "default@1")
	}
	return md
}

// at sets the clock, consumes the points and evaluates the policy.
func (e *env) at(d time.Duration, points ...point) {
	e.t.Helper()
	e.clock.Set(d)
	if len(points) > 0 {
		require.NoError(e.t, e.exp.consumeMetrics(context.Background(), metrics(points...)))
	}
	e.exp.evaluate(context.Background(), e.clock.Now())
}

// waitPushes waits until n requests reached the server and no more arrive shortly after.
func (e *env) waitPushes(n int) []apnstest.Request {
	e.t.Helper()
	reqs, ok := e.srv.WaitFor(5*time.Second, func(r []apnstest.Request) bool { return len(r) >= n })
	require.True(e.t, ok, "want %d APNs requests, got %d", n, len(reqs))
	time.Sleep(50 * time.Millisecond)
	reqs = e.srv.Requests()
	require.Len(e.t, reqs, n, "more APNs requests than expected")
	return reqs
}

func decode(t *testing.T, r apnstest.Request) watchstate.PushPayload {
	t.Helper()
	var p watchstate.PushPayload
	require.NoError(t, json.Unmarshal(r.Payload, &p))
	return p
}
