package oidc_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

// claimsFixture signs a user in with scope openid only and a claims
// parameter, and redeems the code.
func claimsFixture(t *testing.T, claims string) (*oidc.Provider, oidc.ClientCredentials, oidc.TokenResponse) {
	t.Helper()
	users := memory.NewUserStore()
	p := newTestProvider(t, func(_ *oidc.Config, d *oidc.Deps) { d.Users = users })
	cc, code, verifier := signInClientForCodeWith(t, p, users, oidc.ClientMetadata{}, "openid offline_access",
		func(_ oidc.ClientCredentials, in *oidc.AuthorizeParams) { in.Claims = claims })
	tok, err := p.Token(context.Background(), oidc.TokenRequest{
		GrantType: domain.GrantAuthorizationCode, Code: code, RedirectURI: "https://app.example/cb", CodeVerifier: verifier, Client: cc,
	})
	require.NoError(t, err)
	return p, cc, tok
}

// TestTheClaimsParameterReleasesSingleClaims: OIDC Core §5.5. With scope
// openid alone, email asked for by name comes in the ID token and at
// UserInfo, where it was asked; a claim whose scope the client did not
// register (phone_number) or an extended one (roles) is not released.
func TestTheClaimsParameterReleasesSingleClaims(t *testing.T) {
	p, cc, tok := claimsFixture(t, `{"id_token":{"email":{"essential":true},"phone_number":null},"userinfo":{"email_verified":null,"roles":null}}`)
	id := accessClaims(t, tok.IDToken)
	assert.Equal(t, "race@example.com", id["email"], "asked for in the ID token")
	assert.NotContains(t, id, "email_verified", "asked for at UserInfo only")
	assert.NotContains(t, id, "phone_number", "the client did not register phone")
	assert.Equal(t, "openid offline_access", tok.Scope, "the claims parameter grants no scope")

	info, err := p.UserInfo(context.Background(), oidc.ResourceRequest{Scheme: oidc.SchemeBearer, Token: tok.AccessToken, Method: "GET"})
	require.NoError(t, err)
	assert.Equal(t, false, info["email_verified"])
	assert.NotContains(t, info, "email", "asked for in the ID token only")
	assert.NotContains(t, info, "roles", "never released by name")

	refreshed, err := p.Token(context.Background(), oidc.TokenRequest{GrantType: domain.GrantRefreshToken, RefreshToken: tok.RefreshToken, Client: cc})
	require.NoError(t, err)
	assert.Equal(t, "race@example.com", accessClaims(t, refreshed.IDToken)["email"], "a refresh keeps what was asked for")
}

func TestTheClaimsParameterIsCheckedAtAuthorize(t *testing.T) {
	p := newTestProvider(t, nil)
	cc := parClient(t, p, false)
	for claims, code := range map[string]string{
		`not json`:                    oidc.CodeInvalidRequest,
		`["email"]`:                   oidc.CodeInvalidRequest,
		`{"userinfo":["email"]}`:      oidc.CodeInvalidRequest,
		`{"userinfo":{"email":true}}`: oidc.CodeInvalidRequest,
		`{"id_token":{"email":{"essential":"yes"}}}`:                                        oidc.CodeInvalidRequest,
		`{"id_token":{"email":{"values":"a"}}}`:                                             oidc.CodeInvalidRequest,
		`{"id_token":{"acr":{"essential":true,"values":["urn:mace:incommon:iap:silver"]}}}`: oidc.CodeAccessDenied,
		`{"userinfo":{` + strings.Repeat(`"x":null,`, 500) + `"y":null}}`:                   oidc.CodeInvalidRequest,
	} {
		in := parParams(cc)
		in.Claims = claims
		out, err := p.Authorize(context.Background(), in, parBrowser)
		require.NoError(t, err)
		u, err := url.Parse(out.RedirectTo)
		require.NoError(t, err, claims)
		assert.Equal(t, code, u.Query().Get("error"), claims)
	}
	// Accepted: members the provider does not read, unknown claims, acr it meets.
	for _, claims := range []string{`{}`, `{"other":{"x":1}}`, `{"userinfo":{"favourite_colour":null}}`, `{"id_token":{"acr":{"essential":true,"values":["1"]}}}`} {
		in := parParams(cc)
		in.Claims = claims
		out, err := p.Authorize(context.Background(), in, parBrowser)
		require.NoError(t, err)
		assert.Equal(t, oidc.StepLogin, out.Step, claims)
	}
}

