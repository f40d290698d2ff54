package oidcflow

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var authorizeChecks = []check{
	{"the code flow signs in with go-oidc and oauth2 and the ID token verifies with its nonce", codeFlow},
	{"the authorization response echoes state and iss", codeFlowEchoes},
	{"the access token is an RFC 9068 JWT that verifies against JWKS", codeFlowAccessToken},
	{"consent is remembered: a second authorize in the same browser returns a code at once", consentRemembered},
	{"prompt=consent asks for consent again", promptConsent},
	{"prompt=login asks for the password again", promptLogin},
	{"a pending request is dropped after five wrong passwords", func(t *testing.T, s *suite) {
		loginRequestDroppedAfterFailures(t, s, s.register(t, nil))
	}},
	{"prompt=none without a session redirects login_required", promptNoneWithoutSession},
	{"prompt=none before consent redirects consent_required", promptNoneWithoutConsent},
	{"prompt=none with a session and consent returns a code at once", promptNoneSignedIn},
	{"id_token_hint names the user: the signed-in user's is silent, a forged one is invalid_request", idTokenHint},
	{"max_age=0 asks for the password again and auth_time moves on", maxAgeZero},
	{"the session gives single sign-on across clients, with consent per client", singleSignOn},
	{"login_hint prefills the email", loginHint},
	{"the email is not case-sensitive at sign-in", emailCaseInsensitive},
	{"a double-submitted consent form issues one code", consentDoubleSubmit},
	{"a wrong password shows the login form again with a message", wrongPassword},
	{"denying consent redirects access_denied", consentDenied},
	{"an unknown client_id gets an HTML 400 page, never a redirect", unknownClient},
	{"an unregistered redirect_uri gets an HTML 400 page, never a redirect", unregisteredRedirect},
	{"a missing code_challenge redirects invalid_request from every client that needs PKCE", missingChallenge},
	{"a confidential client signs in without PKCE only where the policy allows it", pkceOptional},
	{"a code issued without PKCE takes no code_verifier", pkceDowngrade},
	{"an administrator requires PKCE of one client whatever the policy", pkcePerClient},
	{"code_challenge_method=plain redirects invalid_request", plainChallenge},
	{"other bad requests redirect with an error, state and iss", authorizeErrorRedirects},
	{"the authorization endpoint accepts POST", authorizePost},
}

func codeFlow(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	r := s.newAuthRequest(c, "openid", "profile", "email")
	j := a.signIn(t, r)
	assert.True(t, j.SawLogin, "a new browser signs in")
	assert.True(t, j.SawConsent, "a new client asks for consent")
	tok, err := s.exchange(t, r, s.code(t, r, j))
	require.NoError(t, err)
	got := s.verifyTokens(t, r, tok)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.NotEmpty(t, tok.RefreshToken, "the client registered refresh_token")
	assert.Equal(t, "openid profile email", tok.Extra("scope"))
	assert.EqualValues(t, s.env.AccessTokenTTL.Seconds(), tok.Extra("expires_in"))

	var claims struct {
		Email    string `json:"email"`
		Verified bool   `json:"email_verified"`
		AZP      string `json:"azp"`
		AuthTime int64  `json:"auth_time"`
	}
	require.NoError(t, got.IDToken.Claims(&claims))
	assert.Equal(t, s.env.Email, claims.Email)
	assert.True(t, claims.Verified)
	assert.Equal(t, c.ID, claims.AZP)
	assert.NotZero(t, claims.AuthTime)
	assert.Equal(t, s.env.BaseURL, got.IDToken.Issuer)
	assert.Equal(t, []string{c.ID}, got.IDToken.Audience)
	assert.True(t, uuidPattern.MatchString(got.IDToken.Subject), "sub %q is a UUID", got.IDToken.Subject)
}

