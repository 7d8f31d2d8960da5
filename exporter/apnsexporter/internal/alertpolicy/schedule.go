package alertpolicy

import (
	"container/heap"
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
func (q flushQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *flushQueue) Push(x any)   { *q = append(*q, x.(flushEntry)) }
func (q *flushQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = flushEntry{}
	*q = old[:len(old)-1]
	return e
}

// schedule queues the group's current nextFlush.
func (q *flushQueue) schedule(g *alertGroup) { heap.Push(q, flushEntry{at: g.nextFlush, g: g}) }

// live reports whether the entry still describes its group's schedule.
func (e flushEntry) live() bool { return !e.g.deleted && e.at.Equal(e.g.nextFlush) }

// popDue removes and returns the live entries due at now, in order.
func (q *flushQueue) popDue(now time.Time) []*alertGroup {
	var out []*alertGroup
	for q.Len() > 0 && !(*q)[0].at.After(now) {
		e := heap.Pop(q).(flushEntry)
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
		heap.Pop(q)
	}
	return time.Time{}
}
