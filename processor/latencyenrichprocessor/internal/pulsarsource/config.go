package pulsarsource

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
)

// Config is the `pulsar` table source: a topic read through a TableView, whose
// message key is the lookup key and whose payload is a JSON object of columns.
//
// The connection settings mirror the project's Pulsar client settings (URL,
// TLS, token) and are kept minimal here.
type Config struct {
	// URL is the service URL, pulsar://host:6650 or pulsar+ssl://host:6651.
	URL string `mapstructure:"url"`
	// Topic holds the table, e.g. persistent://public/default/service-metadata.
	Topic string `mapstructure:"topic"`
	// TLSTrustCertsFile is a PEM file of CAs trusted for pulsar+ssl URLs.
	TLSTrustCertsFile string `mapstructure:"tls_trust_certs_file"`
	// TLSAllowInsecureConnection accepts any server certificate (tests only).
	TLSAllowInsecureConnection bool `mapstructure:"tls_allow_insecure_connection"`
	// TLSValidateHostname checks the server certificate's host name.
	TLSValidateHostname bool `mapstructure:"tls_validate_hostname"`
	// Token is a JWT for token authentication. Never logged.
	Token configopaque.String `mapstructure:"token"`
	// TokenFile is a file holding the JWT; read on each connection.
	TokenFile string `mapstructure:"token_file"`
	// OperationTimeout bounds broker operations (creating the table view).
	OperationTimeout time.Duration `mapstructure:"operation_timeout"`
	// ConnectionTimeout bounds establishing a TCP connection.
	ConnectionTimeout time.Duration `mapstructure:"connection_timeout"`
}

// NewDefaultConfig returns the defaults used when the section is present.
func NewDefaultConfig() Config {
	return Config{OperationTimeout: 30 * time.Second, ConnectionTimeout: 10 * time.Second, TLSValidateHostname: true}
}

// Validate checks the config without I/O; path is this section's YAML path.
func (c *Config) Validate(path string) error {
	var errs error
	switch {
	case c.URL == "":
		errs = errors.Join(errs, fmt.Errorf("%s.url: must be set", path))
	case !strings.HasPrefix(c.URL, "pulsar://") && !strings.HasPrefix(c.URL, "pulsar+ssl://"):
		errs = errors.Join(errs, fmt.Errorf("%s.url: %q must start with pulsar:// or pulsar+ssl://", path, c.URL))
	}
	if c.Topic == "" {
		errs = errors.Join(errs, fmt.Errorf("%s.topic: must be set", path))
	}
	if c.Token != "" && c.TokenFile != "" {
		errs = errors.Join(errs, fmt.Errorf("%s: set at most one of token and token_file", path))
	}
	if c.TLSTrustCertsFile != "" && !strings.HasPrefix(c.URL, "pulsar+ssl://") {
		errs = errors.Join(errs, fmt.Errorf("%s.tls_trust_certs_file: only used with a pulsar+ssl:// url", path))
	}
	if c.OperationTimeout <= 0 {
		errs = errors.Join(errs, fmt.Errorf("%s.operation_timeout: must be positive", path))
	}
	if c.ConnectionTimeout <= 0 {
		errs = errors.Join(errs, fmt.Errorf("%s.connection_timeout: must be positive", path))
	}
	return errs
}
