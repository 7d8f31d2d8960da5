// Package metadatatable holds the latency_enrich processor's metadata table: the
// rows (typed scalar columns keyed by lookup key), their validation, and the
// in-memory table that sources write and the processor reads.
//
// The table is a cache. It never persists anything: every source rebuilds it
// from its origin (config, file, compacted Kafka topic, Pulsar TableView) on
// start. It must not know about pdata or about any particular source.
package metadatatable
