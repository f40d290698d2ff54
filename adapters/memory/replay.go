package memory

import (
	"context"
	"sync"
	"time"
)

// ReplayCache remembers one-time values until they expire, for one process
// only: several instances need the postgres or mongo cache, since a value
// used on one must be refused on all of them. The expiry queue is the set
// itself.
type ReplayCache struct {
	mu    sync.Mutex
	clock horizon
	keys  *expiryQueue[string]
}

// NewReplayCache returns an empty cache.
func NewReplayCache() *ReplayCache {
	return &ReplayCache{keys: newExpiryQueue[string]()}
}

// Remember records key until expiresAt and reports whether this is its
// first use. Deciding and recording happen under one lock, so of
// concurrent calls exactly one gets true. A record whose expiry has passed
// at now is replaced; records long expired are swept on the way in.
func (c *ReplayCache) Remember(_ context.Context, key string, now, expiresAt time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys.sweep(c.clock.observe(now), func(string) {}) // popping deletes
	if at, ok := c.keys.get(key); ok && at.After(now) {
		return false, nil
	}
	c.keys.set(key, expiresAt)
	return true, nil
}
