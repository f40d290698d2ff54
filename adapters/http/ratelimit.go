package http

import (
	"crypto/sha256"
	"encoding/base64"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/core/ratelimit"
)

// limit enforces a rule on a route, keyed by keyOf (integration guide §7).
// Every answer carries X-RateLimit-Limit and X-RateLimit-Remaining; a 429
// adds Retry-After and an OAuth-style error body. A limiter outage fails
// closed (ports.RateLimiter): the route answers 503 temporarily_unavailable
// in its own format, as it would for an outage in the core, and it is
// logged there.
func (s *Server) limit(rule domain.RateRule, keyOf func(*fiber.Ctx) string) fiber.Handler {
	if !s.opts.RateLimitsEnabled || !rule.Enabled() {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return func(c *fiber.Ctx) error {
		d, err := ratelimit.Allow(c.UserContext(), s.limiter, keyOf(c), rule, s.clock.Now())
		if err != nil {
			return s.errorHandler(c, err)
		}
		if !d.Allowed {
			e := &oidc.Error{
				Code: oidc.CodeRateLimited, Description: "too many requests; retry after the time in Retry-After", RateLimit: &d,
			}
			if isRESTPath(c.Path()) {
				return s.restError(c, e)
			}
			return s.oauthError(c, e)
		}
		rateHeaders(c, d)
		return c.Next()
	}
}

// rateHeaders reports a limiter's decision (integration guide §7).
func rateHeaders(c *fiber.Ctx, d domain.RateDecision) {
	if d.Limit == 0 {
		return
	}
	c.Set("X-RateLimit-Limit", itoa(d.Limit))
	c.Set("X-RateLimit-Remaining", itoa(d.Remaining))
	if !d.Allowed {
		c.Set(fiber.HeaderRetryAfter, retryAfterSeconds(int64(d.RetryAfter.Seconds()+0.999)))
	}
}

// ipKey counts a client by its address, or its /64 for IPv6.
func (s *Server) ipKey(c *fiber.Ctx) string { return domain.IPBucket(s.clientIP(c)) }

// tokenKey is a hash of the access token (Bearer or DPoP): the token itself
// never becomes a key (keys may be stored or logged by a shared limiter).
func (s *Server) tokenKey(c *fiber.Ctx) string {
	_, t := authorization(c)
	if t == "" {
		t = c.FormValue("access_token")
	}
	if t == "" {
		return "ip:" + domain.IPBucket(s.clientIP(c))
	}
	sum := sha256.Sum256([]byte(t))
	return "t:" + base64.RawURLEncoding.EncodeToString(sum[:18])
}
