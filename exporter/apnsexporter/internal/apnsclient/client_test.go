package apnsclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/latencywatch/latencywatch/internal/apnstest"
)

func mustTLS(t *testing.T, s *apnstest.Server) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM()) {
		t.Fatal("bad CA")
	}
	return &http.Client{Transport: &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func newServer(t *testing.T, opts apnstest.Options) *apnstest.Server {
	t.Helper()
	s, err := apnstest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func tokenClient(t *testing.T, s *apnstest.Server) *Client {
	t.Helper()
	c, err := New(Options{
		KeyFile: writeFile(t, "AuthKey.p8", s.AuthKeyPEM()), KeyID: s.KeyID, TeamID: s.TeamID,
		Endpoint: s.URL, CAFile: writeFile(t, "ca.pem", s.CAPEM()), Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func note(token string) Notification {
	return Notification{
		Environment: Production, DeviceToken: token, Topic: "com.example.latencywatch.watchkitapp",
		CollapseID: "abc", Priority: 10, Expiration: time.Now().Add(time.Hour),
		Payload: []byte(`{"aps":{"alert":{"title":"t","body":"b"}}}`),
	}
}

func TestTokenAuthAgainstAppleLikeServer(t *testing.T) {
	s := newServer(t, apnstest.Options{})
	c := tokenClient(t, s)
	if v := c.Send(context.Background(), note(apnstest.Token(1))); v.Kind != Sent {
		t.Fatalf("send: %s %v", v.Kind, v.Err)
	}
	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	for h, want := range map[string]string{
		"apns-topic": "com.example.latencywatch.watchkitapp", "apns-push-type": "alert",
		"apns-priority": "10", "apns-collapse-id": "abc",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if r.Bearer == "" || r.ClientCert {
		t.Errorf("expected token auth, got bearer=%q cert=%v", r.Bearer, r.ClientCert)
	}
}

func TestWrongKeyIDIsPermanent(t *testing.T) {
	s := newServer(t, apnstest.Options{})
	c, err := New(Options{
		KeyFile: writeFile(t, "AuthKey.p8", s.AuthKeyPEM()), KeyID: "OTHERKEY", TeamID: s.TeamID,
		Endpoint: s.URL, CAFile: writeFile(t, "ca.pem", s.CAPEM()),
	})
	if err != nil {
		t.Fatal(err)
	}
	v := c.Send(context.Background(), note(apnstest.Token(1)))
	if v.Kind != Permanent || v.Reason != "InvalidProviderToken" {
		t.Fatalf("got %s %s", v.Kind, v.Reason)
	}
}

func TestExpiredProviderTokenIsRefreshedAndRetried(t *testing.T) {
	s := newServer(t, apnstest.Options{})
	c := tokenClient(t, s)
	s.FailNext(apnstest.Failure{Status: 403, Reason: "ExpiredProviderToken"})
	if v := c.Send(context.Background(), note(apnstest.Token(1))); v.Kind != Sent {
		t.Fatalf("send: %s %v", v.Kind, v.Err)
	}
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[0].Status != 403 || reqs[1].Status != 200 {
		t.Fatalf("requests: %+v", reqs)
	}
	if reqs[0].Bearer == reqs[1].Bearer {
		t.Fatal("the retry reused the expired provider token")
	}
}

func TestServerClockExpiresOldTokens(t *testing.T) {
	now := time.Now()
	s := newServer(t, apnstest.Options{Now: func() time.Time { return now.Add(2 * time.Hour) }})
	c := tokenClient(t, s)
	// The retry signs with the real clock, which the server still finds too old.
	v := c.Send(context.Background(), note(apnstest.Token(1)))
	if v.Kind != Retry || v.Reason != "ExpiredProviderToken" {
		t.Fatalf("got %s %s", v.Kind, v.Reason)
	}
}

func TestCertificateAuth(t *testing.T) {
	s := newServer(t, apnstest.Options{})
	pem, err := s.ClientCertificatePEM()
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{CertFile: writeFile(t, "cert.pem", pem), Endpoint: s.URL, CAFile: writeFile(t, "ca.pem", s.CAPEM())})
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Send(context.Background(), note(apnstest.Token(2))); v.Kind != Sent {
		t.Fatalf("send: %s %v", v.Kind, v.Err)
	}
	if r := s.Requests()[0]; !r.ClientCert || r.Bearer != "" {
		t.Fatalf("expected certificate auth: %+v", r)
	}
}

func TestServerAnswersLikeApple(t *testing.T) {
	s := newServer(t, apnstest.Options{})
	c := tokenClient(t, s)
	big := note(apnstest.Token(3))
	big.Payload = []byte(`{"aps":{},"x":"` + strings.Repeat("a", 4100) + `"}`)
	notForTopic := note(apnstest.Token(5))
	s.SetTokenTopic(apnstest.Token(5), "com.other.app")
	s.Unregister(apnstest.Token(4))
	longCollapse := note(apnstest.Token(6))
	longCollapse.CollapseID = strings.Repeat("c", 65)
	tests := []struct {
		name   string
		n      Notification
		status int
		reason string
		kind   Kind
	}{
		{"bad token", note("nothex"), 400, "BadDeviceToken", ForgetDevice},
		{"too large", big, 413, "PayloadTooLarge", Permanent},
		{"unregistered", note(apnstest.Token(4)), 410, "Unregistered", ForgetDevice},
		{"not for topic", notForTopic, 400, "DeviceTokenNotForTopic", ForgetDevice},
		{"collapse id", longCollapse, 400, "BadCollapseId", Permanent},
		{"no topic", func() Notification { n := note(apnstest.Token(7)); n.Topic = ""; return n }(), 400, "MissingTopic", Permanent},
		{"priority", func() Notification { n := note(apnstest.Token(7)); n.Priority = 7; return n }(), 400, "BadPriority", Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := c.Send(context.Background(), tt.n)
			if v.Status != tt.status || v.Reason != tt.reason || v.Kind != tt.kind {
				t.Fatalf("got %d %s %s, want %d %s %s", v.Status, v.Reason, v.Kind, tt.status, tt.reason, tt.kind)
			}
		})
	}
	// Scripted failures: 429 and 503 in order, then success.
	s.FailNext(apnstest.Failure{Status: 429, Reason: "TooManyRequests"}, apnstest.Failure{Status: 503, Reason: "ServiceUnavailable"})
	for _, want := range []Kind{Throttled, Retry, Sent} {
		if v := c.Send(context.Background(), note(apnstest.Token(8))); v.Kind != want {
			t.Fatalf("got %s, want %s", v.Kind, want)
		}
	}
}

func TestUnregisteredBodyHasTimestamp(t *testing.T) {
	s := newServer(t, apnstest.Options{})
	s.Unregister(apnstest.Token(1))
	pool := mustTLS(t, s)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/3/device/"+apnstest.Token(1), bytes.NewReader([]byte(`{"aps":{}}`)))
	req.Header.Set("apns-topic", "t")
	req.Header.Set("apns-push-type", "alert")
	resp, err := pool.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Reason    string `json:"reason"`
		Timestamp int64  `json:"timestamp"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	// No provider token: Apple checks authentication first.
	if resp.StatusCode != 403 || body.Reason != "MissingProviderToken" {
		t.Fatalf("got %d %+v", resp.StatusCode, body)
	}
	// With a valid provider token: 410 and the time APNs learnt the token was dead.
	tokenClient(t, s).Send(context.Background(), note(apnstest.Token(9)))
	req.Header.Set("authorization", "bearer "+s.Requests()[1].Bearer)
	req.Body = io.NopCloser(bytes.NewReader([]byte(`{"aps":{}}`)))
	resp2, err := pool.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	_ = json.NewDecoder(resp2.Body).Decode(&body)
	if resp2.StatusCode != 410 || body.Reason != "Unregistered" || body.Timestamp == 0 {
		t.Fatalf("got %d %+v", resp2.StatusCode, body)
	}
}
