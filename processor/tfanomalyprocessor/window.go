package tfanomalyprocessor

import (
	"math"
)

// Feature layout of the model contract (see model/train/features.py, which
// the training script uses; testdata/features.json pins the two together).
const (
	numFeatures = 5
	scaleFloor  = 0.01 // in log space: 1 % relative
	featureClip = 10.0
	logFloor    = 1e-9 // seconds; log of anything smaller is clamped
	ewmaAlpha   = 0.1
	secondsDay  = 86400
	secondsWeek = 604800
	madToSigma  = 1.4826
)

// seriesState is the per-series bookkeeping beside the value ring. Sized to
// 32 bytes so that, with a 64-value float32 ring, a series costs ~300 bytes
// plus its index entry.
type seriesState struct {
	key      uint64 // index key, to delete the entry on eviction
	lastTs   int64  // unix ns of the newest accepted point
	interval float32
	lastSeen uint32 // seconds since the store's epoch (processing time)
	head     uint16 // ring position of the next write
	count    uint16 // accepted points in the ring (<= window)
	hist     uint16 // last `trigger.of` above-threshold decisions, newest in bit 0
	below    uint8  // consecutive below-threshold points while flagged
	flags    uint8
}

const (
	flagUsed    = 1 << iota // slot holds a series
	flagFlagged             // trigger satisfied, not yet recovered
)

// seriesWindows holds every tracked series: states and value rings live in two
// flat slabs indexed by slot, so a million series are two allocations plus
// the index, not a million small objects for the GC to trace.
type seriesWindows struct {
	w      int
	index  map[uint64]uint32
	states []seriesState
	values []float32 // slot*w .. slot*w+w: log-seconds ring
	free   []uint32
	// timeCache holds the time channels of the last window built.
	timeCache timeChannels
}

func newSeriesWindows(w int) *seriesWindows {
	return &seriesWindows{w: w, index: map[uint64]uint32{}}
}

func (s *seriesWindows) len() int { return len(s.index) }

// get returns the slot of key, creating it when there is room.
func (s *seriesWindows) get(key uint64, maxSeries int, now uint32) (uint32, bool) {
	if slot, ok := s.index[key]; ok {
		return slot, true
	}
	if len(s.index) >= maxSeries {
		return 0, false
	}
	var slot uint32
	if n := len(s.free); n > 0 {
		slot = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		slot = uint32(len(s.states))
		s.states = append(s.states, seriesState{})
		s.values = append(s.values, make([]float32, s.w)...)
	}
	s.states[slot] = seriesState{key: key, flags: flagUsed, lastSeen: now}
	s.index[key] = slot
	return slot, true
}

// evictIdle forgets series not seen since `before` and returns their keys
// through fn (for side state) and their count.
func (s *seriesWindows) evictIdle(before uint32, fn func(key uint64)) int {
	n := 0
	for i := range s.states {
		st := &s.states[i]
		if st.flags&flagUsed == 0 || st.lastSeen >= before {
			continue
		}
		delete(s.index, st.key)
		if fn != nil {
			fn(st.key)
		}
		*st = seriesState{}
		s.free = append(s.free, uint32(i))
		n++
	}
	return n
}

// pushResult tells the caller what happened to a point.
type pushResult uint8

const (
	pushAccepted pushResult = iota
	pushOutOfOrder
	pushDuplicate
	pushReset // accepted as the first point of a restarted window
)

// push appends a log value at ts (unix ns) to the slot's ring.
func (s *seriesWindows) push(slot uint32, ts int64, logv float32, maxGapNs int64) pushResult {
	st := &s.states[slot]
	res := pushAccepted
	if st.count > 0 {
		switch {
		case ts < st.lastTs:
			return pushOutOfOrder
		case ts == st.lastTs:
			return pushDuplicate
		case ts-st.lastTs > maxGapNs:
			st.count, st.head, st.interval, st.hist, st.below = 0, 0, 0, 0, 0
			st.flags &^= flagFlagged
			res = pushReset
		}
	}
	if st.count > 0 {
		d := float32(float64(ts-st.lastTs) / 1e9)
		if st.count == 1 {
			st.interval = d
		} else {
			st.interval = (1-ewmaAlpha)*st.interval + ewmaAlpha*d
		}
	}
	ring := s.values[int(slot)*s.w : int(slot)*s.w+s.w]
	ring[st.head] = logv
	st.head++
	if int(st.head) == s.w {
		st.head = 0
	}
	if int(st.count) < s.w {
		st.count++
	}
	st.lastTs = ts
	return res
}

