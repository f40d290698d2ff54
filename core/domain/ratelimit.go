package domain

import (
	"net/netip"
	"time"
)

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

// IPBucket is the key a per-IP limit counts an address under: the address
// for IPv4, its /64 for IPv6, as one subscriber or host holds a whole /64
// and could otherwise rotate through it.
func IPBucket(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		prefix, _ := addr.Prefix(64)
		return prefix.String()
	}
	return addr.String()
}
