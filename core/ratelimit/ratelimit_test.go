package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/ratelimit"
)

// failing is a limiter that cannot count.
type failing struct {
	err   error
	calls int
}

func (f *failing) Allow(context.Context, string, domain.RateRule, time.Time) (domain.RateDecision, error) {
	f.calls++
	return domain.RateDecision{Allowed: true, Limit: 1, Remaining: 1}, f.err
}

var (
	rule = domain.RateRule{Name: "token", Limit: 2, Window: time.Minute}
	now  = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
)

func TestAFailingLimiterRefusesTheRequestAsAnOutage(t *testing.T) {
	cause := errors.New("connection refused")
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"an outage the adapter reported as unavailable", fmt.Errorf("rate limit: %w: %w", domain.ErrUnavailable, cause)},
		{"any other limiter error", cause},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ratelimit.Allow(context.Background(), &failing{err: tc.err}, "k", rule, now)
			require.Error(t, err)
			assert.False(t, d.Allowed, "the request is not let through, whatever the limiter said")
			assert.ErrorIs(t, err, domain.ErrUnavailable, "the edge answers 503 temporarily_unavailable")
			assert.ErrorIs(t, err, cause, "the cause stays for the log")
			assert.Contains(t, err.Error(), "rate limit token", "the log names the rule")
		})
	}
}

func TestADisabledRuleAsksNoLimiter(t *testing.T) {
	l := &failing{err: errors.New("down")}
	d, err := ratelimit.Allow(context.Background(), l, "k", domain.RateRule{Name: "off"}, now)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.Zero(t, l.calls)
}

func TestAWorkingLimiterDecides(t *testing.T) {
	l := memory.NewRateLimiter()
	for i, want := range []bool{true, true, false} {
		d, err := ratelimit.Allow(context.Background(), l, "k", rule, now)
		require.NoError(t, err)
		assert.Equal(t, want, d.Allowed, "request %d", i+1)
	}
}
