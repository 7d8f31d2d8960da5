//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// watchStartCollector starts the binary on config and waits until watch_api's
// /health answers at base (no wait when base is empty).
func watchStartCollector(t *testing.T, config, base string) *collector {
	t.Helper()
	c := launchCollector(t, config)
	if base != "" {
		c.waitReady(t, base+"/health", 30*time.Second)
	}
	return c
}

// watchConfig returns config/watch-e2e.yaml with its ${env:LW_WATCH_*}
// placeholders filled in.
func watchConfig(t *testing.T, port int, storageDir, token string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "watch-e2e.yaml"))
	if err != nil {
		t.Fatalf("reading config/watch-e2e.yaml: %v", err)
	}
	return strings.NewReplacer(
		"${env:LW_WATCH_HEALTH_PORT}", fmt.Sprint(freePort(t)),
		"${env:LW_WATCH_PORT}", fmt.Sprint(port),
		"${env:LW_WATCH_OTLP_PORT}", fmt.Sprint(freePort(t)),
		"${env:LW_WATCH_STORAGE_DIR}", storageDir,
		"${env:LW_WATCH_TOKEN}", token,
		"${env:LW_WATCH_RPS}", "1000",
	).Replace(string(raw))
}

type watchClient struct {
	t     *testing.T
	base  string
	token string
	http  *http.Client
}

func (c watchClient) call(method, path string, body any, wantStatus int, out any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
}

type e2eAlert struct {
	ID             string   `json:"id"`
	State          string   `json:"state"`
	AcknowledgedBy string   `json:"acknowledged_by"`
	SilencedBy     []string `json:"silenced_by"`
}

// TestE2EWatchAPIPersistsAcrossRestart: the built binary with bearertokenauth
// and file_storage keeps devices, silences and acknowledgements across a restart.
func TestE2EWatchAPIPersistsAcrossRestart(t *testing.T) {
	storage := t.TempDir()
	port := freePort(t)
	const token = "e2e-watch-token-3f9a"
	cfg := watchConfig(t, port, storage, token)
	c := watchClient{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), token: token, http: &http.Client{Timeout: 10 * time.Second}}

	col := watchStartCollector(t, cfg, c.base)
	device := map[string]any{"token": strings.Repeat("ab", 32), "environment": "production", "topic": "com.example.latencywatch.watchkitapp", "user": "ana", "teams": []string{"payments"}}
	c.call("POST", "/v1/devices", device, http.StatusCreated, nil)
	alert := map[string]any{"labels": map[string]string{"service.name": "checkout", "team": "payments"}, "series": "checkout p99", "state": "firing", "severity": "critical", "value": 1.2, "expected": 0.2, "score": 0.95, "since": "2026-11-25T12:00:00Z"}
	var a e2eAlert
	c.call("POST", "/v1/alerts", alert, http.StatusOK, &a)
	c.call("POST", "/v1/alerts/"+a.ID+"/ack", map[string]string{"by": "ana"}, http.StatusOK, &a)
	if a.AcknowledgedBy != "ana" {
		t.Fatalf("ack not applied: %+v", a)
	}
	var s struct {
		ID string `json:"id"`
	}
	c.call("POST", "/v1/silences", map[string]any{"matchers": []map[string]string{{"name": "team", "op": "=", "value": "payments"}}, "duration_seconds": 3600, "created_by": "ana"}, http.StatusCreated, &s)

	// Auth refusals through the real bearertokenauth extension.
	c2 := c
	c2.token = ""
	c2.call("GET", "/v1/alerts", nil, http.StatusUnauthorized, nil)
	c2.token = "wrong"
	c2.call("GET", "/v1/alerts", nil, http.StatusUnauthorized, nil)
	c2.call("GET", "/health", nil, http.StatusOK, nil)

	col.stop(t)
	watchStartCollector(t, cfg, c.base)
	var devices struct {
		Devices []struct {
			Token string `json:"token"`
		} `json:"devices"`
	}
	c.call("GET", "/v1/devices", nil, http.StatusOK, &devices)
	if len(devices.Devices) != 1 || devices.Devices[0].Token != strings.Repeat("ab", 32) {
		t.Fatalf("devices after restart: %+v", devices)
	}
	// The producer re-publishes the same occurrence: the ack and the silence still apply.
	c.call("POST", "/v1/alerts", alert, http.StatusOK, &a)
	if a.AcknowledgedBy != "ana" || len(a.SilencedBy) != 1 || a.SilencedBy[0] != s.ID {
		t.Fatalf("acknowledgement or silence lost across restart: %+v", a)
	}
}

// TestE2EWatchAPITLSPrefersPostQuantum: the binary's TLS handshake negotiates
// X25519MLKEM768 with a client that offers it, and X25519 with one that does not.
func TestE2EWatchAPITLSPrefersPostQuantum(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := watchWriteCert(t, dir)
	port := freePort(t)
	cfg := watchConfig(t, port, dir, "tls-token")
	anchor := fmt.Sprintf("    endpoint: 127.0.0.1:%d\n", port)
	if !strings.Contains(cfg, anchor) {
		t.Fatalf("config/watch-e2e.yaml no longer has the watch_api endpoint line %q", anchor)
	}
	cfg = strings.Replace(cfg, anchor, anchor+fmt.Sprintf("    tls:\n      cert_file: %s\n      key_file: %s\n", certFile, keyFile), 1)
	watchStartCollector(t, cfg, "")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // self-signed test cert
		if err == nil {
			got := conn.ConnectionState().CurveID
			conn.Close()
			if got != tls.X25519MLKEM768 {
				t.Fatalf("negotiated %v, want X25519MLKEM768", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TLS dial %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, CurvePreferences: []tls.CurveID{tls.X25519}}) //nolint:gosec // test cert
	if err != nil {
		t.Fatalf("classic-only client: %v", err)
	}
	defer conn.Close()
	if got := conn.ConnectionState().CurveID; got != tls.X25519 {
		t.Fatalf("classic-only client negotiated %v, want X25519", got)
	}
}

// TestE2EWatchAPIRefusesToStartWithoutAuth: the binary exits with a clear
// error when watch_api has neither auth nor insecure_allow_unauthenticated.
func TestE2EWatchAPIRefusesToStartWithoutAuth(t *testing.T) {
	bin := collectorBinary(t)
	cfg := fmt.Sprintf(`
extensions:
  watch_api:
    endpoint: 127.0.0.1:%d
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
  debug: {}
service:
  extensions: [watch_api]
  pipelines:
    metrics: {receivers: [otlp], exporters: [debug]}
`, freePort(t), freePort(t))
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--config", path).CombinedOutput()
	if err == nil {
		t.Fatalf("collector started without auth:\n%s", out)
	}
	if !strings.Contains(string(out), "insecure_allow_unauthenticated") {
		t.Fatalf("the error does not say how to fix it:\n%s", out)
	}
}

func watchWriteCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "watch-api-e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "watch.crt"), filepath.Join(dir, "watch.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
