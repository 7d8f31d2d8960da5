package latencyenrichprocessor

import (
	"time"

	"go.opentelemetry.io/collector/confmap"
)

// mustUnmarshal fills a component config from a raw map, as the collector
// does from YAML.
func mustUnmarshal(cfg any, raw map[string]any) {
	if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
		panic(err)
	}
}

var benchEpoch = time.Now()

// nanotime is a monotonic clock reading for paired timings.
func nanotime() int64 { return int64(time.Since(benchEpoch)) }
