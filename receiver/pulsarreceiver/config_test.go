package pulsarreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/latencywatch/latencywatch/internal/pulsarclient"
	"github.com/latencywatch/latencywatch/receiver/pulsarreceiver/internal/metadata"
)

func loadConfig(t *testing.T, file, id string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", file))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	sub, err := cm.Sub(id)
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "config.yaml", component.NewID(metadata.Type).String())
	require.NoError(t, err)
	assert.Equal(t, createDefaultConfig(), cfg)
	assert.Equal(t, "otlp_spans-otlp_receiver-DLQ", cfg.deadLetterTopic(cfg.Traces))

	cfg, err = loadConfig(t, "config.yaml", component.NewIDWithName(metadata.Type, "full").String())
	require.NoError(t, err)
	want := createDefaultConfig().(*Config)
	want.ServiceURL = "pulsar+ssl://broker:6651"
	want.TLS.CAFile = "/etc/pulsar/ca.pem"
	want.Auth.OAuth2 = &pulsarclient.OAuth2Config{
		IssuerURL: "https://idp.example.com", Audience: "urn:sn:pulsar:latencywatch", CredentialsFile: "/etc/pulsar/oauth2.json",
	}
	want.Traces.Topics = []string{"persistent://latencywatch/telemetry/spans-eu", "persistent://latencywatch/telemetry/spans-us"}
	want.Metrics = SignalConfig{Topics: []string{"otlp_metrics"}, TopicsPattern: "persistent://latencywatch/telemetry/metrics-.*", Encoding: EncodingJSON}
	want.Logs.Topics = []string{"persistent://latencywatch/telemetry/logs"}
	want.Subscription = "gateway"
	want.SubscriptionType = "key_shared"
	want.InitialPosition = "earliest"
	want.ReceiverQueueSize = 500
	want.ConsumerName = "gateway-1"
	want.Redelivery = RedeliveryConfig{InitialBackoff: 200 * time.Millisecond, MaxBackoff: 10 * time.Second, MaxRedeliveries: 3}
	want.DeadLetter.Topic = "persistent://latencywatch/telemetry/dlq"
	want.Metadata = MetadataConfig{ClientMetadata: true, ResourceAttributes: true}
	assert.Equal(t, want, cfg)
}

func TestInvalidConfigs(t *testing.T) {
	for file, want := range map[string]string{
		"invalid_pattern_no_dlq.yaml":    "dead_letter.topic: must be set when traces consumes several topics or a pattern",
		"invalid_dlq_missing.yaml":       "dead_letter.topic: must be set when logs consumes several topics or a pattern",
		"invalid_subscription_type.yaml": `subscription_type: "round_robin" is not one of exclusive, failover, shared, key_shared`,
		"invalid_backoff.yaml":           "redelivery.max_backoff: must not be less than redelivery.initial_backoff",
		"invalid_auth.yaml":              "auth: exactly one authentication method may be set, found token, tls_client_certificate",
	} {
		t.Run(file, func(t *testing.T) {
			_, err := loadConfig(t, file, "pulsar")
			require.ErrorContains(t, err, want)
		})
	}
}
