package tfanomalyprocessor

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func attrMap(kv ...any) pcommon.Map {
	m := pcommon.NewMap()
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		switch v := kv[i+1].(type) {
		case string:
			m.PutStr(k, v)
		case int:
			m.PutInt(k, int64(v))
		case bool:
			m.PutBool(k, v)
		case float64:
			m.PutDouble(k, v)
		}
	}
	return m
}

// The series key depends on the set of attributes (not their order), on
// their types and values, and on where they sit (point or resource).
func TestSeriesIdentityKeys(t *testing.T) {
	all := seriesIdentity{}
	mh, _ := metricHash("latency", "s")
	empty := pcommon.NewMap()
	key := func(point, res pcommon.Map) uint64 {
		return all.key(mh, all.resourceHash(res), point, res)
	}
	base := key(attrMap("route", "/a", "method", "GET"), attrMap("service", "pay"))
	assert.Equal(t, base, key(attrMap("method", "GET", "route", "/a"), attrMap("service", "pay")), "attribute order")
	distinct := map[string]uint64{
		"base":             base,
		"other value":      key(attrMap("route", "/b", "method", "GET"), attrMap("service", "pay")),
		"other resource":   key(attrMap("route", "/a", "method", "GET"), attrMap("service", "shop")),
		"swapped k/v":      key(attrMap("/a", "route", "method", "GET"), attrMap("service", "pay")),
		"moved to point":   key(attrMap("route", "/a", "method", "GET", "service", "pay"), empty),
		"int 1":            key(attrMap("n", 1), empty),
		"string 1":         key(attrMap("n", "1"), empty),
		"bool true":        key(attrMap("n", true), empty),
		"double 1":         key(attrMap("n", 1.0), empty),
		"no attributes":    key(empty, empty),
		"duplicate values": key(attrMap("a", "x", "b", "x"), empty),
	}
	seen := map[uint64]string{}
	for name, k := range distinct {
		if other, dup := seen[k]; dup {
			t.Errorf("%s and %s share key %x", name, other, k)
		}
		seen[k] = name
	}

	// Configured attributes: point first, then resource; a missing one
	// differs from any value.
	some := seriesIdentity{keys: []string{"route", "service"}}
	k1 := some.key(mh, 0, attrMap("route", "/a", "pod", "1"), attrMap("service", "pay"))
	assert.Equal(t, k1, some.key(mh, 0, attrMap("route", "/a", "pod", "2", "service", "pay"), empty))
	assert.NotEqual(t, k1, some.key(mh, 0, attrMap("route", "/a"), empty))
	assert.NotEqual(t, k1, some.key(mh, 0, attrMap("route", "/a", "service", ""), empty))
}

func TestMetricHashUnits(t *testing.T) {
	s, fs := metricHash("latency", "s")
	ms, fms := metricHash("latency", "ms")
	by, fby := metricHash("latency", "By")
	other, _ := metricHash("latency2", "s")
	assert.Equal(t, s, ms, "a time unit change keeps the series")
	assert.Equal(t, 1.0, fs)
	assert.Equal(t, 1e-3, fms)
	assert.NotEqual(t, s, by, "a non-time unit is a different series")
	assert.Equal(t, 1.0, fby)
	assert.NotEqual(t, s, other)
}

// slotFor must always agree with the series index, whatever the order of
// the points, evictions and slot reuse in between.
func TestSlotHintsAgreeWithIndex(t *testing.T) {
	cfg := statisticalConfig()
	cfg.MaxSeries = 40
	p, err := newAnomalyProcessor(processorSettings(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	keys := make([]uint64, 60) // more series than max_series: some points are dropped
	for i := range keys {
		keys[i] = r.Uint64()
	}
	order := keys[:30]
	hits := 0
	for round := uint32(0); round < 200; round++ {
		switch round % 20 {
		case 5: // another request shape
			order = slices.Clone(keys[r.IntN(20):][:25+r.IntN(15)])
		case 10:
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		case 15: // forget some series; their slots are reused by others
			p.windows.evictIdle(round, nil)
		}
		p.position = 0
		for i, k := range order {
			hinted := i < len(p.hints) && p.hints[i].key == k
			slot, ok := p.slotFor(k, round+uint32(i%2))
			want, inIndex := p.windows.index[k]
			if ok != inIndex || (ok && slot != want) {
				t.Fatalf("round %d position %d: slotFor = %d, %v; index = %d, %v", round, i, slot, ok, want, inIndex)
			}
			if ok && hinted {
				hits++
			}
		}
	}
	if hits == 0 {
		t.Fatal("no point ever used its hint")
	}
}
