package oidcflow

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var endSessionChecks = []check{
	{"end session with id_token_hint redirects to the registered URI with state and ends the session", endSessionRedirects},
	{"end session refuses an unregistered post_logout_redirect_uri with a 400 page", endSessionUnregistered},
	{"end session without id_token_hint asks the user before signing out", endSessionConfirms},
	{"end session without a redirect shows the signed-out page", endSessionSignedOut},
	{"end session refuses a forged id_token_hint with a 400 page", endSessionBadHint},
	{"end session without a hint or a session asks before sending the browser to the app", endSessionConfirmsEvenWithoutSession},
	{"end session with a valid hint ends the session it names, even from a browser without its cookie", endSessionByHint},
	{"the sign-out form's token belongs to the session: a new sign-in voids the old one", endSessionTokenPerSession},
	{"a refresh token without offline_access ends with the session that issued it", refreshEndsWithSession},
	{"a refresh token granted offline_access outlives the session", refreshOfflineOutlivesSession},
	{"offline access ends when the client is no longer registered for it", refreshOfflineFollowsRegistration},
	{"a code issued before sign-out issues nothing after it", codeEndsWithSession},
}

func endSessionURL(s *suite, p url.Values) string {
	return s.env.BaseURL + pathEndSession + "?" + p.Encode()
}

// requireSignedOut checks that the agent's next authorize shows the login page.
func (s *suite) requireSignedOut(t *testing.T, a *agent, c *client) {
	t.Helper()
	l := a.get(t, s.newAuthRequest(c).URL())
	assert.True(t, l.isLogin(t), "after sign-out, authorize shows the login page; got %d %q", l.Status, l.Text())
}

func endSessionRedirects(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	tok := s.signInTokens(t, a, s.newAuthRequest(c))
	l := a.get(t, endSessionURL(s, url.Values{
		"id_token_hint": {tok.RawID}, "post_logout_redirect_uri": {logoutURI}, "state": {"bye-42"},
	}))
	require.NotNil(t, l.Left, "end session redirects to the client; got %d %q", l.Status, l.Text())
	assert.Equal(t, logoutURI, l.Left.Scheme+"://"+l.Left.Host+l.Left.Path)
	assert.Equal(t, "bye-42", l.Left.Query().Get("state"))
	s.requireSignedOut(t, a, c)
	// The tokens outlive the browser session: signing out is not revocation.
	assert.Equal(t, http.StatusOK, s.userinfo(t, tok.AccessToken).Status)
}

func endSessionUnregistered(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	tok := s.signInTokens(t, a, s.newAuthRequest(c))
	for name, uri := range map[string]string{
		"another site":   "https://evil.example.com/bye",
		"a redirect_uri": callbackURI,
		"a longer path":  logoutURI + "/x",
	} {
		t.Run(name, func(t *testing.T) {
			l := a.get(t, endSessionURL(s, url.Values{"id_token_hint": {tok.RawID}, "post_logout_redirect_uri": {uri}, "state": {"s"}}))
			requireErrorPage(t, l, http.StatusBadRequest)
		})
	}
	// The session survives a refused request.
	l := a.get(t, s.newAuthRequest(c).URL())
	assert.NotNil(t, l.Left, "the browser is still signed in")
}

func endSessionConfirms(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	s.signInTokens(t, a, s.newAuthRequest(c))
	l := a.get(t, endSessionURL(s, url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {logoutURI}, "state": {"st"}}))
	require.Nil(t, l.Left, "without a hint the user is asked first")
	f := l.formWith(t, nil, []string{"Sign out"})
	require.NotNil(t, f, "the confirmation page has a Sign out button; got %q", l.Text())
	l = a.submit(t, f, nil, "Sign out")
	require.NotNil(t, l.Left, "confirming redirects to the client")
	assert.Equal(t, "st", l.Left.Query().Get("state"))
	s.requireSignedOut(t, a, c)
}

func endSessionSignedOut(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	tok := s.signInTokens(t, a, s.newAuthRequest(c))
	l := a.get(t, endSessionURL(s, url.Values{"id_token_hint": {tok.RawID}}))
	assert.Equal(t, http.StatusOK, l.Status)
	assert.Nil(t, l.Left)
	assert.Contains(t, l.Text(), "signed out")
	s.requireSignedOut(t, a, c)
}

