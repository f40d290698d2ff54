package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// rowQuerier is what both the pool and a transaction offer for one-row reads.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// db is what the stores query: the pool, or the transaction of the unit of
// work that ctx carries (see Units). So every store call made inside a unit
// joins its transaction, and a store needs no second version for it.
type db struct{ pool *pgxpool.Pool }

// unitKey keys the unit's transaction in a context.
type unitKey struct{}

// unitTx returns the transaction of the unit ctx belongs to, or nil.
func unitTx(ctx context.Context) pgx.Tx {
	tx, _ := ctx.Value(unitKey{}).(pgx.Tx)
	return tx
}

// inUnit reports whether ctx belongs to a unit of work.
func inUnit(ctx context.Context) bool { return unitTx(ctx) != nil }

func (d db) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if tx := unitTx(ctx); tx != nil {
		return tx.Exec(ctx, sql, args...)
	}
	return d.pool.Exec(ctx, sql, args...)
}

func (d db) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if tx := unitTx(ctx); tx != nil {
		return tx.Query(ctx, sql, args...)
	}
	return d.pool.Query(ctx, sql, args...)
}

func (d db) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if tx := unitTx(ctx); tx != nil {
		return tx.QueryRow(ctx, sql, args...)
	}
	return d.pool.QueryRow(ctx, sql, args...)
}

// ExecGuarded is Exec for a statement whose failure the caller may handle
// and go on from (a name taken, say). A failed statement aborts the
// transaction it runs in, so inside a unit it runs in a savepoint of its
// own, which keeps the unit usable.
func (d db) ExecGuarded(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if !inUnit(ctx) {
		return d.pool.Exec(ctx, sql, args...)
	}
	var tag pgconn.CommandTag
	err := inTx(ctx, d, func(tx pgx.Tx) (err error) {
		tag, err = tx.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

// BeginTx opens a transaction, or inside a unit a savepoint of its
// transaction: the unit's isolation applies there, not opts'.
func (d db) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	if tx := unitTx(ctx); tx != nil {
		return tx.Begin(ctx)
	}
	return d.pool.BeginTx(ctx, opts)
}

// Ping checks that the database answers.
func (d db) Ping(ctx context.Context) error { return d.pool.Ping(ctx) }

// inTx runs fn in a READ COMMITTED transaction and commits if fn returns nil.
// Inside a unit of work it runs in a savepoint of the unit's transaction,
// so that fn's failure undoes fn's writes alone. Stores keep these short:
// row locks (SELECT … FOR UPDATE) carry the atomicity, not the isolation
// level.
func inTx(ctx context.Context, d db, fn func(tx pgx.Tx) error) (err error) {
	tx, err := d.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// The first error is the one worth reporting; a failed rollback
			// only means the connection is gone, and the pool discards it.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// inUnitOrTx runs fn in the transaction of the unit ctx belongs to, with
// no savepoint of its own, or else in a transaction of its own (inTx). It
// is for a store method whose failure always fails the unit (its caller
// has no way on from it): the savepoint would cost two round trips and
// guard nothing.
func inUnitOrTx(ctx context.Context, d db, fn func(tx pgx.Tx) error) error {
	if tx := unitTx(ctx); tx != nil {
		return fn(tx)
	}
	return inTx(ctx, d, fn)
}

// ts encodes a time for a timestamptz column; the zero time is NULL.
func ts(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// fromTS decodes a timestamptz column: NULL is the zero time, others are UTC.
func fromTS(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// optText encodes an optional text column: the empty string is NULL. A NULL
// read into a pgtype.Text leaves its String empty, so reads need no helper.
func optText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

// callbackError marks an error returned by a caller's callback, so that it
// passes through translate untouched.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }
func (e callbackError) Unwrap() error { return e.err }

// unwrapCallback returns the callback's own error if err is one, else nil.
func unwrapCallback(err error) error {
	var cb callbackError
	if errors.As(err, &cb) {
		return cb.err
	}
	return nil
}

// lockedUpdate is the read-modify-write behind every UpdateX method: lock
// reads the row FOR UPDATE, fn changes it, write stores it, all in one
// transaction, so concurrent updates queue instead of being lost. An error
// of fn's aborts the write and is returned as it is.
func lockedUpdate[T any](ctx context.Context, pool db, op string,
	lock func(pgx.Tx) (T, error), fn func(*T) error, write func(pgx.Tx, *T) error) (T, error) {
	var out, zero T
	err := inTx(ctx, pool, func(tx pgx.Tx) error {
		v, err := lock(tx)
		if err != nil {
			return err
		}
		if err := fn(&v); err != nil {
			return callbackError{err}
		}
		if err := write(tx, &v); err != nil {
			return err
		}
		out = v
		return nil
	})
	if cb := unwrapCallback(err); cb != nil {
		return zero, cb
	}
	if err != nil {
		return zero, translate(op, err)
	}
	return out, nil
}
