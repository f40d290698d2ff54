package app_test

import (
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/testsuite/oidcflow"
)

// TestEndToEndOverHTTPS runs the black-box suite with an https issuer, as
// in production: a TLS-terminating proxy in front of the app, so cookies
// are Secure and carry the __Host- prefix, and every browser flow (sign-in,
// consent, logout, the account forms) must work with them.
func TestEndToEndOverHTTPS(t *testing.T) {
	t.Parallel()
	front := httptest.NewUnstartedServer(nil)
	issuer := "https://" + front.Listener.Addr().String()
	srv := startServer(t, func(c *config.Config) {
		c.Issuer = issuer
		c.RateLimit.Enabled = false
	})
	target, err := url.Parse(srv.URL)
	require.NoError(t, err)
	front.Config.Handler = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}}
	front.StartTLS()
	t.Cleanup(front.Close)

	env := srv.env()
	env.BaseURL = issuer
	env.Transport = front.Client().Transport
	oidcflow.Run(t, env)
}
