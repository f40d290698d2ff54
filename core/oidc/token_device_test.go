package oidc_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// deviceFixture is a provider on memory stores and a stopped clock, with a
// public device client and a user who can sign in.
type deviceFixture struct {
	p      *oidc.Provider
	clock  *testsuite.FakeClock
	client oidc.ClientCredentials
	b      oidc.Browser
}

func newDeviceFixture(t *testing.T) *deviceFixture {
	t.Helper()
	return newDeviceFixtureWith(t, nil)
}

// newDeviceFixtureWith is newDeviceFixture with edit changing the
// provider's configuration.
func newDeviceFixtureWith(t *testing.T, edit func(*oidc.Config)) *deviceFixture {
	t.Helper()
	f := &deviceFixture{clock: testsuite.NewFakeClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))}
	users := memory.NewUserStore()
	f.p = newTestProvider(t, func(c *oidc.Config, d *oidc.Deps) {
		d.Users, d.Devices, d.Clock, d.Replay = users, memory.NewDeviceGrantStore(), f.clock, memory.NewReplayCache()
		if edit != nil {
			edit(c)
		}
	})
	ctx := context.Background()
	reg, err := f.p.Register(ctx, oidc.ClientMetadata{
		ClientName: "Living Room TV", GrantTypes: []string{domain.GrantDeviceCode},
		TokenEndpointAuthMethod: domain.AuthMethodNone, Scope: "openid email",
	})
	require.NoError(t, err)
	f.client = oidc.ClientCredentials{ClientID: reg.ClientID}
	params := domain.PasswordParams{MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	require.NoError(t, users.CreateUser(ctx, domain.User{
		ID: "0b0f5d5e-0000-4000-8000-0000000000d1", Email: "tv@example.com", Status: domain.UserActive,
		PasswordHash: domain.HashPassword("a good password", []byte("0123456789abcdef"), params),
	}))
	f.b = oidc.Browser{Binding: "binding-binding-binding-binding-binding", IP: "127.0.0.1"}
	return f
}

func (f *deviceFixture) authorize(t *testing.T) oidc.DeviceAuthorization {
	t.Helper()
	da, err := f.p.DeviceAuthorize(context.Background(), oidc.DeviceAuthorizationRequest{Scope: "openid email", Client: f.client})
	require.NoError(t, err)
	return da
}

// decide enters the user code, signs in on the way and decides.
func (f *deviceFixture) decide(t *testing.T, userCode string, allow bool) oidc.DeviceResult {
	t.Helper()
	ctx := context.Background()
	out, err := f.p.EnterUserCode(ctx, userCode, f.b)
	require.NoError(t, err)
	require.Empty(t, out.Retry)
	if out.Step == oidc.StepLogin {
		pr, page, err := f.p.LoginPrompt(ctx, out.Interaction, f.b)
		require.NoError(t, err)
		require.Nil(t, page)
		out.Outcome, err = f.p.Login(ctx, oidc.LoginInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Email: "tv@example.com", Password: "a good password"}, f.b)
		require.NoError(t, err)
		require.NotNil(t, out.Session)
		f.b.SessionCookie = out.Session.Cookie
	}
	require.Equal(t, oidc.StepDevice, out.Step, "on to the approval page")
	pr, page, err := f.p.DevicePrompt(ctx, out.Interaction, f.b)
	require.NoError(t, err)
	require.Nil(t, page)
	assert.Equal(t, "Living Room TV", pr.Client.Name)
	assert.Equal(t, []string{"openid", "email"}, pr.Scopes)
	res, err := f.p.DecideDevice(ctx, oidc.ConsentInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Allow: allow}, f.b)
	require.NoError(t, err)
	return res
}

func (f *deviceFixture) poll(deviceCode string, client oidc.ClientCredentials) (oidc.TokenResponse, error) {
	return f.p.Token(context.Background(), oidc.TokenRequest{GrantType: domain.GrantDeviceCode, DeviceCode: deviceCode, Client: client})
}

func requireOAuthCode(t *testing.T, want string, err error) {
	t.Helper()
	e, ok := oidc.AsError(err)
	require.True(t, ok, "an OAuth error, got %v", err)
	assert.Equal(t, want, e.Code, e.Description)
}

