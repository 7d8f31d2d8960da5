package tfanomalyprocessor

import (
	"hash/maphash"
	"math"
	"regexp"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// unitSeconds converts latency units to seconds. Values are scored in
// seconds, so a series whose unit changes between ms and s (say, after a
// deploy) continues its window instead of looking like a 1000x spike.
var unitSeconds = map[string]float64{
	"":    1, // unitless latency metrics are taken as seconds (latency_enrich normalises to s)
	"s":   1,
	"ms":  1e-3,
	"us":  1e-6,
	"µs":  1e-6, // micro sign
	"μs":  1e-6, // Greek mu
	"ns":  1e-9,
	"min": 60,
	"h":   3600,
}

// metricSelector decides, per metric name, whether the metric is scored.
type metricSelector struct {
	res   []*regexp.Regexp
	types map[pmetric.MetricType]bool
	mu    sync.RWMutex // protects cache
	cache map[string]bool
}

const maxCachedNames = 10000

func newMetricSelector(c IncludeConfig) *metricSelector {
	s := &metricSelector{types: map[pmetric.MetricType]bool{}, cache: map[string]bool{}}
	for _, p := range c.MetricNames {
		s.res = append(s.res, regexp.MustCompile(p)) // validated by Config.Validate
	}
	for _, t := range c.Types {
		switch t {
		case TypeGauge:
			s.types[pmetric.MetricTypeGauge] = true
		case TypeSum:
			s.types[pmetric.MetricTypeSum] = true
		case TypeHistogram:
			s.types[pmetric.MetricTypeHistogram] = true
		case TypeExponentialHistogram:
			s.types[pmetric.MetricTypeExponentialHistogram] = true
		}
	}
	return s
}

func (s *metricSelector) selected(m pmetric.Metric) bool {
	if !s.types[m.Type()] {
		return false
	}
	if len(s.res) == 0 {
		return true
	}
	name := m.Name()
	s.mu.RLock()
	v, ok := s.cache[name]
	s.mu.RUnlock()
	if ok {
		return v
	}
	for _, re := range s.res {
		if re.MatchString(name) {
			v = true
			break
		}
	}
	s.mu.Lock()
	if len(s.cache) < maxCachedNames {
		s.cache[name] = v
	}
	s.mu.Unlock()
	return v
}

// Series identity hashing. Strings go through hash/maphash (the runtime's
// AES-based string hash, several bytes per cycle, where byte-wise FNV-1a cost
// ~30 % of the processor's own time per point); each attribute's hash is
// finished with a 64-bit mixer so the per-attribute hashes can be summed
// (attribute order does not matter, and nothing is sorted or allocated).
// Keys live only in this process's memory, so the per-process random seed
// costs nothing: a restart rebuilds every window from scratch anyway.
var hashSeed = maphash.MakeSeed()

func strHash(s string) uint64 { return maphash.String(hashSeed, s) }

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashValue folds a value, tagged with its type, into h.
func hashValue(h uint64, v pcommon.Value) uint64 {
	t := v.Type()
	h = mix64(h + uint64(t)*0x9e3779b97f4a7c15)
	switch t {
	case pcommon.ValueTypeStr:
		return h ^ strHash(v.Str())
	case pcommon.ValueTypeInt:
		return h ^ uint64(v.Int())
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return h ^ 1
		}
		return h
	case pcommon.ValueTypeDouble:
		return h ^ math.Float64bits(v.Double())
	default:
		return h ^ strHash(v.AsString())
	}
}

func hashAttr(seed uint64, k string, v pcommon.Value) uint64 {
	return mix64(hashValue(seed^strHash(k), v))
}

// hashAllAttrs is an order-independent hash of a whole attribute map.
func hashAllAttrs(seed uint64, m pcommon.Map) uint64 {
	var sum uint64
	for k, v := range m.All() {
		sum += hashAttr(seed, k, v)
	}
	return sum
}

// seriesIdentity builds series keys from the configured attributes.
type seriesIdentity struct {
	keys []string // empty: all attributes
}

const (
	seedPoint    = 0xcbf29ce484222325
	seedResource = seedPoint ^ 0x5bd1e995
)

// resourceHash is computed once per resource and folded into each key when
// all attributes identify a series.
func (s seriesIdentity) resourceHash(res pcommon.Map) uint64 {
	if len(s.keys) != 0 {
		return 0
	}
	return hashAllAttrs(seedResource, res)
}

func (s seriesIdentity) key(metricHash, resHash uint64, attrs, res pcommon.Map) uint64 {
	if len(s.keys) == 0 {
		return mix64(metricHash + resHash + hashAllAttrs(seedPoint, attrs))
	}
	h := metricHash
	for _, k := range s.keys {
		v, ok := attrs.Get(k)
		if !ok {
			v, ok = res.Get(k)
		}
		if ok {
			h = mix64(h + hashAttr(seedPoint, k, v))
		} else {
			h = mix64(h + (seedPoint ^ strHash(k)))
		}
	}
	return h
}

// metricHash identifies the metric: its name, and its unit when the unit is
// not a time unit (a switch from ms to s keeps the series; a switch to
// something that is not a duration starts a new one).
func metricHash(name, unit string) (h uint64, toSeconds float64) {
	h = strHash(name)
	if f, ok := unitSeconds[unit]; ok {
		return mix64(h), f
	}
	return mix64(mix64(h+1) ^ strHash(unit)), 1
}
