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
