package memory

import (
	"container/heap"
	"sync"
	"time"
)

// sweepLag delays deleting an expired record past the latest time a caller
// passed in. Callers take their times from one clock but reach the store in
// any order, so a record must outlive the newest time seen by long enough
// that a call carrying a slightly older time still finds it. Lookups judge
// expiry against their own now, so the lag never makes a record look alive.
const sweepLag = time.Minute

// sweepBatch bounds the records one write deletes, so a write never stalls
// behind a large backlog; each write adds at most a few records, so a batch
// of this size clears any backlog quickly.
const sweepBatch = 64

// horizon is the latest time the callers of a store have passed in. Stores
// never read the clock, so that their answers follow the caller's time
// exactly and tests need no sleeps; this is how they learn what has expired.
// It has its own lock because the parts of GrantStore share one.
type horizon struct {
	mu     sync.Mutex
	latest time.Time
}

// observe moves the horizon forward to the latest of times (an older time
// leaves it as it is) and returns the cutoff: the time up to which expired
// records may be deleted.
func (h *horizon) observe(times ...time.Time) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range times {
		if t.After(h.latest) {
			h.latest = t
		}
	}
	return h.latest.Add(-sweepLag)
}

// expiryQueue orders keys by expiry time, so finding expired records costs
// time proportional to how many there are, not to the size of the store.
// Each key appears once; set moves it when its expiry changes.
type expiryQueue[K comparable] struct {
	h     expiryHeap[K]
	byKey map[K]*expiring[K]
}

type expiring[K comparable] struct {
	at    time.Time
	key   K
	index int
}

func newExpiryQueue[K comparable]() *expiryQueue[K] {
	return &expiryQueue[K]{byKey: make(map[K]*expiring[K])}
}

// set schedules key to expire at at, replacing any earlier schedule.
func (q *expiryQueue[K]) set(key K, at time.Time) {
	if e, ok := q.byKey[key]; ok {
		e.at = at
		heap.Fix(&q.h, e.index)
		return
	}
	e := &expiring[K]{at: at, key: key}
	q.byKey[key] = e
	heap.Push(&q.h, e)
}

// remove forgets key; removing an unknown key does nothing.
func (q *expiryQueue[K]) remove(key K) {
	if e, ok := q.byKey[key]; ok {
		heap.Remove(&q.h, e.index)
		delete(q.byKey, key)
	}
}

// sweep removes up to sweepBatch keys that expired at or before cutoff and
// passes each to drop, which deletes the record itself.
func (q *expiryQueue[K]) sweep(cutoff time.Time, drop func(K)) {
	for range sweepBatch {
		if len(q.h) == 0 || q.h[0].at.After(cutoff) {
			return
		}
		e := heap.Pop(&q.h).(*expiring[K])
		delete(q.byKey, e.key)
		drop(e.key)
	}
}

// get returns when key expires, and whether the queue holds it.
func (q *expiryQueue[K]) get(key K) (time.Time, bool) {
	e, ok := q.byKey[key]
	if !ok {
		return time.Time{}, false
	}
	return e.at, true
}

func (q *expiryQueue[K]) len() int { return len(q.h) }

// expiryHeap implements heap.Interface as a min-heap on expiry time.
type expiryHeap[K comparable] []*expiring[K]

func (h expiryHeap[K]) Len() int           { return len(h) }
func (h expiryHeap[K]) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap[K]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *expiryHeap[K]) Push(x any) {
	e := x.(*expiring[K])
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *expiryHeap[K]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
