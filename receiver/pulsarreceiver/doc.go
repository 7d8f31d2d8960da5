// Package pulsarreceiver consumes OTLP traces, metrics and logs from Apache
// Pulsar with apache/pulsar-client-go. A message is acknowledged only after
// the next consumer accepted its data; retryable failures are negatively
// acknowledged for a backed-off redelivery; undecodable messages, permanent
// failures and messages past max_redeliveries go to a dead-letter topic, and
// consumption continues.
//
// internal/metadata is written by hand in mdatagen's shape from metadata.yaml.
package pulsarreceiver // import "github.com/latencywatch/latencywatch/receiver/pulsarreceiver"
