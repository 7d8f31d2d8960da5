package kafkasource

import (
	"errors"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
)

// SASL mechanisms supported by the kafka source.
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
)

// Config is the `kafka` table source: a compacted topic whose message key is
// the lookup key and whose value is a JSON object of columns.
type Config struct {
	// Brokers are the bootstrap brokers, host:port.
	Brokers []string `mapstructure:"brokers"`
	// Topic is the compacted topic holding the table.
	Topic string `mapstructure:"topic"`
	// ClientID is sent to the brokers.
	ClientID string `mapstructure:"client_id"`
	// ProtocolVersion is the Kafka protocol version sarama speaks, e.g. 3.7.0.
	ProtocolVersion string `mapstructure:"protocol_version"`
	// TLS enables TLS when set.
	TLS configoptional.Optional[configtls.ClientConfig] `mapstructure:"tls"`
	// SASL enables SASL authentication when set.
	SASL configoptional.Optional[SASLConfig] `mapstructure:"sasl"`
}

// SASLConfig is SASL/PLAIN or SASL/SCRAM authentication.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string `mapstructure:"mechanism"`
	// Username to authenticate as.
	Username string `mapstructure:"username"`
	// Password for Username. Never logged.
	Password configopaque.String `mapstructure:"password"`
}

// NewDefaultConfig returns the defaults used when the section is present.
func NewDefaultConfig() Config {
	return Config{ClientID: "latencywatch-enrich", ProtocolVersion: "3.7.0"}
}

// Validate checks the config without I/O; path is this section's YAML path.
func (c *Config) Validate(path string) error {
	var errs error
	if len(c.Brokers) == 0 {
		errs = errors.Join(errs, fmt.Errorf("%s.brokers: at least one broker is required", path))
	}
	for i, b := range c.Brokers {
		if !strings.Contains(b, ":") {
			errs = errors.Join(errs, fmt.Errorf("%s.brokers[%d]: %q is not host:port", path, i, b))
		}
	}
	if c.Topic == "" {
		errs = errors.Join(errs, fmt.Errorf("%s.topic: must be set", path))
	}
	if _, err := sarama.ParseKafkaVersion(c.ProtocolVersion); err != nil {
		errs = errors.Join(errs, fmt.Errorf("%s.protocol_version: %w", path, err))
	}
	if s := c.SASL.Get(); s != nil {
		switch s.Mechanism {
		case MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512:
		default:
			errs = errors.Join(errs, fmt.Errorf("%s.sasl.mechanism: %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", path, s.Mechanism))
		}
		if s.Username == "" {
			errs = errors.Join(errs, fmt.Errorf("%s.sasl.username: must be set", path))
		}
		if s.Password == "" {
			errs = errors.Join(errs, fmt.Errorf("%s.sasl.password: must be set", path))
		}
	}
	return errs
}
