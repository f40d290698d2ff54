package federation_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/core/federation"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeUpstream is an upstream whose discovery answers for the issuers it
// knows and whose code exchange answers with the claims a test sets; the
// HTTP side is adapters/upstream's and the app tests'.
type fakeUpstream struct {
	issuers map[string]bool
	claims  map[string]any
	err     error
	last    ports.UpstreamExchange
}

func (f *fakeUpstream) Discover(_ context.Context, issuer string) (domain.UpstreamMetadata, error) {
	if !f.issuers[issuer] {
		return domain.UpstreamMetadata{}, errors.Join(errors.New("no such issuer"), domain.ErrUnavailable)
	}
	return domain.UpstreamMetadata{
		Issuer: issuer, AuthorizationEndpoint: issuer + "/authorize", TokenEndpoint: issuer + "/token", JWKSURI: issuer + "/jwks",
	}, nil
}

func (f *fakeUpstream) Exchange(_ context.Context, x ports.UpstreamExchange) (map[string]any, error) {
	f.last = x
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]any{}
	for k, v := range f.claims {
		out[k] = v
	}
	return out, nil
}

const (
	issuer   = "https://idp.springfield.example"
	entraIss = "https://login.microsoftonline.com/7b2d1f8e-0000-4000-8000-000000000001/v2.0"
	clientID = "calimatic-at-springfield"
)

type world struct {
	svc      *federation.Service
	dir      *directory.Service
	up       *fakeUpstream
	clock    *testsuite.FakeClock
	users    *memory.UserStore
	orgs     *memory.OrganizationStore
	links    *memory.LinkedIdentityStore
	events   *memory.EventLog
	org      domain.Organization // verified springfield.edu
	other    domain.Organization // verified shelbyville.edu
	admin    *directory.Admin
	provider domain.IdentityProvider
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{
		clock: testsuite.NewFakeClock(time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)),
		users: memory.NewUserStore(), orgs: memory.NewOrganizationStore(), links: memory.NewLinkedIdentityStore(),
		events: memory.NewEventLog(), up: &fakeUpstream{issuers: map[string]bool{issuer: true, entraIss: true, "https://accounts.google.com": true}},
		admin: &directory.Admin{Key: domain.AdminKey{ID: "k1"}},
	}
	d := memory.NewDirectory(w.users, w.orgs)
	domains := memory.NewDomainStore(w.orgs)
	grants := memory.NewClientGrantStore(w.orgs)
	random := system.NewRandom()
	w.dir = directory.New(directory.Config{BaseURL: "https://auth.example"}, directory.Deps{
		Clients: memory.NewClientStore(), Users: w.users, Orgs: w.orgs, Directory: d, Licenses: d,
		Grants: grants, Roles: memory.NewRoleStore(w.orgs), Groups: w.orgs, Domains: domains,
		AdminKeys: memory.NewAdminKeyStore(), ActionTokens: memory.NewActionTokenStore(),
		Sessions: memory.NewSessionStore(), Refresh: memory.NewGrantStore(), Factors: memory.NewFactorStore(), Links: w.links,
		Events: w.events, Units: memory.NewUnits(), Clock: w.clock, Random: random,
	})
	w.svc = federation.New(federation.Config{Issuer: "https://auth.example", RequireHTTPS: true}, federation.Deps{
		Providers: memory.NewIdentityProviderStore(), Links: w.links, Domains: domains, Grants: grants, Orgs: w.orgs,
		Users: w.users, Upstream: w.up, Directory: w.dir, Clock: w.clock, Random: random,
	})
	ctx := t.Context()
	w.org = w.newOrg(t, "Springfield Elementary", "springfield.edu")
	w.other = w.newOrg(t, "Shelbyville Elementary", "shelbyville.edu")
	var err error
	w.provider, err = w.svc.CreateProvider(ctx, w.org.ID, federation.ProviderInput{
		Name: "Springfield Google", Issuer: issuer, ClientID: clientID, ClientSecret: "s3cret",
		Domains: []string{"Springfield.EDU"}, JITProvisioning: true, LinkExisting: true,
	})
	require.NoError(t, err)
	return w
}

