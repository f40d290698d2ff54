package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.RateLimiter = (*RateLimiter)(nil)

// RateLimiter is the PostgreSQL ports.RateLimiter: fixed windows counted in
// an UNLOGGED table, shared by every instance on the database, so N
// instances enforce one limit together.
type RateLimiter struct{ pool db }

// NewRateLimiter returns a RateLimiter on pool.
func NewRateLimiter(pool *pgxpool.Pool) *RateLimiter { return &RateLimiter{pool: db{pool}} }

// Allow counts and decides in one round trip: one upsert whose row lock
// serialises a burst on one key, so exactly rule.Limit requests per window
// pass. Windows start at now truncated to rule.Window. A request stamped
// before the stored window (a late clock) counts in the stored window rather
// than reopening an old one; one in a later window starts a fresh count.
func (l *RateLimiter) Allow(ctx context.Context, key string, rule domain.RateRule, now time.Time) (domain.RateDecision, error) {
	if !rule.Enabled() {
		return domain.RateDecision{Allowed: true, Limit: rule.Limit}, nil
	}
	start := now.Truncate(rule.Window)
	var (
		count       int
		windowStart pgtype.Timestamptz
	)
	err := l.pool.QueryRow(ctx, `INSERT INTO rate_limits AS r (rule, key, window_start, window_end, count)
		VALUES ($1, $2, $3, $4, 1)
		ON CONFLICT (rule, key) DO UPDATE SET
			count = CASE WHEN r.window_start >= EXCLUDED.window_start THEN r.count + 1 ELSE 1 END,
			window_start = GREATEST(r.window_start, EXCLUDED.window_start),
			window_end = GREATEST(r.window_end, EXCLUDED.window_end)
		RETURNING count, window_start`,
		rule.Name, key, start, start.Add(rule.Window)).Scan(&count, &windowStart)
	if err != nil {
		return domain.RateDecision{}, translate("rate limit", err)
	}
	d := domain.RateDecision{Allowed: count <= rule.Limit, Limit: rule.Limit, Remaining: max(rule.Limit-count, 0)}
	if !d.Allowed {
		d.RetryAfter = windowStart.Time.Add(rule.Window).Sub(now)
	}
	return d, nil
}
