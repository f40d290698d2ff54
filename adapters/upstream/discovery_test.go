package upstream_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/upstream"
	"github.com/calimatic/calimatic-auth/core/domain"
)

func TestDiscover(t *testing.T) {
	ctx := context.Background()

	t.Run("reads the endpoints of the document that names the issuer", func(t *testing.T) {
		u := newTestUpstream(t)
		u.set(func(u *testUpstream) {
			u.docFields["end_session_endpoint"] = u.URL + "/logout"
			u.docFields["token_endpoint_auth_methods_supported"] = []string{"client_secret_post"}
			u.docFields["code_challenge_methods_supported"] = []string{"S256"}
		})
		md, err := newClient(t, upstream.Options{}).Discover(ctx, u.URL)
		require.NoError(t, err)
		assert.Equal(t, domain.UpstreamMetadata{
			Issuer:                   u.URL,
			AuthorizationEndpoint:    u.URL + "/authorize",
			TokenEndpoint:            u.URL + "/token",
			JWKSURI:                  u.URL + "/jwks",
			EndSessionEndpoint:       u.URL + "/logout",
			TokenEndpointAuthMethods: []string{"client_secret_post"},
			CodeChallengeMethods:     []string{"S256"},
		}, md)
	})
	t.Run("an issuer with a trailing slash is fetched without a double one and must match with it", func(t *testing.T) {
		u := newTestUpstream(t)
		u.set(func(u *testUpstream) { u.docFields["issuer"] = u.URL + "/" })
		md, err := newClient(t, upstream.Options{}).Discover(ctx, u.URL+"/")
		require.NoError(t, err)
		assert.Equal(t, u.URL+"/", md.Issuer)
	})
	t.Run("is kept: a second call within the hour does not fetch", func(t *testing.T) {
		u := newTestUpstream(t)
		c := newClient(t, upstream.Options{})
		_, err := c.Discover(ctx, u.URL)
		require.NoError(t, err)
		_, err = c.Discover(ctx, u.URL)
		require.NoError(t, err)
		discoveries, _, _ := u.counts()
		assert.Equal(t, 1, discoveries)
	})
	t.Run("is fetched again once the hour is up", func(t *testing.T) {
		u := newTestUpstream(t)
		c := newClient(t, upstream.Options{})
		now := time.Now()
		upstream.SetNow(c, func() time.Time { return now })
		_, err := c.Discover(ctx, u.URL)
		require.NoError(t, err)
		now = now.Add(time.Hour + time.Second)
		_, err = c.Discover(ctx, u.URL)
		require.NoError(t, err)
		discoveries, _, _ := u.counts()
		assert.Equal(t, 2, discoveries)
	})
	t.Run("a document naming another issuer is unavailable", func(t *testing.T) {
		u := newTestUpstream(t)
		u.set(func(u *testUpstream) { u.docFields["issuer"] = "https://accounts.example.com" })
		_, err := newClient(t, upstream.Options{}).Discover(ctx, u.URL)
		require.ErrorIs(t, err, domain.ErrUnavailable)
		assert.Contains(t, err.Error(), `names the issuer "https://accounts.example.com"`)
	})
	t.Run("a 500 is unavailable, and not kept: the next call fetches again", func(t *testing.T) {
		u := newTestUpstream(t)
		u.set(func(u *testUpstream) {
			u.discovery = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }
		})
		c := newClient(t, upstream.Options{})
		_, err := c.Discover(ctx, u.URL)
		require.ErrorIs(t, err, domain.ErrUnavailable)
		assert.Contains(t, err.Error(), "answered 500")

		u.set(func(u *testUpstream) { u.discovery = nil })
		md, err := c.Discover(ctx, u.URL)
		require.NoError(t, err)
		assert.Equal(t, u.URL+"/token", md.TokenEndpoint)
	})
	t.Run("garbage is unavailable", func(t *testing.T) {
		u := newTestUpstream(t)
		u.set(func(u *testUpstream) {
			u.discovery = func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>hello</html>")) }
		})
		_, err := newClient(t, upstream.Options{}).Discover(ctx, u.URL)
		require.ErrorIs(t, err, domain.ErrUnavailable)
		assert.Contains(t, err.Error(), "not JSON")
	})
	t.Run("a document without a jwks_uri is unavailable", func(t *testing.T) {
		u := newTestUpstream(t)
		u.set(func(u *testUpstream) { u.docFields["jwks_uri"] = nil })
		_, err := newClient(t, upstream.Options{}).Discover(ctx, u.URL)
		require.ErrorIs(t, err, domain.ErrUnavailable)
		assert.Contains(t, err.Error(), "no jwks_uri")
	})
	t.Run("a redirect is not followed, and is unavailable", func(t *testing.T) {
		u := newTestUpstream(t)
		u.set(func(u *testUpstream) {
			u.discovery = func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			}
		})
		_, err := newClient(t, upstream.Options{}).Discover(ctx, u.URL)
		require.ErrorIs(t, err, domain.ErrUnavailable)
		assert.Contains(t, err.Error(), "answered 302")
	})
	t.Run("an upstream that cannot be reached is unavailable", func(t *testing.T) {
		u := newTestUpstream(t)
		u.Close()
		_, err := newClient(t, upstream.Options{}).Discover(ctx, u.URL)
		require.ErrorIs(t, err, domain.ErrUnavailable)
	})
	t.Run("an issuer that is no URL is refused as configuration", func(t *testing.T) {
		_, err := newClient(t, upstream.Options{}).Discover(ctx, "accounts.example.com")
		require.Error(t, err)
		assert.NotErrorIs(t, err, domain.ErrUnavailable)
		assert.NotErrorIs(t, err, domain.ErrInvalidToken)
	})
}

