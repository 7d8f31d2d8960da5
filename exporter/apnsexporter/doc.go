// Package apnsexporter implements the `apns` exporter: it turns metric points
// flagged by tf_anomaly (latencywatch.anomaly.flag) into alerts, applies an
// Alertmanager-grade policy (internal/alertpolicy) and pushes one notification
// per alert group to the registered Apple Watches through Apple Push
// Notification service (internal/apnsclient, sideshow/apns2).
//
// Pushes are sent by the exporter's own bounded dispatcher with per-device
// rate limits and retries; a failing APNs never makes ConsumeMetrics fail,
// because re-consuming the metrics would not resend a push.
//
// The internal/metadata package is written by hand in mdatagen's shape.
package apnsexporter
