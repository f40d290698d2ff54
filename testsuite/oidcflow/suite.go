package oidcflow

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// Env is the provider under test and what the suite cannot do over HTTP.
type Env struct {
	// BaseURL is the provider's issuer, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// Email and Password sign in an active user who has a name, a verified
	// email and a phone number (the dev seed's demo user qualifies).
	Email, Password string
	// SuspendUser and ReactivateUser change the user's status out of band,
	// as an administrator would. Without them the suspension checks skip.
	SuspendUser    func(t *testing.T, email string)
	ReactivateUser func(t *testing.T, email string)
	// AccessTokenTTL is the configured access token lifetime; zero means the
	// default of one hour.
	AccessTokenTTL time.Duration
	// LoginAccountLimit and LoginIPLimit are the server's sign-in throttling
	// limits (failed attempts per account, per IP); zero means the defaults
	// of 10 and 60. RunRateLimits spends them.
	LoginAccountLimit, LoginIPLimit int
	// AdminKey is a platform admin key (Authorization: Bearer) for /api/v1/admin; RunDirectory needs it.
	AdminKey string
	// Mailbox reads the mail the server sent; RunDirectory needs it.
	Mailbox testsuite.Mailbox // package github.com/calimatic/calimatic-auth/testsuite, see testsuite/mail.go
	// BehindProxy says the server trusts the suite's own address as a
	// proxy (http.trusted_proxies). Every request then carries
	// X-Forwarded-For as a client behind a real proxy would send it: a
	// made-up address it chose, new on each request, then the one client
	// address the proxy appended. Per-IP limits must still count one client.
	BehindProxy bool
	// Transport, when set, carries every request of the suite: for an
	// https issuer, one that trusts the test server's certificate.
	Transport http.RoundTripper
	// PKCEPolicy is the server's oidc.pkce_required: "all" ("" too) or
	// "public". The PKCE checks assert what that policy promises.
	PKCEPolicy string
	// SetHomeProfile gives the user's home organization a profile (SCIM's
	// attributes), as its identity provider would. The suite calls it once,
	// before any check, with homeProfile; the claims check needs it.
	SetHomeProfile func(t *testing.T, email string, p domain.OrgProfile)
	// SetTXT makes the server's DNS answer records for name's TXT
	// records; RunFederation needs it.
	SetTXT func(name string, records []string)
}

// Paths from the integration guide, section 2.
const (
	pathDiscovery     = "/.well-known/openid-configuration"
	pathOAuthMetadata = "/.well-known/oauth-authorization-server"
	pathAuthorize     = "/api/v1/oidc/authorize"
	pathToken         = "/api/v1/oidc/token"
	pathUserInfo      = "/api/v1/oidc/userinfo"
	pathJWKS          = "/api/v1/oidc/jwks"
	pathEndSession    = "/api/v1/oidc/end-session"
	pathIntrospect    = "/api/v1/oidc/introspect"
	pathRevoke        = "/api/v1/oidc/revoke"
	pathRegister      = "/api/v1/oidc/register"
)

// The relying party's URIs. Nothing listens on them: the user agent stops
// as soon as the provider redirects away from itself.
const (
	callbackURI   = "http://127.0.0.1:5173/oidcflow/callback"
	otherCallback = "http://localhost:5173/oidcflow/other"
	logoutURI     = "http://127.0.0.1:5173/oidcflow/signed-out"
)

// requestTimeout bounds every request the suite makes.
const requestTimeout = 30 * time.Second

// suite is the state every check shares: the discovered provider, the JWKS
// key function and a back-channel HTTP client that never follows redirects.
type suite struct {
	env       Env
	base      *url.URL
	http      *http.Client
	transport http.RoundTripper // http's, which agents use too
	ctx       context.Context   // carries http for go-oidc and oauth2
	provider  *oidc.Provider
	keys      keyfunc.Keyfunc
	session   struct { // see signedInAgent
		once    sync.Once
		cookies []*http.Cookie
	}
}

func newSuite(t *testing.T, env Env) *suite {
	t.Helper()
	env.BaseURL = strings.TrimRight(env.BaseURL, "/")
	require.NotEmpty(t, env.BaseURL, "Env.BaseURL is required")
	require.NotEmpty(t, env.Email, "Env.Email is required")
	require.NotEmpty(t, env.Password, "Env.Password is required")
	if env.AccessTokenTTL == 0 {
		env.AccessTokenTTL = time.Hour
	}
	if env.LoginAccountLimit == 0 {
		env.LoginAccountLimit = 10
	}
	if env.LoginIPLimit == 0 {
		env.LoginIPLimit = 60
	}
	base, err := url.Parse(env.BaseURL)
	require.NoError(t, err, "Env.BaseURL must be a URL")
	if env.SetHomeProfile != nil {
		env.SetHomeProfile(t, env.Email, homeProfile)
	}

	transport := http.DefaultTransport
	if env.Transport != nil {
		transport = env.Transport
	}
	if env.BehindProxy {
		transport = &spoofer{next: transport}
	}
	client := &http.Client{
		Timeout:       requestTimeout,
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ctx = oidc.ClientContext(ctx, client)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)

	provider, err := oidc.NewProvider(ctx, env.BaseURL)
	require.NoError(t, err, "go-oidc must discover the provider at %s", env.BaseURL)
	strict := false // fail here, not on the first verification, when JWKS is down
	keys, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{env.BaseURL + pathJWKS}, keyfunc.Override{
		Client: client, NoErrorReturnFirstHTTPReq: &strict,
	})
	require.NoError(t, err, "keyfunc must load the JWKS")
	return &suite{env: env, base: base, http: client, transport: transport, ctx: ctx, provider: provider, keys: keys}
}

// spoofer sends X-Forwarded-For as a client rotating a spoofed entry
// behind a trusted proxy: "<new made-up address>, <the client>".
type spoofer struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (s *spoofer) RoundTrip(req *http.Request) (*http.Response, error) {
	n := s.n.Add(1)
	req = req.Clone(req.Context())
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.%d.%d, 198.51.100.77", n/250%250, n%250+1))
	return s.next.RoundTrip(req)
}

// check is one named subtest.
type check struct {
	name string
	run  func(t *testing.T, s *suite)
}

func (s *suite) runChecks(t *testing.T, checks []check) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, s) })
	}
}

// Run checks the provider at env.BaseURL end to end. Groups of checks that
// share no state run in parallel; the suspension checks, which change the
// user, run alone after them.
func Run(t *testing.T, env Env) {
	s := newSuite(t, env)
	groups := []struct {
		name   string
		checks []check
	}{
		{"discovery", discoveryChecks},
		{"registration", registrationChecks},
		{"authorization", authorizeChecks},
		{"token", tokenChecks},
		{"userinfo", userinfoChecks},
		{"introspection and revocation", introspectionChecks},
		{"end session", endSessionChecks},
		{"pages and bad input", hygieneChecks},
	}
	t.Run("provider", func(t *testing.T) {
		for _, g := range groups {
			t.Run(g.name, func(t *testing.T) {
				t.Parallel()
				s.runChecks(t, g.checks)
			})
		}
	})
	t.Run("suspension", func(t *testing.T) { s.runChecks(t, suspensionChecks) })
}
