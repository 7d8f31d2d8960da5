// Package testbrokers gives integration tests the real Kafka and Pulsar brokers
// that scripts/with-brokers.sh starts, read from the LW_* environment variables
// it exports (see docs/brokers.md).
//
// It is for tests only. When a variable is missing or the broker does not
// answer, every accessor fails the test with t.Fatalf naming the variable and
// how to run the tests (`make test` or scripts/with-brokers.sh); it never skips.
package testbrokers

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

const howToRun = "run integration tests through `make test` (or `make integration`), or wrap the command: " +
	"scripts/with-brokers.sh go test -tags integration -run '^TestIntegration' ./..."

// Environment variable names exported by scripts/with-brokers.sh.
const (
	EnvBrokersDir     = "LW_BROKERS_DIR"
	EnvKafkaBrokers   = "LW_KAFKA_BROKERS"
	EnvKafkaSASL      = "LW_KAFKA_SASL_BROKERS"
	EnvKafkaSCRAMUser = "LW_KAFKA_SCRAM_USER"
	EnvKafkaSCRAMPass = "LW_KAFKA_SCRAM_PASSWORD"
	EnvKafkaCAFile    = "LW_KAFKA_CA_FILE"
	EnvKafkaCtl       = "LW_KAFKA_CTL"
	EnvPulsarURL      = "LW_PULSAR_URL"
	EnvPulsarHTTPURL  = "LW_PULSAR_HTTP_URL"
	EnvPulsarTLSURL   = "LW_PULSAR_TLS_URL"
	EnvPulsarHTTPSURL = "LW_PULSAR_HTTPS_URL"
	EnvPulsarCAFile   = "LW_PULSAR_CA_FILE"
	EnvPulsarToken    = "LW_PULSAR_TOKEN"
	EnvPulsarTokenF   = "LW_PULSAR_TOKEN_FILE"
	EnvPulsarCtl      = "LW_PULSAR_CTL"
)

// ctlMu serialises stop/start calls within one test binary.
var ctlMu sync.Mutex

func mustEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("testbrokers: %s is not set: %s", name, howToRun)
	}
	return v
}

// mustDial fails the test unless something accepts TCP connections on hostport.
func mustDial(t testing.TB, what, hostport string) {
	t.Helper()
	var err error
	for i := 0; i < 5; i++ {
		var c net.Conn
		c, err = net.DialTimeout("tcp", hostport, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("testbrokers: %s at %s does not answer (%v): is the broker running? %s", what, hostport, err, howToRun)
}

func hostPort(t testing.TB, name, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Fatalf("testbrokers: %s=%q is not a URL with host:port", name, raw)
	}
	return u.Host
}

// Kafka returns the plaintext bootstrap address (host:port) of the test Kafka.
func Kafka(t testing.TB) string {
	t.Helper()
	b := mustEnv(t, EnvKafkaBrokers)
	mustDial(t, "Kafka ("+EnvKafkaBrokers+")", strings.Split(b, ",")[0])
	return b
}

// KafkaSecure is the SASL_SSL listener of the same Kafka broker: SCRAM-SHA-512
// over TLS with a self-signed CA.
type KafkaSecure struct {
	Brokers  string // host:port of the SASL_SSL listener
	User     string // SCRAM-SHA-512 user created at format time
	Password string
	CAFile   string // PEM CA that signed the broker certificate
}

// KafkaSASL returns the SASL_SSL/SCRAM-SHA-512 settings of the test Kafka.
func KafkaSASL(t testing.TB) KafkaSecure {
	t.Helper()
	s := KafkaSecure{
		Brokers:  mustEnv(t, EnvKafkaSASL),
		User:     mustEnv(t, EnvKafkaSCRAMUser),
		Password: mustEnv(t, EnvKafkaSCRAMPass),
		CAFile:   mustEnv(t, EnvKafkaCAFile),
	}
	mustDial(t, "Kafka SASL_SSL ("+EnvKafkaSASL+")", s.Brokers)
	return s
}

// Pulsar returns the plaintext service URL (pulsar://) and admin REST URL
// (http://) of the test Pulsar standalone.
func Pulsar(t testing.TB) (serviceURL, httpURL string) {
	t.Helper()
	serviceURL = mustEnv(t, EnvPulsarURL)
	httpURL = mustEnv(t, EnvPulsarHTTPURL)
	mustDial(t, "Pulsar ("+EnvPulsarURL+")", hostPort(t, EnvPulsarURL, serviceURL))
	return serviceURL, httpURL
}

// PulsarSecure is the TLS side of the same Pulsar standalone. Token
// authentication is enabled with an anonymous role, so clients that send no
// token (the plaintext URL) still work, while a wrong token is rejected with
// an authentication error.
type PulsarSecure struct {
	URL      string // pulsar+ssl://
	HTTPSURL string // https:// admin REST
	CAFile   string // PEM CA that signed the broker certificate
	Token    string // valid JWT (subject "admin", a super-user)
}

// PulsarTLS returns the TLS + token settings of the test Pulsar.
func PulsarTLS(t testing.TB) PulsarSecure {
	t.Helper()
	s := PulsarSecure{
		URL:      mustEnv(t, EnvPulsarTLSURL),
		HTTPSURL: mustEnv(t, EnvPulsarHTTPSURL),
		CAFile:   mustEnv(t, EnvPulsarCAFile),
	}
	s.Token = os.Getenv(EnvPulsarToken)
	if s.Token == "" {
		f := mustEnv(t, EnvPulsarTokenF)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("testbrokers: reading %s: %v", EnvPulsarTokenF, err)
		}
		s.Token = strings.TrimSpace(string(b))
	}
	mustDial(t, "Pulsar TLS ("+EnvPulsarTLSURL+")", hostPort(t, EnvPulsarTLSURL, s.URL))
	return s
}