func codeFlowEchoes(t *testing.T, s *suite) {
	c := s.register(t, nil)
	r := s.newAuthRequest(c)
	r.State = "state with spaces & symbols/?=" // must come back byte for byte
	j := s.newAgent(t).signIn(t, r)
	assert.Equal(t, r.State, j.Callback.Get("state"))
	assert.Equal(t, s.env.BaseURL, j.Callback.Get("iss"))
	assert.Equal(t, callbackURI, j.Last.Left.Scheme+"://"+j.Last.Left.Host+j.Last.Left.Path, "the redirect goes to the redirect_uri")
}

func codeFlowAccessToken(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c, "openid", "email"))
	claims := s.verifyAccessToken(t, tok.AccessToken, c)
	assert.Equal(t, "openid email", claims["scope"])
	assert.Equal(t, tok.IDToken.Subject, claims["sub"])
}

func consentRemembered(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	first := s.newAuthRequest(c)
	j := a.signIn(t, first)
	require.True(t, j.SawConsent)
	s.code(t, first, j)

	second := s.newAuthRequest(c)
	l := a.get(t, second.URL())
	require.NotNil(t, l.Left, "the second authorize goes straight back to the client; got %q", l.Text())
	j2 := journey{Callback: l.Left.Query(), Last: l}
	tok, err := s.exchange(t, second, s.code(t, second, j2))
	require.NoError(t, err)
	s.verifyTokens(t, second, tok)

	// Asking for a scope the user never allowed asks again.
	third := s.newAuthRequest(c, "openid", "profile", "email", "phone")
	j3 := a.signIn(t, third)
	assert.False(t, j3.SawLogin, "the session is still good")
	assert.True(t, j3.SawConsent, "a new scope needs consent")
}

func promptConsent(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	first := s.newAuthRequest(c)
	s.code(t, first, a.signIn(t, first))
	r := s.newAuthRequest(c)
	r.Extra["prompt"] = "consent"
	j := a.signIn(t, r)
	assert.False(t, j.SawLogin)
	assert.True(t, j.SawConsent, "prompt=consent shows the consent page although consent was given")
	s.code(t, r, j)
}

func promptLogin(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	a.signIn(t, s.newAuthRequest(c))
	r := s.newAuthRequest(c)
	r.Extra["prompt"] = "login"
	j := a.signIn(t, r)
	assert.True(t, j.SawLogin, "prompt=login shows the login page although the browser has a session")
	assert.False(t, j.SawConsent)
	s.code(t, r, j)
}

func promptNoneWithoutSession(t *testing.T, s *suite) {
	c := s.register(t, nil)
	r := s.newAuthRequest(c)
	r.Extra["prompt"] = "none"
	l := s.newAgent(t).get(t, r.URL())
	q := l.Query(t)
	assert.Equal(t, "login_required", q.Get("error"))
	assert.Equal(t, r.State, q.Get("state"))
	assert.Equal(t, s.env.BaseURL, q.Get("iss"))
	assert.Empty(t, q.Get("code"))

	// With the client and redirect URI good, the silent check's answer
	// comes first, whatever else is wrong: no PKCE, an unknown scope.
	for name, edit := range map[string]func(url.Values){
		"no PKCE":          func(p url.Values) { p.Del("code_challenge"); p.Del("code_challenge_method") },
		"an unknown scope": func(p url.Values) { p.Set("scope", "openid admin") },
	} {
		p := validAuthorizeParams(s.register(t, func(m metadata) { m["token_endpoint_auth_method"] = "none" }))
		p.Set("prompt", "none")
		edit(p)
		q := s.newAgent(t).get(t, s.rawAuthorize(p)).Query(t)
		assert.Equal(t, "login_required", q.Get("error"), "%s: %s", name, q.Get("error_description"))
	}
}

func promptNoneWithoutConsent(t *testing.T, s *suite) {
	first, second := s.register(t, nil), s.register(t, nil)
	a := s.newAgent(t)
	a.signIn(t, s.newAuthRequest(first))
	r := s.newAuthRequest(second)
	r.Extra["prompt"] = "none"
	q := a.get(t, r.URL()).Query(t)
	assert.Equal(t, "consent_required", q.Get("error"))
	assert.Equal(t, r.State, q.Get("state"))
}

