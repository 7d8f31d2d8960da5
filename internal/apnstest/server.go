// Package apnstest is an in-test Apple Push Notification service: an HTTP/2
// TLS server that behaves as Apple documents for the provider API
// (POST /3/device/<token>). It validates the ES256 provider token (kid, iss,
// iat, signature with the test key) or a client certificate signed by its own
// CA, the request headers, the device-token format and the 4 KB payload limit,
// answers with Apple's status codes and JSON error bodies, can be scripted to
// fail, and records every request.
//
// It is for tests and benchmarks only; it must never be linked into the
// collector binary.
package apnstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Apple's documented limits and header values.
const (
	MaxPayload     = 4096
	MaxCollapseID  = 64
	TokenLifetime  = time.Hour
	devicePathBase = "/3/device/"
)

var (
	uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	pushTypes   = map[string]bool{
		"alert": true, "background": true, "location": true, "voip": true, "complication": true,
		"fileprovider": true, "mdm": true, "liveactivity": true, "pushtotalk": true, "widgets": true, "controls": true,
	}
)

// Request is one recorded request and the answer the server gave.
type Request struct {
	// Received is when the server read the request (after the body).
	Received    time.Time
	DeviceToken string
	Header      http.Header
	Payload     []byte
	// Bearer is the provider token the request carried ("" for certificate auth).
	Bearer string
	// ClientCert is true when the request was authenticated by a client certificate.
	ClientCert bool
	Status     int
	Reason     string
}

// Failure is a scripted answer: an HTTP status and Apple's reason string.
type Failure struct {
	Status int
	Reason string
}

// Server is a running fake APNs. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL (https://127.0.0.1:port) to use instead of Apple's host.
	URL string
	// KeyID and TeamID are what the provider token must carry.
	KeyID, TeamID string

	ts       *httptest.Server
	caPEM    []byte
	caCert   *x509.Certificate
	caKey    *ecdsa.PrivateKey
	authKey  *ecdsa.PrivateKey
	authPEM  []byte
	clientMu sync.Mutex

	mu           sync.Mutex // protects everything below
	requests     []Request
	unregistered map[string]time.Time
	tokenTopics  map[string]string
	tokenFails   map[string]Failure
	nextFails    []Failure
	script       func(Request) *Failure
	now          func() time.Time
	notify       chan struct{}
	record       bool
	count        int
}

// Options configures a Server; the zero value is usable.
type Options struct {
	KeyID, TeamID string
	// Now is the server's clock for iat checks (default time.Now).
	Now func() time.Time
	// DoNotRecord keeps only a count of requests (for benchmarks).
	DoNotRecord bool
}

// NewServer starts a fake APNs on 127.0.0.1 with a fresh CA and ES256 key.
// Close it when done.
func NewServer(opts Options) (*Server, error) {
	if opts.KeyID == "" {
		opts.KeyID = "LWTESTKEY1"
	}
	if opts.TeamID == "" {
		opts.TeamID = "LWTEAM0001"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		KeyID: opts.KeyID, TeamID: opts.TeamID,
		unregistered: map[string]time.Time{}, tokenTopics: map[string]string{}, tokenFails: map[string]Failure{},
		now: opts.Now, notify: make(chan struct{}, 1), record: !opts.DoNotRecord,
	}
	var err error
	if s.authKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(s.authKey)
	if err != nil {
		return nil, err
	}
	s.authPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := s.makeCA(); err != nil {
		return nil, err
	}
	serverCert, err := s.issue("127.0.0.1", false)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.caCert)
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.ts.EnableHTTP2 = true
	s.ts.TLS = &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
	s.ts.StartTLS()
	s.URL = s.ts.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// CAPEM is the PEM of the CA that signed the server certificate (give it to
// the client as its root) and the client certificates.
func (s *Server) CAPEM() []byte { return s.caPEM }

// AuthKeyPEM is the .p8 (PKCS#8 PEM) signing key whose public half the server
// checks provider tokens against.
func (s *Server) AuthKeyPEM() []byte { return s.authPEM }

// ClientCertificatePEM returns a client certificate and its unencrypted key
// (PEM, concatenated), signed by the server's CA, for certificate auth.
func (s *Server) ClientCertificatePEM() ([]byte, error) {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	c, err := s.issue("Apple Push Services: com.example.latencywatch", true)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...), nil
}

