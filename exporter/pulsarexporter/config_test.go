package pulsarexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/latencywatch/latencywatch/exporter/pulsarexporter/internal/metadata"
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

	cfg, err = loadConfig(t, "config.yaml", component.NewIDWithName(metadata.Type, "full").String())
	require.NoError(t, err)
	assert.Equal(t, "pulsar+ssl://broker-1:6651,broker-2:6651", cfg.ServiceURL)
	assert.Equal(t, 10*time.Second, cfg.OperationTimeout)
	assert.Equal(t, "/etc/pulsar/ca.pem", cfg.TLS.CAFile)
	assert.Equal(t, "/var/run/secrets/pulsar/token", cfg.Auth.TokenFile)
	assert.Equal(t, 40*time.Second, cfg.TimeoutSettings.Timeout)
	require.True(t, cfg.QueueBatchConfig.HasValue())
	require.NotNil(t, cfg.QueueBatchConfig.Get().StorageID)
	assert.Equal(t, "file_storage", cfg.QueueBatchConfig.Get().StorageID.String())
	assert.Equal(t, SignalConfig{Topic: "persistent://latencywatch/telemetry/spans", Encoding: EncodingProto, MessageKey: KeyTraceID}, cfg.Traces)
	assert.Equal(t, SignalConfig{Topic: "persistent://latencywatch/telemetry/metrics", Encoding: EncodingJSON, MessageKey: KeyMetricSeries}, cfg.Metrics)
	assert.Equal(t, KeyResourceAttributes, cfg.Logs.MessageKey)
	assert.Equal(t, "latencywatch.pulsar.topic", cfg.TopicFromAttribute)
	assert.Equal(t, "x-pulsar-topic", cfg.TopicFromMetadataKey)
	assert.Equal(t, []string{"service.name", "host.name"}, cfg.MessageKeyAttributes)
	assert.Equal(t, map[string]string{"source": "sidecar"}, cfg.Properties)
	assert.Equal(t, []string{"cloud.region"}, cfg.PropertiesFromResourceAttributes)
	assert.False(t, cfg.EventTime)
	assert.Equal(t, ReplicationConfig{Clusters: []string{"us-east", "eu-west"}, ClustersFromAttribute: "latencywatch.replicate_to"}, cfg.Replication)
	assert.Equal(t, ProducerConfig{
		Compression:        "zstd",
		Batching:           BatchingConfig{Enabled: true, MaxDelay: 5 * time.Millisecond, MaxMessages: 500, MaxBytes: 65536},
		MaxPendingMessages: 2000,
		SendTimeout:        15 * time.Second,
		MaxMessageBytes:    1048576,
	}, cfg.Producer)
}

func TestInvalidConfigs(t *testing.T) {
	for file, want := range map[string]string{
		"invalid_two_auth.yaml":     "auth: exactly one authentication method may be set, found token, token_file",
		"invalid_send_timeout.yaml": "producer.send_timeout: 10s must be shorter than timeout (10s)",
		"invalid_message_key.yaml":  `metrics.message_key: "trace_id" is not one of`,
		"invalid_compression.yaml":  `producer.compression: "snappy" is not one of none, lz4, zlib, zstd`,
		"invalid_replication.yaml":  "replication.disable: cannot be combined with replication.clusters",
		"invalid_encoding.yaml":     `traces.encoding: "jaeger_proto" is not one of otlp_proto, otlp_json`,
	} {
		t.Run(file, func(t *testing.T) {
			_, err := loadConfig(t, file, "pulsar")
			require.ErrorContains(t, err, want)
		})
	}
}
