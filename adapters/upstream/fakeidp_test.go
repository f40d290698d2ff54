package upstream_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/calimatic/calimatic-auth/adapters/upstream"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite/fakeidp"
)

// These tests run the adapter against testsuite/fakeidp over real HTTP:
// discovery, a browser's trip through the authorization endpoint, and the
// exchange of the code it brings back.

const callback = "https://calimatic.example/federation/callback"

var rp = fakeidp.Client{ID: "calimatic", Secret: "s3cret:with/odd+chars", RedirectURIs: []string{callback}}

// signIn sends a browser through idp's authorization endpoint, as the
// discovered metadata describe it, and returns the exchange of the code it
// comes back with.
func signIn(t *testing.T, idp *fakeidp.IdP, md domain.UpstreamMetadata, nonce string) ports.UpstreamExchange {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	q := url.Values{
		"client_id": {rp.ID}, "redirect_uri": {callback}, "response_type": {"code"},
		"scope": {"openid email profile"}, "state": {"state-1"}, "nonce": {nonce},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	back := idp.Authorize(t, md.AuthorizationEndpoint+"?"+q.Encode())
	require.Equal(t, "state-1", back.Query().Get("state"))
	require.NotEmpty(t, back.Query().Get("code"), "redirected back with %s", back)
	return ports.UpstreamExchange{
		Metadata: md, ClientID: rp.ID, ClientSecret: rp.Secret,
		Code: back.Query().Get("code"), CodeVerifier: verifier, RedirectURI: callback,
	}
}

func TestAgainstFakeIdP(t *testing.T) {
	ctx := context.Background()

	for _, tc := range []struct {
		name  string
		opts  []fakeidp.Option
		https bool
	}{
		{"over http, the client in client_secret_basic", nil, false},
		{"over http, the client in client_secret_post", []fakeidp.Option{fakeidp.WithAuthMethods("client_secret_post")}, false},
		{"over https, https required", []fakeidp.Option{fakeidp.WithTLS()}, true},
	} {
		t.Run("a sign-in round trip returns the user's claims "+tc.name, func(t *testing.T) {
			idp := fakeidp.New(t, append(tc.opts, fakeidp.WithClient(rp))...)
			idp.SetUser(fakeidp.User{
				Sub: "u-42", Email: "grace@example.org", EmailVerified: true,
				Name: "Grace Hopper", GivenName: "Grace", FamilyName: "Hopper",
				Extra: map[string]any{"hd": "example.org", "amr": []string{"pwd", "mfa"}},
			})
			opts := upstream.Options{}
			if tc.https {
				opts = upstream.Options{RequireHTTPS: true, HTTPClient: idp.HTTPClient()}
			}
			c := newClient(t, opts)

			md, err := c.Discover(ctx, idp.Issuer())
			require.NoError(t, err)
			assert.Equal(t, []string{"S256"}, md.CodeChallengeMethods)
			assert.Equal(t, idp.Issuer()+"/logout", md.EndSessionEndpoint)

			claims, err := c.Exchange(ctx, signIn(t, idp, md, "nonce-1"))
			require.NoError(t, err)
			assert.Equal(t, idp.Issuer(), claims["iss"])
			assert.Equal(t, "u-42", claims["sub"])
			assert.Equal(t, "calimatic", claims["aud"])
			assert.Equal(t, "calimatic", claims["azp"])
			assert.Equal(t, "nonce-1", claims["nonce"])
			assert.Equal(t, "grace@example.org", claims["email"])
			assert.Equal(t, true, claims["email_verified"])
			assert.Equal(t, "Grace Hopper", claims["name"])
			assert.Equal(t, "example.org", claims["hd"])
			assert.Equal(t, []any{"pwd", "mfa"}, claims["amr"])
			assert.IsType(t, float64(0), claims["exp"])
		})
	}

	t.Run("a code redeemed twice is refused the second time with invalid_grant", func(t *testing.T) {
		idp := fakeidp.New(t, fakeidp.WithClient(rp))
		c := newClient(t, upstream.Options{})
		md, err := c.Discover(ctx, idp.Issuer())
		require.NoError(t, err)
		x := signIn(t, idp, md, "n")
		_, err = c.Exchange(ctx, x)
		require.NoError(t, err)
		_, err = c.Exchange(ctx, x)
		var oauthErr *upstream.OAuthError
		require.ErrorAs(t, err, &oauthErr)
		assert.Equal(t, "invalid_grant", oauthErr.Code)
	})
	t.Run("after the IdP rotates its key the next exchange succeeds, nothing restarted", func(t *testing.T) {
		idp := fakeidp.New(t, fakeidp.WithClient(rp))
		c := newClient(t, upstream.Options{})
		md, err := c.Discover(ctx, idp.Issuer())
		require.NoError(t, err)
		_, err = c.Exchange(ctx, signIn(t, idp, md, "n1"))
		require.NoError(t, err)

		idp.RotateKey()
		claims, err := c.Exchange(ctx, signIn(t, idp, md, "n2"))
		require.NoError(t, err)
		assert.Equal(t, "n2", claims["nonce"])
		assert.Equal(t, 2, idp.Requests().JWKS, "the keys fetched at first, and again for the new kid")
	})
	t.Run("an ID token signed with a key the IdP does not publish is an invalid token", func(t *testing.T) {
		idp := fakeidp.New(t, fakeidp.WithClient(rp))
		c := newClient(t, upstream.Options{})
		md, err := c.Discover(ctx, idp.Issuer())
		require.NoError(t, err)
		idp.SignWithUnknownKey()
		_, err = c.Exchange(ctx, signIn(t, idp, md, "n"))
		require.ErrorIs(t, err, domain.ErrInvalidToken)
	})
	t.Run("tampered claims are returned as signed: checking them is the caller's", func(t *testing.T) {
		idp := fakeidp.New(t, fakeidp.WithClient(rp))
		idp.Tamper(func(claims map[string]any) { claims["aud"] = "someone-else"; claims["nonce"] = "forged" })
		c := newClient(t, upstream.Options{})
		md, err := c.Discover(ctx, idp.Issuer())
		require.NoError(t, err)
		claims, err := c.Exchange(ctx, signIn(t, idp, md, "n"))
		require.NoError(t, err)
		assert.Equal(t, "someone-else", claims["aud"])
		assert.Equal(t, "forged", claims["nonce"])
	})
	t.Run("an IdP that is down is unavailable, and discovered once it is up", func(t *testing.T) {
		idp := fakeidp.New(t, fakeidp.WithClient(rp))
		c := newClient(t, upstream.Options{})
		idp.Down()
		_, err := c.Discover(ctx, idp.Issuer())
		require.ErrorIs(t, err, domain.ErrUnavailable)
		idp.Up()
		_, err = c.Discover(ctx, idp.Issuer())
		require.NoError(t, err)
	})
	t.Run("an IdP that goes down between the redirect and the exchange is unavailable", func(t *testing.T) {
		idp := fakeidp.New(t, fakeidp.WithClient(rp))
		c := newClient(t, upstream.Options{})
		md, err := c.Discover(ctx, idp.Issuer())
		require.NoError(t, err)
		x := signIn(t, idp, md, "n")
		idp.Down()
		_, err = c.Exchange(ctx, x)
		require.ErrorIs(t, err, domain.ErrUnavailable)
	})
}
