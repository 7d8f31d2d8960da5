// Written by hand in mdatagen's shape from metadata.yaml (see the component README).

// Package metadata contains the telemetry and build information for the
// processor/tf_anomaly component.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("tf_anomaly")
	ScopeName = "github.com/latencywatch/latencywatch/processor/tfanomalyprocessor"
)

const (
	MetricsStability = component.StabilityLevelDevelopment
)
