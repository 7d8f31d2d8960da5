package apnstest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"
)

func TestProviderTokenChecks(t *testing.T) {
	s, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key, err := token.AuthKeyFromBytes(s.AuthKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	sign := func(kid, iss string, iat time.Time) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": iss, "iat": iat.Unix()})
		tok.Header["kid"] = kid
		b, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := sign(s.KeyID, s.TeamID, time.Now())
	tampered := good[:len(good)-4] + "AAAA"
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CAPEM())
	hc := &http.Client{Transport: &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	tests := []struct {
		name, bearer, reason string
		status               int
	}{
		{"valid", good, "", 200},
		{"missing", "", "MissingProviderToken", 403},
		{"wrong kid", sign("OTHER", s.TeamID, time.Now()), "InvalidProviderToken", 403},
		{"wrong iss", sign(s.KeyID, "OTHERTEAM", time.Now()), "InvalidProviderToken", 403},
		{"bad signature", tampered, "InvalidProviderToken", 403},
		{"older than an hour", sign(s.KeyID, s.TeamID, time.Now().Add(-61*time.Minute)), "ExpiredProviderToken", 403},
		{"from the future", sign(s.KeyID, s.TeamID, time.Now().Add(10*time.Minute)), "InvalidProviderToken", 403},
		{"not a jwt", "abc", "InvalidProviderToken", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/3/device/"+Token(1), bytes.NewReader([]byte(`{"aps":{}}`)))
			req.Header.Set("apns-topic", "com.example.app")
			req.Header.Set("apns-push-type", "alert")
			if tt.bearer != "" {
				req.Header.Set("authorization", "bearer "+tt.bearer)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Reason string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status || body.Reason != tt.reason {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body.Reason, tt.status, tt.reason)
			}
			if resp.Header.Get("apns-id") == "" {
				t.Fatal("no apns-id in the answer")
			}
		})
	}
	if n := len(s.Requests()); n != len(tests) {
		t.Fatalf("recorded %d requests, want %d", n, len(tests))
	}
}

func TestHTTP1IsRefused(t *testing.T) {
	s, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CAPEM())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: false, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	resp, err := hc.Post(s.URL+"/3/device/"+Token(1), "application/json", bytes.NewReader([]byte(`{"aps":{}}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("HTTP/1.1 got %d, want 400", resp.StatusCode)
	}
}
