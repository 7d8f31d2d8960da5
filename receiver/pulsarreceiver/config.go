package pulsarreceiver

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/latencywatch/latencywatch/internal/pulsarclient"
)

// Encodings of the message payload.
const (
	EncodingProto = "otlp_proto"
	EncodingJSON  = "otlp_json"
)

// Config is the pulsar receiver's configuration.
type Config struct {
	// ClientConfig: service_url, timeouts, tls, auth (shared with the exporter).
	pulsarclient.ClientConfig `mapstructure:",squash"`

	// Traces, Metrics and Logs name the topics and encoding per signal.
	Traces  SignalConfig `mapstructure:"traces"`
	Metrics SignalConfig `mapstructure:"metrics"`
	Logs    SignalConfig `mapstructure:"logs"`

	// Subscription is the subscription name (shared by all signals; each
	// signal subscribes to its own topics).
	Subscription string `mapstructure:"subscription"`

	// SubscriptionType is exclusive, failover, shared or key_shared.
	// key_shared and failover keep per-key order with several collectors.
	SubscriptionType string `mapstructure:"subscription_type"`

	// InitialPosition is latest or earliest: where a new subscription starts.
	InitialPosition string `mapstructure:"initial_position"`

	// ReceiverQueueSize is the client's prefetch queue per consumer.
	ReceiverQueueSize int `mapstructure:"receiver_queue_size"`

	// ConsumerName names the consumer in broker stats (default: generated).
	ConsumerName string `mapstructure:"consumer_name"`

	// Redelivery controls negative acknowledgement of retryable failures.
	Redelivery RedeliveryConfig `mapstructure:"redelivery"`

	// DeadLetter is where undecodable messages, permanent failures and
	// messages past redelivery.max_redeliveries go.
	DeadLetter DeadLetterConfig `mapstructure:"dead_letter"`

	// Metadata copies message metadata into the data's context.
	Metadata MetadataConfig `mapstructure:"metadata"`
}

// SignalConfig names what to consume for one signal.
type SignalConfig struct {
	// Topics to consume.
	Topics []string `mapstructure:"topics"`
	// TopicsPattern is a regular expression over full topic names
	// (persistent://tenant/ns/otlp_.*); when set, Topics is ignored.
	TopicsPattern string `mapstructure:"topics_pattern"`
	// Encoding is otlp_proto (default) or otlp_json.
	Encoding string `mapstructure:"encoding"`
}

// RedeliveryConfig is the negative-acknowledgement back-off.
type RedeliveryConfig struct {
	// InitialBackoff is the delay before the first redelivery; it doubles per
	// redelivery up to MaxBackoff. After a failure the consumer also pauses
	// for the same delay so a failing pipeline is not hammered.
	InitialBackoff time.Duration `mapstructure:"initial_backoff"`
	MaxBackoff     time.Duration `mapstructure:"max_backoff"`
	// MaxRedeliveries sends a message to the dead-letter topic once it
	// failed this many times (0: retry forever).
	MaxRedeliveries int `mapstructure:"max_redeliveries"`
}

// DeadLetterConfig is the dead-letter topic.
type DeadLetterConfig struct {
	// Topic defaults to "<topic>-<subscription>-DLQ" when exactly one topic
	// is consumed; it must be set for several topics or a pattern.
	Topic string `mapstructure:"topic"`
}

// MetadataConfig copies message metadata (topic, key, publish time,
// properties) into the pipeline.
type MetadataConfig struct {
	// ClientMetadata adds pulsar.topic, pulsar.key, pulsar.publish_time,
	// pulsar.message_id and one pulsar.property.<name> per property to
	// client.Info metadata (for batch's metadata_keys, headers_setter, …).
	ClientMetadata bool `mapstructure:"client_metadata"`
	// ResourceAttributes adds messaging.system, messaging.destination.name,
	// messaging.pulsar.message.key, messaging.pulsar.publish_time and
	// messaging.pulsar.property.<name> to every resource.
	ResourceAttributes bool `mapstructure:"resource_attributes"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the config without I/O; errors name the YAML key.
func (c *Config) Validate() error {
	errs := []error{c.ClientConfig.Validate()}
	for _, s := range []struct {
		name string
		cfg  *SignalConfig
	}{{"traces", &c.Traces}, {"metrics", &c.Metrics}, {"logs", &c.Logs}} {
		errs = append(errs, s.cfg.validate(s.name, c.DeadLetter.Topic))
	}
	if c.Subscription == "" {
		errs = append(errs, errors.New("subscription: must be set"))
	}
	switch c.SubscriptionType {
	case "exclusive", "failover", "shared", "key_shared":
	default:
		errs = append(errs, fmt.Errorf("subscription_type: %q is not one of exclusive, failover, shared, key_shared", c.SubscriptionType))
	}
	if c.InitialPosition != "latest" && c.InitialPosition != "earliest" {
		errs = append(errs, fmt.Errorf("initial_position: %q is not one of latest, earliest", c.InitialPosition))
	}
	if c.ReceiverQueueSize < 0 {
		errs = append(errs, errors.New("receiver_queue_size: must not be negative"))
	}
	if c.Redelivery.InitialBackoff <= 0 {
		errs = append(errs, errors.New("redelivery.initial_backoff: must be positive"))
	}
	if c.Redelivery.MaxBackoff < c.Redelivery.InitialBackoff {
		errs = append(errs, errors.New("redelivery.max_backoff: must not be less than redelivery.initial_backoff"))
	}
	if c.Redelivery.MaxRedeliveries < 0 {
		errs = append(errs, errors.New("redelivery.max_redeliveries: must not be negative"))
	}
	return errors.Join(errs...)
}

func (s *SignalConfig) validate(name, dlq string) error {
	var errs []error
	if len(s.Topics) == 0 && s.TopicsPattern == "" {
		errs = append(errs, fmt.Errorf("%s.topics: must name at least one topic (or set topics_pattern)", name))
	}
	for i, t := range s.Topics {
		if t == "" {
			errs = append(errs, fmt.Errorf("%s.topics[%d]: must not be empty", name, i))
		}
	}
	if s.Encoding != EncodingProto && s.Encoding != EncodingJSON {
		errs = append(errs, fmt.Errorf("%s.encoding: %q is not one of otlp_proto, otlp_json", name, s.Encoding))
	}
	if dlq == "" && (len(s.Topics) > 1 || s.TopicsPattern != "") {
		errs = append(errs, fmt.Errorf("dead_letter.topic: must be set when %s consumes several topics or a pattern", name))
	}
	return errors.Join(errs...)
}

// deadLetterTopic is the dead-letter topic for one signal.
func (c *Config) deadLetterTopic(s SignalConfig) string {
	if c.DeadLetter.Topic != "" || s.TopicsPattern != "" || len(s.Topics) == 0 {
		return c.DeadLetter.Topic
	}
	return s.Topics[0] + "-" + c.Subscription + "-DLQ"
}
