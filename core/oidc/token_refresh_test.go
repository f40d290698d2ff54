package oidc_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// A refresh token issued without offline_access dies with the browser
// session when that session expires; refreshing counts as using the session,
// so an app in use keeps it alive. With offline_access, the token outlives
// the session up to its own lifetime.
func TestRefreshTokensFollowTheSessionUnlessOffline(t *testing.T) {
	for _, tc := range []struct {
		scope   string
		outlive bool
	}{
		{"openid email", false},
		{"openid email offline_access", true},
	} {
		t.Run(tc.scope, func(t *testing.T) {
			clock := testsuite.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
			users := memory.NewUserStore()
			p := newTestProvider(t, func(c *oidc.Config, d *oidc.Deps) {
				d.Users, d.Clock = users, clock
				c.SessionTTL, c.RefreshTokenTTL, c.AccessTokenTTL = time.Hour, 30*24*time.Hour, 5*time.Minute
			})
			ctx := context.Background()
			cc, code, verifier := signInForCode(t, p, users, tc.scope)
			tok, err := p.Token(ctx, oidc.TokenRequest{
				GrantType: "authorization_code", Code: code, RedirectURI: "https://app.example/cb", CodeVerifier: verifier, Client: cc,
			})
			require.NoError(t, err)
			refresh := func() error {
				next, err := p.Token(ctx, oidc.TokenRequest{GrantType: "refresh_token", RefreshToken: tok.RefreshToken, Client: cc})
				if err == nil {
					tok = next
				}
				return err
			}

			// The app refreshes every 50 minutes for five hours: each use
			// slides the one-hour session.
			for i := range 6 {
				clock.Advance(50 * time.Minute)
				require.NoError(t, refresh(), "refresh %d, while the app is in use", i+1)
			}
			// Then nobody uses the session for longer than its lifetime.
			clock.Advance(61 * time.Minute)
			in, err := p.Introspect(ctx, cc, tok.RefreshToken, "refresh_token")
			require.NoError(t, err)
			assert.Equal(t, tc.outlive, in.Active, "introspection after the session expired")
			err = refresh()
			if tc.outlive {
				assert.NoError(t, err, "offline access outlives the session")
				return
			}
			e, ok := oidc.AsError(err)
			require.True(t, ok, "an OAuth error: %v", err)
			assert.Equal(t, oidc.CodeInvalidGrant, e.Code)
		})
	}
}
