package app_test

import (
	"testing"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/testsuite/oidcflow"
)

// TestEndToEnd runs the black-box suite against the real app on the memory
// default. Rate limits are off: the suite registers many clients from one IP.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *config.Config) { c.RateLimit.Enabled = false })
	oidcflow.Run(t, srv.env())
}

// TestEndToEndPKCEForPublicClients runs the whole suite again under
// oidc.pkce_required: public, the certification profile: confidential
// clients may omit PKCE and rely on nonce, public ones may not, and an
// administrator may require it of one client. TestEndToEnd, under the
// default "all", checks that every client is refused without it.
func TestEndToEndPKCEForPublicClients(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *config.Config) {
		c.RateLimit.Enabled = false
		c.OIDC.PKCERequired = "public"
	})
	env := srv.env()
	env.PKCEPolicy = "public"
	oidcflow.Run(t, env)
}

// TestEndToEndRateLimits checks the guide's §7 limits on a server of its own,
// so their counts start from zero. The per-IP sign-in limit is lowered from
// 60 to keep the test fast: every attempt costs an argon2id hash.
func TestEndToEndRateLimits(t *testing.T) {
	t.Parallel()
	const loginIPLimit = 20
	srv := startServer(t, func(c *config.Config) { c.RateLimit.LoginIP.Limit = loginIPLimit })
	env := srv.env()
	env.LoginIPLimit = loginIPLimit
	oidcflow.RunRateLimits(t, env)
}

// TestEndToEndRateLimitsBehindAProxy runs them with the server trusting
// the suite's address as a proxy, while every request rotates a spoofed
// X-Forwarded-For entry: the limits count the address the proxy appended,
// so registration and sign-in throttling still stop the client.
func TestEndToEndRateLimitsBehindAProxy(t *testing.T) {
	t.Parallel()
	const loginIPLimit = 20
	srv := startServer(t, func(c *config.Config) {
		c.RateLimit.LoginIP.Limit = loginIPLimit
		c.HTTP.TrustedProxies = []string{"127.0.0.0/8", "::1"}
	})
	env := srv.env()
	env.LoginIPLimit = loginIPLimit
	env.BehindProxy = true
	oidcflow.RunRateLimits(t, env)
}