// TestTheClaimsParameterNamesTheUser: §5.5.1. An ID token asked for with
// another sub is refused once the user signs in.
func TestTheClaimsParameterNamesTheUser(t *testing.T) {
	ctx := context.Background()
	users := memory.NewUserStore()
	p := newTestProvider(t, func(_ *oidc.Config, d *oidc.Deps) { d.Users = users })
	cc := parClient(t, p, false)
	params := domain.PasswordParams{MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	require.NoError(t, users.CreateUser(ctx, domain.User{
		ID: "0b0f5d5e-0000-4000-8000-0000000000c1", Email: "sub@example.com", Status: domain.UserActive,
		PasswordHash: domain.HashPassword("a good password", []byte("0123456789abcdef"), params),
	}))
	in := parParams(cc)
	in.Claims = `{"id_token":{"sub":{"value":"someone-else"}}}`
	out, err := p.Authorize(ctx, in, parBrowser)
	require.NoError(t, err)
	require.Equal(t, oidc.StepLogin, out.Step)
	pr, _, err := p.LoginPrompt(ctx, out.Interaction, parBrowser)
	require.NoError(t, err)
	out, err = p.Login(ctx, oidc.LoginInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Email: "sub@example.com", Password: "a good password"}, parBrowser)
	require.NoError(t, err)
	u, err := url.Parse(out.RedirectTo)
	require.NoError(t, err, "the sign-in ends on the client's redirect")
	assert.Equal(t, oidc.CodeAccessDenied, u.Query().Get("error"))
	assert.Empty(t, u.Query().Get("code"))
}

// TestIDTokenHintNamesTheUser: OIDC Core §3.1.2.1. A hint names the user
// the client expects: signing in as another ends in access_denied, and a
// hint this provider did not issue is invalid_request.
func TestIDTokenHintNamesTheUser(t *testing.T) {
	ctx := context.Background()
	users := memory.NewUserStore()
	p := newTestProvider(t, func(_ *oidc.Config, d *oidc.Deps) { d.Users = users })
	_, tok := func() (oidc.ClientCredentials, oidc.TokenResponse) {
		cc, code, verifier := signInClientForCode(t, p, users, oidc.ClientMetadata{}, "openid")
		tok, err := p.Token(ctx, oidc.TokenRequest{GrantType: domain.GrantAuthorizationCode, Code: code, RedirectURI: "https://app.example/cb", CodeVerifier: verifier, Client: cc})
		require.NoError(t, err)
		return cc, tok
	}()

	cc := parClient(t, p, false)
	params := domain.PasswordParams{MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	require.NoError(t, users.CreateUser(ctx, domain.User{
		ID: "0b0f5d5e-0000-4000-8000-0000000000c2", Email: "other@example.com", Status: domain.UserActive,
		PasswordHash: domain.HashPassword("a good password", []byte("0123456789abcdef"), params),
	}))
	in := parParams(cc)
	in.IDTokenHint = tok.IDToken
	out, err := p.Authorize(ctx, in, parBrowser)
	require.NoError(t, err)
	require.Equal(t, oidc.StepLogin, out.Step)
	pr, _, err := p.LoginPrompt(ctx, out.Interaction, parBrowser)
	require.NoError(t, err)
	out, err = p.Login(ctx, oidc.LoginInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Email: "other@example.com", Password: "a good password"}, parBrowser)
	require.NoError(t, err)
	u, err := url.Parse(out.RedirectTo)
	require.NoError(t, err)
	assert.Equal(t, oidc.CodeAccessDenied, u.Query().Get("error"), "signed in as another user than the hint's")

	for name, hint := range map[string]string{
		"garbage":                "not-a-token",
		"an access token":        tok.AccessToken,
		"another user in claims": tok.IDToken,
	} {
		in := parParams(cc)
		in.IDTokenHint = hint
		if name == "another user in claims" {
			in.Claims = `{"id_token":{"sub":{"value":"someone-else"}}}`
		}
		out, err := p.Authorize(ctx, in, parBrowser)
		require.NoError(t, err)
		u, err := url.Parse(out.RedirectTo)
		require.NoError(t, err, name)
		assert.Equal(t, oidc.CodeInvalidRequest, u.Query().Get("error"), name)
	}
}
