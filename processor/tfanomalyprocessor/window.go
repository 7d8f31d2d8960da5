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

// seriesWindows holds every tracked series: states and windows live in flat
// slabs indexed by slot, so a million series are a few allocations plus the
// index, not a million small objects for the GC to trace.
//
// A window is kept sorted by value rather than in arrival order: sorted[i]
// is its i-th smallest log value and age[i] the ring position (arrival order,
// as in a ring buffer with head and count) of that value. Pushing a point
// removes the value at the head's ring position and inserts the new one
// (two short moves), the robust statistics read the median directly and the
// MAD with a k-step merge outward from it, and the model rows are written by
// ring position. This replaces two quickselects over a copy of the window
// per scored point and gives the same values.
type seriesWindows struct {
	w      int
	index  map[uint64]uint32
	states []seriesState
	sorted []float32 // slot*w .. slot*w+w: log-seconds, ascending (first count)
	age8   []uint8   // ring positions when w <= 256 (one byte per value)
	age16  []uint16  // ring positions when w > 256
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
		s.sorted = append(s.sorted, make([]float32, s.w)...)
		if s.w <= 256 {
			s.age8 = append(s.age8, make([]uint8, s.w)...)
		} else {
			s.age16 = append(s.age16, make([]uint16, s.w)...)
		}
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
	lo, hi := int(slot)*s.w, int(slot)*s.w+s.w
	if s.age16 == nil {
		insertSorted(s.sorted[lo:hi], s.age8[lo:hi], int(st.count), logv, uint8(st.head))
	} else {
		insertSorted(s.sorted[lo:hi], s.age16[lo:hi], int(st.count), logv, st.head)
	}
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

// insertSorted adds v at ring position pos to a window of n values sorted
// ascending; a full window (n == len(sorted)) first drops the value that
// occupies pos (the oldest one).
func insertSorted[A uint8 | uint16](sorted []float32, age []A, n int, v float32, pos A) {
	if n == len(sorted) {
		i := indexOf(age[:n], pos)
		copy(sorted[i:n-1], sorted[i+1:n])
		copy(age[i:n-1], age[i+1:n])
		n--
	}
	// Insert after equal values (binary search for the first greater one).
	i, j := 0, n
	for i < j {
		h := int(uint(i+j) >> 1)
		if sorted[h] <= v {
			i = h + 1
		} else {
			j = h
		}
	}
	copy(sorted[i+1:n+1], sorted[i:n])
	copy(age[i+1:n+1], age[i:n])
	sorted[i], age[i] = v, pos
}

// indexOf returns where ring position pos sits in the sorted index. Every
// ring position below count is present (count < w implies head == count, so
// positions 0..count-1 are in use); the final fallback only keeps a broken
// invariant from turning into a crash.
func indexOf[A uint8 | uint16](age []A, pos A) int {
	for i, a := range age {
		if a == pos {
			return i
		}
	}
	return len(age) - 1
}

// window returns the slot's sorted values and the sorted index of its newest
// value.
func (s *seriesWindows) window(slot uint32) (sorted []float32, newest int) {
	st := &s.states[slot]
	lo := int(slot) * s.w
	sorted = s.sorted[lo : lo+int(st.count)]
	last := int(st.head) - 1
	if last < 0 {
		last += s.w
	}
	if s.age16 == nil {
		return sorted, indexOf(s.age8[lo:lo+int(st.count)], uint8(last))
	}
	return sorted, indexOf(s.age16[lo:lo+int(st.count)], uint16(last))
}

// robustStats returns the median and scale of the context: the slot's values
// before the newest one (lower median; scale = 1.4826 x the lower median of
// the absolute deviations from it, floored).
func (s *seriesWindows) robustStats(slot uint32) (median, scale float32) {
	sorted, q := s.window(slot)
	n := len(sorted) - 1 // context size; the caller ensures count >= 2
	// c(j) is the j-th smallest context value: the sorted window without q.
	c := func(j int) float32 {
		if j >= q {
			j++
		}
		return sorted[j]
	}
	k := (n - 1) / 2
	median = c(k)
	// The MAD is the k-th smallest (0-based) absolute deviation. Deviations
	// below the median, lower(t) = m - c(k-t), t = 0..k, and above it,
	// upper(t) = c(k+1+t) - m, t = 0..n-k-2, are two ascending runs, so it
	// is the K-th smallest of their union: a binary search for how many of
	// the K come from the lower run (no data-dependent branch per value).
	// m-c equals -(c-m) exactly in IEEE arithmetic, so these are the same
	// values a sort of |c-m| would give.
	lower := func(t int) float32 { return median - c(k-t) }
	upper := func(t int) float32 { return c(k+1+t) - median }
	nl, nu, kk := k+1, n-k-1, k+1
	lo, hi := max(0, kk-nu), min(kk, nl)
	for lo < hi {
		i := int(uint(lo+hi) >> 1)
		if lower(i) < upper(kk-i-1) {
			lo = i + 1
		} else {
			hi = i
		}
	}
	var mad float32
	if lo > 0 {
		mad = lower(lo - 1)
	}
	if j := kk - lo; j > 0 {
		mad = max(mad, upper(j-1))
	}
	scale = float32(madToSigma) * mad
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
	n := int(st.count)
	lo := int(slot) * w
	sorted := s.sorted[lo : lo+n]
	pad := w - n
	start := int(st.head) - n
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
	// The value at ring position r is the (r-start mod w)-th oldest: row pad+that.
	if s.age16 == nil {
		writeValueChannel(dst, sorted, s.age8[lo:lo+n], median, inv, start, pad, w)
	} else {
		writeValueChannel(dst, sorted, s.age16[lo:lo+n], median, inv, start, pad, w)
	}
}

func writeValueChannel[A uint8 | uint16](dst, sorted []float32, age []A, median, inv float32, start, pad, w int) {
	for i, v := range sorted {
		d := int(age[i]) - start
		d += w & (d >> 63) // + w when negative; ages come in value order, so a branch would mispredict
		v = (v - median) * inv
		if v > featureClip {
			v = featureClip
		} else if v < -featureClip {
			v = -featureClip
		}
		dst[(pad+d)*numFeatures] = v
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
