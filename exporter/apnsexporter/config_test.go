package apnsexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/metadata"
)

func loadConfig(t *testing.T, file, id string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", file))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if id != "" {
		cm, err = cm.Sub(id)
		require.NoError(t, err)
	}
	require.NoError(t, cm.Unmarshal(cfg))
	return cfg, confmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "config.yaml", component.NewID(metadata.Type).String())
	require.NoError(t, err)
	want := createDefaultConfig().(*Config)
	want.APNs.Topic = "com.example.latencywatch.watchkitapp"
	want.APNs.Token = &TokenAuthConfig{KeyFile: "/etc/latencywatch/AuthKey_ABC123DEFG.p8", KeyID: "ABC123DEFG", TeamID: "TEAM123456"}
	id := component.MustNewID("watch_api")
	want.WatchAPI = &id
	assert.Equal(t, want, cfg)

	cfg, err = loadConfig(t, "config.yaml", component.NewIDWithName(metadata.Type, "full").String())
	require.NoError(t, err)
	assert.Equal(t, "development", cfg.APNs.Environment)
	assert.Equal(t, &CertificateAuthConfig{File: "/etc/latencywatch/push.p12", PasswordEnv: "APNS_P12_PASSWORD"}, cfg.APNs.Certificate)
	assert.Equal(t, 5, cfg.APNs.Priority)
	assert.Equal(t, 30*time.Minute, cfg.APNs.Expiration)
	assert.True(t, cfg.APNs.AllowCritical)
	assert.Equal(t, RateLimitConfig{Rate: 0.5, Burst: 2}, cfg.APNs.PerDevice)
	assert.Equal(t, "file_storage/apns", cfg.Storage.String())
	require.Len(t, cfg.Route.Routes, 1)
	assert.Equal(t, 0*time.Second, *cfg.Route.Routes[0].GroupWait)
	assert.Equal(t, 2*time.Hour, *cfg.Route.RepeatInterval)
	assert.Nil(t, cfg.Route.Routes[0].RepeatInterval)
	assert.Equal(t, []string{"team=payments", `cloud.region=~"eu-.*"`}, cfg.Route.Routes[0].Matchers)
	assert.False(t, cfg.SendResolved)
	assert.Equal(t, time.Hour, cfg.AckTimeout)
	assert.Equal(t, "latencywatch.severity", cfg.Severity.Attribute)
	assert.Equal(t, 500*time.Millisecond, cfg.EvaluationInterval)

	pc, err := cfg.policy()
	require.NoError(t, err)
	w, i, r := pc.Route.Routes[0].Timing()
	assert.Equal(t, []time.Duration{0, time.Minute, 2 * time.Hour}, []time.Duration{w, i, r})
	assert.Len(t, pc.Inhibit, 1)
}

func TestInvalidConfigs(t *testing.T) {
	tests := map[string]string{
		"invalid_no_topic.yaml":      "apns::topic: the watch app's bundle id is required",
		"invalid_no_auth.yaml":       "apns: set token (key_file, key_id, team_id) or certificate (file)",
		"invalid_both_auth.yaml":     "apns: token and certificate are mutually exclusive",
		"invalid_no_devices.yaml":    "devices: no device source: list devices or set watch_api",
		"invalid_bad_receiver.yaml":  `route::receiver: "nobody" is not one of receivers`,
		"invalid_bad_matcher.yaml":   "route::routes[0]::matchers[0]: matcher \"team\"",
		"invalid_bad_token.yaml":     "devices[0]: token: must be an even number of hex digits",
		"invalid_bad_priority.yaml":  "apns::priority: must be 10 or 5, got 7",
		"invalid_bad_severity.yaml":  `severity::default: "loud" is not info, warning or critical`,
		"invalid_http_endpoint.yaml": "apns::endpoint: must be an https:// URL",
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			_, err := loadConfig(t, file, "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}
