package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/ports"
)

// Janitor defaults.
const (
	// DefaultJanitorBatch is how many rows one DELETE removes at most.
	DefaultJanitorBatch = 1000
	// DefaultJanitorMaxBatches bounds the DELETEs one Sweep runs per table,
	// so one run never holds the database for long; a larger backlog is
	// finished by the next runs.
	DefaultJanitorMaxBatches = 100
	// JanitorMargin is how long past its expiry a row is kept. Instances
	// stamp requests with their own clocks, so a row stays for a while after
	// the newest time seen; lookups judge expiry against their own now, so
	// the margin never makes a row look alive.
	JanitorMargin = time.Minute
)

// Janitor deletes what has expired: authorization codes, sessions,
// authorization requests, access-token and grant revocations, refresh
// families (their tokens go with them, ON DELETE CASCADE), ended
// rate-limit windows and emailed action tokens. It deletes in bounded batches, each one DELETE that
// finds its rows through the table's expiry index, and skips rows another
// transaction holds (SKIP LOCKED), so that it never waits on live traffic
// and several instances can sweep at once.
type Janitor struct {
	pool       *pgxpool.Pool
	batch      int
	maxBatches int
}

// JanitorOption configures a Janitor.
type JanitorOption func(*Janitor)

// WithJanitorBatch sets how many rows one DELETE removes at most (n > 0).
func WithJanitorBatch(n int) JanitorOption {
	return func(j *Janitor) {
		if n > 0 {
			j.batch = n
		}
	}
}

// WithJanitorMaxBatches sets how many DELETEs one Sweep runs per table at
// most (n > 0).
func WithJanitorMaxBatches(n int) JanitorOption {
	return func(j *Janitor) {
		if n > 0 {
			j.maxBatches = n
		}
	}
}

// NewJanitor returns a Janitor on pool.
func NewJanitor(pool *pgxpool.Pool, opts ...JanitorOption) *Janitor {
	j := &Janitor{pool: pool, batch: DefaultJanitorBatch, maxBatches: DefaultJanitorMaxBatches}
	for _, o := range opts {
		o(j)
	}
	return j
}

// sweepTarget is one kind of expired row: its table and the column compared
// with the cutoff (each has an index, see the migrations).
type sweepTarget struct {
	name, table, expiry string
}

var sweepTargets = []sweepTarget{
	{"auth codes", "auth_codes", "expires_at"},
	{"sessions", "sessions", "expires_at"},
	{"auth requests", "auth_requests", "expires_at"},
	{"access-token revocations", "revoked_access_tokens", "expires_at"},
	{"grant revocations", "revoked_grants", "expires_at"},
	// Deleting a family deletes its tokens (refresh_tokens.family_id is
	// ON DELETE CASCADE, found through refresh_tokens_family).
	{"refresh families", "refresh_families", "expires_at"},
	{"rate-limit windows", "rate_limits", "window_end"},
	{"action tokens", "action_tokens", "expires_at"},
}

// query is the batched DELETE of t. The subquery (run once, as an init
// plan) picks at most $2 rows that expired before $1, through the expiry
// index, and locks them, skipping rows another transaction holds; the DELETE
// then reaches exactly those rows by their tuple ids (a Tid Scan on a filled
// table), so a batch costs its own size, never a scan of the table (a join
// on the keys instead lets the planner hash-join the whole table). The expiry test is repeated so
// that a row changed after it was picked is checked again.
func (t sweepTarget) query() string {
	return fmt.Sprintf(`DELETE FROM %[1]s WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM %[1]s WHERE %[2]s < $1 LIMIT $2 FOR UPDATE SKIP LOCKED
	)) AND %[2]s < $1`, t.table, t.expiry)
}

// Sweep deletes the rows that expired before now minus JanitorMargin and
// returns how many it deleted. Each table is swept until a DELETE removes
// fewer rows than the batch size, or the per-run cap of batches is reached.
// On an error it stops and returns what it deleted so far.
func (j *Janitor) Sweep(ctx context.Context, now time.Time) (deleted int, err error) {
	cutoff := now.Add(-JanitorMargin)
	for _, t := range sweepTargets {
		q := t.query()
		for range j.maxBatches {
			tag, err := j.pool.Exec(ctx, q, cutoff, j.batch)
			if err != nil {
				return deleted, translate("janitor: sweep "+t.name, err)
			}
			n := int(tag.RowsAffected())
			deleted += n
			if n < j.batch {
				break
			}
		}
	}
	return deleted, nil
}

// run sweeps every `every` until ctx is done, on clock's time. A failed
// sweep is logged and retried at the next tick, never fatal; one run never
// outlasts its period.
func (j *Janitor) run(ctx context.Context, every time.Duration, clock ports.Clock, log *slog.Logger) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		runCtx, cancel := context.WithTimeout(ctx, every)
		n, err := j.Sweep(runCtx, clock.Now())
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("postgres janitor: sweep failed", "deleted", n, "error", err)
		case n > 0:
			log.Debug("postgres janitor: swept expired rows", "deleted", n)
		}
	}
}
