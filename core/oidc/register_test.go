package oidc_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/localkeys"
	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/mfa"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

// sharedSigner is made once: RSA key generation dominates these tests' time.
var sharedSigner = sync.OnceValues(func() (*localkeys.Signer, error) {
	return localkeys.New(context.Background(), memory.NewKeyStore(), system.NewClock(), localkeys.Options{
		Algorithms: []string{domain.AlgRS256, domain.AlgES256}, RetireAfter: time.Hour,
	})
})

// discardMail is a ports.Mailer that sends nothing.
type discardMail struct{}

func (discardMail) Send(context.Context, domain.Mail) error { return nil }

func newRegistrar(t *testing.T) *oidc.Provider { return newTestProvider(t, nil) }

// newTestProvider builds a provider on the in-memory adapters; edit may
// change its configuration and ports first.
func newTestProvider(t testing.TB, edit func(*oidc.Config, *oidc.Deps)) *oidc.Provider {
	t.Helper()
	signer, err := sharedSigner()
	require.NoError(t, err)
	cfg := oidc.Config{
		Issuer: "https://auth.calimatic.test", AccessTokenTTL: time.Hour, IDTokenTTL: time.Hour,
		RefreshTokenTTL: time.Hour, CodeTTL: time.Minute, AuthRequestTTL: time.Minute, SessionTTL: time.Hour,
		Algorithms: []string{domain.AlgRS256, domain.AlgES256}, IDTokenAlg: domain.AlgRS256,
		AccessTokenAlg: domain.AlgRS256, RegistrationEnabled: true,
		Password: domain.PasswordParams{MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	}
	users, orgs := memory.NewUserStore(), memory.NewOrganizationStore()
	deps := oidc.Deps{
		Clients: memory.NewClientStore(), Users: users, Orgs: orgs,
		Licenses: memory.NewDirectory(users, orgs), Roles: memory.NewRoleStore(orgs), Groups: orgs,
		Grants: memory.NewGrantStore(), Sessions: memory.NewSessionStore(), AuthRequests: memory.NewAuthRequestStore(),
		Signer: signer, Limiter: memory.NewRateLimiter(), Clock: system.NewClock(), Random: system.NewRandom(),
		Events: memory.NewEventLog(), Units: memory.NewUnits(),
	}
	if edit != nil {
		edit(&cfg, &deps)
	}
	if deps.MFA == nil {
		deps.MFA = mfa.New(mfa.Config{}, mfa.Deps{
			Factors: memory.NewFactorStore(), Users: deps.Users, Orgs: deps.Orgs, Roles: deps.Roles, Groups: deps.Groups, Events: deps.Events, Units: deps.Units,
			Mailer: discardMail{}, Limiter: deps.Limiter, Clock: deps.Clock, Random: deps.Random,
		})
	}
	p, err := oidc.New(cfg, deps)
	require.NoError(t, err)
	return p
}

func TestRegisterAppliesTheGuidesDefaults(t *testing.T) {
	p := newRegistrar(t)
	reg, err := p.Register(context.Background(), oidc.ClientMetadata{
		ClientName: "My Third-Party App", RedirectURIs: []string{"https://myapp.com/auth/callback"},
	})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(reg.ClientID, "cca_"))
	assert.True(t, strings.HasPrefix(reg.ClientSecret, "ccas_"))
	assert.Equal(t, "client_secret_post", reg.TokenEndpointAuthMethod)
	assert.Equal(t, []string{"authorization_code"}, reg.GrantTypes)
	assert.Equal(t, []string{"code"}, reg.ResponseTypes)
	assert.Equal(t, "openid profile email address phone offline_access", reg.Scope, "every standard scope, no extended one")
	require.NotNil(t, reg.ClientSecretExpiresAt)
	assert.Zero(t, *reg.ClientSecretExpiresAt)
	assert.NotEmpty(t, reg.RegistrationAccessToken)

	again, err := p.ReadRegistration(context.Background(), reg.ClientID, reg.RegistrationAccessToken)
	require.NoError(t, err)
	assert.Empty(t, again.ClientSecret, "the secret is shown only once")
}

