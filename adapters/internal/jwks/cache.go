package jwks

import (
	"context"
	"sync"
	"time"
)

// Cache keeps up to a bound of sets by key, the least recently used
// dropped first with its refreshes stopped. It is safe for concurrent use.
//
// A set is built once however many callers want it at the same time: one
// builds while the others wait for its result. Without that, a burst of
// sign-ins or assertions naming the same jwks_uri would fetch it once
// each.
type Cache struct {
	max        int
	retryAfter time.Duration

	mu      sync.Mutex
	entries map[string]*entry
	tick    uint64 // a use counter, for least-recently-used eviction
	closed  bool
}

type entry struct {
	ready   chan struct{} // closed once set or err is
	set     *Set
	err     error     // why the set could not be built
	retryAt time.Time // when a failed build may be tried again
	used    uint64
}

// NewCache returns a Cache of at most max sets. A failed build is kept for
// retryAfter, each Get meanwhile answering its error without building
// again: where anyone may name a set (a client's jwks_uri, before it
// authenticates), a broken one is then not fetched once per request. With
// retryAfter 0 a failed build is forgotten at once, and the next caller
// builds again.
func NewCache(max int, retryAfter time.Duration) *Cache {
	return &Cache{max: max, retryAfter: retryAfter, entries: make(map[string]*entry)}
}

// Get returns the set kept under key, made by build when there is none (or
// only a failure whose retryAfter is up); build returns a set or an
// error, never neither. build runs without c's lock and
// outside ctx: a caller that gives up waiting, with ctx's error, does not
// end a build others may be waiting for.
func (c *Cache) Get(ctx context.Context, key string, build func() (*Set, error)) (*Set, error) {
	c.mu.Lock()
	c.tick++
	e, ok := c.entries[key]
	if ok && e.err != nil && time.Now().After(e.retryAt) {
		ok = false // a failure is retried once its time is up
	}
	if !ok {
		if len(c.entries) >= c.max {
			c.evictOldest()
		}
		e = &entry{ready: make(chan struct{})}
		c.entries[key] = e
		c.mu.Unlock()
		set, err := build()
		c.mu.Lock()
		switch {
		case err != nil:
			e.err, e.retryAt = err, time.Now().Add(c.retryAfter)
			if c.retryAfter <= 0 && c.entries[key] == e {
				delete(c.entries, key)
			}
		case c.closed:
			set.stop() // built while c closed: it refreshes nothing
			e.set = set
		default:
			e.set = set
		}
		close(e.ready)
	}
	e.used = c.tick
	c.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.set, nil
}

// evictOldest drops the least recently used entry that is not being
// built, and stops its set's refreshes. c.mu is held.
func (c *Cache) evictOldest() {
	var oldest string
	for key, e := range c.entries {
		select {
		case <-e.ready:
		default:
			continue
		}
		if oldest == "" || e.used < c.entries[oldest].used {
			oldest = key
		}
	}
	if oldest == "" {
		return
	}
	if set := c.entries[oldest].set; set != nil {
		set.stop()
	}
	delete(c.entries, oldest)
}

// Close stops the background refreshes of every set kept, and of any set
// whose build ends after it. The sets still answer from the keys they
// hold; c is not to be used after.
func (c *Cache) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, e := range c.entries {
		if e.set != nil {
			e.set.stop()
		}
	}
}
