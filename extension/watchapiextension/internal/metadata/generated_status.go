// Package metadata holds the component type and stability of watch_api,
// written by hand in the shape mdatagen generates (see ../../metadata.yaml).
package metadata

import "go.opentelemetry.io/collector/component"

var (
	Type      = component.MustNewType("watch_api")
	ScopeName = "github.com/latencywatch/latencywatch/extension/watchapiextension"
)

const (
	ExtensionStability = component.StabilityLevelAlpha
)
