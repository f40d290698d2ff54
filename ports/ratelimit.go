package ports

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// RateLimiter counts requests per key in fixed windows.
//
// Failure policy: limits fail closed. When Allow returns an error the
// request was not counted, and it is refused with 503
// temporarily_unavailable (in the endpoint's own error format: OAuth JSON,
// REST JSON, SCIM or an HTML page), never let through. Every limit guards
// sign-in, a credential someone could guess, or work a caller makes the
// server do (registrations, mail, webhook posts): letting requests through
// while the limiter is down would turn an outage into unlimited guessing. The shared
// limiters live in the database that the limited endpoints need anyway, so
// failing open would rarely keep one of them up. Callers apply a rule with
// core/ratelimit.Allow, the one place this policy is written, rather than
// calling Allow directly.
type RateLimiter interface {
	// Allow counts one request for key under rule at now and says whether it
	// is within the limit. Counting and deciding are one atomic step: under
	// any parallel burst exactly rule.Limit requests per window are allowed.
	// Keys of different rules never collide (the rule's Name namespaces them).
	// A limiter that cannot count returns an error, wrapping
	// domain.ErrUnavailable when its backing service cannot be reached; its
	// decision is then ignored.
	Allow(ctx context.Context, key string, rule domain.RateRule, now time.Time) (domain.RateDecision, error)
}
