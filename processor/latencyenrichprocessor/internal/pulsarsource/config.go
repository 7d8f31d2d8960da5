package pulsarsource

import (
	"errors"
	"fmt"

	"github.com/latencywatch/latencywatch/internal/pulsarclient"
)

// Config is the `pulsar` table source: a topic read through a TableView, whose
// message key is the lookup key and whose payload is a JSON object of columns.
// The connection settings (service_url, tls, auth with token, token_file,
// oauth2 or a TLS client certificate) are the project's shared Pulsar client
// settings and are validated by it.
type Config struct {
	pulsarclient.ClientConfig `mapstructure:",squash"`
	// Topic holds the table, e.g. persistent://public/default/service-metadata.
	Topic string `mapstructure:"topic"`
}

// NewDefaultConfig returns the defaults used when the section is present.
func NewDefaultConfig() Config {
	return Config{ClientConfig: pulsarclient.NewDefaultClientConfig()}
}

// Validate checks what this source adds to the client settings, without
// I/O; path is this section's YAML path. The embedded client settings are
// validated by confmap through pulsarclient.ClientConfig.Validate.
func (c *Config) Validate(path string) error {
	var errs error
	if c.Topic == "" {
		errs = errors.Join(errs, fmt.Errorf("%s.topic: must be set", path))
	}
	return errs
}
