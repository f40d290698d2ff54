package memory

import (
	"context"
	"sync"
)

// Units is the memory ports.UnitOfWork. One unit runs at a time, so no
// other unit sees a change before its events are stored, and a grant
// withdrawal (which the directory makes in a unit too) never falls between
// a unit's check and its writes. The process holds everything, so a crash
// loses the change and its events together.
//
// It cannot undo: a unit that fails keeps the writes it made before
// failing. The directory checks before it writes, and memory stores fail
// only by refusing a write, which changes nothing; so a unit that fails has
// made no change that wanted an event.
type Units struct{ mu sync.Mutex }

// NewUnits returns a unit of work for the memory stores.
func NewUnits() *Units { return &Units{} }

type unitKey struct{}

// Atomically runs fn while no other unit runs; inside a unit of u's it runs
// fn in that unit.
func (u *Units) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if ctx.Value(unitKey{}) == u {
		return fn(ctx)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return fn(context.WithValue(ctx, unitKey{}, u))
}
