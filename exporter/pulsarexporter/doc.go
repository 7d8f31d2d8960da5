// Package pulsarexporter exports traces, metrics and logs to Apache Pulsar
// with apache/pulsar-client-go. An export returns only after the broker
// acknowledged every message of the request (or reported why not), so the
// exporterhelper retry and the persistent sending_queue protect the data.
//
// internal/metadata is written by hand in mdatagen's shape from metadata.yaml.
package pulsarexporter // import "github.com/latencywatch/latencywatch/exporter/pulsarexporter"