func (w *world) newOrg(t testing.TB, name, dom string) domain.Organization {
	t.Helper()
	o, err := w.dir.CreateOrganization(t.Context(), directory.OrganizationInput{Name: &name})
	require.NoError(t, err)
	_, _, err = w.dir.PutDomain(t.Context(), w.admin, o.ID, dom, directory.VerifyByAdmin)
	require.NoError(t, err)
	return o
}

// signIn runs Begin and Finish with the upstream saying claims (the
// attempt's nonce and the usual iss, aud, exp and iat filled in unless
// claims set them).
func (w *world) signIn(t *testing.T, p domain.IdentityProvider, claims map[string]any) (federation.Result, error) {
	t.Helper()
	to, a, err := w.svc.Begin(t.Context(), &p, "req1", "", -1)
	require.NoError(t, err)
	require.Contains(t, to, "state=req1.")
	now := w.clock.Now()
	c := map[string]any{
		"iss": p.Issuer, "aud": p.ClientID, "exp": float64(now.Add(5 * time.Minute).Unix()), "iat": float64(now.Unix()),
		"nonce": a.Nonce, "email_verified": true,
	}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	w.up.claims = c
	return w.svc.Finish(t.Context(), &a, federation.Callback{Code: "the-code"})
}

func reason(t *testing.T, err error) string {
	t.Helper()
	var f *federation.Failure
	require.ErrorAs(t, err, &f)
	return f.Reason
}

func TestBeginAsksForTheCodeWithPKCEStateAndNonce(t *testing.T) {
	w := newWorld(t)
	to, a, err := w.svc.Begin(t.Context(), &w.provider, "req1", "Lisa@Springfield.edu", -1)
	require.NoError(t, err)
	u, err := url.Parse(to)
	require.NoError(t, err)
	q := u.Query()
	assert.Equal(t, issuer+"/authorize", u.Scheme+"://"+u.Host+u.Path)
	assert.Equal(t, "code", q.Get("response_type"))
	assert.Equal(t, clientID, q.Get("client_id"))
	assert.Equal(t, "https://auth.example/login/federated/callback", q.Get("redirect_uri"))
	assert.Equal(t, "openid email profile", q.Get("scope"))
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.Len(t, q.Get("code_challenge"), 43)
	assert.Equal(t, "req1."+a.State, q.Get("state"))
	assert.Equal(t, a.Nonce, q.Get("nonce"))
	assert.Equal(t, "lisa@springfield.edu", q.Get("login_hint"))
	assert.NotEqual(t, a.State, a.Nonce)
	assert.GreaterOrEqual(t, len(a.CodeVerifier), 43, "RFC 7636 §4.1: at least 43 characters")
}

func TestJustInTimeProvisioningCreatesTheAccountInTheOrganization(t *testing.T) {
	w := newWorld(t)
	res, err := w.signIn(t, w.provider, map[string]any{"sub": "g-1", "email": "Lisa@springfield.edu", "given_name": "Lisa", "family_name": "Simpson", "amr": []any{"pwd", "mfa"}})
	require.NoError(t, err)
	assert.True(t, res.Created)
	assert.Equal(t, []string{"fed", "pwd", "mfa"}, res.AMR)
	u := res.User
	assert.Equal(t, "lisa@springfield.edu", u.Email)
	assert.True(t, u.EmailVerified)
	assert.Equal(t, domain.UserActive, u.Status)
	assert.Equal(t, w.org.ID, u.HomeOrganizationID)
	assert.Empty(t, u.PasswordHash)
	ms, err := w.orgs.ListUserMemberships(t.Context(), u.ID)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, domain.RoleMember, ms[0].Role)
	assert.Equal(t, domain.MembershipActive, ms[0].Status)
	link, err := w.links.GetLinkedIdentity(t.Context(), issuer, "g-1")
	require.NoError(t, err)
	assert.Equal(t, u.ID, link.UserID)
	assert.Equal(t, w.provider.ID, link.ProviderID)
	var created int
	for _, e := range w.events.Events() {
		if e.Type == domain.EventUserCreated && e.UserID == u.ID {
			created++
			assert.Equal(t, domain.Actor{Kind: domain.ActorSystem, ID: w.provider.ID, Name: "sign-in through " + issuer, OrganizationID: w.org.ID}, e.Actor,
				"the provider made it, for the organization's identity provider")
		}
	}
	assert.Equal(t, 1, created, "user.created once")

	// The same upstream user again: the link signs in, nothing is made.
	again, err := w.signIn(t, w.provider, map[string]any{"sub": "g-1", "email": "lisa@springfield.edu"})
	require.NoError(t, err)
	assert.False(t, again.Created || again.Linked)
	assert.Equal(t, u.ID, again.User.ID)
}