func TestDeviceGrantWalksPendingSlowDownApprovalAndSingleUse(t *testing.T) {
	f := newDeviceFixture(t)
	da := f.authorize(t)
	assert.Regexp(t, `^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`, da.UserCode)
	assert.Equal(t, "https://auth.calimatic.test/device", da.VerificationURI)
	assert.Equal(t, "https://auth.calimatic.test/device?user_code="+da.UserCode, da.VerificationURIComplete)
	assert.Equal(t, int64(600), da.ExpiresIn)
	assert.Equal(t, int64(5), da.Interval)

	_, err := f.poll(da.DeviceCode, f.client)
	requireOAuthCode(t, oidc.CodeAuthorizationPending, err)
	_, err = f.poll(da.DeviceCode, f.client)
	requireOAuthCode(t, oidc.CodeSlowDown, err)
	f.clock.Advance(6 * time.Second)
	_, err = f.poll(da.DeviceCode, f.client)
	requireOAuthCode(t, oidc.CodeSlowDown, err) // the interval had grown to 10 s, and now to 15 s
	f.clock.Advance(15 * time.Second)
	_, err = f.poll(da.DeviceCode, f.client)
	requireOAuthCode(t, oidc.CodeAuthorizationPending, err)

	res := f.decide(t, "  "+da.UserCode[:4]+da.UserCode[5:]+" ", true) // typed without the dash
	require.Nil(t, res.Page)
	assert.True(t, res.Approved)

	tok, err := f.poll(da.DeviceCode, f.client)
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
	assert.NotEmpty(t, tok.IDToken, "openid was granted")
	assert.Empty(t, tok.RefreshToken, "the client has no refresh_token grant")
	assert.Equal(t, "openid email", tok.Scope)

	_, err = f.poll(da.DeviceCode, f.client)
	requireOAuthCode(t, oidc.CodeInvalidGrant, err)
	out, err := f.p.EnterUserCode(context.Background(), da.UserCode, f.b)
	require.NoError(t, err)
	assert.Contains(t, out.Retry, "already used", "a user code is single use")
}

func TestDeviceGrantRefusals(t *testing.T) {
	t.Run("a denied grant answers access_denied", func(t *testing.T) {
		f := newDeviceFixture(t)
		da := f.authorize(t)
		res := f.decide(t, da.UserCode, false)
		require.Nil(t, res.Page)
		assert.False(t, res.Approved)
		_, err := f.poll(da.DeviceCode, f.client)
		requireOAuthCode(t, oidc.CodeAccessDenied, err)
	})
	t.Run("an expired device code answers expired_token", func(t *testing.T) {
		f := newDeviceFixture(t)
		da := f.authorize(t)
		f.clock.Advance(10 * time.Minute)
		_, err := f.poll(da.DeviceCode, f.client)
		requireOAuthCode(t, oidc.CodeExpiredToken, err)
		out, err := f.p.EnterUserCode(context.Background(), da.UserCode, f.b)
		require.NoError(t, err)
		assert.NotEmpty(t, out.Retry, "an expired user code is refused")
	})
	t.Run("another client's poll is invalid_grant and changes nothing", func(t *testing.T) {
		f := newDeviceFixture(t)
		da := f.authorize(t)
		other, err := f.p.Register(context.Background(), oidc.ClientMetadata{
			GrantTypes: []string{domain.GrantDeviceCode}, TokenEndpointAuthMethod: domain.AuthMethodNone, Scope: "openid",
		})
		require.NoError(t, err)
		_, err = f.poll(da.DeviceCode, oidc.ClientCredentials{ClientID: other.ClientID})
		requireOAuthCode(t, oidc.CodeInvalidGrant, err)
		_, err = f.poll(da.DeviceCode, f.client)
		requireOAuthCode(t, oidc.CodeAuthorizationPending, err) // not slow_down: the other poll was not recorded
	})
	t.Run("an unknown device code is invalid_grant", func(t *testing.T) {
		f := newDeviceFixture(t)
		_, err := f.poll("not-a-device-code", f.client)
		requireOAuthCode(t, oidc.CodeInvalidGrant, err)
	})
	t.Run("a scope the client did not register is invalid_scope", func(t *testing.T) {
		f := newDeviceFixture(t)
		_, err := f.p.DeviceAuthorize(context.Background(), oidc.DeviceAuthorizationRequest{Scope: "openid phone", Client: f.client})
		requireOAuthCode(t, oidc.CodeInvalidScope, err)
	})
}

