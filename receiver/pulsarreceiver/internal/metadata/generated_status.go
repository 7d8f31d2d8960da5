// Written by hand in the shape mdatagen generates from ../../metadata.yaml.

// Package metadata holds the type, stability and internal telemetry of the
// pulsar receiver.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("pulsar")
	ScopeName = "github.com/latencywatch/latencywatch/receiver/pulsarreceiver"
)

const (
	TracesStability  = component.StabilityLevelAlpha
	MetricsStability = component.StabilityLevelAlpha
	LogsStability    = component.StabilityLevelAlpha
)