func TestAnExistingAccountIsLinkedOnlyByTheRules(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		linkExisting bool
		claims       map[string]any
		linked       bool
	}{
		{"verified email, linking on", true, map[string]any{"email_verified": true}, true},
		{"linking off", false, map[string]any{"email_verified": true}, false},
		{"email not verified", true, map[string]any{"email_verified": false}, false},
		{"email_verified absent", true, map[string]any{"email_verified": nil}, false},
		{"email_verified as the string true", true, map[string]any{"email_verified": "true"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			bart := domain.User{ID: "u-bart", Email: "bart@springfield.edu", Status: domain.UserActive, HomeOrganizationID: w.org.ID, CreatedAt: w.clock.Now()}
			require.NoError(t, w.users.CreateUser(ctx, bart))
			p, err := w.svc.UpdateProvider(ctx, w.org.ID, w.provider.ID, federation.ProviderPatch{LinkExisting: &tc.linkExisting})
			require.NoError(t, err)
			claims := map[string]any{"sub": "g-bart", "email": "bart@springfield.edu"}
			for k, v := range tc.claims {
				claims[k] = v
			}
			res, err := w.signIn(t, p, claims)
			if !tc.linked {
				assert.Equal(t, federation.ReasonNotAllowed, reason(t, err))
				_, err := w.links.GetLinkedIdentity(ctx, issuer, "g-bart")
				assert.ErrorIs(t, err, domain.ErrNotFound, "nothing linked")
				return
			}
			require.NoError(t, err)
			assert.True(t, res.Linked)
			assert.Equal(t, "u-bart", res.User.ID)
		})
	}
}

func TestAProviderSpeaksOnlyForItsOwnDomains(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	// An upstream user of another organization's domain, or of no
	// verified domain, is refused even with JIT on.
	for _, email := range []string{"milhouse@shelbyville.edu", "someone@gmail.example"} {
		_, err := w.signIn(t, w.provider, map[string]any{"sub": "x-" + email, "email": email})
		assert.Equal(t, federation.ReasonNotAllowed, reason(t, err), email)
		_, err = w.users.GetUserByEmail(ctx, email)
		assert.ErrorIs(t, err, domain.ErrNotFound, "no account made for %s", email)
	}
	// An identity linked to an account of another organization's domain
	// (its email changed since, say) is refused.
	milhouse := domain.User{ID: "u-milhouse", Email: "milhouse@shelbyville.edu", Status: domain.UserActive}
	require.NoError(t, w.users.CreateUser(ctx, milhouse))
	require.NoError(t, w.links.LinkIdentity(ctx, domain.LinkedIdentity{Issuer: issuer, Subject: "g-mh", UserID: milhouse.ID, CreatedAt: w.clock.Now()}))
	_, err := w.signIn(t, w.provider, map[string]any{"sub": "g-mh", "email": "milhouse@springfield.edu"})
	assert.Equal(t, federation.ReasonNotAllowed, reason(t, err))
	// A domain withdrawn from the organization no longer signs anyone in.
	require.NoError(t, w.dir.DeleteDomain(ctx, w.org.ID, "springfield.edu"))
	_, err = w.signIn(t, w.provider, map[string]any{"sub": "g-new", "email": "nelson@springfield.edu"})
	assert.Equal(t, federation.ReasonNotAllowed, reason(t, err))
}

