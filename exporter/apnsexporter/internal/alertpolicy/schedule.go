package alertpolicy

import (
	"time"
)

// flushQueue orders group evaluations by time (then group key) so Flush only
// touches the groups that are due. Entries go stale when a group is
// rescheduled or deleted; they are skipped when popped.
type flushQueue []flushEntry

type flushEntry struct {
	at time.Time
	g  *alertGroup
}

func (q flushQueue) Len() int { return len(q) }
func (q flushQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].g.key < q[j].g.key
}

// push and pop are container/heap's Push and Pop (the same sift steps, so the
// same order), typed so that an entry is not boxed in an interface — that cost
// two allocations per new alert group.
func (q *flushQueue) push(e flushEntry) {
	*q = append(*q, e)
	q.up(len(*q) - 1)
}

func (q *flushQueue) pop() flushEntry {
	h := *q
	n := len(h) - 1
	h[0], h[n] = h[n], h[0]
	h.down(0, n)
	e := h[n]
	h[n] = flushEntry{}
	*q = h[:n]
	return e
}

func (q flushQueue) up(j int) {
	for {
		i := (j - 1) / 2 // parent
		if i == j || !q.Less(j, i) {
			break
		}
		q[i], q[j] = q[j], q[i]
		j = i
	}
}

func (q flushQueue) down(i0, n int) {
	i := i0
	for {
		j1 := 2*i + 1
		if j1 >= n || j1 < 0 { // j1 < 0 after int overflow
			break
		}
		j := j1 // left child
		if j2 := j1 + 1; j2 < n && q.Less(j2, j1) {
			j = j2 // = 2*i + 2  // right child
		}
		if !q.Less(j, i) {
			break
		}
		q[i], q[j] = q[j], q[i]
		i = j
	}
}

// schedule queues the group's current nextFlush.
func (q *flushQueue) schedule(g *alertGroup) { q.push(flushEntry{at: g.nextFlush, g: g}) }

// live reports whether the entry still describes its group's schedule.
func (e flushEntry) live() bool { return !e.g.deleted && e.at.Equal(e.g.nextFlush) }

// popDue removes the live entries due at now and appends them to out, in order.
func (q *flushQueue) popDue(now time.Time, out []*alertGroup) []*alertGroup {
	for q.Len() > 0 && !(*q)[0].at.After(now) {
		e := q.pop()
		if e.live() {
			out = append(out, e.g)
		}
	}
	return out
}

// next returns the earliest live scheduled time (zero if none), dropping stale tops.
func (q *flushQueue) next() time.Time {
	for q.Len() > 0 {
		if (*q)[0].live() {
			return (*q)[0].at
		}
		q.pop()
	}
	return time.Time{}
}