// robustStats returns the median and scale of the context: the slot's values
// before the newest one. scratch must hold window-1 values.
func (s *seriesWindows) robustStats(slot uint32, scratch []float32) (median, scale float32) {
	st := &s.states[slot]
	n := int(st.count) - 1
	ring := s.values[int(slot)*s.w : int(slot)*s.w+s.w]
	// Oldest first: the oldest value sits at head when the ring is full.
	start := int(st.head) - int(st.count)
	if start < 0 {
		start += s.w
	}
	ctx := scratch[:n]
	for i := 0; i < n; i++ {
		j := start + i
		if j >= s.w {
			j -= s.w
		}
		ctx[i] = ring[j]
	}
	k := (n - 1) / 2
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

// features writes the model input rows for the slot (window w, 5 features)
// into dst, given its robust stats; the newest value is the last row. Rows
// older than the series' first point carry the median (value channel 0).
func (s *seriesWindows) features(slot uint32, median, scale float32, dst []float32) {
	st := &s.states[slot]
	w := s.w
	ring := s.values[int(slot)*w : int(slot)*w+w]
	pad := w - int(st.count)
	start := int(st.head) - int(st.count)
	if start < 0 {
		start += w
	}
	// Time channels depend only on (newest timestamp, interval): series
	// scraped together share them, so whole rows are computed once, copied
	// in one move, and the value channel is written over them.
	tc := &s.timeCache
	if !tc.valid || tc.ts != st.lastTs || tc.interval != st.interval {
		tc.fill(st.lastTs, st.interval, w)
	}
	copy(dst[:w*numFeatures], tc.rows)
	inv := 1 / scale
	j := start
	for i := pad; i < w; i++ {
		v := (ring[j] - median) * inv
		if v > featureClip {
			v = featureClip
		} else if v < -featureClip {
			v = -featureClip
		}
		dst[i*numFeatures] = v
		if j++; j == w {
			j = 0
		}
	}
}

// timeChannels caches the time-of-day/week channels of one (timestamp,
// interval) pair.
type timeChannels struct {
	valid    bool
	ts       int64
	interval float32
	rows     []float32 // w x [0, sin tod, cos tod, sin dow, cos dow]
}

// fill computes t_i = t - (w-1-i)*interval for every row: one sin/cos pair
// per period, then rotation by the step angle. The phase of t is reduced in
// integer seconds first so that float64 keeps sub-second precision.
func (tc *timeChannels) fill(tsNs int64, interval float32, w int) {
	if cap(tc.rows) < numFeatures*w {
		tc.rows = make([]float32, numFeatures*w)
	}
	tc.rows = tc.rows[:numFeatures*w] // value channel stays 0 (= the median, for padding rows)
	tc.valid, tc.ts, tc.interval = true, tsNs, interval
	secs, frac := tsNs/1e9, float64(tsNs%1e9)/1e9
	iv := float64(interval)
	for p, period := range [2]int64{secondsDay, secondsWeek} {
		t0 := float64(secs%period) + frac - float64(w-1)*iv
		a := 2 * math.Pi * floorMod(t0, float64(period)) / float64(period)
		sa, ca := math.Sincos(a)
		sd, cd := math.Sincos(2 * math.Pi * iv / float64(period))
		for i := 0; i < w; i++ {
			tc.rows[i*numFeatures+1+2*p], tc.rows[i*numFeatures+2+2*p] = float32(sa), float32(ca)
			sa, ca = sa*cd+ca*sd, ca*cd-sa*sd
		}
	}
}

func floorMod(x, m float64) float64 {
	r := math.Mod(x, m)
	if r < 0 {
		r += m
	}
	return r
}

// selectKth partially orders v so that v[k] is its k-th smallest and returns
// it (Hoare's quickselect, median-of-three pivot; no allocation).
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

// trigger updates the N-of-M state with one decision and reports whether the
// series is flagged afterwards and whether it just became flagged.
func (st *seriesState) trigger(above bool, n, m, recovery int) (flagged, rose bool) {
	bit := uint16(0)
	if above {
		bit = 1
	}
	st.hist = (st.hist<<1 | bit) & uint16(1<<m-1)
	if st.flags&flagFlagged == 0 {
		if popcount16(st.hist) >= n {
			st.flags |= flagFlagged
			st.below = 0
			return true, true
		}
		return false, false
	}
	if above {
		st.below = 0
	} else if st.below++; int(st.below) >= recovery {
		st.flags &^= flagFlagged
		st.hist, st.below = 0, 0
		return false, false
	}
	return true, false
}

func popcount16(x uint16) int {
	n := 0
	for x != 0 {
		x &= x - 1
		n++
	}
	return n
}