func TestAnInactiveAccountIsNotSignedIn(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	require.NoError(t, w.users.CreateUser(ctx, domain.User{ID: "u-s", Email: "skinner@springfield.edu", Status: domain.UserSuspended, HomeOrganizationID: w.org.ID}))
	_, err := w.signIn(t, w.provider, map[string]any{"sub": "g-s", "email": "skinner@springfield.edu"})
	assert.Equal(t, federation.ReasonInactive, reason(t, err))
}

func TestWithoutJITAnUnknownUserIsRefused(t *testing.T) {
	w := newWorld(t)
	off := false
	p, err := w.svc.UpdateProvider(t.Context(), w.org.ID, w.provider.ID, federation.ProviderPatch{JITProvisioning: &off})
	require.NoError(t, err)
	_, err = w.signIn(t, p, map[string]any{"sub": "g-2", "email": "ralph@springfield.edu"})
	assert.Equal(t, federation.ReasonNotAllowed, reason(t, err))
}

func TestTheIDTokenIsCheckedAsOIDCCoreAsks(t *testing.T) {
	now := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		claims map[string]any
	}{
		{"wrong iss", map[string]any{"iss": "https://evil.example"}},
		{"wrong aud", map[string]any{"aud": "someone-else"}},
		{"aud among several without azp", map[string]any{"aud": []any{clientID, "other"}}},
		{"azp of another client", map[string]any{"azp": "other"}},
		{"wrong nonce", map[string]any{"nonce": "replayed"}},
		{"no nonce", map[string]any{"nonce": nil}},
		{"expired", map[string]any{"exp": float64(now.Add(-2 * time.Minute).Unix())}},
		{"no exp", map[string]any{"exp": nil}},
		{"issued in the future", map[string]any{"iat": float64(now.Add(10 * time.Minute).Unix())}},
		{"no sub", map[string]any{"sub": nil}},
		{"a sub with a NUL", map[string]any{"sub": "g\x001"}},
		{"a sub that is a number", map[string]any{"sub": 42.0}},
		{"an aud array with a number", map[string]any{"aud": []any{clientID, 7.0}}},
		{"an azp that is not a string", map[string]any{"azp": 1.0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			claims := map[string]any{"sub": "g-1", "email": "lisa@springfield.edu"}
			for k, v := range tc.claims {
				claims[k] = v
			}
			_, err := w.signIn(t, w.provider, claims)
			assert.Equal(t, federation.ReasonInvalidToken, reason(t, err))
			_, err = w.users.GetUserByEmail(t.Context(), "lisa@springfield.edu")
			assert.ErrorIs(t, err, domain.ErrNotFound)
		})
	}
	t.Run("several audiences with our azp", func(t *testing.T) {
		w := newWorld(t)
		_, err := w.signIn(t, w.provider, map[string]any{"sub": "g-1", "email": "lisa@springfield.edu", "aud": []any{"other", clientID}, "azp": clientID})
		require.NoError(t, err)
	})
}

func TestEntraIDTokensMustComeFromTheTenant(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	p, err := w.svc.UpdateProvider(ctx, w.org.ID, w.provider.ID, federation.ProviderPatch{Issuer: ptr(entraIss)})
	require.NoError(t, err)
	tenant := "7b2d1f8e-0000-4000-8000-000000000001"
	base := map[string]any{"sub": "e-1", "email": "lisa@springfield.edu", "email_verified": nil, "xms_edov": true, "tid": tenant}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for k, v := range base {
			c[k] = v
		}
		c[k] = v
		return c
	}
	_, err = w.signIn(t, p, with("tid", "another-tenant"))
	assert.Equal(t, federation.ReasonInvalidToken, reason(t, err), "another tenant's token")
	_, err = w.signIn(t, p, with("xms_edov", false))
	assert.Equal(t, federation.ReasonNotAllowed, reason(t, err), "Entra ID's email is unverified without xms_edov")
	res, err := w.signIn(t, p, with("tid", tenant))
	require.NoError(t, err)
	assert.True(t, res.Created)
}

