// Package alertpolicy decides when an anomalous series becomes a push, with
// Prometheus Alertmanager's semantics and names: a routing tree (route.go),
// aggregation groups with group_wait / group_interval (group.go), a
// notification log that decides repeats and resolved notices (notify.go),
// inhibition (inhibit.go), silences (silence.go), acknowledgements
// (ack.go) and severity (severity.go). Engine (engine.go) ties them together;
// Snapshot (state.go) lets the state outlive a restart.
//
// Everything takes the time as an argument, so tests drive it with a fake
// clock. The package does no I/O, starts no goroutine and does not log: the
// exporter owns timers, storage, APNs and telemetry.
package alertpolicy
