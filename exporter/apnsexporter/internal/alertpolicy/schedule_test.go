package alertpolicy

import (
	"container/heap"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// refQueue is the container/heap queue flushQueue's typed push/pop replaced.
type refQueue []flushEntry

func (q refQueue) Len() int           { return len(q) }
func (q refQueue) Less(i, j int) bool { return flushQueue(q).Less(i, j) }
func (q refQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *refQueue) Push(x any)        { *q = append(*q, x.(flushEntry)) }
func (q *refQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

func TestFlushQueueOrderMatchesContainerHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	base := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	groups := make([]*alertGroup, 20)
	for i := range groups {
		groups[i] = &alertGroup{key: "g" + strconv.Itoa(i%7)} // equal keys too
	}
	var q flushQueue
	var ref refQueue
	for range 5000 {
		if rng.IntN(3) > 0 || q.Len() == 0 {
			e := flushEntry{at: base.Add(time.Duration(rng.IntN(10)) * time.Second), g: groups[rng.IntN(len(groups))]}
			q.push(e)
			heap.Push(&ref, e)
		} else {
			got, want := q.pop(), heap.Pop(&ref).(flushEntry)
			require.Same(t, want.g, got.g)
			require.True(t, want.at.Equal(got.at))
		}
		require.Equal(t, len(ref), len(q))
		for i := range q {
			require.Same(t, ref[i].g, q[i].g, "heap layout at %d", i)
		}
	}
}
