package latencyenrichprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/filesource"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/kafkasource"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadata"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/pulsarsource"
)

func loadConfig(t *testing.T, file, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(file)
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	resKey := func(a string) KeyPart { return KeyPart{From: ContextResource, Attribute: a} }
	base := func() *Config { return createDefaultConfig().(*Config) }

	inline := base()
	inline.Keys = []KeyRule{
		{Attributes: []KeyPart{resKey("service.name"), resKey("deployment.environment.name")}},
		{Attributes: []KeyPart{resKey("service.name")}},
	}
	inline.Action = ActionInsert
	inline.Attributes = []AttributeConfig{{Column: "region"}, {Column: "zone"}, {Column: "team", Name: "team.owner", Default: "unowned"}}
	inline.SLO.ThresholdColumn = "slo_threshold_seconds"
	inline.MetadataAttributes = MetadataAttributesConfig{Age: true, Version: true}
	inline.Table.Inline = configoptional.Some(InlineConfig{Rows: []InlineRow{
		{Key: "checkout|prod", Values: map[string]any{"region": "eu-west-1", "zone": "eu-west-1a", "team": "payments", "slo_threshold_seconds": 0.25}},
		{Key: "checkout", Values: map[string]any{"region": "us-east-1"}},
	}})

	file := base()
	file.Keys = []KeyRule{{Attributes: []KeyPart{{From: ContextRecord, Attribute: "peer.service"}}}}
	file.Target = ContextRecord
	file.Attributes = []AttributeConfig{{Column: "region"}}
	file.Table.File = configoptional.Some(filesource.Config{Path: "/etc/latencywatch/metadata.csv", KeyColumn: "key", ReloadInterval: 5 * time.Second})
	file.Metrics.NormalizeUnits = true
	file.Metrics.Quantiles = []float64{0.5, 0.95, 0.99}

	kafka := base()
	kafka.Keys = []KeyRule{{Attributes: []KeyPart{resKey("service.name")}}}
	kafka.Attributes = []AttributeConfig{{Column: "region"}}
	kafka.WaitForReady = true
	kafka.WaitForReadyTimeout = 45 * time.Second
	kc := kafkasource.NewDefaultConfig()
	kc.Brokers = []string{"localhost:9092"}
	kc.Topic = "service-metadata"
	tlsCfg := configtls.NewDefaultClientConfig()
	tlsCfg.CAFile = "/etc/ssl/kafka-ca.pem"
	kc.TLS = configoptional.Some(tlsCfg)
	kc.SASL = configoptional.Some(kafkasource.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "enrich", Password: configopaque.String("s3cret")})
	kafka.Table.Kafka = configoptional.Some(kc)

	pulsar := base()
	pulsar.Keys = []KeyRule{{Attributes: []KeyPart{resKey("service.name")}}}
	pulsar.Attributes = []AttributeConfig{{Column: "region"}}
	pc := pulsarsource.NewDefaultConfig()
	pc.ServiceURL = "pulsar+ssl://localhost:6651"
	pc.Topic = "persistent://public/default/service-metadata"
	pc.TLS.CAFile = "/etc/ssl/pulsar-ca.pem"
	pc.Auth.TokenFile = "/etc/latencywatch/pulsar.jwt"
	pulsar.Table.Pulsar = configoptional.Some(pc)

	for name, want := range map[string]*Config{"inline": inline, "file": file, "kafka": kafka, "pulsar": pulsar} {
		t.Run(name, func(t *testing.T) {
			got, err := loadConfig(t, filepath.Join("testdata", "config.yaml"), name)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestLoadConfigInvalid(t *testing.T) {
	tests := map[string]string{
		"no_source.yaml":                  "table: exactly one of inline, file, kafka, pulsar must be set, got 0",
		"two_sources.yaml":                "table: exactly one of inline, file, kafka, pulsar must be set, got 2",
		"record_key_resource_target.yaml": "keys[0].attributes[0].from: a record attribute cannot key a resource target",
		"bad_action.yaml":                 `action: "replace" is not insert, update or upsert`,
		"no_keys.yaml":                    "keys: at least one key rule is required",
		"bad_quantile.yaml":               "metrics.quantiles[1]: 1.5 is not strictly between 0 and 1",
		"kafka_no_topic.yaml":             "table.kafka.topic: must be set",
		"kafka_bad_sasl.yaml":             `table.kafka.sasl.mechanism: "GSSAPI" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`,
		"pulsar_two_tokens.yaml":          "auth: exactly one authentication method may be set, found token, token_file",
		"pulsar_no_topic.yaml":            "table.pulsar.topic: must be set",
		"file_unknown_format.yaml":        "table.file.format: cannot tell the format",
		"inline_nested_value.yaml":        "table.inline.rows[0].values",
		"duplicate_output.yaml":           `attributes[1].name: "cloud.region" is already written by attributes[0]`,
	}
	for file, wantErr := range tests {
		t.Run(file, func(t *testing.T) {
			cm, err := confmaptest.LoadConf(filepath.Join("testdata", "invalid", file))
			require.NoError(t, err)
			sub, err := cm.Sub("latency_enrich")
			require.NoError(t, err)
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), wantErr)
		})
	}
}

func TestDefaultConfigNeedsKeysAndSource(t *testing.T) {
	err := confmap.Validate(createDefaultConfig())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "keys: at least one key rule is required")
	assert.Contains(t, err.Error(), "table: exactly one")
}

func TestSecretsAreOpaque(t *testing.T) {
	cfg, err := loadConfig(t, filepath.Join("testdata", "config.yaml"), "kafka")
	require.NoError(t, err)
	out := confmap.New()
	require.NoError(t, out.Marshal(cfg))
	assert.NotContains(t, out.ToStringMap()["table"].(map[string]any)["kafka"].(map[string]any)["sasl"].(map[string]any)["password"], "s3cret")
}
