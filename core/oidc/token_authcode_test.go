package oidc_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

// pausingGrants holds CreateRefreshFamily until released, to open the
// window between a code's redemption and its family's creation.
type pausingGrants struct {
	*memory.GrantStore
	reached chan struct{}
	release chan struct{}
}

func (g *pausingGrants) CreateRefreshFamily(ctx context.Context, f domain.RefreshFamily, first domain.RefreshToken) error {
	close(g.reached)
	<-g.release
	return g.GrantStore.CreateRefreshFamily(ctx, f, first)
}

func TestACodeReplayRacingItsRedemptionLeavesNothingUsable(t *testing.T) {
	grants := &pausingGrants{GrantStore: memory.NewGrantStore(), reached: make(chan struct{}), release: make(chan struct{})}
	users := memory.NewUserStore()
	p := newTestProvider(t, func(_ *oidc.Config, d *oidc.Deps) { d.Grants, d.Users = grants, users })
	ctx := context.Background()
	cc, code, verifier := signInForCode(t, p, users, "openid email")
	const redirect = "https://app.example/cb"

	req := oidc.TokenRequest{GrantType: "authorization_code", Code: code, RedirectURI: redirect, CodeVerifier: verifier, Client: cc}
	first := make(chan error, 1)
	go func() {
		_, err := p.Token(ctx, req)
		first <- err
	}()
	<-grants.reached // the first redemption has spent the code, but has no family yet

	_, err := p.Token(ctx, req)
	e, ok := oidc.AsError(err)
	require.True(t, ok, "the replay is an OAuth error: %v", err)
	assert.Equal(t, oidc.CodeInvalidGrant, e.Code)

	close(grants.release)
	err = <-first
	e, ok = oidc.AsError(err)
	require.True(t, ok, "the first redemption, overtaken by the replay, fails too: %v", err)
	assert.Equal(t, oidc.CodeInvalidGrant, e.Code)
}

// signInForCode registers a client, signs a new user in through the browser
// flow with scope, and returns the client's credentials, the code and its
// PKCE verifier. The client's redirect URI is https://app.example/cb.
func signInForCode(t *testing.T, p *oidc.Provider, users *memory.UserStore, scope string) (cc oidc.ClientCredentials, code, verifier string) {
	t.Helper()
	return signInClientForCode(t, p, users, oidc.ClientMetadata{}, scope)
}

// signInClientForCode is signInForCode for a client registered with md,
// whose redirect URIs, grant types and scope it fills in.
func signInClientForCode(t *testing.T, p *oidc.Provider, users *memory.UserStore, md oidc.ClientMetadata, scope string) (cc oidc.ClientCredentials, code, verifier string) {
	t.Helper()
	return signInClientForCodeWith(t, p, users, md, scope, nil)
}

// signInClientForCodeWith is signInClientForCode with edit changing the
// authorization request before it is sent.
func signInClientForCodeWith(t *testing.T, p *oidc.Provider, users *memory.UserStore, md oidc.ClientMetadata, scope string,
	edit func(cc oidc.ClientCredentials, in *oidc.AuthorizeParams)) (cc oidc.ClientCredentials, code, verifier string) {
	t.Helper()
	ctx := context.Background()
	const redirect = "https://app.example/cb"
	md.RedirectURIs, md.GrantTypes = []string{redirect}, []string{"authorization_code", "refresh_token"}
	md.Scope = "openid email offline_access"
	reg, err := p.Register(ctx, md)
	require.NoError(t, err)
	cc = oidc.ClientCredentials{ClientID: reg.ClientID, Secret: reg.ClientSecret}

	params := domain.PasswordParams{MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	require.NoError(t, users.CreateUser(ctx, domain.User{
		ID: "0b0f5d5e-0000-4000-8000-000000000001", Email: "race@example.com", Status: domain.UserActive,
		PasswordHash: domain.HashPassword("a good password", []byte("0123456789abcdef"), params),
	}))
	verifier = "race-verifier-race-verifier-race-verifier-0123"
	sum := sha256.Sum256([]byte(verifier))
	b := oidc.Browser{Binding: "binding-binding-binding-binding-binding", IP: "127.0.0.1"}
	in := oidc.AuthorizeParams{
		ClientID: reg.ClientID, RedirectURI: redirect, ResponseType: "code", Scope: scope,
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: "S256",
	}
	if edit != nil {
		edit(cc, &in)
	}
	out, err := p.Authorize(ctx, in, b)
	require.NoError(t, err)
	require.Equal(t, oidc.StepLogin, out.Step)
	pr, _, err := p.LoginPrompt(ctx, out.Interaction, b)
	require.NoError(t, err)
	out, err = p.Login(ctx, oidc.LoginInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Email: "race@example.com", Password: "a good password"}, b)
	require.NoError(t, err)
	require.NotNil(t, out.Session)
	b.SessionCookie = out.Session.Cookie
	out, err = p.Consent(ctx, oidc.ConsentInput{Interaction: pr.Interaction, CSRFToken: pr.CSRFToken, Allow: true}, b)
	require.NoError(t, err)
	u, err := url.Parse(out.RedirectTo)
	require.NoError(t, err)
	code = u.Query().Get("code")
	require.NotEmpty(t, code)
	return cc, code, verifier
}