func TestRegisterPublicClientGetsNoSecret(t *testing.T) {
	p := newRegistrar(t)
	reg, err := p.Register(context.Background(), oidc.ClientMetadata{
		RedirectURIs: []string{"https://myapp.com/callback"}, TokenEndpointAuthMethod: "none",
	})
	require.NoError(t, err)
	assert.Empty(t, reg.ClientSecret)
	assert.Nil(t, reg.ClientSecretExpiresAt)
}

func TestRegisterRefusesBadMetadata(t *testing.T) {
	ok := []string{"https://myapp.com/cb"}
	cases := []struct {
		name string
		md   oidc.ClientMetadata
		code string
		says string
	}{
		{"a wildcard redirect URI", oidc.ClientMetadata{RedirectURIs: []string{"https://*.myapp.com/cb"}}, oidc.CodeInvalidRedirectURI, "wildcard"},
		{"a redirect URI with a fragment", oidc.ClientMetadata{RedirectURIs: []string{"https://myapp.com/cb#x"}}, oidc.CodeInvalidRedirectURI, "fragment"},
		{"an http redirect URI off localhost", oidc.ClientMetadata{RedirectURIs: []string{"http://myapp.com/cb"}}, oidc.CodeInvalidRedirectURI, "https"},
		{"no redirect URI for the code grant", oidc.ClientMetadata{}, oidc.CodeInvalidRedirectURI, "redirect_uris"},
		{"an unknown grant type", oidc.ClientMetadata{RedirectURIs: ok, GrantTypes: []string{"password"}}, oidc.CodeInvalidClientMetadata, "password"},
		{"the implicit response type", oidc.ClientMetadata{RedirectURIs: ok, ResponseTypes: []string{"token"}}, oidc.CodeInvalidClientMetadata, "token"},
		{"refresh_token without authorization_code", oidc.ClientMetadata{GrantTypes: []string{"refresh_token"}}, oidc.CodeInvalidClientMetadata, "refresh_token"},
		{"a public client with client_credentials", oidc.ClientMetadata{RedirectURIs: ok, GrantTypes: []string{"authorization_code", "client_credentials"}, TokenEndpointAuthMethod: "none"}, oidc.CodeInvalidClientMetadata, "client_credentials"},
		{"an unknown auth method", oidc.ClientMetadata{RedirectURIs: ok, TokenEndpointAuthMethod: "tls_client_auth"}, oidc.CodeInvalidClientMetadata, "tls_client_auth"},
		{"private_key_jwt without keys", oidc.ClientMetadata{RedirectURIs: ok, TokenEndpointAuthMethod: "private_key_jwt"}, oidc.CodeInvalidClientMetadata, "jwks"},
		{"the organization scope without approval", oidc.ClientMetadata{RedirectURIs: ok, Scope: "openid organization"}, oidc.CodeInvalidClientMetadata, `"organization"`},
		{"the permissions scope without approval", oidc.ClientMetadata{RedirectURIs: ok, Scope: "openid permissions"}, oidc.CodeInvalidClientMetadata, `"permissions"`},
		{"an unknown scope", oidc.ClientMetadata{RedirectURIs: ok, Scope: "openid admin"}, oidc.CodeInvalidClientMetadata, `"admin"`},
		{"an unregistered signing algorithm", oidc.ClientMetadata{RedirectURIs: ok, IDTokenSignedResponseAlg: "HS256"}, oidc.CodeInvalidClientMetadata, "RS256"},
		{"an http logo off localhost", oidc.ClientMetadata{RedirectURIs: ok, LogoURI: "http://myapp.com/logo.png"}, oidc.CodeInvalidClientMetadata, "logo_uri"},
		{"a bad post-logout redirect URI", oidc.ClientMetadata{RedirectURIs: ok, PostLogoutRedirectURIs: []string{"javascript:alert(1)"}}, oidc.CodeInvalidClientMetadata, "post_logout_redirect_uri"},
		{"a client name with a right-to-left override", oidc.ClientMetadata{RedirectURIs: ok, ClientName: "Gradebook\u202egnp.exe"}, oidc.CodeInvalidClientMetadata, "client_name"},
		{"a client name with a NUL", oidc.ClientMetadata{RedirectURIs: ok, ClientName: "Grade\x00book"}, oidc.CodeInvalidClientMetadata, "client_name"},
		{"an over-long client name", oidc.ClientMetadata{RedirectURIs: ok, ClientName: strings.Repeat("x", 201)}, oidc.CodeInvalidClientMetadata, "client_name"},
	}
	for _, tc := range cases {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, err := newRegistrar(t).Register(context.Background(), tc.md)
			e, ok := oidc.AsError(err)
			require.True(t, ok, "got %v", err)
			assert.Equal(t, tc.code, e.Code)
			assert.Contains(t, e.Description, tc.says)
		})
	}
}

