package webhooks

import (
	"encoding/binary"
	"time"
)

// Schedule is when a failed delivery is tried again: Delays[i] after the
// (i+1)th failed attempt, each spread by ±Jitter of itself so that retries
// after an outage do not arrive in one wave. When the delays run out the
// delivery fails for good.
type Schedule struct {
	Delays []time.Duration
	Jitter float64 // 0.2 is ±20%
}

// DefaultSchedule retries for about three days: quickly at first, then
// hourly, then twice a day.
var DefaultSchedule = Schedule{
	Delays: []time.Duration{
		5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour,
		12 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour,
	},
	Jitter: 0.2,
}

// Total is the longest time the schedule retries for, before jitter.
func (s Schedule) Total() time.Duration {
	var t time.Duration
	for _, d := range s.Delays {
		t += d
	}
	return t
}

// maxRetryAfter bounds how far a receiver's Retry-After can push a retry.
const maxRetryAfter = 24 * time.Hour

// next returns when to try again after failed attempt number attempts (1
// for the first), or false when retries have run out. A receiver's
// Retry-After (on 429 and 503) is honoured when it asks for longer than the
// schedule. random gives the jitter.
func (s Schedule) next(attempts int, now time.Time, retryAfter time.Duration, random []byte) (time.Time, bool) {
	if attempts < 1 || attempts > len(s.Delays) {
		return time.Time{}, false
	}
	d := s.Delays[attempts-1]
	if s.Jitter > 0 && len(random) >= 8 {
		// u is uniform in [-1, 1).
		u := float64(binary.BigEndian.Uint64(random)>>11)/float64(1<<52) - 1
		d += time.Duration(float64(d) * s.Jitter * u)
	}
	if retryAfter > d {
		d = min(retryAfter, maxRetryAfter)
	}
	return now.Add(d), true
}

// backoffFactor is how much each retry waits longer than the one before.
const backoffFactor = 3

// ExponentialSchedule retries after first, then three times longer each time
// up to max per wait, for as long as the waits add up to at most total.
func ExponentialSchedule(first, max, total time.Duration) Schedule {
	var s Schedule
	s.Jitter = DefaultSchedule.Jitter
	var sum time.Duration
	for d := first; d > 0 && sum+d <= total; d = min(d*backoffFactor, max) {
		s.Delays = append(s.Delays, d)
		sum += d
	}
	return s
}
