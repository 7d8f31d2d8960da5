package watchapiextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/latencywatch/latencywatch/extension/watchapiextension/internal/metadata"
)

func loadConfig(t *testing.T, file string, id component.ID) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", file))
	require.NoError(t, err)
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config), confmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "config.yaml", component.NewID(metadata.Type))
	require.NoError(t, err)
	def := createDefaultConfig().(*Config)
	assert.Equal(t, "localhost:9443", cfg.NetAddr.Endpoint)
	assert.Equal(t, int64(64<<10), cfg.MaxRequestBodySize)
	assert.Equal(t, def.RateLimit, cfg.RateLimit)
	assert.Equal(t, component.MustNewID("file_storage"), *cfg.Storage)
	assert.Equal(t, component.MustNewID("bearertokenauth"), cfg.Auth.Get().Config.AuthenticatorID)
	assert.False(t, cfg.Ingest.Enabled)

	full, err := loadConfig(t, "config.yaml", component.NewIDWithName(metadata.Type, "full"))
	require.NoError(t, err)
	want := createDefaultConfig().(*Config)
	want.NetAddr.Endpoint = "0.0.0.0:8443"
	want.TLS = configoptional.Some(configtls.ServerConfig{Config: configtls.Config{CertFile: "/etc/latencywatch/tls.crt", KeyFile: "/etc/latencywatch/tls.key"}})
	want.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: component.MustNewIDWithName("bearertokenauth", "watch")}})
	want.MaxRequestBodySize = 32768
	sid := component.MustNewIDWithName("file_storage", "watch")
	want.Storage = &sid
	want.RateLimit = RateLimitConfig{RequestsPerSecond: 5, Burst: 20, MaxClients: 500}
	want.Ingest.Enabled = true
	want.Limits = LimitsConfig{MaxDevices: 100, MaxSilences: 50, MaxAlerts: 200, MaxStatusEntries: 300}
	want.ResolvedRetention = 2 * time.Hour
	want.Stream = StreamConfig{Heartbeat: 30 * time.Second, MaxClients: 16, Buffer: 64}
	assert.Equal(t, want.NetAddr, full.NetAddr)
	assert.Equal(t, want.TLS.Get().CertFile, full.TLS.Get().CertFile)
	assert.Equal(t, want.TLS.Get().KeyFile, full.TLS.Get().KeyFile)
	assert.Equal(t, want.Auth.Get().Config, full.Auth.Get().Config)
	assert.Equal(t, want.MaxRequestBodySize, full.MaxRequestBodySize)
	assert.Equal(t, want.Storage, full.Storage)
	assert.Equal(t, want.RateLimit, full.RateLimit)
	assert.Equal(t, want.Ingest, full.Ingest)
	assert.Equal(t, want.Limits, full.Limits)
	assert.Equal(t, want.ResolvedRetention, full.ResolvedRetention)
	assert.Equal(t, want.Stream, full.Stream)

	local, err := loadConfig(t, "config.yaml", component.NewIDWithName(metadata.Type, "local"))
	require.NoError(t, err)
	assert.True(t, local.InsecureAllowUnauthenticated)
	assert.False(t, local.Auth.HasValue())
}

func TestInvalidConfigs(t *testing.T) {
	for file, want := range map[string]string{
		"invalid_no_auth.yaml":    "auth: the watch API serves on-call data",
		"invalid_rate_limit.yaml": "rate_limit::burst: must be at least 1",
		"invalid_limits.yaml":     "limits::max_devices: must be at least 1, got 0",
		"invalid_heartbeat.yaml":  "stream::heartbeat: must be at least 1s",
		"invalid_retention.yaml":  "resolved_retention: must be positive",
	} {
		t.Run(file, func(t *testing.T) {
			_, err := loadConfig(t, file, component.NewID(metadata.Type))
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		})
	}
}

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, component.StabilityLevelAlpha, f.Stability())
	require.NoError(t, componentConfigValidate(f.CreateDefaultConfig()))
}

// componentConfigValidate: the default config is valid except for auth, which
// must be chosen by the user.
func componentConfigValidate(cfg component.Config) error {
	c := cfg.(*Config)
	c.InsecureAllowUnauthenticated = true
	return confmap.Validate(c)
}
