package latencyenrichprocessor

import (
	"go.opentelemetry.io/collector/confmap"
)

// mustUnmarshal fills a component config from a raw map, as the collector
// does from YAML.
func mustUnmarshal(cfg any, raw map[string]any) {
	if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
		panic(err)
	}
}