func (s *Server) makeCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "apnstest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	s.caCert, err = x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	s.caKey = key
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return nil
}

func (s *Server) issue(name string, client bool) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP(name)}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.caCert, &key.PublicKey, s.caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// Unregister makes APNs answer 410 Unregistered for the token from now on.
func (s *Server) Unregister(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unregistered[strings.ToLower(token)] = s.now()
}

// SetTokenTopic binds a device token to an app topic: requests for the token
// with another apns-topic get 400 DeviceTokenNotForTopic.
func (s *Server) SetTokenTopic(token, topic string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTopics[strings.ToLower(token)] = topic
}

// FailToken answers every request for the token with f until cleared with a zero Failure.
func (s *Server) FailToken(token string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Status == 0 {
		delete(s.tokenFails, strings.ToLower(token))
		return
	}
	s.tokenFails[strings.ToLower(token)] = f
}

// FailNext answers the next valid requests with the failures, in order.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextFails = append(s.nextFails, f...)
}

// Script installs a function consulted for every valid request; a non-nil
// result is the answer. Pass nil to remove it.
func (s *Server) Script(f func(Request) *Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = f
}

// Requests returns a copy of every recorded request, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Accepted returns the recorded requests that got 200.
func (s *Server) Accepted() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Status == http.StatusOK {
			out = append(out, r)
		}
	}
	return out
}

// Count is the number of requests answered so far (recorded or not).
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Reset forgets the recorded requests and scripted failures.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.nextFails, s.script, s.count = nil, nil, nil, 0
	s.tokenFails = map[string]Failure{}
}

// WaitFor polls until cond holds for the recorded requests or the timeout
// passes; it returns the requests it saw last and whether cond held.
func (s *Server) WaitFor(timeout time.Duration, cond func([]Request) bool) ([]Request, bool) {
	deadline := time.Now().Add(timeout)
	for {
		reqs := s.Requests()
		if cond(reqs) {
			return reqs, true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return reqs, false
		}
		select {
		case <-s.notify:
		case <-time.After(min(left, 20*time.Millisecond)):
		}
	}
}

