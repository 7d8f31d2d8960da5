//go:build integration

package latencyenrichprocessor

// Secure listeners of the test brokers: Kafka SASL_SSL (SCRAM-SHA-512 over
// TLS) and Pulsar TLS with token authentication.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/latencywatch/latencywatch/internal/testbrokers"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/kafkasource"
)

func TestIntegrationKafkaSourceSASLTLS(t *testing.T) {
	plain := strings.Split(testbrokers.Kafka(t), ",")
	sec := testbrokers.KafkaSASL(t)
	topic := uniqueTopic("lw-enrich-meta-sasl")
	w := newKafkaWriter(t, plain, topic)
	w.put(t, "checkout", map[string]any{"region": "eu-west-1"})
	cfg := brokerConfig()
	kc := kafkasource.NewDefaultConfig()
	kc.Brokers = strings.Split(sec.Brokers, ",")
	kc.Topic = topic
	tlsCfg := configtls.NewDefaultClientConfig()
	tlsCfg.CAFile = sec.CAFile
	kc.TLS = configoptional.Some(tlsCfg)
	kc.SASL = configoptional.Some(kafkasource.SASLConfig{Mechanism: kafkasource.MechanismSCRAMSHA512, Username: sec.User, Password: configopaque.String(sec.Password)})
	cfg.Table.Kafka = configoptional.Some(kc)
	pr, err := newProbe(t, cfg)
	require.NoError(t, err)
	defer pr.stop(t)
	assert.Equal(t, "eu-west-1", pr.region(t, "checkout"))
	w.put(t, "checkout", map[string]any{"region": "eu-north-1"})
	pr.waitFor(t, "checkout", "eu-north-1", 30*time.Second)

	// A wrong password never gets ready.
	bad := brokerConfig()
	kcBad := kc
	kcBad.SASL = configoptional.Some(kafkasource.SASLConfig{Mechanism: kafkasource.MechanismSCRAMSHA512, Username: sec.User, Password: "wrong"})
	bad.Table.Kafka = configoptional.Some(kcBad)
	bad.WaitForReadyTimeout = 3 * time.Second
	_, err = newProbe(t, bad)
	require.ErrorContains(t, err, "not ready within wait_for_ready_timeout")
}

func TestIntegrationPulsarSourceTLSToken(t *testing.T) {
	url, _ := testbrokers.Pulsar(t)
	sec := testbrokers.PulsarTLS(t)
	topic := "persistent://public/default/" + uniqueTopic("lw-enrich-meta-tls")
	w := newPulsarWriter(t, url, topic)
	w.put(t, "checkout", map[string]any{"region": "eu-west-1"})

	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(sec.Token), 0o600))
	cfg := pulsarConfig(sec.URL, topic)()
	pc := cfg.Table.Pulsar.Get()
	pc.TLS.CAFile = sec.CAFile
	pc.Auth.TokenFile = tokenFile
	pr, err := newProbe(t, cfg)
	require.NoError(t, err)
	defer pr.stop(t)
	assert.Equal(t, "eu-west-1", pr.region(t, "checkout"))
	w.put(t, "checkout", map[string]any{"region": "eu-north-1"})
	pr.waitFor(t, "checkout", "eu-north-1", 30*time.Second)

	// A wrong token never gets ready.
	bad := pulsarConfig(sec.URL, topic)()
	bpc := bad.Table.Pulsar.Get()
	bpc.TLS.CAFile = sec.CAFile
	bpc.Auth.Token = "not-a-jwt"
	bad.WaitForReadyTimeout = 5 * time.Second
	_, err = newProbe(t, bad)
	require.ErrorContains(t, err, "not ready within wait_for_ready_timeout")
}