func TestDiscoverRequireHTTPS(t *testing.T) {
	ctx := context.Background()

	t.Run("an http issuer is refused without being fetched", func(t *testing.T) {
		u := newTestUpstream(t)
		_, err := newClient(t, upstream.Options{RequireHTTPS: true}).Discover(ctx, u.URL)
		require.ErrorIs(t, err, upstream.ErrInsecure)
		assert.NotErrorIs(t, err, domain.ErrUnavailable)
		discoveries, _, _ := u.counts()
		assert.Zero(t, discoveries)
	})

	// An https upstream, whose document a test may spoil.
	tlsUpstream := func(t *testing.T, spoil func(doc map[string]any)) (*httptest.Server, *upstream.Client) {
		var srv *httptest.Server
		srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			doc := map[string]any{
				"issuer":                 srv.URL,
				"authorization_endpoint": srv.URL + "/authorize",
				"token_endpoint":         srv.URL + "/token",
				"jwks_uri":               srv.URL + "/jwks",
			}
			spoil(doc)
			writeJSON(w, http.StatusOK, doc)
		}))
		t.Cleanup(srv.Close)
		return srv, newClient(t, upstream.Options{RequireHTTPS: true, HTTPClient: srv.Client()})
	}
	t.Run("an https issuer whose endpoints are https is read", func(t *testing.T) {
		srv, c := tlsUpstream(t, func(map[string]any) {})
		md, err := c.Discover(ctx, srv.URL)
		require.NoError(t, err)
		assert.Equal(t, srv.URL+"/jwks", md.JWKSURI)
	})
	t.Run("an https issuer whose document names an http endpoint is refused", func(t *testing.T) {
		srv, c := tlsUpstream(t, func(doc map[string]any) { doc["jwks_uri"] = "http://keys.example.com/jwks" })
		_, err := c.Discover(ctx, srv.URL)
		require.ErrorIs(t, err, upstream.ErrInsecure)
		assert.Contains(t, err.Error(), "jwks_uri")
	})
}
