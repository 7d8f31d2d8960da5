package watchapiextension

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/latencywatch/latencywatch/extension/watchapiextension/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/watchstate/watchstatetest"
)

const testToken = "s3cret-watch-token"

var (
	authID    = component.MustNewID("bearertokenauth")
	storageID = component.MustNewID("file_storage")
	t0        = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
)

// tokenAuth is an in-process authenticator with bearertokenauth's behaviour.
type tokenAuth struct {
	component.StartFunc
	component.ShutdownFunc
	token string
}

func (a tokenAuth) Authenticate(ctx context.Context, sources map[string][]string) (context.Context, error) {
	for k, v := range sources {
		if strings.EqualFold(k, "Authorization") && len(v) > 0 && v[0] == "Bearer "+a.token {
			return ctx, nil
		}
	}
	return ctx, errors.New("token " + a.token + " expected") // must never reach the client
}

type testHost struct {
	exts map[component.ID]component.Component
}

func (h testHost) GetExtensions() map[component.ID]component.Component { return h.exts }

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one running extension under test.
type env struct {
	t     *testing.T
	ext   *watchAPI
	base  string
	clock *fakeClock
	http  *http.Client
	token string
}

type envOption func(*Config)

func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = "127.0.0.1:0"
	cfg.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
	sid := storageID
	cfg.Storage = &sid
	cfg.RateLimit.RequestsPerSecond = 1000
	cfg.RateLimit.Burst = 1000
	cfg.Ingest.Enabled = true
	return cfg
}

func startEnv(t *testing.T, st *watchstatetest.Storage, opts ...envOption) *env {
	t.Helper()
	cfg := testConfig()
	if st == nil {
		cfg.Storage = nil
	}
	for _, o := range opts {
		o(cfg)
	}
	require.NoError(t, cfg.Validate())
	clk := &fakeClock{t: t0}
	set := extensiontest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type) // stable across "restarts", like a real config
	ext := newWatchAPI(cfg, set)
	ext.now = clk.Now
	ext.streamWriteTimeout = 300 * time.Millisecond // shorter than the heartbeat: idle streams must survive it
	n := 0
	ext.newID = func() (string, error) { n++; return fmt.Sprintf("silence-%04d", n), nil }
	exts := map[component.ID]component.Component{authID: tokenAuth{token: testToken}}
	if st != nil {
		exts[storageID] = st
	}
	require.NoError(t, ext.Start(context.Background(), testHost{exts: exts}))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	scheme := "http"
	client := &http.Client{Timeout: 10 * time.Second}
	if cfg.TLS.HasValue() {
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // self-signed test cert
	}
	return &env{t: t, ext: ext, base: scheme + "://" + ext.Addr().String(), clock: clk, http: client, token: testToken}
}

// do sends a request with the test token; body may be nil, a string or a value to marshal.
func (e *env) do(method, path string, body any) (*http.Response, []byte) {
	e.t.Helper()
	return e.doWith(method, path, body, map[string]string{"Authorization": "Bearer " + e.token})
}

func (e *env) doWith(method, path string, body any, headers map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	require.NoError(e.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp, data
}

// expect sends a request, checks the status and decodes the JSON answer into out (if non-nil).
func (e *env) expect(status int, method, path string, body, out any) []byte {
	e.t.Helper()
	resp, data := e.do(method, path, body)
	require.Equal(e.t, status, resp.StatusCode, "%s %s: %s", method, path, data)
	if out != nil {
		require.Equal(e.t, "application/json", resp.Header.Get("Content-Type"))
		// Decode into a zero value: omitted (omitempty) fields must not survive from a previous use.
		v := reflect.ValueOf(out).Elem()
		v.Set(reflect.Zero(v.Type()))
		require.NoError(e.t, json.Unmarshal(data, out), "%s", data)
	}
	return data
}

func errorCode(t *testing.T, data []byte) (code, field string) {
	t.Helper()
	var e apiError
	require.NoError(t, json.Unmarshal(data, &e), "%s", data)
	return e.Error.Code, e.Error.Field
}