func endSessionBadHint(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	tok := s.signInTokens(t, a, s.newAuthRequest(c))
	parts := strings.Split(tok.RawID, ".")
	require.Len(t, parts, 3)
	forged := parts[0] + "." + flipMiddle(parts[1]) + "." + parts[2]
	l := a.get(t, endSessionURL(s, url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {logoutURI}}))
	requireErrorPage(t, l, http.StatusBadRequest)
	// An access token is not an ID token either.
	l = a.get(t, endSessionURL(s, url.Values{"id_token_hint": {tok.AccessToken}, "post_logout_redirect_uri": {logoutURI}}))
	requireErrorPage(t, l, http.StatusBadRequest)
}

func endSessionConfirmsEvenWithoutSession(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	l := a.get(t, endSessionURL(s, url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {logoutURI}, "state": {"st"}}))
	require.Nil(t, l.Left, "without a hint the browser is not sent on unasked")
	f := l.formWith(t, nil, []string{"Sign out"})
	require.NotNil(t, f, "the confirmation page has a Sign out button; got %d %q", l.Status, l.Text())

	// A forged confirmation, with no CSRF token, is asked again.
	forged := a.post(t, s.env.BaseURL+pathEndSession, url.Values{
		"client_id": {c.ID}, "post_logout_redirect_uri": {logoutURI}, "state": {"st"}, "decision": {"logout"},
	})
	require.Nil(t, forged.Left, "a confirmation without the form's token does not redirect")

	l = a.submit(t, f, nil, "Sign out")
	require.NotNil(t, l.Left, "confirming redirects to the client; got %d %q", l.Status, l.Text())
	assert.Equal(t, "st", l.Left.Query().Get("state"))
}

func endSessionByHint(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	tok := s.signInTokens(t, a, s.newAuthRequest(c))
	// The app's back end, or another browser, carries no session cookie.
	other := s.newAgent(t)
	l := other.get(t, endSessionURL(s, url.Values{"id_token_hint": {tok.RawID}, "post_logout_redirect_uri": {logoutURI}, "state": {"x"}}))
	require.NotNil(t, l.Left, "a valid hint redirects at once; got %d %q", l.Status, l.Text())
	s.requireSignedOut(t, a, c)
	_, err := s.refresh(t, c, tok.RefreshToken)
	requireGrantError(t, err, "invalid_grant")
}

func refreshEndsWithSession(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	tok := s.signInTokens(t, a, s.newAuthRequest(c))
	require.NotEmpty(t, tok.RefreshToken, "the guide's request, without offline_access, still gets a refresh token")
	next, err := s.refresh(t, c, tok.RefreshToken)
	require.NoError(t, err, "while the session lasts, the refresh token works")

	l := a.get(t, endSessionURL(s, url.Values{"id_token_hint": {tok.RawID}}))
	require.Equal(t, http.StatusOK, l.Status)
	s.requireInactive(t, c, next.RefreshToken, "a refresh token of an ended session")
	_, err = s.refresh(t, c, next.RefreshToken)
	requireGrantError(t, err, "invalid_grant")
	// Signing out is not revocation: the access token lives out its time.
	assert.Equal(t, http.StatusOK, s.userinfo(t, next.AccessToken).Status)
}

// offlineTokens signs a new browser in to c with offline_access, consenting.
func (s *suite) offlineTokens(t *testing.T, c *client) (*agent, tokens) {
	t.Helper()
	a := s.newAgent(t)
	r := s.newAuthRequest(c, "openid", "email", "offline_access")
	r.Extra["prompt"] = "consent"
	l := a.get(t, r.URL())
	require.True(t, l.isLogin(t), "a new browser signs in first")
	l = a.login(t, l, s.env.Email, s.env.Password)
	require.True(t, l.isConsent(t), "offline_access is asked for: got %d %q", l.Status, l.Text())
	assert.Contains(t, l.Text(), "Stay signed in when you are not using the app", "consent says the app keeps access")
	l = a.decide(t, l, "Allow")
	require.NotNil(t, l.Left)
	tok, err := s.exchange(t, r, s.code(t, r, journey{Callback: l.Left.Query(), Last: l}))
	require.NoError(t, err)
	verified := s.verifyTokens(t, r, tok)
	require.Contains(t, strings.Fields(verified.Extra("scope").(string)), "offline_access")
	return a, verified
}

