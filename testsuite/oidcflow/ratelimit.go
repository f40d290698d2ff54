package oidcflow

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// The integration guide's §7 limits, per minute.
const (
	tokenLimit      = 20 // per client
	authorizeLimit  = 30 // per IP
	userinfoLimit   = 60 // per token
	introspectLimit = 60 // per client
	registerLimit   = 5  // per IP
)

// RunRateLimits checks the guide's section 7 rate limits and login
// throttling. They change server state that outlives the test (counts per
// IP), so the server must be fresh, with rate limits on, and used by nothing
// else for the test's minute.
//
// The limits count in fixed windows, so a burst may straddle a window's end.
// The checks therefore follow the X-RateLimit-Remaining header rather than
// counting from the first request: each answer must count down by one, and
// the answer after the one with nothing remaining must be a 429.
func RunRateLimits(t *testing.T, env Env) {
	s := newSuite(t, env)
	// The clients every check needs are registered first, while registration
	// is still allowed.
	flow := s.register(t, nil)
	machine := s.register(t, func(m metadata) {
		m["grant_types"] = []string{"client_credentials"}
		m["scope"] = "email"
		delete(m, "redirect_uris")
		delete(m, "post_logout_redirect_uris")
	})
	// Sign in once, before the token limit is spent, for userinfo's tokens.
	tok := s.signInTokens(t, s.newAgent(t), s.newAuthRequest(flow))
	second, err := s.refresh(t, flow, tok.RefreshToken)
	require.NoError(t, err)

	t.Run("registration allows 5 a minute per IP, then answers 429", func(t *testing.T) {
		s.exhaust(t, registerLimit, false, func() response {
			return s.postJSON(t, http.MethodPost, pathRegister, "", defaultMetadata("rate"))
		}, http.StatusCreated)
	})
	t.Run("the token endpoint allows 20 a minute per client, then answers 429", func(t *testing.T) {
		cc := url.Values{"grant_type": {"client_credentials"}}
		s.exhaust(t, tokenLimit, true, func() response { return s.postForm(t, pathToken, cc, machine) }, http.StatusOK)
		// Another client is counted apart.
		resp := s.postForm(t, pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown"}}, flow)
		assert.Equal(t, http.StatusBadRequest, resp.Status, "another client is not limited; body %q", resp.Body)
	})
	t.Run("introspection allows 60 a minute per client, then answers 429", func(t *testing.T) {
		s.exhaust(t, introspectLimit, true, func() response {
			return s.postForm(t, pathIntrospect, url.Values{"token": {"x"}}, machine)
		}, http.StatusOK)
	})
	t.Run("userinfo allows 60 a minute per token, then answers 429", func(t *testing.T) {
		s.exhaust(t, userinfoLimit, true, func() response { return s.userinfo(t, tok.AccessToken) }, http.StatusOK)
		if over := s.userinfo(t, tok.AccessToken); over.Status == http.StatusTooManyRequests {
			assert.NotEmpty(t, over.Header.Get("DPoP-Nonce"), "RFC 9449 §9: a 429 carries the DPoP nonce too")
		}
		// Another token is counted apart.
		assert.Equal(t, http.StatusOK, s.userinfo(t, second.AccessToken).Status, "another token is not limited")
	})
	t.Run("repeated failed sign-ins to one account are throttled with 429", func(t *testing.T) {
		loginThrottleAccount(t, s, flow)
	})
	// It stops sign-in from this IP for a minute.
	t.Run("repeated failed sign-ins from one IP are throttled with 429", func(t *testing.T) {
		loginThrottleIP(t, s, flow)
	})
	// Last: it stops every authorization request from this IP for a minute.
	t.Run("the authorization endpoint allows 30 a minute per IP, then answers 429", func(t *testing.T) {
		r := s.newAuthRequest(flow)
		s.exhaust(t, authorizeLimit, false, func() response {
			return s.get(t, strings.TrimPrefix(r.URL(), s.env.BaseURL))
		}, http.StatusSeeOther)
	})
}

// exhaust sends requests until one is limited, and checks the limit's
// headers on the way. fresh says the key has not been used before the
// check, so exactly limit requests are allowed (unless a window ends).
func (s *suite) exhaust(t *testing.T, limit int, fresh bool, send func() response, okStatus int) {
	t.Helper()
	allowed := 0 // in the current window
	prev := -1   // the previous X-RateLimit-Remaining
	for i := 0; i < 3*limit; i++ {
		resp := send()
		assert.Equal(t, strconv.Itoa(limit), resp.Header.Get("X-RateLimit-Limit"), "request %d: X-RateLimit-Limit", i+1)
		remaining, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
		require.NoError(t, err, "request %d: X-RateLimit-Remaining must be a number", i+1)
		if resp.Status == http.StatusTooManyRequests {
			require.Equal(t, 0, prev, "request %d: the 429 comes right after the last allowed request", i+1)
			assert.Equal(t, 0, remaining)
			if fresh {
				assert.Equal(t, limit, allowed, "exactly the limit is allowed in a window")
			}
			requireLimited(t, resp)
			return
		}
		require.Equal(t, okStatus, resp.Status, "request %d is allowed; body %q", i+1, clipText(string(resp.Body)))
		if prev >= 0 && remaining > prev { // a new window began
			allowed = 0
		} else if prev >= 0 {
			require.Equal(t, prev-1, remaining, "request %d: each request counts once", i+1)
		}
		allowed++
		prev = remaining
	}
	require.Failf(t, "no 429", "%d requests were all allowed with a limit of %d", 3*limit, limit)
}

// requireLimited checks a 429: Retry-After within the minute window and an
// OAuth-style JSON error.
func requireLimited(t *testing.T, resp response) {
	t.Helper()
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After must be a number of seconds, got %q", resp.Header.Get("Retry-After"))
	assert.True(t, retry >= 1 && retry <= 60, "Retry-After %d is within the one-minute window", retry)
	assert.Contains(t, resp.Header.Get("Content-Type"), "application/json")
	m := resp.JSON(t)
	assert.NotEmpty(t, m["error"], "an OAuth-style error code")
	assert.NotEmpty(t, m["error_description"])
}

func throwawayEmail() string {
	return "throttle-" + strings.ToLower(oauth2.GenerateVerifier()[:12]) + "@example.com"
}

// loginThrottleAccount fails sign-in for one account until the provider
// throttles it. The account does not exist, so the real user is not locked
// out.
func loginThrottleAccount(t *testing.T, s *suite, c *client) {
	email := throwawayEmail()
	a := s.newAgent(t)
	l := a.get(t, s.newAuthRequest(c).URL())
	require.True(t, l.isLogin(t))
	failures := 0
	for i := range 2*s.env.LoginAccountLimit + 1 {
		l = freshLoginEvery(t, s, a, c, l, i)
		l = a.login(t, l, email, "wrong-password")
		if l.Status == http.StatusTooManyRequests {
			assert.True(t, l.isLogin(t), "the throttled answer is the login form with a message")
			assert.Contains(t, l.Text(), "Too many sign-in attempts")
			assert.GreaterOrEqual(t, failures, s.env.LoginAccountLimit, "throttling starts after the limit")
			// Further attempts stay throttled.
			l = a.login(t, l, email, "anything")
			assert.Equal(t, http.StatusTooManyRequests, l.Status)
			return
		}
		require.Equal(t, http.StatusUnauthorized, l.Status, "attempt %d fails normally: %q", i+1, l.Text())
		assert.Contains(t, l.Text(), "incorrect")
		failures++
	}
	require.Failf(t, "no throttling", "%d failed sign-ins were not throttled", failures)
}

// loginThrottleIP fails sign-in for a new account each time, so only the
// per-IP count can stop it.
func loginThrottleIP(t *testing.T, s *suite, c *client) {
	a := s.newAgent(t)
	l := a.get(t, s.newAuthRequest(c).URL())
	require.True(t, l.isLogin(t))
	for i := range 2*s.env.LoginIPLimit + 1 {
		l = freshLoginEvery(t, s, a, c, l, i)
		l = a.login(t, l, throwawayEmail(), "wrong-password")
		if l.Status == http.StatusTooManyRequests {
			assert.True(t, l.isLogin(t), "the throttled answer is the login form with a message")
			assert.Contains(t, l.Text(), "Too many sign-in attempts")
			// The real user, from this IP, is throttled too until the window ends.
			l = a.login(t, l, s.env.Email, s.env.Password)
			assert.Equal(t, http.StatusTooManyRequests, l.Status, "the IP is throttled for every account")
			return
		}
		require.Equal(t, http.StatusUnauthorized, l.Status, "attempt %d fails normally: %q", i+1, l.Text())
	}
	require.Fail(t, "no throttling", "%d failed sign-ins from one IP were not throttled", 2*s.env.LoginIPLimit+1)
}

// failuresPerRequest is how many wrong passwords the throttling checks
// spend on one pending request: fewer than the provider's cap (5), after
// which the request is dropped.
const failuresPerRequest = 4

// freshLoginEvery starts a new authorization request every few attempts, so
// the throttling checks never hit the per-request cap.
func freshLoginEvery(t *testing.T, s *suite, a *agent, c *client, l *landing, attempt int) *landing {
	if attempt == 0 || attempt%failuresPerRequest != 0 {
		return l
	}
	l = a.get(t, s.newAuthRequest(c).URL())
	require.True(t, l.isLogin(t))
	return l
}

// loginRequestDroppedAfterFailures shows that one pending request takes
// only a few wrong passwords, so it can't be replayed for endless guessing.
func loginRequestDroppedAfterFailures(t *testing.T, s *suite, c *client) {
	a := s.newAgent(t)
	l := a.get(t, s.newAuthRequest(c).URL())
	require.True(t, l.isLogin(t))
	email := throwawayEmail()
	for i := range 4 {
		l = a.login(t, l, email, "wrong-password")
		require.Equal(t, http.StatusUnauthorized, l.Status, "attempt %d fails normally", i+1)
	}
	l = a.login(t, l, email, "wrong-password")
	assert.Equal(t, http.StatusBadRequest, l.Status)
	assert.Contains(t, l.Text(), "Too many failed sign-in attempts")
	assert.False(t, l.isLogin(t), "the request is gone: no form to try again")
}
