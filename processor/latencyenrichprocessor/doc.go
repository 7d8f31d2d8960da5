// Package latencyenrichprocessor implements the latency_enrich processor: it
// joins traces, metrics and logs with rows of a metadata table (region, zone,
// node, deploy version, owner, SLO threshold, ...) looked up by a key built
// from attributes, normalises latency metrics to seconds, derives per-interval
// quantile gauges from latency histograms and flags spans that breach their
// SLO.
//
// The table is a cache rebuilt on every start from its source (inline rows, a
// file, a compacted Kafka topic or a Pulsar TableView); the processor keeps no
// state of its own beyond the bounded per-series window that derived
// quantiles of cumulative histograms need.
package latencyenrichprocessor // import "github.com/latencywatch/latencywatch/processor/latencyenrichprocessor"
