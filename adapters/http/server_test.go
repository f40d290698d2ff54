package http

import (
	"context"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/localkeys"
	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/adapters/smtp"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/mfa"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/ports"
)

// newTestServer builds the adapter over the in-memory stores, for tests of
// the HTTP edge itself (the full flow is tested end to end in app/).
func newTestServer(t testing.TB) *Server {
	t.Helper()
	return newTestServerWith(t, Options{BodyLimit: 1 << 20})
}

func newTestServerWith(t testing.TB, opts Options) *Server {
	t.Helper()
	return newTestServerLimited(t, opts, memory.NewRateLimiter(), nil)
}

// newTestServerLimited builds the adapter and the provider on limiter;
// coreLimits, unless nil, sets the limits the provider applies itself.
func newTestServerLimited(t testing.TB, opts Options, limiter ports.RateLimiter, coreLimits func(*oidc.Config)) *Server {
	t.Helper()
	clock, random := system.NewClock(), system.NewRandom()
	signer, err := localkeys.New(context.Background(), memory.NewKeyStore(), clock, localkeys.Options{
		Algorithms: []string{domain.AlgRS256}, RetireAfter: 2 * time.Hour,
	})
	require.NoError(t, err)
	users, orgs, clients := memory.NewUserStore(), memory.NewOrganizationStore(), memory.NewClientStore()
	dirStore, grants := memory.NewDirectory(users, orgs), memory.NewGrantStore()
	cfg := oidc.Config{
		Issuer: "http://127.0.0.1:8080", AccessTokenTTL: time.Hour, IDTokenTTL: time.Hour,
		RefreshTokenTTL: 24 * time.Hour, CodeTTL: time.Minute, AuthRequestTTL: 10 * time.Minute,
		SessionTTL: time.Hour, Algorithms: []string{domain.AlgRS256}, IDTokenAlg: domain.AlgRS256,
		AccessTokenAlg: domain.AlgRS256, RegistrationEnabled: true,
	}
	if coreLimits != nil {
		coreLimits(&cfg)
	}
	events, units, factors := memory.NewEventLog(), memory.NewUnits(), memory.NewFactorStore()
	second := mfa.New(mfa.Config{}, mfa.Deps{
		Factors: factors, Users: users, Orgs: orgs, Roles: memory.NewRoleStore(orgs), Groups: orgs, Events: events, Units: units,
		Mailer: smtp.NewLogMailer(io.Discard), Limiter: limiter, Clock: clock, Random: random,
	})
	op, err := oidc.New(cfg, oidc.Deps{
		Clients: clients, Users: users, Orgs: orgs,
		Licenses: dirStore, Roles: memory.NewRoleStore(orgs), Groups: orgs,
		Grants: grants, Sessions: memory.NewSessionStore(), AuthRequests: memory.NewAuthRequestStore(),
		MFA: second, Signer: signer, Limiter: limiter, Clock: clock, Random: random,
		Events: events, Units: units,
	})
	require.NoError(t, err)
	dir := directory.New(directory.Config{BaseURL: "http://127.0.0.1:8080"}, directory.Deps{
		Clients: clients, Users: users, Orgs: orgs, Directory: dirStore, Licenses: dirStore,
		Grants: memory.NewClientGrantStore(orgs), Roles: memory.NewRoleStore(orgs), Groups: orgs, Domains: memory.NewDomainStore(orgs),
		AdminKeys: memory.NewAdminKeyStore(), ActionTokens: memory.NewActionTokenStore(),
		Sessions: memory.NewSessionStore(), Refresh: grants, Factors: factors, Events: events, Units: units,
		Mailer: smtp.NewLogMailer(io.Discard), Clock: clock, Random: random,
	})
	seedDirectory(t, dir, clients, orgs)
	s, err := New(opts, Deps{
		Provider: op, Directory: dir, MFA: second, Limiter: limiter, Clock: clock, Random: random,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	return s
}

func do(t testing.TB, s *Server, req *nethttp.Request) (*nethttp.Response, string) {
	t.Helper()
	resp, err := s.App().Test(req, -1)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// scrape reads /metrics from the handler of the metrics listener.
func scrape(t testing.TB, s *Server) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Code, rec.Body.String()
}

func form(method, target string, v url.Values) *nethttp.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func TestTokenEndpointRejectsBadInputWithOAuthErrors(t *testing.T) {
	s := newTestServer(t)
	cases := []struct {
		name   string
		req    *nethttp.Request
		status int
		code   string
	}{
		{"a JSON body is refused", func() *nethttp.Request {
			r := httptest.NewRequest("POST", oidc.PathToken, strings.NewReader(`{"grant_type":"client_credentials"}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}(), 400, "invalid_request"},
		{"a missing grant_type is invalid_request", form("POST", oidc.PathToken, url.Values{}), 400, "invalid_request"},
		{"an unknown grant_type is unsupported_grant_type", form("POST", oidc.PathToken, url.Values{"grant_type": {"password"}}), 400, "unsupported_grant_type"},
		{"a duplicated parameter is invalid_request", func() *nethttp.Request {
			r := httptest.NewRequest("POST", oidc.PathToken, strings.NewReader("grant_type=client_credentials&grant_type=client_credentials"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}(), 400, "invalid_request"},
		{"an unknown client is invalid_client", form("POST", oidc.PathToken, url.Values{"grant_type": {"client_credentials"}, "client_id": {"' OR 1=1 --"}, "client_secret": {"x"}}), 401, "invalid_client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, s, tc.req)
			assert.Equal(t, tc.status, resp.StatusCode, body)
			assert.Contains(t, body, `"error":"`+tc.code+`"`)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		})
	}
}

func TestOversizedBodiesGetJSON413(t *testing.T) {
	s := newTestServer(t)
	s.opts.Addr = "127.0.0.1:0"
	addr, err := s.Listen()
	require.NoError(t, err)
	go func() { _ = s.Serve() }()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })

	body := url.Values{"grant_type": {strings.Repeat("a", 1<<20+10)}}.Encode()
	resp, err := nethttp.Post("http://"+addr.String()+oidc.PathToken, "application/x-www-form-urlencoded", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	assert.Equal(t, 413, resp.StatusCode)
	assert.Contains(t, string(got), `"error":"invalid_request"`)
}

func TestBasicAuthFailureCarriesWWWAuthenticate(t *testing.T) {
	s := newTestServer(t)
	req := form("POST", oidc.PathToken, url.Values{"grant_type": {"client_credentials"}})
	req.SetBasicAuth("cca_nobody", "ccas_wrong")
	resp, body := do(t, s, req)
	assert.Equal(t, 401, resp.StatusCode, body)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
}

func TestUnknownRoutesAnswerJSON404(t *testing.T) {
	s := newTestServer(t)
	resp, body := do(t, s, httptest.NewRequest("GET", "/api/v1/nope", nil))
	assert.Equal(t, 404, resp.StatusCode)
	assert.Contains(t, body, `"error":"not_found"`)
}

func TestPagesCarrySecurityHeaders(t *testing.T) {
	s := newTestServer(t)
	resp, body := do(t, s, httptest.NewRequest("GET", oidc.PathAuthorize+"?client_id=cca_unknown&redirect_uri=https://evil.example/cb", nil))
	assert.Equal(t, 400, resp.StatusCode, "an unknown client is a page, never a redirect")
	assert.Empty(t, resp.Header.Get("Location"))
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.Contains(t, body, "The application is unknown.")
}

func TestHealthAndMetrics(t *testing.T) {
	s := newTestServer(t)
	resp, _ := do(t, s, httptest.NewRequest("GET", "/healthz", nil))
	assert.Equal(t, 200, resp.StatusCode)
	resp, _ = do(t, s, httptest.NewRequest("GET", "/metrics", nil))
	assert.Equal(t, 404, resp.StatusCode, "metrics are not on the public routes")
	status, body := scrape(t, s)
	assert.Equal(t, 200, status)
	assert.Contains(t, body, "calimatic_http_requests_total", "the healthz request was counted")
}

// The fuzz targets throw arbitrary input at every request parser through
// the real routes: whatever arrives, the answer is a 4xx (or a success),
// never a 5xx or a panic.
func FuzzTokenEndpoint(f *testing.F) {
	f.Add("grant_type=authorization_code&code=x&code_verifier=y", "application/x-www-form-urlencoded", "Basic Y2NhXzE6Y2Nhc18y")
	f.Add("grant_type=refresh_token&refresh_token=%ZZ", "application/x-www-form-urlencoded", "")
	f.Add(`{"a":1}`, "application/json", "Basic !!!")
	s := newTestServer(f)
	f.Fuzz(func(t *testing.T, body, contentType, auth string) {
		req := httptest.NewRequest("POST", oidc.PathToken, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", auth)
		resp, err := s.App().Test(req, -1)
		if err != nil {
			return // the test client refused to send it
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d for body %q", resp.StatusCode, body)
		}
	})
}

func FuzzRegister(f *testing.F) {
	f.Add(`{"redirect_uris":["https://a.example/cb"]}`)
	f.Add(`{"redirect_uris":"x","grant_types":[1]}`)
	f.Add(`{"scope":"organization","redirect_uris":["http://localhost/cb"],"token_endpoint_auth_method":"none"}`)
	s := newTestServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", oidc.PathRegister, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.App().Test(req, -1)
		if err != nil {
			return
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d for body %q", resp.StatusCode, body)
		}
	})
}

func FuzzAuthorize(f *testing.F) {
	f.Add("client_id=cca_x&redirect_uri=https://a/cb&response_type=code&scope=openid&max_age=-1&prompt=none+login")
	f.Add("client_id=%00&state=%FF")
	s := newTestServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		u := &url.URL{Path: oidc.PathAuthorize, RawQuery: query}
		req, err := nethttp.NewRequest("GET", u.String(), nil)
		if err != nil {
			return
		}
		resp, err := s.App().Test(req, -1)
		if err != nil {
			return
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d for query %q", resp.StatusCode, query)
		}
	})
}

func TestBrowserAppsMayCallTheTokenEndpointCrossOrigin(t *testing.T) {
	s := newTestServer(t)
	req := httptest.NewRequest("OPTIONS", oidc.PathToken, nil)
	req.Header.Set("Origin", "https://spa.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, _ := do(t, s, req)
	assert.Equal(t, 204, resp.StatusCode)
	assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Credentials"), "no cookies cross origin")

	req = httptest.NewRequest("OPTIONS", oidc.PathRegister, nil)
	req.Header.Set("Origin", "https://spa.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, _ = do(t, s, req)
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "registration is not open to browsers")
}

func TestClientIPComesFromXForwardedForOnlyBehindTrustedProxies(t *testing.T) {
	register := func(s *Server, forwardedFor string) int {
		req := httptest.NewRequest("POST", oidc.PathRegister, strings.NewReader(`{"redirect_uris":["https://a.example/cb"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", forwardedFor)
		resp, _ := do(t, s, req)
		return resp.StatusCode
	}
	rule := domain.RateRule{Name: "register", Limit: 1, Window: time.Minute}

	untrusted := newTestServer(t)
	untrusted.opts.RateLimitsEnabled, untrusted.opts.Rules.Register = true, rule
	require.NoError(t, untrusted.rebuild())
	assert.Equal(t, 201, register(untrusted, "203.0.113.1"))
	assert.Equal(t, 429, register(untrusted, "203.0.113.2"), "a spoofed header from an untrusted peer changes nothing")

	trusted := newTestServer(t)
	trusted.opts.RateLimitsEnabled, trusted.opts.Rules.Register = true, rule
	trusted.opts.TrustedProxies = []string{"0.0.0.0/0"}
	require.NoError(t, trusted.rebuild())
	assert.Equal(t, 201, register(trusted, "203.0.113.1"))
	assert.Equal(t, 201, register(trusted, "203.0.113.2"), "behind a trusted proxy each client IP has its own bucket")
	assert.Equal(t, 429, register(trusted, "203.0.113.1"))
}

// The client chooses what it puts in X-Forwarded-For; each proxy appends
// the address it saw. So the client is the rightmost address that is not a
// trusted proxy, and rotating the leftmost entries changes nothing.
func TestClientIPIsTheRightmostUntrustedAddress(t *testing.T) {
	register := func(s *Server, forwardedFor ...string) int {
		req := httptest.NewRequest("POST", oidc.PathRegister, strings.NewReader(`{"redirect_uris":["https://a.example/cb"]}`))
		req.Header.Set("Content-Type", "application/json")
		for _, v := range forwardedFor {
			req.Header.Add("X-Forwarded-For", v)
		}
		resp, _ := do(t, s, req)
		return resp.StatusCode
	}
	s := newTestServer(t)
	s.opts.RateLimitsEnabled = true
	s.opts.Rules.Register = domain.RateRule{Name: "register", Limit: 1, Window: time.Minute}
	s.opts.TrustedProxies = []string{"0.0.0.0", "10.0.0.0/8", "2001:db8::/32"} // the test peer is 0.0.0.0
	require.NoError(t, s.rebuild())

	assert.Equal(t, 201, register(s, "203.0.113.1, 198.51.100.7, 10.1.2.3"))
	assert.Equal(t, 429, register(s, "203.0.113.2, 198.51.100.7, 10.9.9.9"), "a rotated leftmost entry is the same client")
	assert.Equal(t, 429, register(s, "203.0.113.3", "198.51.100.7, 10.1.2.3"), "over several header lines too")
	assert.Equal(t, 201, register(s, "203.0.113.1, 198.51.100.8, 10.1.2.3"), "another client behind the same proxies")
	assert.Equal(t, 201, register(s, "2001:db8::5, 2001:db8::1"), "all trusted: the leftmost, the closest known")
	assert.Equal(t, 201, register(s, "2001:db9:1:2::1"))
	assert.Equal(t, 429, register(s, "2001:db9:1:2::ffff"), "one IPv6 /64 is one client")
	assert.Equal(t, 201, register(s, "2001:db9:1:3::1"), "the next /64 is another")
	assert.Equal(t, 201, register(s, "not-an-ip, 198.51.100.9"))
	assert.Equal(t, 429, register(s, "junk, 198.51.100.9"), "a malformed entry stops the walk at the last good address")

	bad := newTestServer(t)
	bad.opts.TrustedProxies = []string{"10.0.0.0/33"}
	require.Error(t, bad.rebuild())
}

func TestMetricsSurviveManyMethodsOnOneRoute(t *testing.T) {
	s := newTestServer(t)
	for _, m := range []string{"GET", "POST", "GET", "POST"} {
		do(t, s, httptest.NewRequest(m, oidc.PathUserInfo, nil))
	}
	status, body := scrape(t, s)
	require.Equal(t, 200, status, body)
	assert.Contains(t, body, `method="POST"`)
	assert.Contains(t, body, `method="GET"`)
}
