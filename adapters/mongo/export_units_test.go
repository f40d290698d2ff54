package mongo

import (
	"context"

	"time"
)

// CrashUnitForTest runs fn in a unit of us, then leaves the unit as a
// process killed at that moment would: no more heartbeats, no commit and
// no undo. With committed, the unit's commit is stored first, as by a
// process killed right after its commit point.
func CrashUnitForTest(ctx context.Context, us *Units, committed bool, fn func(ctx context.Context) error) error {
	us.mu.Lock()
	defer us.mu.Unlock()
	u, err := us.begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(context.WithValue(ctx, unitKey{}, u)); err != nil {
		return err
	}
	u.end()
	if !committed {
		return nil
	}
	_, err = us.decide(ctx, outcomeDoc{Gen: u.gen, Committed: true, Events: u.events, At: time.Now()})
	return err
}

// UnitLeaseForTest is how long a crashed unit holds up the next one, at
// most.
const UnitLeaseForTest = unitLease + unitMargin

// ExpireUnitForTest makes the unit ctx runs in see its lease as run out, as
// a process that stalled past it would.
func ExpireUnitForTest(ctx context.Context) {
	u := unitOf(ctx)
	u.mu.Lock()
	u.until = time.Now().Add(-time.Second)
	u.mu.Unlock()
}
