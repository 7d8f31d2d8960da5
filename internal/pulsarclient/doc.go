// Package pulsarclient holds what every LatencyWatch component that talks to
// Apache Pulsar shares: the client configuration (service URL, TLS/mTLS and
// exactly one authentication method), its translation into
// pulsar-client-go options, one place that classifies client errors as
// permanent, retryable or throttled, and a zap adapter for the client's logger.
//
// It must not create producers or consumers, keep state, or know about pdata:
// the exporter, the receiver and the metadata-table source decide those.
package pulsarclient // import "github.com/latencywatch/latencywatch/internal/pulsarclient"
