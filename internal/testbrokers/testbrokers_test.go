package testbrokers

import (
	"fmt"
	"strings"
	"testing"
)

// fatalT records Fatalf instead of failing, and stops the helper like t.Fatalf does.
type fatalT struct {
	testing.TB
	msg string
}

type fatalStop struct{}

func (f *fatalT) Helper() {}
func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(fatalStop{})
}

func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	f := &fatalT{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(fatalStop); !ok {
					panic(r)
				}
			}
		}()
		fn(f)
	}()
	return f.msg
}

func TestMissingEnvFailsWithHowToRun(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		call      func(tb testing.TB)
	}{
		{"Kafka", EnvKafkaBrokers, func(tb testing.TB) { Kafka(tb) }},
		{"KafkaSASL", EnvKafkaSASL, func(tb testing.TB) { KafkaSASL(tb) }},
		{"Pulsar", EnvPulsarURL, func(tb testing.TB) { Pulsar(tb) }},
		{"PulsarTLS", EnvPulsarTLSURL, func(tb testing.TB) { PulsarTLS(tb) }},
		{"StopPulsar", EnvPulsarCtl, func(tb testing.TB) { StopPulsar(tb) }},
		{"StartKafka", EnvKafkaCtl, func(tb testing.TB) { StartKafka(tb) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.env, "")
			msg := fatalOf(t, tc.call)
			if !strings.Contains(msg, tc.env) || !strings.Contains(msg, "make test") || !strings.Contains(msg, "with-brokers.sh") {
				t.Fatalf("want a Fatalf naming %s and how to run the tests, got %q", tc.env, msg)
			}
		})
	}
}

func TestUnreachableBrokerFails(t *testing.T) {
	// Port 1 on loopback: nothing listens there.
	t.Setenv(EnvKafkaBrokers, "127.0.0.1:1")
	msg := fatalOf(t, func(tb testing.TB) { Kafka(tb) })
	if !strings.Contains(msg, "does not answer") || !strings.Contains(msg, "127.0.0.1:1") {
		t.Fatalf("want a Fatalf saying 127.0.0.1:1 does not answer, got %q", msg)
	}
	t.Setenv(EnvPulsarURL, "pulsar://127.0.0.1:1")
	t.Setenv(EnvPulsarHTTPURL, "http://127.0.0.1:1")
	msg = fatalOf(t, func(tb testing.TB) { Pulsar(tb) })
	if !strings.Contains(msg, "does not answer") {
		t.Fatalf("want a Fatalf saying Pulsar does not answer, got %q", msg)
	}
}