func TestConcurrentPollsOfAnApprovedDeviceGrantIssueOnce(t *testing.T) {
	f := newDeviceFixture(t)
	da := f.authorize(t)
	require.True(t, f.decide(t, da.UserCode, true).Approved)
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = f.poll(da.DeviceCode, f.client) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		requireOAuthCode(t, oidc.CodeInvalidGrant, err)
	}
	assert.Equal(t, 1, ok, "exactly one poll gets tokens")
}

// TestDeviceClientGetsRefreshTokens: a device client registers
// refresh_token without the code grant (a television has no redirect URI)
// and gets a refresh token with its first tokens.
func TestDeviceClientGetsRefreshTokens(t *testing.T) {
	f := newDeviceFixture(t)
	reg, err := f.p.Register(context.Background(), oidc.ClientMetadata{
		ClientName: "Living Room TV", GrantTypes: []string{domain.GrantDeviceCode, domain.GrantRefreshToken},
		TokenEndpointAuthMethod: domain.AuthMethodNone, Scope: "openid email",
	})
	require.NoError(t, err)
	f.client = oidc.ClientCredentials{ClientID: reg.ClientID}
	da := f.authorize(t)
	f.decide(t, da.UserCode, true)
	tokens, err := f.poll(da.DeviceCode, f.client)
	require.NoError(t, err)
	assert.NotEmpty(t, tokens.RefreshToken)
	refreshed, err := f.p.Token(context.Background(), oidc.TokenRequest{GrantType: domain.GrantRefreshToken, RefreshToken: tokens.RefreshToken, Client: f.client})
	require.NoError(t, err)
	assert.NotEmpty(t, refreshed.AccessToken)
}

// TestDevicePollsHaveAnAllowancePerDeviceCode: made-up device codes sent
// with a public client's id spend the client's token allowance, not the
// allowance of its real devices, which poll on.
func TestDevicePollsHaveAnAllowancePerDeviceCode(t *testing.T) {
	f := newDeviceFixtureWith(t, func(c *oidc.Config) {
		c.TokenLimit = domain.RateRule{Name: "token", Limit: 3, Window: time.Minute}
	})
	da := f.authorize(t)
	for i := range 5 {
		_, err := f.poll("made-up-device-code-"+strconv.Itoa(i), f.client)
		e, ok := oidc.AsError(err)
		require.True(t, ok)
		if i < 3 {
			assert.Equal(t, oidc.CodeInvalidGrant, e.Code)
		} else {
			assert.Equal(t, oidc.CodeRateLimited, e.Code, "made-up codes are bounded by the client's allowance")
		}
	}
	_, err := f.poll(da.DeviceCode, f.client)
	requireOAuthCode(t, oidc.CodeAuthorizationPending, err)
	f.decide(t, da.UserCode, true)
	f.clock.Advance(10 * time.Second)
	tokens, err := f.poll(da.DeviceCode, f.client)
	require.NoError(t, err, "the real device is not locked out")
	assert.NotEmpty(t, tokens.AccessToken)
}

// TestOneAddressCannotSpendEveryonesUserCodeGuesses: guesses refused by
// the per-address limit do not count against the global one.
func TestOneAddressCannotSpendEveryonesUserCodeGuesses(t *testing.T) {
	f := newDeviceFixtureWith(t, func(c *oidc.Config) {
		c.UserCodeIP = domain.RateRule{Name: "user_code_ip", Limit: 2, Window: time.Minute}
		c.UserCodeGlobal = domain.RateRule{Name: "user_code_global", Limit: 5, Window: time.Minute}
	})
	attacker := oidc.Browser{Binding: f.b.Binding, IP: "203.0.113.9"}
	for range 20 {
		_, err := f.p.EnterUserCode(context.Background(), "BCDF-GHJK", attacker)
		require.NoError(t, err)
	}
	da := f.authorize(t)
	out, err := f.p.EnterUserCode(context.Background(), da.UserCode, f.b)
	require.NoError(t, err)
	assert.Empty(t, out.Retry, "another address still enters its code")
}
