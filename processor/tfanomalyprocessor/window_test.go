package tfanomalyprocessor

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSelectKthMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 7, 63, 64, 200} {
		for trial := 0; trial < 50; trial++ {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(r.IntN(10)) // many ties
				if trial%2 == 0 {
					v[i] = float32(r.NormFloat64())
				}
			}
			sorted := slices.Clone(v)
			slices.Sort(sorted)
			k := r.IntN(n)
			assert.Equal(t, sorted[k], selectKth(slices.Clone(v), k), "n=%d k=%d", n, k)
		}
	}
}

func TestTriggerNofMAndRecovery(t *testing.T) {
	var st seriesState
	seq := []struct {
		above           bool
		flagged, rising bool
	}{
		{true, false, false},  // 1 of 3
		{false, false, false}, // 1 of 3
		{true, true, true},    // 2 of 3: flag
		{false, true, false},  // below 1
		{true, true, false},   // resets recovery
		{false, true, false},  // below 1
		{false, true, false},  // below 2
		{false, false, false}, // below 3: recovered
		{true, false, false},  // history was cleared: 1 of 3
		{true, true, true},
	}
	for i, s := range seq {
		f, r := st.trigger(s.above, 2, 3, 3)
		assert.Equal(t, s.flagged, f, "step %d flagged", i)
		assert.Equal(t, s.rising, r, "step %d rising", i)
	}
}

func TestWindowRingKeepsNewestW(t *testing.T) {
	s := newSeriesWindows(8)
	slot, ok := s.get(42, 10, 0)
	require.True(t, ok)
	for i := 1; i <= 20; i++ {
		require.Equal(t, pushAccepted, s.push(slot, int64(i)*1e9, float32(i), 1e12))
	}
	assert.EqualValues(t, 8, s.states[slot].count)
	median, _ := s.robustStats(slot)
	// Context = the 7 values before the newest: 13..19, median 16.
	assert.EqualValues(t, 16, median)
	assert.InDelta(t, 1.0, s.states[slot].interval, 1e-6)

	assert.Equal(t, pushDuplicate, s.push(slot, 20e9, 1, 1e12))
	assert.Equal(t, pushOutOfOrder, s.push(slot, 19e9, 1, 1e12))
	assert.Equal(t, pushReset, s.push(slot, 20e9+2e12, 1, 1e12))
	assert.EqualValues(t, 1, s.states[slot].count)
}

func TestWindowsGetBoundedAndEvict(t *testing.T) {
	s := newSeriesWindows(8)
	_, ok := s.get(1, 2, 10)
	require.True(t, ok)
	_, ok = s.get(2, 2, 20)
	require.True(t, ok)
	_, ok = s.get(3, 2, 20)
	assert.False(t, ok, "max_series reached")
	var gone []uint64
	assert.Equal(t, 1, s.evictIdle(15, func(k uint64) { gone = append(gone, k) }))
	assert.Equal(t, []uint64{1}, gone)
	slot, ok := s.get(3, 2, 30)
	require.True(t, ok)
	assert.EqualValues(t, 0, slot, "the freed slot is reused")
	assert.Equal(t, 2, s.len())
}

func decodeFloats(t *testing.T, s string) []float32 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// TestFeaturesMatchTraining feeds the series train.py wrote through the
// processor's window code and compares the model input rows with the ones the
// training features (model/train/features.py) computed for the same points.
func TestFeaturesMatchTraining(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "features.json"))
	require.NoError(t, err)
	var fx struct {
		Timestamps []float64 `json:"timestamps"`
		Values     []float64 `json:"values"`
		Indices    []int     `json:"indices"`
		Features   string    `json:"features"`
		Median     []float64 `json:"median"`
		Scale      []float64 `json:"scale"`
	}
	require.NoError(t, json.Unmarshal(raw, &fx))
	want := decodeFloats(t, fx.Features)
	const w = 64
	row := w * numFeatures
	s := newSeriesWindows(w)
	slot, _ := s.get(1, 1, 0)
	got := make([]float32, row)
	next := 0
	for i, ts := range fx.Timestamps {
		require.NotEqual(t, pushOutOfOrder, s.push(slot, int64(math.Round(ts*1e9)), float32(math.Log(math.Max(fx.Values[i], logFloor))), math.MaxInt64))
		if next < len(fx.Indices) && fx.Indices[next] == i {
			m, sc := s.robustStats(slot)
			assert.InDelta(t, fx.Median[next], m, 1e-5, "median at point %d", i)
			assert.InEpsilon(t, fx.Scale[next], sc, 1e-4, "scale at point %d", i)
			s.features(slot, m, sc, got)
			exp := want[next*row : (next+1)*row]
			for j := range got {
				require.InDelta(t, exp[j], got[j], 2e-4, "point %d row %d feature %d", i, j/numFeatures, j%numFeatures)
			}
			next++
		}
	}
	assert.Equal(t, len(fx.Indices), next)
}