func TestRegistrationManagementNeedsTheToken(t *testing.T) {
	p := newRegistrar(t)
	ctx := context.Background()
	reg, err := p.Register(ctx, oidc.ClientMetadata{RedirectURIs: []string{"https://myapp.com/cb"}})
	require.NoError(t, err)

	_, err = p.ReadRegistration(ctx, reg.ClientID, "wrong")
	e, _ := oidc.AsError(err)
	require.NotNil(t, e)
	assert.Equal(t, oidc.CodeInvalidToken, e.Code)

	updated, err := p.UpdateRegistration(ctx, reg.ClientID, reg.RegistrationAccessToken, reg.ClientID, oidc.ClientMetadata{
		ClientName: "Renamed", RedirectURIs: []string{"https://myapp.com/new"},
	})
	require.NoError(t, err)
	assert.Equal(t, "Renamed", updated.ClientName)
	assert.Equal(t, []string{"https://myapp.com/new"}, updated.RedirectURIs)

	_, err = p.UpdateRegistration(ctx, reg.ClientID, reg.RegistrationAccessToken, reg.ClientID, oidc.ClientMetadata{
		RedirectURIs: []string{"https://myapp.com/new"}, TokenEndpointAuthMethod: "none",
	})
	assert.Error(t, err, "a confidential client cannot become public")

	require.NoError(t, p.DeleteRegistration(ctx, reg.ClientID, reg.RegistrationAccessToken))
	_, err = p.ReadRegistration(ctx, reg.ClientID, reg.RegistrationAccessToken)
	assert.Error(t, err, "a deleted client is gone")
}

func TestProfileClaimsReleaseOnlySafeValues(t *testing.T) {
	u := &domain.User{ID: "u1", HomeOrganizationID: "org", Profiles: map[string]domain.OrgProfile{"org": {
		ProfileURL: "javascript:alert(1)", Timezone: "<b>x</b>", NickName: "Jay",
	}}}
	c := oidc.UserClaimsForTest(u, []string{domain.ScopeProfile})
	assert.NotContains(t, c, "profile", "a profile URL that is not https is not released")
	assert.NotContains(t, c, "zoneinfo", "a time zone that is not an IANA name is not released")
	assert.Equal(t, "Jay", c["nickname"])
	for _, tz := range []string{"Europe/../etc", "America/Chicago ", ""} {
		u.Profiles["org"] = domain.OrgProfile{Timezone: tz, ProfileURL: "https://school.example/~jane"}
		c = oidc.UserClaimsForTest(u, []string{domain.ScopeProfile})
		assert.NotContains(t, c, "zoneinfo", "%q", tz)
		assert.Equal(t, "https://school.example/~jane", c["profile"])
	}
	u.Profiles["org"] = domain.OrgProfile{Timezone: "America/Argentina/Buenos_Aires"}
	assert.Equal(t, "America/Argentina/Buenos_Aires", oidc.UserClaimsForTest(u, []string{domain.ScopeProfile})["zoneinfo"])
	u.HomeOrganizationID = ""
	u.Profiles["other"] = domain.OrgProfile{NickName: "Other's"}
	assert.NotContains(t, oidc.UserClaimsForTest(u, []string{domain.ScopeProfile}), "nickname", "no home, no profile claims")
}
