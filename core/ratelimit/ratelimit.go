// Package ratelimit counts a request against a rule through the
// ports.RateLimiter, and holds the one rule for a limiter that cannot count:
// the request is refused (fail closed, documented on ports.RateLimiter).
//
// It sits in the core, next to the use cases, and drives only the port. The
// HTTP adapter's route limits (authorization, registration, userinfo,
// account forms, webhook pings) and the core's own limits (sign-in, token,
// introspection) all call Allow, so a limiter outage has the same outcome
// wherever a limit sits.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// Allow counts one request for key under rule at now and returns the
// limiter's decision. A disabled rule allows the request without asking the
// limiter.
//
// When the limiter fails, Allow fails closed: the decision does not allow
// the request, and the error wraps domain.ErrUnavailable as well as the
// limiter's own error. A caller returns that error as it returns any
// outage, so every edge answers 503 temporarily_unavailable in its own
// format; no caller lets the request through.
func Allow(ctx context.Context, limiter ports.RateLimiter, key string, rule domain.RateRule, now time.Time) (domain.RateDecision, error) {
	if !rule.Enabled() {
		return domain.RateDecision{Allowed: true}, nil
	}
	d, err := limiter.Allow(ctx, key, rule, now)
	switch {
	case err == nil:
		return d, nil
	case errors.Is(err, domain.ErrUnavailable):
		return domain.RateDecision{}, fmt.Errorf("rate limit %s: %w", rule.Name, err)
	default:
		return domain.RateDecision{}, fmt.Errorf("rate limit %s: %w: %w", rule.Name, domain.ErrUnavailable, err)
	}
}
