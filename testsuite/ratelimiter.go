package testsuite

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// RunRateLimiter checks a RateLimiter against its port contract. Windows are
// fixed but their alignment is the limiter's choice, so the checks rely only
// on a window lasting rule.Window and on RetryAfter pointing at its end.
func RunRateLimiter(t *testing.T, newLimiter func(t *testing.T) ports.RateLimiter) {
	runSubtests(t, newLimiter, []subtest[ports.RateLimiter]{
		{"requests within the limit are allowed while the remaining count goes down", rateWithinLimit},
		{"a request over the limit is denied with a retry-after inside the window", rateOverLimit},
		{"retry-after counts down as time passes in the window", rateRetryAfterCountsDown},
		{"once the retry-after has passed requests are allowed again", rateAfterRetry},
		{"a request a whole window later starts a fresh count", rateNextWindow},
		{"different keys are counted apart", rateKeysApart},
		{"rules with different names count one key apart", rateRulesApart},
	})
}

// RunRateLimiterConcurrency checks that counting and deciding are one atomic
// step: a parallel burst gets exactly the limit, with consistent figures.
func RunRateLimiterConcurrency(t *testing.T, newLimiter func(t *testing.T) ports.RateLimiter) {
	runSubtests(t, newLimiter, []subtest[ports.RateLimiter]{
		{"of a parallel burst of 100 requests against a limit of 20 exactly 20 are allowed", rateParallelBurst},
		{"parallel bursts on different keys each get the whole limit", rateParallelKeys},
	})
}

func sampleRule(limit int) domain.RateRule {
	return domain.RateRule{Name: uniqueID("rule-"), Limit: limit, Window: time.Minute}
}

func allow(t *testing.T, l ports.RateLimiter, key string, rule domain.RateRule, now time.Time) domain.RateDecision {
	t.Helper()
	d, err := l.Allow(t.Context(), key, rule, now)
	require.NoError(t, err)
	return d
}

// exhaust spends the whole limit of key at now.
func exhaust(t *testing.T, l ports.RateLimiter, key string, rule domain.RateRule, now time.Time) {
	t.Helper()
	for i := range rule.Limit {
		require.True(t, allow(t, l, key, rule, now).Allowed, "request %d of %d", i+1, rule.Limit)
	}
}

func rateWithinLimit(t *testing.T, l ports.RateLimiter) {
	rule, key := sampleRule(5), uniqueID("client-")
	for i := range rule.Limit {
		d := allow(t, l, key, rule, epoch)
		assert.Equal(t, domain.RateDecision{Allowed: true, Limit: 5, Remaining: 4 - i}, d, "request %d", i+1)
	}
}

func rateOverLimit(t *testing.T, l ports.RateLimiter) {
	rule, key := sampleRule(5), uniqueID("client-")
	exhaust(t, l, key, rule, epoch)
	d := allow(t, l, key, rule, epoch)
	assert.False(t, d.Allowed)
	assert.Equal(t, 5, d.Limit)
	assert.Equal(t, 0, d.Remaining)
	assert.Positive(t, d.RetryAfter)
	assert.LessOrEqual(t, d.RetryAfter, rule.Window)
}

func rateRetryAfterCountsDown(t *testing.T, l ports.RateLimiter) {
	rule, key := sampleRule(1), uniqueID("client-")
	exhaust(t, l, key, rule, epoch)
	first := allow(t, l, key, rule, epoch)
	require.False(t, first.Allowed)
	step := (first.RetryAfter / 2).Truncate(time.Second)
	second := allow(t, l, key, rule, epoch.Add(step))
	require.False(t, second.Allowed, "still in the window")
	assert.Equal(t, first.RetryAfter-step, second.RetryAfter)
}

func rateAfterRetry(t *testing.T, l ports.RateLimiter) {
	rule, key := sampleRule(3), uniqueID("client-")
	exhaust(t, l, key, rule, epoch)
	denied := allow(t, l, key, rule, epoch)
	require.False(t, denied.Allowed)
	d := allow(t, l, key, rule, epoch.Add(denied.RetryAfter))
	assert.Equal(t, domain.RateDecision{Allowed: true, Limit: 3, Remaining: 2}, d)
}

