package http

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	nethttp "net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

// brokenLimiter cannot count the rules named in down, as when its database
// is gone; it counts the others in memory.
type brokenLimiter struct {
	up   *memory.RateLimiter
	down map[string]bool
}

func (l *brokenLimiter) Allow(ctx context.Context, key string, rule domain.RateRule, now time.Time) (domain.RateDecision, error) {
	if l.down[rule.Name] {
		// A plain error, not domain.ErrUnavailable: any failure fails closed.
		return domain.RateDecision{Allowed: true, Limit: rule.Limit, Remaining: rule.Limit}, errors.New("dial tcp 10.0.0.5:5432: connection refused")
	}
	return l.up.Allow(ctx, key, rule, now)
}

// answer is what a client sees of a response.
type answer struct {
	Status      int
	ContentType string
	RetryAfter  string
	Body        string
}

func see(t *testing.T, s *Server, req *nethttp.Request) answer {
	t.Helper()
	resp, body := do(t, s, req)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), body}
}

// A limiter that cannot count fails closed (ports.RateLimiter), and where
// the limit sits changes nothing: a limit of this adapter's routes and a
// limit the core applies give the same answer, in the endpoint's format.
func TestAFailingLimiterFailsClosedAlikeAtTheEdgeAndInTheCore(t *testing.T) {
	rule := func(name string) domain.RateRule { return domain.RateRule{Name: name, Limit: 100, Window: time.Minute} }
	limiter := &brokenLimiter{up: memory.NewRateLimiter()}
	s := newTestServerLimited(t, Options{
		BodyLimit: 1 << 20, RateLimitsEnabled: true,
		Rules: Rules{Register: rule("register"), Authorize: rule("authorize"), Account: rule("password_reset")},
	}, limiter, func(c *oidc.Config) {
		c.TokenLimit, c.LoginAccount, c.LoginIP = rule("token"), rule("login_account"), rule("login_ip")
	})
	failing := func(names ...string) {
		limiter.down = map[string]bool{}
		for _, n := range names {
			limiter.down[n] = true
		}
	}

	t.Run("OAuth endpoints: registration's limit (adapter) and the token endpoint's (core)", func(t *testing.T) {
		failing("register", "token")
		register := httptest.NewRequest("POST", oidc.PathRegister, strings.NewReader(`{"redirect_uris":["https://a.example/cb"]}`))
		register.Header.Set("Content-Type", "application/json")
		edge := see(t, s, register)
		core := see(t, s, form("POST", oidc.PathToken, url.Values{
			"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testClientSecret},
		}))

		assert.Equal(t, answer{
			Status: 503, ContentType: "application/json", RetryAfter: "5",
			Body: `{"error":"temporarily_unavailable","error_description":"the service is temporarily unavailable; retry later"}`,
		}, edge, "the adapter's limit fails closed")
		assert.Equal(t, edge, core, "the core's limit fails the same way")
	})

	t.Run("pages: authorization's and forgot-password's limits (adapter) and sign-in's (core)", func(t *testing.T) {
		failing("authorize")
		authorize := see(t, s, httptest.NewRequest("GET", oidc.PathAuthorize+"?client_id=x", nil))

		failing("password_reset")
		csrf, cookies := openForm(t, s, directory.PathForgotPassword)
		forgot := url.Values{"csrf_token": {csrf}, "email": {"someone@example.com"}}
		forgotByIP := seeForm(t, s, directory.PathForgotPassword, forgot, cookies)
		failing("password_reset_email") // the per-address count, in the handler
		forgotByAddress := seeForm(t, s, directory.PathForgotPassword, forgot, cookies)

		failing("login_account", "login_ip")
		v, browser := signInForm(t, s)
		login := seeForm(t, s, pathLogin, v, browser)

		assert.Equal(t, 503, authorize.Status, authorize.Body)
		assert.Equal(t, "text/html; charset=utf-8", authorize.ContentType)
		assert.Contains(t, authorize.Body, "temporarily unavailable")
		assert.Equal(t, authorize, forgotByIP, "the forgot-password page's limit per IP fails the same way")
		assert.Equal(t, authorize, forgotByAddress, "and its limit per address")
		assert.Equal(t, authorize, login, "the sign-in limit of the core fails the same way")
	})
}

func seeForm(t *testing.T, s *Server, target string, v url.Values, cookies []*nethttp.Cookie) answer {
	t.Helper()
	req := form("POST", target, v)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return see(t, s, req)
}

// signInForm starts an authorization request and returns its filled login
// form, with the browser's cookies.
func signInForm(t *testing.T, s *Server) (url.Values, []*nethttp.Cookie) {
	t.Helper()
	const redirect = "https://app.example/cb"
	reg, err := s.op.Register(context.Background(), oidc.ClientMetadata{RedirectURIs: []string{redirect}})
	require.NoError(t, err)
	sum := sha256.Sum256([]byte("verifier-verifier-verifier-verifier-verifier-0123"))
	q := url.Values{
		"client_id": {reg.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	resp, body := do(t, s, httptest.NewRequest("GET", oidc.PathAuthorize+"?"+q.Encode(), nil))
	require.Equal(t, 303, resp.StatusCode, body)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, pathLogin, loc.Path)
	csrf, _ := openForm(t, s, loc.String(), resp.Cookies()...)
	return url.Values{
		"interaction": {loc.Query().Get("interaction")}, "csrf_token": {csrf},
		"email": {"someone@example.com"}, "password": {"a password"},
	}, resp.Cookies()
}
