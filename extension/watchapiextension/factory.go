package watchapiextension

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/extension"

	"github.com/latencywatch/latencywatch/extension/watchapiextension/internal/metadata"
)

const (
	defaultEndpoint           = "localhost:9443"
	defaultMaxRequestBodySize = 64 << 10
)

// NewFactory returns the factory of the watch_api extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	srv := confighttp.NewDefaultServerConfig()
	srv.NetAddr.Endpoint = defaultEndpoint
	srv.MaxRequestBodySize = defaultMaxRequestBodySize
	// Streams set their own write deadlines; plain requests keep this one.
	srv.WriteTimeout = 30 * time.Second
	return &Config{
		ServerConfig:      srv,
		RateLimit:         RateLimitConfig{RequestsPerSecond: 10, Burst: 40, MaxClients: 10000},
		Limits:            LimitsConfig{MaxDevices: 10000, MaxSilences: 1000, MaxAlerts: 10000, MaxStatusEntries: 10000},
		ResolvedRetention: 24 * time.Hour,
		Stream:            StreamConfig{Heartbeat: 15 * time.Second, MaxClients: 256, Buffer: 256},
	}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newWatchAPI(cfg.(*Config), set), nil
}