func loginHint(t *testing.T, s *suite) {
	c := s.register(t, nil)
	r := s.newAuthRequest(c)
	r.Extra["login_hint"] = s.env.Email
	l := s.newAgent(t).get(t, r.URL())
	f := l.formWith(t, loginLabels, nil)
	require.NotNil(t, f, "the login page")
	assert.Equal(t, s.env.Email, f.Values[f.Inputs["Email"]])
}

func wrongPassword(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	r := s.newAuthRequest(c)
	l := a.get(t, r.URL())
	l = a.login(t, l, s.env.Email, s.env.Password+"-wrong")
	assert.Equal(t, http.StatusUnauthorized, l.Status)
	require.True(t, l.isLogin(t), "the login form is shown again")
	assert.Contains(t, l.Text(), "incorrect")
	// The same form then works with the right password.
	l = a.login(t, l, s.env.Email, s.env.Password)
	require.True(t, l.isConsent(t), "the right password continues to consent; got %q", l.Text())
	l = a.decide(t, l, "Allow")
	s.code(t, r, journey{Callback: l.Query(t), Last: l})
}

func consentDenied(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	r := s.newAuthRequest(c)
	l := a.login(t, a.get(t, r.URL()), s.env.Email, s.env.Password)
	require.True(t, l.isConsent(t))
	assert.Contains(t, l.Text(), c.Name, "the consent page names the client")
	assert.Contains(t, l.Text(), "email address", "the consent page lists the scopes in plain words")
	q := a.decide(t, l, "Deny").Query(t)
	assert.Equal(t, "access_denied", q.Get("error"))
	assert.Equal(t, r.State, q.Get("state"))
	assert.Equal(t, s.env.BaseURL, q.Get("iss"))
	assert.Empty(t, q.Get("code"))
	// Denying records nothing: the next request asks again.
	assert.True(t, a.signIn(t, s.newAuthRequest(c)).SawConsent)
}

// requireErrorPage checks an HTML error page that must not redirect.
func requireErrorPage(t *testing.T, l *landing, status int) {
	t.Helper()
	assert.Equal(t, status, l.Status, "page text %q", l.Text())
	assert.Nil(t, l.Left, "must not redirect to the client")
	assert.Empty(t, l.Header.Get("Location"), "no Location header")
	assert.Contains(t, l.Header.Get("Content-Type"), "text/html")
}

func unknownClient(t *testing.T, s *suite) {
	c := s.register(t, nil)
	r := s.newAuthRequest(c)
	u := strings.Replace(r.URL(), url.QueryEscape(c.ID), "cca_doesnotexist", 1)
	requireErrorPage(t, s.newAgent(t).get(t, u), http.StatusBadRequest)
}

func unregisteredRedirect(t *testing.T, s *suite) {
	c := s.register(t, nil)
	for name, uri := range map[string]string{
		"another host":     "https://evil.example.com/cb",
		"a longer path":    callbackURI + "/more",
		"an added query":   callbackURI + "?x=1",
		"a different port": "http://127.0.0.1:5174/oidcflow/callback",
	} {
		t.Run(name, func(t *testing.T) {
			r := s.newAuthRequest(c)
			cfg := c.oauth
			cfg.RedirectURL = uri
			cli := *c
			cli.oauth = cfg
			r.client = &cli
			requireErrorPage(t, s.newAgent(t).get(t, r.URL()), http.StatusBadRequest)
		})
	}
}

// rawAuthorize builds an authorize URL from explicit parameters.
func (s *suite) rawAuthorize(params url.Values) string {
	return s.env.BaseURL + pathAuthorize + "?" + params.Encode()
}

