package pulsarexporter

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/latencywatch/latencywatch/internal/pulsarclient"
)

// Encodings of the message payload.
const (
	EncodingProto = "otlp_proto"
	EncodingJSON  = "otlp_json"
)

// Message key sources.
const (
	KeyNone               = "none"
	KeyTraceID            = "trace_id"
	KeyResourceAttributes = "resource_attributes"
	KeyMetricSeries       = "metric_series"
)

// defaultMaxMessageBytes stays below the broker's default maxMessageSize
// (5 MiB) with room for metadata and properties.
const defaultMaxMessageBytes = 5*1024*1024 - 64*1024

// Config is the pulsar exporter's configuration.
type Config struct {
	TimeoutSettings  exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	BackOffConfig    configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	QueueBatchConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`

	// ClientConfig: service_url, timeouts, tls, auth (shared with the receiver).
	pulsarclient.ClientConfig `mapstructure:",squash"`

	// Traces, Metrics and Logs set topic, encoding and message key per signal.
	Traces  SignalConfig `mapstructure:"traces"`
	Metrics SignalConfig `mapstructure:"metrics"`
	Logs    SignalConfig `mapstructure:"logs"`

	// TopicFromAttribute names a resource attribute whose value is the topic
	// for that resource's data; resources without it use the signal topic.
	TopicFromAttribute string `mapstructure:"topic_from_attribute"`

	// TopicFromMetadataKey names a client-metadata key (e.g. an HTTP header
	// kept by the OTLP receiver's include_metadata) whose first value is the
	// topic for the whole request. topic_from_attribute wins when both match.
	TopicFromMetadataKey string `mapstructure:"topic_from_metadata_key"`

	// MessageKeyAttributes are the resource attributes hashed into the key
	// when a signal's message_key is resource_attributes (empty: all of them).
	MessageKeyAttributes []string `mapstructure:"message_key_attributes"`

	// Properties are static message properties added to every message.
	Properties map[string]string `mapstructure:"properties"`

	// PropertiesFromResourceAttributes copies these resource attributes into
	// message properties (resources with different values go to different messages).
	PropertiesFromResourceAttributes []string `mapstructure:"properties_from_resource_attributes"`

	// EventTime sets each message's event time to the earliest timestamp of
	// the data in it.
	EventTime bool `mapstructure:"event_time"`

	// Replication controls per-message geo-replication.
	Replication ReplicationConfig `mapstructure:"replication"`

	// Producer tunes the pulsar-client-go producers.
	Producer ProducerConfig `mapstructure:"producer"`
}

// SignalConfig is the per-signal part of the config.
type SignalConfig struct {
	// Topic is the default topic (persistent://tenant/ns/name or a short name).
	Topic string `mapstructure:"topic"`
	// Encoding is otlp_proto (default) or otlp_json.
	Encoding string `mapstructure:"encoding"`
	// MessageKey is none, trace_id (traces, logs), resource_attributes, or
	// metric_series (metrics). Data is split so every message holds one key.
	MessageKey string `mapstructure:"message_key"`
}

// ReplicationConfig maps onto Pulsar's per-message replication override; the
// namespace must already replicate to the named clusters.
type ReplicationConfig struct {
	// Clusters restricts replication of every message to these clusters.
	Clusters []string `mapstructure:"clusters"`
	// ClustersFromAttribute names a resource attribute with a comma-separated
	// cluster list; it overrides Clusters for that resource's data.
	ClustersFromAttribute string `mapstructure:"clusters_from_attribute"`
	// Disable keeps every message in the local cluster.
	Disable bool `mapstructure:"disable"`
}

// ProducerConfig tunes the producers.
type ProducerConfig struct {
	// Compression is none, lz4, zlib or zstd.
	Compression string `mapstructure:"compression"`
	// Batching groups messages into broker entries.
	Batching BatchingConfig `mapstructure:"batching"`
	// MaxPendingMessages bounds messages awaiting the broker's ack per producer.
	MaxPendingMessages int `mapstructure:"max_pending_messages"`
	// SendTimeout fails a message the broker did not acknowledge in time. It
	// must be shorter than timeout so a failure is reported, not abandoned.
	SendTimeout time.Duration `mapstructure:"send_timeout"`
	// MaxMessageBytes is the payload limit per message; larger requests are
	// split. Keep it below the broker's maxMessageSize.
	MaxMessageBytes int `mapstructure:"max_message_bytes"`
}

// BatchingConfig is the producer's batching.
type BatchingConfig struct {
	Enabled     bool          `mapstructure:"enabled"`
	MaxDelay    time.Duration `mapstructure:"max_delay"`
	MaxMessages uint          `mapstructure:"max_messages"`
	MaxBytes    uint          `mapstructure:"max_bytes"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the config without I/O; errors name the YAML key.
func (c *Config) Validate() error {
	errs := []error{c.ClientConfig.Validate()}
	for name, s := range map[string]*SignalConfig{"traces": &c.Traces, "metrics": &c.Metrics, "logs": &c.Logs} {
		errs = append(errs, s.validate(name))
	}
	switch c.Producer.Compression {
	case "none", "lz4", "zlib", "zstd":
	default:
		errs = append(errs, fmt.Errorf("producer.compression: %q is not one of none, lz4, zlib, zstd", c.Producer.Compression))
	}
	if c.Producer.SendTimeout <= 0 {
		errs = append(errs, errors.New("producer.send_timeout: must be positive (0 would let a message wait forever)"))
	} else if c.TimeoutSettings.Timeout > 0 && c.Producer.SendTimeout >= c.TimeoutSettings.Timeout {
		errs = append(errs, fmt.Errorf("producer.send_timeout: %s must be shorter than timeout (%s) so the broker's verdict arrives before the export is cancelled",
			c.Producer.SendTimeout, c.TimeoutSettings.Timeout))
	}
	if c.Producer.MaxMessageBytes < 1024 {
		errs = append(errs, errors.New("producer.max_message_bytes: must be at least 1024"))
	}
	if c.Producer.MaxPendingMessages < 0 {
		errs = append(errs, errors.New("producer.max_pending_messages: must not be negative"))
	}
	if c.Producer.Batching.Enabled && c.Producer.Batching.MaxDelay <= 0 {
		errs = append(errs, errors.New("producer.batching.max_delay: must be positive when batching is enabled"))
	}
	if c.Replication.Disable && (len(c.Replication.Clusters) > 0 || c.Replication.ClustersFromAttribute != "") {
		errs = append(errs, errors.New("replication.disable: cannot be combined with replication.clusters or replication.clusters_from_attribute"))
	}
	for k := range c.Properties {
		if k == "" {
			errs = append(errs, errors.New("properties: keys must not be empty"))
		}
	}
	return errors.Join(errs...)
}

func (s *SignalConfig) validate(name string) error {
	var errs []error
	if s.Topic == "" {
		errs = append(errs, fmt.Errorf("%s.topic: must be set", name))
	}
	if s.Encoding != EncodingProto && s.Encoding != EncodingJSON {
		errs = append(errs, fmt.Errorf("%s.encoding: %q is not one of otlp_proto, otlp_json", name, s.Encoding))
	}
	allowed := map[string][]string{
		"traces":  {KeyNone, KeyTraceID, KeyResourceAttributes},
		"logs":    {KeyNone, KeyTraceID, KeyResourceAttributes},
		"metrics": {KeyNone, KeyResourceAttributes, KeyMetricSeries},
	}[name]
	ok := false
	for _, a := range allowed {
		ok = ok || s.MessageKey == a
	}
	if !ok {
		errs = append(errs, fmt.Errorf("%s.message_key: %q is not one of %v", name, s.MessageKey, allowed))
	}
	return errors.Join(errs...)
}