func refreshOfflineOutlivesSession(t *testing.T, s *suite) {
	c := s.register(t, func(m metadata) { m["scope"] = "openid profile email offline_access" })
	a, tok := s.offlineTokens(t, c)
	l := a.get(t, endSessionURL(s, url.Values{"id_token_hint": {tok.RawID}}))
	require.Equal(t, http.StatusOK, l.Status)
	s.requireSignedOut(t, a, c)
	s.requireActive(t, c, tok.RefreshToken, "an offline refresh token after sign-out")
	_, err := s.refresh(t, c, tok.RefreshToken)
	assert.NoError(t, err, "offline access outlives the session")
}

func refreshOfflineFollowsRegistration(t *testing.T, s *suite) {
	c := s.register(t, func(m metadata) { m["scope"] = "openid profile email offline_access" })
	a, tok := s.offlineTokens(t, c)
	md := defaultMetadata(t.Name())
	md["client_id"], md["scope"] = c.ID, "openid profile email"
	r := s.postJSON(t, http.MethodPut, strings.TrimPrefix(c.RegURI, s.env.BaseURL), c.RegToken, md)
	require.Equal(t, http.StatusOK, r.Status, "update; body %q", r.Body)

	l := a.get(t, endSessionURL(s, url.Values{"id_token_hint": {tok.RawID}}))
	require.Equal(t, http.StatusOK, l.Status)
	s.requireInactive(t, c, tok.RefreshToken, "a refresh token whose offline access the client gave up, after sign-out")
	_, err := s.refresh(t, c, tok.RefreshToken)
	requireGrantError(t, err, "invalid_grant")

	// Registering offline_access again does not revive a token found ended.
	md["scope"] = "openid profile email offline_access"
	r = s.postJSON(t, http.MethodPut, strings.TrimPrefix(c.RegURI, s.env.BaseURL), c.RegToken, md)
	require.Equal(t, http.StatusOK, r.Status, "update; body %q", r.Body)
	_, err = s.refresh(t, c, tok.RefreshToken)
	requireGrantError(t, err, "invalid_grant")
}

func codeEndsWithSession(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	r := s.newAuthRequest(c)
	code := s.code(t, r, a.signIn(t, r))
	// The user signs out, confirming, before the app redeems the code.
	l := a.get(t, endSessionURL(s, url.Values{"client_id": {c.ID}}))
	f := l.formWith(t, nil, []string{"Sign out"})
	require.NotNil(t, f, "got %d %q", l.Status, l.Text())
	a.submit(t, f, nil, "Sign out")
	s.requireSignedOut(t, a, c)
	_, err := s.exchange(t, r, code)
	requireGrantError(t, err, "invalid_grant")
}

func endSessionTokenPerSession(t *testing.T, s *suite) {
	c := s.register(t, nil)
	a := s.newAgent(t)
	confirmToken := func() string {
		l := a.get(t, endSessionURL(s, url.Values{"client_id": {c.ID}}))
		f := l.formWith(t, nil, []string{"Sign out"})
		require.NotNil(t, f, "the confirmation page; got %d %q", l.Status, l.Text())
		require.NotEmpty(t, f.Hidden.Get("csrf_token"))
		return f.Hidden.Get("csrf_token")
	}
	s.signInTokens(t, a, s.newAuthRequest(c))
	first := confirmToken()
	l := a.post(t, s.env.BaseURL+pathEndSession, url.Values{"client_id": {c.ID}, "decision": {"logout"}, "csrf_token": {first}})
	require.Equal(t, http.StatusOK, l.Status)
	s.requireSignedOut(t, a, c)

	s.signInTokens(t, a, s.newAuthRequest(c))
	second := confirmToken()
	assert.NotEqual(t, first, second, "each session has its own sign-out token")
	l = a.post(t, s.env.BaseURL+pathEndSession, url.Values{"client_id": {c.ID}, "decision": {"logout"}, "csrf_token": {first}})
	require.NotNil(t, l.formWith(t, nil, []string{"Sign out"}), "the old session's token only asks again; got %d %q", l.Status, l.Text())
	l = a.get(t, s.newAuthRequest(c).URL())
	assert.NotNil(t, l.Left, "the browser is still signed in")
}
