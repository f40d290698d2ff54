package http

import (
	nethttp "net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/directory"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// openForm GETs an account page with the given cookies and returns its
// CSRF token and the cookies it set.
func openForm(t *testing.T, s *Server, target string, cookies ...*nethttp.Cookie) (string, []*nethttp.Cookie) {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, body := do(t, s, req)
	require.Equal(t, 200, resp.StatusCode, body)
	m := csrfField.FindStringSubmatch(body)
	require.Len(t, m, 2, "the page carries a CSRF token")
	return m[1], resp.Cookies()
}

func postForm(t *testing.T, s *Server, target string, v url.Values, cookies ...*nethttp.Cookie) (int, string) {
	t.Helper()
	req := form("POST", target, v)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, body := do(t, s, req)
	return resp.StatusCode, body
}

// With Secure cookies, every cookie carries the __Host- prefix, and the
// binding cookie lasts only as long as the browser session.
func TestSecureCookiesCarryTheHostPrefix(t *testing.T) {
	s := newTestServerWith(t, Options{BodyLimit: 1 << 20, SecureCookies: true, SessionCookie: "calimatic_session"})
	csrf, set := openForm(t, s, directory.PathForgotPassword)
	require.Len(t, set, 1)
	binding := set[0]
	assert.Equal(t, "__Host-calimatic_browser", binding.Name)
	assert.True(t, binding.Secure)
	assert.True(t, binding.HttpOnly)
	assert.Equal(t, "/", binding.Path)
	assert.Empty(t, binding.Domain)
	assert.True(t, binding.Expires.IsZero(), "a browser-session cookie, not a one-year one: %s", binding.Raw)
	assert.Equal(t, "__Host-calimatic_session", s.cookies.session)
	secure := newTestServerWith(t, Options{BodyLimit: 1 << 20, SecureCookies: true, SessionCookie: "__Secure-sso"})
	assert.Equal(t, "__Host-sso", secure.cookies.session, "a configured __Secure- name gets the host lock too")

	v := url.Values{"csrf_token": {csrf}, "email": {"nobody@example.com"}}
	status, body := postForm(t, s, directory.PathForgotPassword, v, binding)
	assert.Equal(t, 200, status, body)
	// The same value under the unprefixed name, as a sibling subdomain
	// could plant it, is not the binding.
	planted := &nethttp.Cookie{Name: "calimatic_browser", Value: binding.Value}
	status, _ = postForm(t, s, directory.PathForgotPassword, v, planted)
	assert.Equal(t, 400, status, "a cookie without the prefix is not read")
}

// An account form's CSRF token is bound to the mailed link it spends and to
// the browser's sign-in session: it changes with either, so a token that
// leaks is good for one link in one session.
func TestAccountFormCSRFIsBoundToTheLinkAndTheSession(t *testing.T) {
	s := newTestServer(t)
	_, set := openForm(t, s, directory.PathForgotPassword)
	binding := set[0]
	csrfA, _ := openForm(t, s, directory.PathResetPassword+"?token=link-a", binding)
	csrfB, _ := openForm(t, s, directory.PathResetPassword+"?token=link-b", binding)
	assert.NotEqual(t, csrfA, csrfB, "each link has its own token")
	csrfInvite, _ := openForm(t, s, directory.PathAcceptInvite+"?token=link-a", binding)
	assert.NotEqual(t, csrfA, csrfInvite, "each form has its own token")
	status, body := postForm(t, s, directory.PathResetPassword, url.Values{
		"csrf_token": {csrfInvite}, "token": {"link-a"}, "password": {"a new good password"}, "password_confirm": {"a new good password"},
	}, binding)
	assert.Equal(t, 400, status)
	assert.Contains(t, body, "This form has expired", "the invitation form's token does not post a reset")

	status, body = postForm(t, s, directory.PathResetPassword, url.Values{
		"csrf_token": {csrfA}, "token": {"link-b"}, "password": {"a new good password"}, "password_confirm": {"a new good password"},
	}, binding)
	assert.Equal(t, 400, status)
	assert.Contains(t, body, "This form has expired", "link A's token does not post link B")

	signedIn := &nethttp.Cookie{Name: "calimatic_session", Value: "a-session-secret-a-session-secret-0123"}
	csrfSession, _ := openForm(t, s, directory.PathResetPassword+"?token=link-a", binding, signedIn)
	assert.NotEqual(t, csrfA, csrfSession, "a sign-in session changes the token")
	otherSession := &nethttp.Cookie{Name: "calimatic_session", Value: "another-session-secret-another-0123"}
	status, body = postForm(t, s, directory.PathResetPassword, url.Values{
		"csrf_token": {csrfSession}, "token": {"link-a"}, "password": {"a new good password"}, "password_confirm": {"a new good password"},
	}, binding, otherSession)
	assert.Equal(t, 400, status)
	assert.Contains(t, body, "This form has expired", "another session's token is refused")
}
