// Package watchapiextension implements the `watch_api` extension: the HTTPS API
// the LatencyWatch Apple Watch app talks to. It serves the alert board of
// internal/watchstate (devices, status board, alerts, acknowledgements,
// silences, a server-sent-events stream of alert changes) described by the
// OpenAPI 3.1 document openapi.yaml, which it also serves at /openapi.yaml.
//
// The extension owns the collector's watchstate.Board and exposes it to the
// apns exporter through watchstate.BoardProvider. It never invents alerts:
// they come from that exporter through the Go interface or, when
// `ingest.enabled` is set, from an authenticated producer through
// POST /v1/alerts and POST /v1/status.
package watchapiextension // import "github.com/latencywatch/latencywatch/extension/watchapiextension"
