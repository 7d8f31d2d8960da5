// Written by hand in the shape mdatagen generates from ../../metadata.yaml.

// Package metadata holds the type, stability and internal telemetry of the
// apns exporter.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("apns")
	ScopeName = "github.com/latencywatch/latencywatch/exporter/apnsexporter"
)

const (
	MetricsStability = component.StabilityLevelAlpha
)