// selectKth partially orders v so that v[k] is its k-th smallest and returns
// it (Hoare's quickselect, median-of-three pivot). It is the reference the
// sorted windows are checked against: the processor computed its statistics
// with it before the windows were kept sorted.
func selectKth(v []float32, k int) float32 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		if k <= j {
			hi = j
		} else if k >= i {
			lo = i
		} else {
			return v[k]
		}
	}
	return v[k]
}

// referenceWindow is the plain arrival-order ring the processor used to keep,
// with the statistics computed from a copy by two quickselects and the rows
// written in time order: the sorted windows must give identical values.
type referenceWindow struct {
	ring        []float32
	head, count int
}

func (r *referenceWindow) push(v float32, reset bool) {
	if reset {
		r.head, r.count = 0, 0
	}
	r.ring[r.head] = v
	r.head = (r.head + 1) % len(r.ring)
	r.count = min(r.count+1, len(r.ring))
}

// ordered returns the values oldest first.
func (r *referenceWindow) ordered() []float32 {
	w := len(r.ring)
	out := make([]float32, 0, r.count)
	for i := 0; i < r.count; i++ {
		out = append(out, r.ring[(r.head-r.count+i+w)%w])
	}
	return out
}

func (r *referenceWindow) stats() (median, scale float32) {
	ctx := r.ordered()
	ctx = ctx[:len(ctx)-1]
	k := (len(ctx) - 1) / 2
	median = selectKth(ctx, k)
	for i := range ctx {
		ctx[i] = float32(math.Abs(float64(ctx[i] - median)))
	}
	scale = float32(madToSigma) * selectKth(ctx, k)
	if scale < scaleFloor {
		scale = scaleFloor
	}
	return median, scale
}

// TestSortedWindowMatchesReference pushes random series (heavy ties, window
// restarts after gaps, every size class of ring index) through the sorted
// windows and compares median, scale and the model rows with the reference
// ring bit for bit.
func TestSortedWindowMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, w := range []int{8, 9, 64, 255, 256, 257, 300} {
		s := newSeriesWindows(w)
		ref := make([]referenceWindow, 3)
		for i := range ref {
			ref[i].ring = make([]float32, w)
			slot, ok := s.get(uint64(i+1), 3, 0)
			require.True(t, ok)
			require.EqualValues(t, i, slot)
		}
		got, want := make([]float32, w*numFeatures), make([]float32, w*numFeatures)
		ts := make([]int64, len(ref))
		for step := 0; step < 6*w+500; step++ {
			slot := r.IntN(len(ref))
			var v float32
			switch slot {
			case 0:
				v = float32(r.IntN(5)) // many ties
			case 1:
				v = float32(r.NormFloat64())
			default:
				v = float32(math.Log(math.Max(math.Exp(r.NormFloat64()*0.3-2), logFloor)))
				if r.IntN(50) == 0 {
					v += 3 // a spike
				}
			}
			gap := int64(10e9)
			if r.IntN(400) == 0 {
				gap = 3e12 // longer than max_gap: the window restarts
			}
			ts[slot] += gap
			res := s.push(uint32(slot), ts[slot], v, 1e12)
			ref[slot].push(v, res == pushReset)
			require.Equal(t, ref[slot].count, int(s.states[slot].count))
			sorted, _ := s.window(uint32(slot))
			require.True(t, slices.IsSorted(sorted))
			if ref[slot].count < 2 {
				continue
			}
			wm, wsc := ref[slot].stats()
			m, sc := s.robustStats(uint32(slot))
			require.Equal(t, math.Float32bits(wm), math.Float32bits(m), "w=%d step %d median", w, step)
			require.Equal(t, math.Float32bits(wsc), math.Float32bits(sc), "w=%d step %d scale", w, step)

			s.features(uint32(slot), m, sc, got)
			copy(want, s.timeCache.rows)
			vals := ref[slot].ordered()
			pad := w - len(vals)
			for i, x := range vals {
				x = (x - m) * (1 / sc)
				want[(pad+i)*numFeatures] = max(-featureClip, min(featureClip, x))
			}
			require.Equal(t, want, got, "w=%d step %d rows", w, step)
		}
	}
}
