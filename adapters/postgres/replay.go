package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ReplayCache is the PostgreSQL ports.ReplayCache: one row per key, shared
// by every instance on the database, so a value used on one is refused on
// all of them. The janitor deletes expired rows.
type ReplayCache struct{ pool db }

// NewReplayCache returns a ReplayCache on pool.
func NewReplayCache(pool *pgxpool.Pool) *ReplayCache { return &ReplayCache{pool: db{pool}} }

// Remember decides and records in one statement: the insert takes a new
// key, and on a conflict the update takes the row only if its expiry has
// passed at now. The conflict locks the row and the WHERE is judged on its
// latest version, so of concurrent calls exactly one writes it, and only
// the call that wrote reports true. timestamptz keeps microseconds and pgx
// drops the rest, so the expiry is rounded up: a row never lapses before
// expiresAt.
func (c *ReplayCache) Remember(ctx context.Context, key string, now, expiresAt time.Time) (bool, error) {
	if t := expiresAt.Truncate(time.Microsecond); t.Before(expiresAt) {
		expiresAt = t.Add(time.Microsecond)
	}
	tag, err := c.pool.Exec(ctx, `INSERT INTO replay_cache AS r (key, expires_at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
		WHERE r.expires_at <= $3`, key, expiresAt, now)
	if err != nil {
		return false, translate("remember replay key", err)
	}
	return tag.RowsAffected() == 1, nil
}