func validAuthorizeParams(c *client) url.Values {
	return url.Values{
		"client_id":             {c.ID},
		"redirect_uri":          {c.RedirectURI},
		"response_type":         {"code"},
		"scope":                 {"openid"},
		"state":                 {"st-123"},
		"code_challenge":        {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"},
	}
}

func (s *suite) requireErrorRedirect(t *testing.T, params url.Values, code string) url.Values {
	t.Helper()
	q := s.newAgent(t).get(t, s.rawAuthorize(params)).Query(t)
	assert.Equal(t, code, q.Get("error"), "error_description %q", q.Get("error_description"))
	assert.Equal(t, params.Get("state"), q.Get("state"), "state is echoed with errors")
	assert.Equal(t, s.env.BaseURL, q.Get("iss"), "iss is in every authorization response")
	assert.Empty(t, q.Get("code"))
	return q
}

func missingChallenge(t *testing.T, s *suite) {
	public := s.register(t, func(m metadata) { m["token_endpoint_auth_method"] = "none" })
	clients := []*client{public}
	if !s.pkceOptional() {
		clients = append(clients, s.register(t, nil))
	}
	for _, c := range clients {
		p := validAuthorizeParams(c)
		p.Del("code_challenge")
		p.Del("code_challenge_method")
		s.requireErrorRedirect(t, p, "invalid_request")
	}
}

func plainChallenge(t *testing.T, s *suite) {
	p := validAuthorizeParams(s.register(t, nil))
	p.Set("code_challenge", strings.Repeat("a", 43))
	p.Set("code_challenge_method", "plain")
	s.requireErrorRedirect(t, p, "invalid_request")
}

func authorizeErrorRedirects(t *testing.T, s *suite) {
	c := s.register(t, nil)
	cases := []struct {
		name string
		edit func(url.Values)
		code string
	}{
		{"response_type=token is unsupported_response_type", func(p url.Values) { p.Set("response_type", "token") }, "unsupported_response_type"},
		{"a missing response_type is invalid_request", func(p url.Values) { p.Del("response_type") }, "invalid_request"},
		{"a missing code_challenge_method is invalid_request", func(p url.Values) { p.Del("code_challenge_method") }, "invalid_request"},
		{"a malformed code_challenge is invalid_request", func(p url.Values) { p.Set("code_challenge", "short") }, "invalid_request"},
		{"scope organization is invalid_scope", func(p url.Values) { p.Set("scope", "openid organization") }, "invalid_scope"},
		{"an unknown scope is invalid_scope", func(p url.Values) { p.Set("scope", "openid admin") }, "invalid_scope"},
		{"a missing scope is invalid_scope", func(p url.Values) { p.Del("scope") }, "invalid_scope"},
		{"an unknown prompt is invalid_request", func(p url.Values) { p.Set("prompt", "sideways") }, "invalid_request"},
		{"prompt=none with login is invalid_request", func(p url.Values) { p.Set("prompt", "none login") }, "invalid_request"},
		{"a negative max_age is invalid_request", func(p url.Values) { p.Set("max_age", "-1") }, "invalid_request"},
		{"a request object is request_not_supported", func(p url.Values) { p.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, "request_not_supported"},
		{"a request_uri is request_uri_not_supported", func(p url.Values) { p.Set("request_uri", "https://app.example.com/request.jwt") }, "request_uri_not_supported"},
		{"response_mode=fragment is invalid_request", func(p url.Values) { p.Set("response_mode", "fragment") }, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := validAuthorizeParams(c)
			tc.edit(p)
			s.requireErrorRedirect(t, p, tc.code)
		})
	}
}

func authorizePost(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	r := s.newAuthRequest(c)
	u, err := url.Parse(r.URL())
	require.NoError(t, err)
	l := a.post(t, s.env.BaseURL+pathAuthorize, u.Query())
	require.True(t, l.isLogin(t), "POST authorize leads to the login page; got %d %q", l.Status, l.Text())
	l = a.decide(t, a.login(t, l, s.env.Email, s.env.Password), "Allow")
	tok, err := s.exchange(t, r, s.code(t, r, journey{Callback: l.Query(t), Last: l}))
	require.NoError(t, err)
	s.verifyTokens(t, r, tok)
}

func promptNoneSignedIn(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	a.signIn(t, s.newAuthRequest(c))
	r := s.newAuthRequest(c)
	r.Extra["prompt"] = "none"
	l := a.get(t, r.URL())
	tok, err := s.exchange(t, r, s.code(t, r, journey{Callback: l.Query(t), Last: l}))
	require.NoError(t, err)
	s.verifyTokens(t, r, tok)
}

// idTokenHint: OIDC Core §3.1.2.1, the certification suite's
// oidcc-id-token-hint. The hint of the signed-in user lets prompt=none
// answer at once; a hint this provider did not issue is refused.
func idTokenHint(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	first := s.signInTokens(t, a, s.newAuthRequest(c))
	r := s.newAuthRequest(c)
	r.Extra["prompt"] = "none"
	r.Extra["id_token_hint"] = first.RawID
	l := a.get(t, r.URL())
	tok, err := s.exchange(t, r, s.code(t, r, journey{Callback: l.Query(t), Last: l}))
	require.NoError(t, err)
	assert.Equal(t, first.IDToken.Subject, s.verifyTokens(t, r, tok).IDToken.Subject)

	p := validAuthorizeParams(c)
	p.Set("id_token_hint", first.Token.AccessToken) // signed by us, but not an ID token
	s.requireErrorRedirect(t, p, "invalid_request")
}

func maxAgeZero(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	first := s.signInTokens(t, a, s.newAuthRequest(c))
	r := s.newAuthRequest(c)
	r.Extra["max_age"] = "0"
	j := a.signIn(t, r)
	assert.True(t, j.SawLogin, "max_age=0 needs a fresh sign-in (OIDC Core §3.1.2.1)")
	tok, err := s.exchange(t, r, s.code(t, r, j))
	require.NoError(t, err)
	second := s.verifyTokens(t, r, tok)
	var before, after struct {
		AuthTime int64 `json:"auth_time"`
	}
	require.NoError(t, first.IDToken.Claims(&before))
	require.NoError(t, second.IDToken.Claims(&after))
	require.NotZero(t, after.AuthTime, "auth_time is required when max_age was sent")
	assert.GreaterOrEqual(t, after.AuthTime, before.AuthTime)
}

func singleSignOn(t *testing.T, s *suite) {
	first, second := s.register(t, nil), s.register(t, nil)
	a := s.newAgent(t)
	one := s.signInTokens(t, a, s.newAuthRequest(first))
	r := s.newAuthRequest(second)
	j := a.signIn(t, r)
	assert.False(t, j.SawLogin, "the second client gets the existing session")
	assert.True(t, j.SawConsent, "consent is per client")
	tok, err := s.exchange(t, r, s.code(t, r, j))
	require.NoError(t, err)
	two := s.verifyTokens(t, r, tok)
	assert.Equal(t, one.IDToken.Subject, two.IDToken.Subject)
	var sid1, sid2 struct {
		SID string `json:"sid"`
	}
	require.NoError(t, one.IDToken.Claims(&sid1))
	require.NoError(t, two.IDToken.Claims(&sid2))
	assert.NotEmpty(t, sid1.SID)
	assert.Equal(t, sid1.SID, sid2.SID, "both ID tokens name the same session")
}

func emailCaseInsensitive(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	r := s.newAuthRequest(c)
	l := a.login(t, a.get(t, r.URL()), "  "+strings.ToUpper(s.env.Email)+" ", s.env.Password)
	require.True(t, l.isConsent(t), "an upper-cased email signs in; got %d %q", l.Status, l.Text())
}

func consentDoubleSubmit(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	r := s.newAuthRequest(c)
	l := a.login(t, a.get(t, r.URL()), s.env.Email, s.env.Password)
	f := l.formWith(t, nil, consentButtons)
	require.NotNil(t, f)
	first := a.submit(t, f, nil, "Allow")
	s.code(t, r, journey{Callback: first.Query(t), Last: first})
	again := a.submit(t, f, nil, "Allow")
	requireErrorPage(t, again, http.StatusBadRequest)
}
