//go:build integration

// Package e2e tests the built otelcol-latencywatch binary ($LW_BINARY, made by
// `make build`) against real parts: Kafka and Pulsar brokers started by
// scripts/with-brokers.sh, and in-test OTLP clients and sinks.
//
// Every test here fails (never skips) when a part it needs is missing, so a
// broken harness shows up as a red `make test`, not as a quiet pass.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// collectorBinary returns the path of the built collector or fails the test.
func collectorBinary(t testing.TB) string {
	t.Helper()
	p := os.Getenv("LW_BINARY")
	if p == "" {
		t.Fatal("LW_BINARY is not set: run the end-to-end tests through `make test` (or `make integration`), which builds build/otelcol-latencywatch")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("collector binary %s: %v (run `make build`)", p, err)
	}
	return p
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a child's output while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// collector is a running otelcol-latencywatch process.
type collector struct {
	cmd        *exec.Cmd
	out        *syncBuffer
	healthPort int
	done       chan struct{}
	stopOnce   sync.Once
}

// startCollector writes config to a temp file, starts the binary on it and
// waits until the health_check extension answers. The config must contain the
// placeholder ${HEALTH_PORT}; further ${KEY} placeholders come from vars.
// The process is stopped when the test ends, and its output is logged on failure.
func startCollector(t *testing.T, config string, vars map[string]string) *collector {
	t.Helper()
	healthPort := freePort(t)
	repl := []string{"${HEALTH_PORT}", fmt.Sprint(healthPort)}
	for k, v := range vars {
		repl = append(repl, "${"+k+"}", v)
	}
	c := launchCollector(t, strings.NewReplacer(repl...).Replace(config))
	c.healthPort = healthPort
	c.waitReady(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), 60*time.Second)
	return c
}

// launchCollector starts the binary on config as given and returns at once;
// callers wait with waitReady on whatever endpoint their config serves.
func launchCollector(t *testing.T, config string) *collector {
	t.Helper()
	bin := collectorBinary(t)
	c := &collector{out: &syncBuffer{}, done: make(chan struct{})}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(bin, "--config", path)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.stop(t)
		if t.Failed() {
			t.Logf("collector output:\n%s", c.out.String())
		}
	})
	return c
}

func (c *collector) waitHealthy(t *testing.T, timeout time.Duration) {
	t.Helper()
	c.waitReady(t, fmt.Sprintf("http://127.0.0.1:%d/", c.healthPort), timeout)
}

// waitReady polls url until it answers 200, failing fast if the process exits.
func (c *collector) waitReady(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			t.Fatalf("collector exited before %s answered:\n%s", url, c.out.String())
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200 within %s:\n%s", url, timeout, c.out.String())
}

// stop sends SIGTERM and waits for a clean shutdown (SIGKILL after 30s).
func (c *collector) stop(t *testing.T) {
	c.stopOnce.Do(func() {
		select {
		case <-c.done:
			return
		default:
		}
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(30 * time.Second):
			t.Errorf("collector did not stop within 30s of SIGTERM; killing it")
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
	})
}

// eventually polls cond until it returns true or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached within %s (last state: %s)", what, timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
