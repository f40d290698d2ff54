package domain

import "time"

// RateRule is a fixed-window limit: Limit requests per Window.
type RateRule struct {
	Name   string // namespaces the key: "token", "authorize", …
	Limit  int
	Window time.Duration
}

// Enabled reports whether the rule limits anything.
func (r RateRule) Enabled() bool { return r.Limit > 0 && r.Window > 0 }

// RateDecision is a limiter's answer, with what the X-RateLimit-* and
// Retry-After headers need.
type RateDecision struct {
	Allowed    bool
	Limit      int
	Remaining  int
	RetryAfter time.Duration // until the window resets; set when not allowed
}
