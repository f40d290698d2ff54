package mongo

import (
	"context"
	"sync"
)

// Units is the MongoDB ports.UnitOfWork, for now without atomicity: the
// server (FerretDB here) offers no multi-document transaction, so a unit's
// calls take effect one by one as they come. A crash between a change and
// the publication of its events loses the events, and a unit that fails
// keeps the writes it made before failing.
//
// Units run one at a time in each process, as on memory, so within one
// instance a grant withdrawal (made in a unit) never falls between a unit's
// check and its writes; two instances do not wait for each other.
//
// TODO(issue 15): deterministic event ids and a reconciler that publishes
// what a crash left behind, so that MongoDB keeps the promise of
// ports.UnitOfWork too.
type Units struct{ mu sync.Mutex }

// NewUnits returns the MongoDB unit of work.
func NewUnits() *Units { return &Units{} }

type unitKey struct{}

// Atomically runs fn while no other unit of this process runs; inside a
// unit of u's it runs fn in that unit.
func (u *Units) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if ctx.Value(unitKey{}) == u {
		return fn(ctx)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return fn(context.WithValue(ctx, unitKey{}, u))
}
