// Package probe checks that a real Kafka or Pulsar broker is serving: it asks
// for metadata and then does one produce/consume round trip. It is shared by
// cmd/brokercheck (used by scripts/brokers/*.sh wait) and the testbrokers
// package. It never logs secrets: errors name the address and the step that
// failed, not the credentials.
package probe

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// ReadyTopic is the topic every round trip uses on both brokers; the payload
// is unique per probe, so concurrent probes do not confuse each other.
const ReadyTopic = "lw-ready"

// Kafka describes how to reach one Kafka listener.
type Kafka struct {
	Brokers []string
	// SCRAMUser/SCRAMPassword enable SASL SCRAM-SHA-512 when SCRAMUser is set.
	SCRAMUser, SCRAMPassword string
	// CAFile enables TLS with this CA bundle (PEM) when set.
	CAFile string
}

// KafkaClientOpts returns franz-go options for k (seed brokers, TLS, SASL).
func (k Kafka) KafkaClientOpts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.DialTimeout(5 * time.Second),
		kgo.RequestRetries(2),
		kgo.RetryTimeout(10 * time.Second),
	}
	if k.CAFile != "" {
		cfg, err := TLSConfig(k.CAFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if k.SCRAMUser != "" {
		opts = append(opts, kgo.SASL(scram.Auth{User: k.SCRAMUser, Pass: k.SCRAMPassword}.AsSha512Mechanism()))
	}
	return opts, nil
}

// TLSConfig builds a client TLS config that trusts only the CA in caFile.
func TLSConfig(caFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func uniquePayload(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:]) + "-" + time.Now().UTC().Format(time.RFC3339Nano)
}

// KafkaRoundTrip checks metadata (at least one broker) and then produces one
// record to ReadyTopic and reads it back (direct partition consume, no group).
func KafkaRoundTrip(ctx context.Context, k Kafka) error {
	opts, err := k.KafkaClientOpts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, kgo.AllowAutoTopicCreation())...)
	if err != nil {
		return fmt.Errorf("kafka client for %v: %w", k.Brokers, err)
	}
	defer cl.Close()

	brokers, err := kadm.NewClient(cl).ListBrokers(ctx)
	if err != nil {
		return fmt.Errorf("kafka metadata from %v: %w", k.Brokers, err)
	}
	if len(brokers) == 0 {
		return fmt.Errorf("kafka metadata from %v lists no broker", k.Brokers)
	}

	payload := uniquePayload("kafka")
	rec := &kgo.Record{Topic: ReadyTopic, Value: []byte(payload)}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return fmt.Errorf("kafka produce to %s via %v: %w", ReadyTopic, k.Brokers, err)
	}

	consumer, err := kgo.NewClient(append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			ReadyTopic: {rec.Partition: kgo.NewOffset().At(rec.Offset)},
		}))...)
	if err != nil {
		return fmt.Errorf("kafka consumer for %v: %w", k.Brokers, err)
	}
	defer consumer.Close()
	for {
		fetches := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("kafka consume from %s via %v: record not seen: %w", ReadyTopic, k.Brokers, err)
		}
		var fetchErr error
		fetches.EachError(func(_ string, _ int32, err error) { fetchErr = err })
		if fetchErr != nil {
			return fmt.Errorf("kafka consume from %s via %v: %w", ReadyTopic, k.Brokers, fetchErr)
		}
		found := false
		fetches.EachRecord(func(r *kgo.Record) { found = found || string(r.Value) == payload })
		if found {
			return nil
		}
	}
}

// Pulsar describes how to reach one Pulsar standalone.
type Pulsar struct {
	// URL is pulsar://host:port or pulsar+ssl://host:port.
	URL string
	// HTTPURL is the admin REST base (http:// or https://); empty skips the REST checks.
	HTTPURL string
	// Token is a JWT sent with AuthenticationToken when set.
	Token string
	// CAFile is the CA bundle trusted for pulsar+ssl:// and https://.
	CAFile string
}