type errorBody struct {
	Reason    string `json:"reason"`
	Timestamp int64  `json:"timestamp,omitempty"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req := Request{Received: time.Now(), Header: r.Header.Clone(), Payload: body}
	status, reason, ts := s.check(r, &req)
	if status == http.StatusOK {
		status, reason, ts = s.scripted(req)
	}
	req.Status, req.Reason = status, reason
	s.mu.Lock()
	s.count++
	if s.record {
		s.requests = append(s.requests, req)
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	id := r.Header.Get("apns-id")
	if id == "" {
		id = newUUID()
	}
	w.Header().Set("apns-id", id)
	if status == http.StatusOK {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Reason: reason, Timestamp: ts})
}

// check validates the request as Apple does; it returns 200 when valid.
func (s *Server) check(r *http.Request, req *Request) (int, string, int64) {
	if r.ProtoMajor != 2 {
		return http.StatusBadRequest, "BadRequest", 0
	}
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, "MethodNotAllowed", 0
	}
	if !strings.HasPrefix(r.URL.Path, devicePathBase) {
		return http.StatusNotFound, "BadPath", 0
	}
	req.DeviceToken = strings.TrimPrefix(r.URL.Path, devicePathBase)
	for name, vals := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "apns-") && len(vals) > 1 {
			return http.StatusBadRequest, "DuplicateHeaders", 0
		}
	}
	// Authentication first, as Apple does.
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		req.ClientCert = true
	} else {
		auth := r.Header.Get("Authorization")
		if auth == "" {
			return http.StatusForbidden, "MissingProviderToken", 0
		}
		bearer, ok := cutPrefixFold(auth, "bearer ")
		if !ok {
			return http.StatusForbidden, "InvalidProviderToken", 0
		}
		req.Bearer = bearer
		if reason := s.verifyToken(bearer); reason != "" {
			return http.StatusForbidden, reason, 0
		}
	}
	if req.DeviceToken == "" {
		return http.StatusBadRequest, "MissingDeviceToken", 0
	}
	if !validToken(req.DeviceToken) {
		return http.StatusBadRequest, "BadDeviceToken", 0
	}
	topic := r.Header.Get("apns-topic")
	if topic == "" && !req.ClientCert {
		return http.StatusBadRequest, "MissingTopic", 0
	}
	if pt := r.Header.Get("apns-push-type"); !pushTypes[pt] {
		return http.StatusBadRequest, "InvalidPushType", 0
	}
	if p := r.Header.Get("apns-priority"); p != "" && p != "10" && p != "5" && p != "1" {
		return http.StatusBadRequest, "BadPriority", 0
	}
	if e := r.Header.Get("apns-expiration"); e != "" {
		if _, err := strconv.ParseInt(e, 10, 64); err != nil {
			return http.StatusBadRequest, "BadExpirationDate", 0
		}
	}
	if c := r.Header.Get("apns-collapse-id"); len(c) > MaxCollapseID {
		return http.StatusBadRequest, "BadCollapseId", 0
	}
	if id := r.Header.Get("apns-id"); id != "" && !uuidPattern.MatchString(id) {
		return http.StatusBadRequest, "BadMessageId", 0
	}
	if len(req.Payload) == 0 {
		return http.StatusBadRequest, "PayloadEmpty", 0
	}
	if len(req.Payload) > MaxPayload {
		return http.StatusRequestEntityTooLarge, "PayloadTooLarge", 0
	}
	var payload map[string]json.RawMessage
	if err := json.Unmarshal(req.Payload, &payload); err != nil || payload["aps"] == nil {
		// Apple documents no reason for a malformed body; this one is the test server's own.
		return http.StatusBadRequest, "BadPayload", 0
	}
	tok := strings.ToLower(req.DeviceToken)
	s.mu.Lock()
	defer s.mu.Unlock()
	if want, ok := s.tokenTopics[tok]; ok && topic != "" && want != topic {
		return http.StatusBadRequest, "DeviceTokenNotForTopic", 0
	}
	if at, ok := s.unregistered[tok]; ok {
		return http.StatusGone, "Unregistered", at.UnixMilli()
	}
	return http.StatusOK, "", 0
}

func (s *Server) scripted(req Request) (int, string, int64) {
	s.mu.Lock()
	if f, ok := s.tokenFails[strings.ToLower(req.DeviceToken)]; ok {
		s.mu.Unlock()
		return f.Status, f.Reason, 0
	}
	if len(s.nextFails) > 0 {
		f := s.nextFails[0]
		s.nextFails = s.nextFails[1:]
		s.mu.Unlock()
		return f.Status, f.Reason, 0
	}
	script := s.script
	s.mu.Unlock()
	// The script runs unlocked so it may block or call the server.
	if script != nil {
		if f := script(req); f != nil {
			return f.Status, f.Reason, 0
		}
	}
	return http.StatusOK, "", 0
}

// verifyToken checks an ES256 JWT: header alg/kid, claims iss/iat, signature.
func (s *Server) verifyToken(bearer string) string {
	parts := strings.Split(bearer, ".")
	if len(parts) != 3 {
		return "InvalidProviderToken"
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var claims struct {
		Iss string          `json:"iss"`
		Iat json.RawMessage `json:"iat"`
	}
	if decodeSegment(parts[0], &header) != nil || decodeSegment(parts[1], &claims) != nil {
		return "InvalidProviderToken"
	}
	if header.Alg != "ES256" || header.Kid != s.KeyID || claims.Iss != s.TeamID {
		return "InvalidProviderToken"
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "InvalidProviderToken"
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	rr, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(&s.authKey.PublicKey, digest[:], rr, ss) {
		return "InvalidProviderToken"
	}
	iat, err := strconv.ParseInt(string(claims.Iat), 10, 64)
	if err != nil {
		return "InvalidProviderToken"
	}
	issued := time.Unix(iat, 0)
	now := s.now()
	if issued.After(now.Add(time.Minute)) {
		return "InvalidProviderToken"
	}
	if now.Sub(issued) >= TokenLifetime {
		return "ExpiredProviderToken"
	}
	return ""
}

func decodeSegment(seg string, into any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

// validToken: an even number of hex digits, 64..200 long.
func validToken(t string) bool {
	if len(t) < 64 || len(t) > 200 || len(t)%2 != 0 {
		return false
	}
	_, err := hex.DecodeString(t)
	return err == nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

// Token returns a valid-looking device token derived from n (64 hex digits).
func Token(n int) string {
	sum := sha256.Sum256([]byte("device-" + strconv.Itoa(n)))
	return hex.EncodeToString(sum[:])
}
