// Package watchstate is the shared domain model of LatencyWatch's Apple Watch path:
// the devices that receive pushes, the alerts and status entries shown on the
// watch, silences and acknowledgements, and the APNs payload the watch decodes.
//
// Two components meet here. The `apns` exporter produces alerts and status
// entries and reads devices, silences and acknowledgements; the `watch_api`
// extension serves all of it to the watch app and records what the wearer does
// (register, acknowledge, silence). The extension owns the one Board of a
// collector; the exporter finds it in Start with FindBoard (by component.ID,
// through host.GetExtensions()) and talks to it through the small AlertBoard
// interface.
//
// The Board keeps everything in memory and persists devices, silences and
// acknowledgements through a storage client (any storage extension, e.g.
// contrib file_storage). Alerts and status entries are NOT persisted: they are
// derived state that their producer re-publishes after a restart.
//
// This package must not import collector component implementations, do I/O
// other than through the storage client, or log: callers own telemetry.
package watchstate
