package apnsexporter

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/token"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"golang.org/x/net/http2"

	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/apnsclient"
	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/apnstest"
	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// benchConcurrency is both the exporter's max_concurrency and the raw
// client's number of goroutines, so the two compare like for like.
const benchConcurrency = 8

type benchRig struct {
	srv             *apnstest.Server
	keyFile, caFile string
	cfg             *Config
	board           *watchstate.Board
	host            testHost
}

func newBenchRig(b *testing.B) *benchRig {
	b.Helper()
	srv, err := apnstest.NewServer(apnstest.Options{DoNotRecord: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	return newBenchRigOn(b, srv, 1)
}

// newBenchRigOn prepares an exporter config and a board with devices
// registered devices against srv.
func newBenchRigOn(b *testing.B, srv *apnstest.Server, devices int) *benchRig {
	b.Helper()
	var err error
	dir := b.TempDir()
	r := &benchRig{srv: srv, keyFile: filepath.Join(dir, "AuthKey.p8"), caFile: filepath.Join(dir, "ca.pem")}
	if err := os.WriteFile(r.keyFile, srv.AuthKeyPEM(), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(r.caFile, srv.CAPEM(), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg := createDefaultConfig().(*Config)
	cfg.APNs.Topic = topic
	cfg.APNs.Endpoint, cfg.APNs.CAFile = srv.URL, r.caFile
	cfg.APNs.Token = &TokenAuthConfig{KeyFile: r.keyFile, KeyID: srv.KeyID, TeamID: srv.TeamID}
	cfg.APNs.MaxConcurrency = benchConcurrency
	cfg.APNs.QueueSize = 1 << 20
	cfg.APNs.PerDevice = RateLimitConfig{Rate: 1e9, Burst: 1 << 30}
	cfg.WatchAPI = &watchID
	zero := time.Duration(0)
	cfg.Route.GroupWait = &zero
	cfg.Route.GroupBy = []string{"..."} // every series its own group: one push per point
	cfg.EvaluationInterval = time.Hour
	r.cfg = cfg
	r.board = watchstate.NewBoard(watchstate.Options{MaxAlerts: 1 << 22, MaxStatusEntries: 1 << 22})
	r.host = testHost{ext: map[component.ID]component.Component{watchID: boardExt{b: r.board}}}
	for i := 1; i <= devices; i++ {
		_, _, err = r.board.RegisterDevice(context.Background(), watchstate.Device{
			Token: apnstest.Token(i), Environment: watchstate.EnvironmentProduction, Topic: topic, User: "bench",
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return r
}

func (r *benchRig) waitCount(b *testing.B, n int) {
	deadline := time.Now().Add(2 * time.Minute)
	for r.srv.Count() < n {
		if time.Now().After(deadline) {
			b.Fatalf("APNs saw %d of %d pushes", r.srv.Count(), n)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// BenchmarkPushThroughput compares pushes/s through the exporter with raw
// apns2 pushing a ready payload, against the same local APNs server. Each loop
// iteration is one round of pushesPerRound raw pushes (benchConcurrency
// goroutines) followed by as many exporter pushes (points from
// benchConcurrency goroutines, like concurrent OTLP requests), so both sides
// see the same (shared, noisy) machine; the reported rates are totals over
// all rounds.
//
//   - devices=1: every point is a new series in its own group (the policy
//     state grows by one alert and group per point) notified to one device:
//     one push per point, the worst case for the exporter;
//   - devices=4: the same, notified to a team of 4 devices;
//   - dispatcher_only: ready payloads through the exporter's sending layer
//     (queue, per-device limit, classifier, retries), without the policy.
func BenchmarkPushThroughput(b *testing.B) {
	r := newBenchRig(b)
	// The raw side pushes the payload the exporter builds for one of its
	// points (same shape and size: the server parses every body).
	labels := map[string]string{
		"service.name": "svc-1234", "cloud.region": "eu-west-1", "http.route": "/pay",
		"metric.name": "http.server.request.duration.p99",
	}
	payload, err := watchstate.NewPushPayload(watchstate.Alert{
		ID: watchstate.Fingerprint(labels), Labels: labels, Series: "svc-1234 http.server.request.duration.p99 eu-west-1 /pay",
		GroupKey: `/:{cloud.region="eu-west-1",http.route="/pay",metric.name="http.server.request.duration.p99",service.name="svc-1234"}`,
		State:    watchstate.AlertFiring, Severity: watchstate.SeverityCritical, Value: 1.4, Expected: 0.1, Score: 0.97,
		Since: time.Now(),
	}, false).Encode(0)
	if err != nil {
		b.Fatal(err)
	}
	key, err := token.AuthKeyFromFile(r.keyFile)
	if err != nil {
		b.Fatal(err)
	}
	raw := apns2.NewTokenClient(&token.Token{AuthKey: key, KeyID: r.srv.KeyID, TeamID: r.srv.TeamID})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(r.srv.CAPEM())
	raw.HTTPClient = &http.Client{Transport: &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	raw.Host = r.srv.URL
	rawPush := func() error {
		res, err := raw.Push(&apns2.Notification{
			DeviceToken: apnstest.Token(1), Topic: topic, Payload: payload, CollapseID: "abcdef0123456789",
			Priority: 10, Expiration: time.Now().Add(time.Hour), PushType: apns2.PushTypeAlert,
		})
		if err == nil && res.StatusCode != 200 {
			err = fmt.Errorf("raw push: %d %s", res.StatusCode, res.Reason)
		}
		return err
	}

	for _, devices := range []int{1, 4} {
		b.Run(fmt.Sprintf("devices=%d", devices), func(b *testing.B) {
			rig := newBenchRigOn(b, r.srv, devices)
			exp := startBenchExporter(b, rig)
			// benchConcurrency producers, like as many concurrent OTLP requests
			// (the raw side has as many concurrent callers).
			var series atomic.Int64
			throughputRounds(b, r.srv, rawPush, func(pushes int) int {
				points := int64(pushes / devices)
				var next atomic.Int64
				var wg sync.WaitGroup
				for range benchConcurrency {
					wg.Add(1)
					go func() {
						defer wg.Done()
						md := metrics(point{service: "svc", region: "eu-west-1", route: "/pay", flagged: true, score: 0.97, value: 1.4, expected: 0.1})
						svc := md.ResourceMetrics().At(0).Resource().Attributes()
						for next.Add(1) <= points {
							svc.PutStr("service.name", "svc-"+strconv.FormatInt(series.Add(1), 10))
							if err := exp.ConsumeMetrics(context.Background(), md); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				return int(points) * devices
			})
		})
	}
	b.Run("dispatcher_only", func(b *testing.B) {
		c, err := newClient(r.cfg.APNs)
		if err != nil {
			b.Fatal(err)
		}
		tel, err := metadata.NewTelemetryBuilder(exportertest.NewNopSettings(metadata.Type).TelemetrySettings)
		if err != nil {
			b.Fatal(err)
		}
		d := newDispatcher(c, r.cfg.APNs, tel, zap.NewNop(), func(string) {})
		b.Cleanup(func() { d.stop(context.Background()) })
		throughputRounds(b, r.srv, rawPush, func(pushes int) int {
			for range pushes {
				d.enqueue(pushJob{decided: time.Now(), n: apnsclient.Notification{
					Environment: apnsclient.Production, DeviceToken: apnstest.Token(1), Topic: topic, CollapseID: "abcdef0123456789",
					Priority: 10, Expiration: time.Now().Add(time.Hour), Payload: payload,
				}})
			}
			return pushes
		})
	})
}

// throughputRounds runs the interleaved rounds: raw pushes, then produce
// (which starts the exporter side's pushes and returns how many), waiting
// until the server has answered all of them.
func throughputRounds(b *testing.B, srv *apnstest.Server, rawPush func() error, produce func(pushes int) int) {
	const pushesPerRound = 500
	var rawTime, expTime time.Duration
	rawPushes, expPushes := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range benchConcurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= pushesPerRound {
					if err := rawPush(); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		rawTime += time.Since(start)
		rawPushes += pushesPerRound

		base := srv.Count()
		start = time.Now()
		n := produce(pushesPerRound)
		deadline := time.Now().Add(2 * time.Minute)
		for srv.Count() < base+n {
			if time.Now().After(deadline) {
				b.Fatalf("APNs saw %d of %d pushes", srv.Count()-base, n)
			}
			time.Sleep(200 * time.Microsecond)
		}
		expTime += time.Since(start)
		expPushes += n
	}
	rawRate := float64(rawPushes) / rawTime.Seconds()
	expRate := float64(expPushes) / expTime.Seconds()
	b.ReportMetric(rawRate, "raw-pushes/s")
	b.ReportMetric(expRate, "exporter-pushes/s")
	b.ReportMetric(expRate/rawRate, "exporter/raw")
}

func startBenchExporter(b *testing.B, r *benchRig) exporter.Metrics {
	b.Helper()
	exp, err := NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), r.cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.Start(context.Background(), r.host); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

// BenchmarkOTLPToAPNsLatency measures, one anomalous point at a time, the
// time from posting it to an OTLP/HTTP receiver wired to the exporter
// (group_wait 0) until the APNs server has read the push. Reports p50/p99.
func BenchmarkOTLPToAPNsLatency(b *testing.B) {
	r := newBenchRig(b)
	exp := startBenchExporter(b, r)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rcfg := otlpreceiver.NewFactory().CreateDefaultConfig().(*otlpreceiver.Config)
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = addr
	rcfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	rcfg.Protocols.HTTP = configoptional.Some(otlpreceiver.HTTPConfig{ServerConfig: server, MetricsURLPath: "/v1/metrics"})
	recv, err := otlpreceiver.NewFactory().CreateMetrics(context.Background(), receivertest.NewNopSettings(component.MustNewType("otlp")), rcfg, exp)
	if err != nil {
		b.Fatal(err)
	}
	if err := recv.Start(context.Background(), r.host); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = recv.Shutdown(context.Background()) })
	url := "http://" + addr + "/v1/metrics"
	hc := &http.Client{Timeout: 10 * time.Second}

	var lat []time.Duration
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		body, _ := pmetricotlp.NewExportRequestFromMetrics(metrics(point{
			service: fmt.Sprintf("lat-%d", i), region: "eu-west-1", route: "/pay", flagged: true, score: 0.97, value: 1.4, expected: 0.1,
		})).MarshalProto()
		want := r.srv.Count() + 1
		start := time.Now()
		resp, err := hc.Post(url, "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		for r.srv.Count() < want {
			if time.Since(start) > 10*time.Second {
				b.Fatal("no push within 10s")
			}
			time.Sleep(20 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
		i++
	}
	sort.Slice(lat, func(a, c int) bool { return lat[a] < lat[c] })
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// nopSender accepts every push without I/O.
type nopSender struct{ n atomic.Int64 }

func (s *nopSender) Send(context.Context, apnsclient.Notification) apnsclient.Verdict {
	s.n.Add(1)
	return apnsclient.Verdict{Kind: apnsclient.Sent}
}
func (*nopSender) CloseIdleConnections() {}

// BenchmarkConsumeNewIncident is the exporter's own CPU per push: a flagged
// point of a new series (group_wait 0) through observe, policy, board and
// payload to an APNs sender that does no I/O.
func BenchmarkConsumeNewIncident(b *testing.B) {
	r := newBenchRig(b)
	exp, err := newAPNsExporter(r.cfg, exportertest.NewNopSettings(metadata.Type))
	if err != nil {
		b.Fatal(err)
	}
	s := &nopSender{}
	exp.newSender = func() (sender, error) { return s, nil }
	if err := exp.start(context.Background(), r.host); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = exp.shutdown(context.Background()) })
	md := metrics(point{service: "svc", region: "eu-west-1", route: "/pay", flagged: true, score: 0.97, value: 1.4, expected: 0.1})
	svc := md.ResourceMetrics().At(0).Resource().Attributes()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		svc.PutStr("service.name", "svc-"+strconv.Itoa(i))
		i++
		if err := exp.consumeMetrics(context.Background(), md); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	for s.n.Load() < int64(i) {
		time.Sleep(time.Millisecond)
	}
}
