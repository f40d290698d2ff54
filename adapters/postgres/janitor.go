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
	// DefaultWebhookRetention is how long dispatched events and completed
	// webhook deliveries are kept, for the delivery log and redelivery.
	DefaultWebhookRetention = 30 * 24 * time.Hour
)

// Janitor deletes what has expired: authorization codes, sessions,
// authorization requests, device grants, access-token and grant revocations, refresh
// families (their tokens go with them, ON DELETE CASCADE), ended
// rate-limit windows, emailed action tokens and replay-cache records; and,
// once older than the webhook retention, dispatched events and completed
// webhook deliveries (their attempts go with them). It deletes in bounded batches, each one
// DELETE that finds its rows through the table's expiry index, and skips rows another
// transaction holds (SKIP LOCKED), so that it never waits on live traffic
// and several instances can sweep at once.
type Janitor struct {
	pool       db
	batch      int
	maxBatches int
	retention  time.Duration
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

// WithWebhookRetention sets how long dispatched events and completed
// deliveries are kept (d > 0; otherwise DefaultWebhookRetention).
func WithWebhookRetention(d time.Duration) JanitorOption {
	return func(j *Janitor) {
		if d > 0 {
			j.retention = d
		}
	}
}

// NewJanitor returns a Janitor on pool.
func NewJanitor(pool *pgxpool.Pool, opts ...JanitorOption) *Janitor {
	j := &Janitor{pool: db{pool}, batch: DefaultJanitorBatch, maxBatches: DefaultJanitorMaxBatches,
		retention: DefaultWebhookRetention}
	for _, o := range opts {
		o(j)
	}
	return j
}

// sweepTarget is one kind of expired row: its table and the column compared
// with the cutoff (each has an index, see the migrations). A retained
// target is compared with now minus the webhook retention instead of the
// margin, and only its rows that match where (a partial index's predicate)
// may go.
type sweepTarget struct {
	name, table, expiry string
	where               string
	retained            bool
}

var sweepTargets = []sweepTarget{
	{name: "auth codes", table: "auth_codes", expiry: "expires_at"},
	{name: "sessions", table: "sessions", expiry: "expires_at"},
	{name: "auth requests", table: "auth_requests", expiry: "expires_at"},
	{name: "device grants", table: "device_grants", expiry: "expires_at"},
	{name: "access-token revocations", table: "revoked_access_tokens", expiry: "expires_at"},
	{name: "grant revocations", table: "revoked_grants", expiry: "expires_at"},
	// Deleting a family deletes its tokens (refresh_tokens.family_id is
	// ON DELETE CASCADE, found through refresh_tokens_family).
	{name: "refresh families", table: "refresh_families", expiry: "expires_at"},
	{name: "rate-limit windows", table: "rate_limits", expiry: "window_end"},
	{name: "action tokens", table: "action_tokens", expiry: "expires_at"},
	{name: "replay records", table: "replay_cache", expiry: "expires_at"},
	// Aged by occurred_at: dispatched carries no time (see 00003).
	{name: "dispatched events", table: "events", expiry: "occurred_at", where: "dispatched", retained: true},
	// Deleting a delivery deletes its attempts (ON DELETE CASCADE, found
	// through their primary key). A redelivered one is pending again and
	// its completed_at NULL, so it stays.
	{name: "completed deliveries", table: "webhook_deliveries", expiry: "completed_at",
		where: "state <> 'pending'", retained: true},
}

// query is the batched DELETE of t. The subquery (run once, as an init
// plan) picks at most $2 rows that expired before $1, through the expiry
// index, and locks them, skipping rows another transaction holds; the DELETE
// then reaches exactly those rows by their tuple ids (a Tid Scan on a filled
// table), so a batch costs its own size, never a scan of the table (a join
// on the keys instead lets the planner hash-join the whole table). The expiry test is repeated so
// that a row changed after it was picked is checked again.
func (t sweepTarget) query() string {
	cond := t.expiry + " < $1"
	if t.where != "" {
		cond += " AND " + t.where
	}
	return fmt.Sprintf(`DELETE FROM %[1]s WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM %[1]s WHERE %[2]s LIMIT $2 FOR UPDATE SKIP LOCKED
	)) AND %[2]s`, t.table, cond)
}

// Sweep deletes the rows that expired before now minus JanitorMargin, and
// the webhook rows older than now minus the retention, and returns how many
// it deleted. Each table is swept until a DELETE removes
// fewer rows than the batch size, or the per-run cap of batches is reached.
// On an error it stops and returns what it deleted so far.
func (j *Janitor) Sweep(ctx context.Context, now time.Time) (deleted int, err error) {
	for _, t := range sweepTargets {
		q := t.query()
		cutoff := now.Add(-JanitorMargin)
		if t.retained {
			cutoff = now.Add(-j.retention)
		}
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
