package postgres

import (
	"context"
	"sync"
	"time"
)

// rowCache keeps rows of one kind by id, per instance, under an
// Invalidations listener: it serves from memory only while the listener is
// healthy and an entry is younger than ttl, forgets a row on its notice
// (and everything when the listener drops), and keeps no row whose read
// overlapped a notice. clone copies a row so that no caller shares the
// cached one.
type rowCache[T any] struct {
	inv   *Invalidations
	kind  string
	ttl   time.Duration
	max   int
	clone func(T) T

	mu   sync.RWMutex
	rows map[string]cachedRow[T]
}

type cachedRow[T any] struct {
	v  T
	at time.Time
}

func newRowCache[T any](inv *Invalidations, kind string, ttl time.Duration, max int, clone func(T) T) *rowCache[T] {
	c := &rowCache[T]{inv: inv, kind: kind, ttl: ttl, max: max, clone: clone, rows: make(map[string]cachedRow[T])}
	inv.Subscribe(c.invalidate)
	return c
}

func (c *rowCache[T]) invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key == "" {
		clear(c.rows)
		return
	}
	if id, ok := cutKind(key, c.kind); ok {
		delete(c.rows, id)
	}
}

// get returns row id from memory, or reads it with read and keeps it.
func (c *rowCache[T]) get(ctx context.Context, id string, read func(context.Context, string) (T, error)) (T, error) {
	healthy, epoch := c.inv.Healthy(), c.inv.Epoch()
	if v, ok := c.cached(id); ok {
		return v, nil
	}
	v, err := read(ctx, id)
	if err != nil || !healthy {
		return v, err
	}
	c.keep(id, v, epoch)
	return v, nil
}

// cached returns row id from memory, when the listener is healthy and the
// entry younger than ttl.
func (c *rowCache[T]) cached(id string) (T, bool) {
	if c.inv.Healthy() {
		c.mu.RLock()
		e, ok := c.rows[id]
		c.mu.RUnlock()
		if ok && time.Since(e.at) < c.ttl {
			return c.clone(e.v), true
		}
	}
	var zero T
	return zero, false
}

// keep stores v, read after the listener's epoch was epoch (and while it
// was healthy), unless a notice came since: it may be about this very row.
func (c *rowCache[T]) keep(id string, v T, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inv.Epoch() != epoch || !c.inv.Healthy() {
		return
	}
	if len(c.rows) >= c.max {
		clear(c.rows)
	}
	c.rows[id] = cachedRow[T]{v: c.clone(v), at: time.Now()}
}

// forget drops row id here at once (a write through this instance).
func (c *rowCache[T]) forget(id string) { c.inv.Invalidate(cacheKey(c.kind, id)) }

func cutKind(key, kind string) (string, bool) {
	if len(key) > len(kind)+1 && key[:len(kind)] == kind && key[len(kind)] == ':' {
		return key[len(kind)+1:], true
	}
	return "", false
}