// PulsarAdminReady checks /admin/v2/brokers/ready and that the standalone has
// created namespace public/default (it does so only after the broker started).
func PulsarAdminReady(ctx context.Context, p Pulsar) error {
	hc := &http.Client{Timeout: 5 * time.Second}
	if p.CAFile != "" {
		cfg, err := TLSConfig(p.CAFile)
		if err != nil {
			return err
		}
		hc.Transport = &http.Transport{TLSClientConfig: cfg}
	}
	get := func(path string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(p.HTTPURL, "/")+path, nil)
		if err != nil {
			return "", err
		}
		if p.Token != "" {
			req.Header.Set("Authorization", "Bearer "+p.Token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return "", fmt.Errorf("pulsar admin GET %s: %w", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode != http.StatusOK {
			return "", &HTTPError{URL: p.HTTPURL + path, StatusCode: resp.StatusCode, Body: string(body)}
		}
		return string(body), nil
	}
	if _, err := get("/admin/v2/brokers/ready"); err != nil {
		return err
	}
	ns, err := get("/admin/v2/namespaces/public")
	if err != nil {
		return err
	}
	if !strings.Contains(ns, `"public/default"`) {
		return fmt.Errorf("pulsar admin at %s: namespace public/default not created yet (got %.200s)", p.HTTPURL, ns)
	}
	return nil
}

// ErrPulsarAuth marks a Pulsar handshake the broker refused because of the
// client's credentials.
var ErrPulsarAuth = errors.New("pulsar broker refused the credentials")

// refusalRecorder keeps the last handshake refusal pulsar-client-go logs:
// the client only returns a generic "connection error" when the broker answers
// CONNECT with an error, and puts the broker's reason in a warning.
type refusalRecorder struct {
	mu     sync.Mutex
	reason string
}

const refusedPrefix = "Failed to establish connection with broker"

func (r *refusalRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (r *refusalRecorder) Handle(_ context.Context, rec slog.Record) error {
	if strings.HasPrefix(rec.Message, refusedPrefix) {
		r.mu.Lock()
		r.reason = rec.Message
		r.mu.Unlock()
	}
	return nil
}
func (r *refusalRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *refusalRecorder) WithGroup(string) slog.Handler      { return r }

func (r *refusalRecorder) wrap(err error) error {
	r.mu.Lock()
	reason := r.reason
	r.mu.Unlock()
	if err == nil || reason == "" {
		return err
	}
	if strings.Contains(strings.ToLower(reason), "authenticat") {
		return fmt.Errorf("%w (%s): %w", ErrPulsarAuth, reason, err)
	}
	return fmt.Errorf("%w (%s)", err, reason)
}

// PulsarClientOptions returns client options for p with quiet logging and
// short timeouts suited to tests.
func PulsarClientOptions(p Pulsar) pulsar.ClientOptions {
	opts := pulsar.ClientOptions{
		URL:               p.URL,
		ConnectionTimeout: 5 * time.Second,
		OperationTimeout:  10 * time.Second,
		Logger:            pulsarlog.DefaultNopLogger(),
	}
	if p.CAFile != "" {
		opts.TLSTrustCertsFilePath = p.CAFile
		opts.TLSValidateHostname = true
	}
	if p.Token != "" {
		opts.Authentication = pulsar.NewAuthenticationToken(p.Token)
	}
	return opts
}

// PulsarRoundTrip runs the admin checks (if HTTPURL is set) and then subscribes
// to ReadyTopic, produces one message and receives it.
func PulsarRoundTrip(ctx context.Context, p Pulsar) error {
	if p.HTTPURL != "" {
		if err := PulsarAdminReady(ctx, p); err != nil {
			return err
		}
	}
	opts := PulsarClientOptions(p)
	rec := &refusalRecorder{}
	opts.Logger = pulsarlog.NewLoggerWithSlog(slog.New(rec))
	client, err := pulsar.NewClient(opts)
	if err != nil {
		return fmt.Errorf("pulsar client for %s: %w", p.URL, err)
	}
	defer client.Close()
	return rec.wrap(pulsarRoundTrip(ctx, client, p))
}

func pulsarRoundTrip(ctx context.Context, client pulsar.Client, p Pulsar) error {

	topic := "persistent://public/default/" + ReadyTopic
	sub := uniquePayload("sub")
	consumer, err := client.Subscribe(pulsar.ConsumerOptions{
		Topic:            topic,
		SubscriptionName: sub,
		Type:             pulsar.Exclusive,
	})
	if err != nil {
		return fmt.Errorf("pulsar subscribe to %s via %s: %w", topic, p.URL, err)
	}
	// Drop the subscription again so repeated probes leave no backlog behind.
	defer func() { _ = consumer.Unsubscribe(); consumer.Close() }()

	producer, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		return fmt.Errorf("pulsar producer on %s via %s: %w", topic, p.URL, err)
	}
	defer producer.Close()
	payload := uniquePayload("pulsar")
	if _, err := producer.Send(ctx, &pulsar.ProducerMessage{Payload: []byte(payload)}); err != nil {
		return fmt.Errorf("pulsar send to %s via %s: %w", topic, p.URL, err)
	}
	for {
		msg, err := consumer.Receive(ctx)
		if err != nil {
			return fmt.Errorf("pulsar receive from %s via %s: %w", topic, p.URL, err)
		}
		_ = consumer.Ack(msg)
		if string(msg.Payload()) == payload {
			return nil
		}
	}
}

// IsKafkaAuthError reports whether err is Kafka refusing the SASL credentials.
func IsKafkaAuthError(err error) bool {
	return errors.Is(err, kerr.SaslAuthenticationFailed)
}

// IsPulsarAuthError reports whether err is Pulsar refusing the client's
// credentials (binary protocol AuthenticationError, or HTTP 401 from the admin REST).
func IsPulsarAuthError(err error) bool {
	if errors.Is(err, ErrPulsarAuth) {
		return true
	}
	var perr *pulsar.Error
	if errors.As(err, &perr) && perr.Result() == pulsar.AuthenticationError {
		return true
	}
	var herr *HTTPError
	if errors.As(err, &herr) && herr.StatusCode == http.StatusUnauthorized {
		return true
	}
	return false
}

// IsAuthError reports whether err is either broker refusing credentials;
// retrying such an error cannot help.
func IsAuthError(err error) bool { return IsKafkaAuthError(err) || IsPulsarAuthError(err) }

// HTTPError is a non-200 answer from the Pulsar admin REST API.
type HTTPError struct {
	URL        string
	StatusCode int
	Body       string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("pulsar admin GET %s: HTTP %d: %.200s", e.URL, e.StatusCode, e.Body)
}
