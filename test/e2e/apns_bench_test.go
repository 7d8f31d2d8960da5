//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latencywatch/latencywatch/internal/apnstest"
	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// BenchmarkE2EAPNsLatency: the built collector on config/gateway-apns-e2e.yaml
// (group_wait 0) and the in-test APNs server. Each iteration posts one
// anomalous point of a new series to the OTLP/HTTP receiver and waits for its
// push; the latency is from just before the POST to the moment the APNs
// server has read the request. Reports p50 and p99.
//
//	LW_BINARY=$PWD/build/otelcol-latencywatch go test -tags integration -run '^$' \
//	  -bench BenchmarkE2EAPNsLatency -benchtime 2000x ./test/e2e/
func BenchmarkE2EAPNsLatency(b *testing.B) {
	// Long repeat and resolve intervals: exactly one push per point.
	r, raw, vars, health := prepareAPNsRig(b, map[string]string{
		"LW_APNS_E2E_REPEAT_INTERVAL": "1h", "LW_APNS_E2E_RESOLVE_TIMEOUT": "1h",
	})
	bin := collectorBinary(b)
	path := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", path)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", health))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-done:
			b.Fatalf("collector exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("collector not healthy within 60s:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Warm up the connections (OTLP and APNs) outside the measurement.
	r.send(apnsSeries{"warmup", "eu-west-1", "/w", true, 0.99})
	if _, ok := r.srv.WaitFor(10*time.Second, func(q []apnstest.Request) bool { return len(q) >= 1 }); !ok {
		b.Fatalf("no warm-up push:\n%s", out.String())
	}

	sent := map[string]time.Time{}
	i := 0
	for b.Loop() {
		svc := fmt.Sprintf("lat-%d", i)
		i++
		want := r.srv.Count() + 1
		sent[svc] = time.Now()
		r.send(apnsSeries{svc, "eu-west-1", "/pay", true, 0.99})
		limit := time.Now().Add(10 * time.Second)
		for r.srv.Count() < want {
			if time.Now().After(limit) {
				b.Fatalf("no push for %s within 10s", svc)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	b.StopTimer()
	var lat []time.Duration
	for _, q := range r.srv.Requests() {
		var p watchstate.PushPayload
		if json.Unmarshal(q.Payload, &p) != nil {
			continue
		}
		for svc, at := range sent {
			if strings.Contains(p.LW.GroupKey, `service.name="`+svc+`"`) {
				lat = append(lat, q.Received.Sub(at))
			}
		}
	}
	if len(lat) != len(sent) {
		b.Fatalf("matched %d pushes to %d points", len(lat), len(sent))
	}
	sort.Slice(lat, func(a, c int) bool { return lat[a] < lat[c] })
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