func TestGoogleAccountsMustBeOfTheWorkspaceDomain(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	p, err := w.svc.UpdateProvider(ctx, w.org.ID, w.provider.ID, federation.ProviderPatch{Issuer: ptr("https://accounts.google.com")})
	require.NoError(t, err)
	// A personal Google account that carries the school's address has no hd.
	_, err = w.signIn(t, p, map[string]any{"sub": "g-p", "email": "lisa@springfield.edu"})
	assert.Equal(t, federation.ReasonNotAllowed, reason(t, err))
	res, err := w.signIn(t, p, map[string]any{"sub": "g-w", "email": "lisa@springfield.edu", "hd": "springfield.edu"})
	require.NoError(t, err)
	assert.True(t, res.Created)
}

func TestUpstreamFailuresAreFailuresNotErrors(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		err    error
		reason string
	}{
		{errors.Join(errors.New("timeout"), domain.ErrUnavailable), federation.ReasonUnavailable},
		{errors.Join(errors.New("bad signature"), domain.ErrInvalidToken), federation.ReasonInvalidToken},
		{errors.New("invalid_grant"), federation.ReasonExchange},
	} {
		w.up.err = tc.err
		_, err := w.signIn(t, w.provider, map[string]any{"sub": "g-1", "email": "lisa@springfield.edu"})
		assert.Equal(t, tc.reason, reason(t, err))
	}
	w.up.err = nil
	_, a, err := w.svc.Begin(t.Context(), &w.provider, "req1", "", -1)
	require.NoError(t, err)
	_, err = w.svc.Finish(t.Context(), &a, federation.Callback{Error: "access_denied"})
	assert.Equal(t, federation.ReasonDenied, reason(t, err))
	delete(w.up.issuers, issuer)
	_, _, err = w.svc.Begin(t.Context(), &w.provider, "req1", "", -1)
	assert.Equal(t, federation.ReasonUnavailable, reason(t, err))
}

func TestProvidersAreCheckedWhenMade(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	_, _, err := w.dir.PutDomain(ctx, w.admin, w.org.ID, "springfield.org", directory.VerifyByAdmin)
	require.NoError(t, err)
	good := federation.ProviderInput{Name: "IdP", Issuer: issuer, ClientID: "c", ClientSecret: "s", Domains: []string{"springfield.org"}}
	for _, tc := range []struct {
		name string
		edit func(*federation.ProviderInput)
		code string
	}{
		{"an http issuer", func(in *federation.ProviderInput) { in.Issuer = "http://idp.example" }, "invalid_issuer"},
		{"an issuer with a query", func(in *federation.ProviderInput) { in.Issuer = issuer + "?x=1" }, "invalid_issuer"},
		{"Entra ID's common issuer", func(in *federation.ProviderInput) {
			in.Issuer = "https://login.microsoftonline.com/common/v2.0"
		}, "invalid_issuer"},
		{"Entra ID's common issuer with a port", func(in *federation.ProviderInput) {
			in.Issuer = "https://login.microsoftonline.com:443/common/v2.0"
		}, "invalid_issuer"},
		{"an unreachable issuer", func(in *federation.ProviderInput) { in.Issuer = "https://down.example" }, "issuer_unreachable"},
		{"no domains", func(in *federation.ProviderInput) { in.Domains = nil }, "invalid_domains"},
		{"another organization's domain", func(in *federation.ProviderInput) { in.Domains = []string{"shelbyville.edu"} }, "domain_not_verified"},
		{"an unverified domain", func(in *federation.ProviderInput) { in.Domains = []string{"capitalcity.edu"} }, "domain_not_verified"},
		{"no secret", func(in *federation.ProviderInput) { in.ClientSecret = "" }, "invalid_client_secret"},
		{"a name with a control character", func(in *federation.ProviderInput) { in.Name = "IdP\u202e" }, "invalid_name"},
		{"a bad scope", func(in *federation.ProviderInput) { in.Scopes = []string{"a b"} }, "invalid_scopes"},
	} {
		in := good
		tc.edit(&in)
		_, err := w.svc.CreateProvider(ctx, w.org.ID, in)
		e, ok := fault.As(err)
		require.True(t, ok, "%s: %v", tc.name, err)
		assert.Equal(t, tc.code, e.Code, tc.name)
	}
	// springfield.edu is the first provider's already.
	good.Domains = []string{"springfield.org", "springfield.edu"}
	_, err = w.svc.CreateProvider(ctx, w.org.ID, good)
	e, ok := fault.As(err)
	require.True(t, ok)
	assert.Equal(t, "domain_has_provider", e.Code)
	// Another organization sees none of this one's providers.
	_, err = w.svc.GetProvider(ctx, w.other.ID, w.provider.ID)
	e, ok = fault.As(err)
	require.True(t, ok)
	assert.Equal(t, fault.NotFound, e.Kind)
	assert.Equal(t, fault.NotFound, kindOf(w.svc.DeleteProvider(ctx, w.other.ID, w.provider.ID)))
	_, err = w.svc.UpdateProvider(ctx, w.other.ID, w.provider.ID, federation.ProviderPatch{Name: ptr("mine")})
	assert.Equal(t, fault.NotFound, kindOf(err))
}

