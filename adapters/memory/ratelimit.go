package memory

import (
	"context"
	"sync"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// RateLimiter counts requests in fixed windows aligned to multiples of the
// rule's window since the zero time. It counts for one process only: several
// instances need the postgres or mongo limiter to share counts.
type RateLimiter struct {
	mu      sync.Mutex
	clock   horizon
	windows map[rateKey]*window
	expiry  *expiryQueue[rateKey]
}

// rateKey keeps keys of different rules apart without any separator that a
// key could contain.
type rateKey struct{ rule, key string }

type window struct {
	start time.Time
	count int
}

// NewRateLimiter returns a limiter with no counts.
func NewRateLimiter() *RateLimiter {
	return &RateLimiter{windows: make(map[rateKey]*window), expiry: newExpiryQueue[rateKey]()}
}

// Allow counts one request for key under rule at now. Counting and deciding
// happen under one lock, so a parallel burst gets exactly rule.Limit
// allowances per window. A disabled rule allows everything and counts nothing.
func (l *RateLimiter) Allow(_ context.Context, key string, rule domain.RateRule, now time.Time) (domain.RateDecision, error) {
	if !rule.Enabled() {
		return domain.RateDecision{Allowed: true, Limit: rule.Limit}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expiry.sweep(l.clock.observe(now), func(k rateKey) { delete(l.windows, k) })
	w := l.current(rateKey{rule.Name, key}, rule.Window, now)
	w.count++
	d := domain.RateDecision{Allowed: w.count <= rule.Limit, Limit: rule.Limit, Remaining: max(rule.Limit-w.count, 0)}
	if !d.Allowed {
		d.RetryAfter = w.start.Add(rule.Window).Sub(now)
	}
	return d, nil
}

// current returns the window holding now for k, starting a fresh one when the
// stored window has passed. A late request stamped before the stored window
// counts in that window rather than reopening an old one.
func (l *RateLimiter) current(k rateKey, size time.Duration, now time.Time) *window {
	start := now.Truncate(size)
	w, ok := l.windows[k]
	if ok && !start.After(w.start) {
		return w
	}
	w = &window{start: start}
	l.windows[k] = w
	l.expiry.set(k, start.Add(size))
	return w
}
