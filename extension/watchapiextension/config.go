package watchapiextension

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
)

// Config is the watch_api extension's configuration.
type Config struct {
	// ServerConfig is the HTTP server: endpoint, tls, auth, max_request_body_size,
	// timeouts, … (confighttp). When tls is set and tls::curve_preferences is
	// empty, the extension prefers X25519MLKEM768, then X25519, P256, P384.
	// auth applies to every /v1 route; /health and /openapi.yaml are public.
	confighttp.ServerConfig `mapstructure:",squash"`

	// InsecureAllowUnauthenticated lets the extension start without `auth`.
	// For local development only; a warning is logged at every start.
	InsecureAllowUnauthenticated bool `mapstructure:"insecure_allow_unauthenticated"`

	// Storage is the id of a storage extension (e.g. file_storage) that keeps
	// devices, silences and acknowledgements across restarts. Without it they
	// live in memory only (a warning is logged).
	Storage *component.ID `mapstructure:"storage"`

	// RateLimit bounds requests per client (by remote IP address).
	RateLimit RateLimitConfig `mapstructure:"rate_limit"`

	// Ingest enables POST /v1/alerts and POST /v1/status: authenticated
	// producers outside the collector publish alerts and status entries the way
	// the apns exporter does in-process. Off by default.
	Ingest IngestConfig `mapstructure:"ingest"`

	// Limits cap the board's collections.
	Limits LimitsConfig `mapstructure:"limits"`

	// ResolvedRetention is how long resolved alerts stay on the board.
	ResolvedRetention time.Duration `mapstructure:"resolved_retention"`

	// Stream configures GET /v1/events (server-sent events).
	Stream StreamConfig `mapstructure:"stream"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RateLimitConfig is a token bucket per client.
type RateLimitConfig struct {
	// RequestsPerSecond is the sustained rate per client; 0 disables rate limiting.
	RequestsPerSecond float64 `mapstructure:"requests_per_second"`
	// Burst is the bucket size.
	Burst int `mapstructure:"burst"`
	// MaxClients bounds the number of tracked clients; idle ones are evicted first.
	MaxClients int `mapstructure:"max_clients"`
}

// IngestConfig controls the HTTP producer endpoints.
type IngestConfig struct {
	// Enabled turns on POST /v1/alerts and POST /v1/status.
	Enabled bool `mapstructure:"enabled"`
}

// LimitsConfig caps what the board stores.
type LimitsConfig struct {
	MaxDevices       int `mapstructure:"max_devices"`
	MaxSilences      int `mapstructure:"max_silences"`
	MaxAlerts        int `mapstructure:"max_alerts"`
	MaxStatusEntries int `mapstructure:"max_status_entries"`
}

// StreamConfig configures the server-sent-events stream.
type StreamConfig struct {
	// Heartbeat is the interval of keep-alive comments on idle streams.
	Heartbeat time.Duration `mapstructure:"heartbeat"`
	// MaxClients bounds concurrent streams; more are refused with 503.
	MaxClients int `mapstructure:"max_clients"`
	// Buffer is how many events a slow client may lag before it is disconnected.
	Buffer int `mapstructure:"buffer"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without doing I/O.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: must not be empty"))
	}
	if !cfg.Auth.HasValue() && !cfg.InsecureAllowUnauthenticated {
		errs = append(errs, errors.New("auth: the watch API serves on-call data and accepts acknowledgements; "+
			"configure an authenticator (e.g. auth: {authenticator: bearertokenauth}) or set insecure_allow_unauthenticated: true for local use"))
	}
	if cfg.MaxRequestBodySize < 0 {
		errs = append(errs, errors.New("max_request_body_size: must not be negative"))
	}
	if cfg.RateLimit.RequestsPerSecond < 0 {
		errs = append(errs, errors.New("rate_limit::requests_per_second: must not be negative (0 disables the limiter)"))
	}
	if cfg.RateLimit.RequestsPerSecond > 0 && cfg.RateLimit.Burst < 1 {
		errs = append(errs, errors.New("rate_limit::burst: must be at least 1 when rate limiting is on"))
	}
	if cfg.RateLimit.MaxClients < 1 {
		errs = append(errs, errors.New("rate_limit::max_clients: must be at least 1"))
	}
	for _, c := range []struct {
		path string
		v    int
	}{
		{"limits::max_devices", cfg.Limits.MaxDevices}, {"limits::max_silences", cfg.Limits.MaxSilences},
		{"limits::max_alerts", cfg.Limits.MaxAlerts}, {"limits::max_status_entries", cfg.Limits.MaxStatusEntries},
		{"stream::max_clients", cfg.Stream.MaxClients}, {"stream::buffer", cfg.Stream.Buffer},
	} {
		if c.v < 1 {
			errs = append(errs, fmt.Errorf("%s: must be at least 1, got %d", c.path, c.v))
		}
	}
	if cfg.ResolvedRetention <= 0 {
		errs = append(errs, errors.New("resolved_retention: must be positive"))
	}
	if cfg.Stream.Heartbeat < time.Second {
		errs = append(errs, errors.New("stream::heartbeat: must be at least 1s"))
	}
	return errors.Join(errs...)
}