// ctl runs `$envVar action` (the broker's generated ctl script).
func ctl(t testing.TB, envVar, action string, timeout time.Duration) error {
	t.Helper()
	script := mustEnv(t, envVar)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, script, action).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", envVar, action, err, out)
	}
	t.Logf("%s %s:\n%s", envVar, action, strings.TrimSpace(string(out)))
	return nil
}

// stopBroker stops a broker and registers a cleanup that starts it again if
// the test did not, so a failing test never leaves it down for the next one.
func stopBroker(t testing.TB, envVar string, running *bool) {
	t.Helper()
	ctlMu.Lock()
	defer ctlMu.Unlock()
	if err := ctl(t, envVar, "stop", 2*time.Minute); err != nil {
		t.Fatalf("testbrokers: stopping broker: %v", err)
	}
	*running = false
	t.Cleanup(func() {
		ctlMu.Lock()
		defer ctlMu.Unlock()
		if !*running {
			if err := ctl(t, envVar, "start", 5*time.Minute); err != nil {
				t.Errorf("testbrokers: restarting broker after the test: %v", err)
				return
			}
			*running = true
		}
	})
}

func startBroker(t testing.TB, envVar string, running *bool) {
	t.Helper()
	ctlMu.Lock()
	defer ctlMu.Unlock()
	if err := ctl(t, envVar, "start", 5*time.Minute); err != nil {
		t.Fatalf("testbrokers: starting broker: %v", err)
	}
	*running = true
}

var kafkaRunning, pulsarRunning = true, true

// StopKafka stops the test Kafka (SIGTERM, data kept). If the test does not
// call StartKafka, it is started again when the test ends.
func StopKafka(t testing.TB) { t.Helper(); stopBroker(t, EnvKafkaCtl, &kafkaRunning) }

// StartKafka starts the test Kafka again on the same port and data and
// returns once it serves a produce/consume round trip.
func StartKafka(t testing.TB) { t.Helper(); startBroker(t, EnvKafkaCtl, &kafkaRunning) }

// StopPulsar stops the test Pulsar (SIGTERM, data kept). If the test does not
// call StartPulsar, it is started again when the test ends.
func StopPulsar(t testing.TB) { t.Helper(); stopBroker(t, EnvPulsarCtl, &pulsarRunning) }

// StartPulsar starts the test Pulsar again on the same ports and data and
// returns once its admin REST and a produce/consume round trip work.
func StartPulsar(t testing.TB) { t.Helper(); startBroker(t, EnvPulsarCtl, &pulsarRunning) }
