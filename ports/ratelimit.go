package ports

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// RateLimiter counts requests per key in fixed windows.
type RateLimiter interface {
	// Allow counts one request for key under rule at now and says whether it
	// is within the limit. Counting and deciding are one atomic step: under
	// any parallel burst exactly rule.Limit requests per window are allowed.
	// Keys of different rules never collide (the rule's Name namespaces them).
	Allow(ctx context.Context, key string, rule domain.RateRule, now time.Time) (domain.RateDecision, error)
}