func rateNextWindow(t *testing.T, l ports.RateLimiter) {
	rule, key := sampleRule(3), uniqueID("client-")
	exhaust(t, l, key, rule, epoch)
	d := allow(t, l, key, rule, epoch.Add(rule.Window))
	assert.Equal(t, domain.RateDecision{Allowed: true, Limit: 3, Remaining: 2}, d)
}

func rateKeysApart(t *testing.T, l ports.RateLimiter) {
	rule, key := sampleRule(2), uniqueID("client-")
	exhaust(t, l, key, rule, epoch)
	d := allow(t, l, uniqueID("client-"), rule, epoch)
	assert.Equal(t, domain.RateDecision{Allowed: true, Limit: 2, Remaining: 1}, d)
}

func rateRulesApart(t *testing.T, l ports.RateLimiter) {
	rule, other, key := sampleRule(2), sampleRule(2), uniqueID("client-")
	exhaust(t, l, key, rule, epoch)
	d := allow(t, l, key, other, epoch)
	assert.Equal(t, domain.RateDecision{Allowed: true, Limit: 2, Remaining: 1}, d)
}

// burst sends n requests for key at one instant from n goroutines.
func burst(t *testing.T, l ports.RateLimiter, key string, rule domain.RateRule, n int) ([]domain.RateDecision, []error) {
	decisions := make([]domain.RateDecision, n)
	errs := make([]error, n)
	race(n, func(i int) { decisions[i], errs[i] = l.Allow(t.Context(), key, rule, epoch) })
	return decisions, errs
}

func rateParallelBurst(t *testing.T, l ports.RateLimiter) {
	rule := sampleRule(20)
	decisions, errs := burst(t, l, uniqueID("client-"), rule, 100)
	ok, _ := countErrors(errs, nil)
	require.Equal(t, 100, ok, "no request fails")

	var allowed, denied []domain.RateDecision
	for _, d := range decisions {
		assert.Equal(t, rule.Limit, d.Limit)
		if d.Allowed {
			allowed = append(allowed, d)
		} else {
			denied = append(denied, d)
		}
	}
	require.Len(t, allowed, 20, "exactly the limit is allowed")
	assertCountdown(t, allowed)
	assertSameRetry(t, denied, rule.Window)
}

// assertCountdown asserts that the allowed decisions of one burst saw each
// remaining count from limit-1 down to 0 exactly once.
func assertCountdown(t *testing.T, allowed []domain.RateDecision) {
	t.Helper()
	var got, want []int
	for i, d := range allowed {
		got, want = append(got, d.Remaining), append(want, i)
	}
	assert.ElementsMatch(t, want, got, "remaining counts")
}

// assertSameRetry asserts that the denials of one burst at one instant have
// nothing remaining and point at the same window end, inside the window.
func assertSameRetry(t *testing.T, denied []domain.RateDecision, window time.Duration) {
	t.Helper()
	require.NotEmpty(t, denied)
	first := denied[0].RetryAfter
	assert.Positive(t, first)
	assert.LessOrEqual(t, first, window)
	for _, d := range denied {
		assert.Equal(t, 0, d.Remaining, "a denial has nothing remaining")
		assert.Equal(t, first, d.RetryAfter, "every denial points at the same window end")
	}
}

func rateParallelKeys(t *testing.T, l ports.RateLimiter) {
	rule := sampleRule(20)
	keys := []string{uniqueID("client-"), uniqueID("client-"), uniqueID("client-"), uniqueID("client-")}
	n := len(keys) * 50
	decisions := make([]domain.RateDecision, n)
	errs := make([]error, n)
	race(n, func(i int) { decisions[i], errs[i] = l.Allow(t.Context(), keys[i%len(keys)], rule, epoch) })

	ok, _ := countErrors(errs, nil)
	require.Equal(t, n, ok, "no request fails")
	allowed := make([]int, len(keys))
	for i, d := range decisions {
		if d.Allowed {
			allowed[i%len(keys)]++
		}
	}
	assert.Equal(t, []int{20, 20, 20, 20}, allowed)
}