func TestHomeRealmDiscoveryFindsTheDomainsProvider(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	p, ok, err := w.svc.ForEmail(ctx, "Lisa@SPRINGFIELD.edu")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, w.provider.ID, p.ID)
	for _, email := range []string{"milhouse@shelbyville.edu", "x@nowhere.example", "not-an-email", ""} {
		_, ok, err := w.svc.ForEmail(ctx, email)
		require.NoError(t, err)
		assert.False(t, ok, email)
	}
}

func kindOf(err error) fault.Kind {
	if e, ok := fault.As(err); ok {
		return e.Kind
	}
	return 0
}

func ptr[T any](v T) *T { return &v }

// BenchmarkFinish is the core's part of a federated sign-in of a linked
// user: the ID token's checks and the linking rules, on memory stores,
// with the upstream's HTTP round trips left out.
func BenchmarkFinish(b *testing.B) {
	w := newWorld(b)
	p := w.provider
	ctx := context.Background()
	_, a, err := w.svc.Begin(ctx, &p, "req1", "", -1)
	if err != nil {
		b.Fatal(err)
	}
	now := w.clock.Now()
	w.up.claims = map[string]any{
		"iss": p.Issuer, "aud": p.ClientID, "exp": float64(now.Add(5 * time.Minute).Unix()), "iat": float64(now.Unix()),
		"nonce": a.Nonce, "email_verified": true, "sub": "g-bench", "email": "bench@springfield.edu",
	}
	if _, err := w.svc.Finish(ctx, &a, federation.Callback{Code: "c"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.svc.Finish(ctx, &a, federation.Callback{Code: "c"}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestOnlyTheOrganizationsOwnAccountsAreLinked(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		user   func(w *world) domain.User
		linked bool
	}{
		{"another organization's account renamed into the domain", func(w *world) domain.User {
			return domain.User{ID: "u-x", Email: "principal@springfield.edu", Status: domain.UserActive, EmailVerified: true, HomeOrganizationID: w.other.ID}
		}, false},
		{"nobody's account whose email was never proved", func(*world) domain.User {
			return domain.User{ID: "u-x", Email: "principal@springfield.edu", Status: domain.UserActive}
		}, false},
		{"nobody's account with a proved email", func(*world) domain.User {
			return domain.User{ID: "u-x", Email: "principal@springfield.edu", Status: domain.UserActive, EmailVerified: true}
		}, true},
		{"the organization's own account, its email unproved", func(w *world) domain.User {
			return domain.User{ID: "u-x", Email: "principal@springfield.edu", Status: domain.UserActive, HomeOrganizationID: w.org.ID}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			require.NoError(t, w.users.CreateUser(ctx, tc.user(w)))
			res, err := w.signIn(t, w.provider, map[string]any{"sub": "g-p", "email": "principal@springfield.edu"})
			if !tc.linked {
				assert.Equal(t, federation.ReasonNotAllowed, reason(t, err))
				_, err := w.links.GetLinkedIdentity(ctx, issuer, "g-p")
				assert.ErrorIs(t, err, domain.ErrNotFound, "a refusal links nothing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "u-x", res.User.ID)
		})
	}
}

func TestARefusedSignInLeavesNoLink(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	require.NoError(t, w.users.CreateUser(ctx, domain.User{ID: "u-i", Email: "ralph@springfield.edu", Status: domain.UserInvited, HomeOrganizationID: w.org.ID}))
	_, err := w.signIn(t, w.provider, map[string]any{"sub": "g-r", "email": "ralph@springfield.edu"})
	assert.Equal(t, federation.ReasonInactive, reason(t, err))
	_, err = w.links.GetLinkedIdentity(ctx, issuer, "g-r")
	assert.ErrorIs(t, err, domain.ErrNotFound)
}

func TestALinkedAccountRenamedAwayNoLongerAnswers(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	res, err := w.signIn(t, w.provider, map[string]any{"sub": "g-1", "email": "lisa@springfield.edu"})
	require.NoError(t, err)
	_, err = w.users.UpdateUser(ctx, res.User.ID, func(u *domain.User) error {
		u.Email = "lisa@elsewhere.example"
		return nil
	})
	require.NoError(t, err)
	_, err = w.signIn(t, w.provider, map[string]any{"sub": "g-1", "email": "lisa@springfield.edu"})
	assert.Equal(t, federation.ReasonNotAllowed, reason(t, err))
}

func TestAFreshSignInIsAskedOfTheUpstreamAndChecked(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	to, a, err := w.svc.Begin(ctx, &w.provider, "req1", "", 0)
	require.NoError(t, err)
	u, err := url.Parse(to)
	require.NoError(t, err)
	assert.Equal(t, "0", u.Query().Get("max_age"))
	assert.Equal(t, "login", u.Query().Get("prompt"))
	assert.True(t, a.Fresh)
	now := w.clock.Now()
	base := map[string]any{
		"iss": issuer, "aud": clientID, "exp": float64(now.Add(time.Minute).Unix()), "iat": float64(now.Unix()),
		"nonce": a.Nonce, "email_verified": true, "sub": "g-1", "email": "lisa@springfield.edu",
	}
	for _, tc := range []struct {
		name     string
		authTime any
		ok       bool
	}{
		{"no auth_time", nil, false},
		{"an old sign-in at the upstream", float64(now.Add(-10 * time.Minute).Unix()), false},
		{"a sign-in just now", float64(now.Unix()), true},
	} {
		c := map[string]any{}
		for k, v := range base {
			c[k] = v
		}
		if tc.authTime != nil {
			c["auth_time"] = tc.authTime
		}
		w.up.claims = c
		_, err := w.svc.Finish(ctx, &a, federation.Callback{Code: "c"})
		if tc.ok {
			require.NoError(t, err, tc.name)
		} else {
			assert.Equal(t, federation.ReasonNotFresh, reason(t, err), tc.name)
		}
	}
	// Google knows max_age, not prompt=login.
	g, err := w.svc.UpdateProvider(ctx, w.org.ID, w.provider.ID, federation.ProviderPatch{Issuer: ptr("https://accounts.google.com")})
	require.NoError(t, err)
	to, _, err = w.svc.Begin(ctx, &g, "req1", "", 300)
	require.NoError(t, err)
	u, _ = url.Parse(to)
	assert.Equal(t, "300", u.Query().Get("max_age"))
	assert.Empty(t, u.Query().Get("prompt"))
}
