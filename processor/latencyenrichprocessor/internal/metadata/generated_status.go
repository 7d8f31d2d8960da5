// Written by hand in mdatagen's shape from metadata.yaml (see the component README).

// Package metadata contains the telemetry and build information for the
// processor/latency_enrich component.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("latency_enrich")
	ScopeName = "github.com/latencywatch/latencywatch/processor/latencyenrichprocessor"
)

const (
	TracesStability  = component.StabilityLevelDevelopment
	MetricsStability = component.StabilityLevelDevelopment
	LogsStability    = component.StabilityLevelDevelopment
)
