package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Units is the PostgreSQL ports.UnitOfWork. A unit is one READ COMMITTED
// transaction, which the context carries to every store of this package
// (see db): the directory's change and the events it writes to the outbox
// commit together or not at all.
//
// Inside a unit, ClientGrantStore.ListClientGrants holds the client's
// grant lock shared, so a grant the unit relied on cannot be withdrawn
// until it commits (see ClientGrantStore).
//
// A unit that loses a deadlock or a serialization failure is run again,
// up to unitAttempts times in all.
type Units struct{ pool *pgxpool.Pool }

// NewUnits returns the unit of work on pool.
func NewUnits(pool *pgxpool.Pool) *Units { return &Units{pool: pool} }

// unitAttempts bounds the runs of a unit that keeps losing conflicts.
const unitAttempts = 5

// SQLSTATEs of a transaction that lost a conflict and may simply be run
// again.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// Atomically runs fn in a transaction and commits when it returns nil.
// Inside a unit it runs fn in that unit.
func (u *Units) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	if inUnit(ctx) {
		return fn(ctx)
	}
	for attempt := 1; ; attempt++ {
		err := u.once(ctx, fn)
		if attempt < unitAttempts && lostConflict(err) && ctx.Err() == nil {
			continue
		}
		return err
	}
}

func (u *Units) once(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	tx, err := u.pool.Begin(ctx)
	if err != nil {
		return translate("begin unit", err)
	}
	defer func() {
		if err != nil {
			// As in inTx: the first error is the one worth reporting.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(context.WithValue(ctx, unitKey{}, tx)); err != nil {
		return err
	}
	return translate("commit unit", tx.Commit(ctx))
}

// lostConflict reports whether err is a deadlock or a serialization
// failure, wherever it is in the chain.
func lostConflict(err error) bool {
	return err != nil && (isCode(err, codeSerializationFailure) || isCode(err, codeDeadlockDetected))
}
