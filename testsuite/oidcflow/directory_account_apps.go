package oidcflow

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// The account page's "Active sessions" and "Connected apps", seen from a
// browser without JavaScript: a member signs in to an app, then to the
// account page in another browser, and there signs the app's browser out
// or takes the app's access away.

var accountAppChecks = []dirCheck{
	{"the account page lists the member's sessions and apps, and signs out everywhere else", accountSignOutElsewhere},
	{"revoking an app on the account page stops its tokens at once and nothing else", accountRevokeApp},
	{"the sessions and apps forms refuse forged tokens and apps the member never allowed, and change nothing", accountAppsBadInput},
}

const buttonSignOutElsewhere = "Sign out everywhere else"

// revokeButton is the text of an app's "Revoke access" button, with the
// app's name that only a screen reader is shown.
func revokeButton(c *client) string { return "Revoke access of " + c.Name }

// listItems returns the text of each item of the list whose id is given,
// or nil when the page has no such list.
func (l *landing) listItems(id string) []string {
	var list *html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if list != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "ul" && attr(n, "id") == id {
			list = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if l.doc != nil {
		walk(l.doc)
	}
	if list == nil {
		return nil
	}
	var out []string
	for c := list.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == "li" {
			out = append(out, textOf(c))
		}
	}
	return out
}

// countWith counts the items that contain text.
func countWith(items []string, text string) int {
	n := 0
	for _, it := range items {
		if strings.Contains(it, text) {
			n++
		}
	}
	return n
}

// appSignIn registers an app and signs m in to it in a new browser,
// consenting; it returns the app, the browser and the app's tokens.
func (d *directory) appSignIn(t *testing.T, m *member) (*client, *agent, tokens) {
	t.Helper()
	c := d.register(t)
	b := d.s.as(m).newAgent(t)
	tok := d.s.signInTokens(t, b, d.s.newAuthRequest(c))
	require.NotEmpty(t, tok.RefreshToken, "the app gets a refresh token")
	return c, b, tok
}

// requireNoMoreMail checks that m got no mail beyond what the suite read.
func (d *directory) requireNoMoreMail(t *testing.T, m *member) {
	t.Helper()
	assert.Len(t, d.s.env.Mailbox(t, m.Email, m.mails), m.mails, "no mail to %s beyond the ones the suite caused", m.Email)
}

func accountSignOutElsewhere(t *testing.T, d *directory) {
	m := d.activeMember(t)
	c, app, tok := d.appSignIn(t, m)
	a, l := d.accountPage(t, m)

	sessions := l.listItems("sessions")
	require.Len(t, sessions, 2, "the app's browser and this one: %q", l.Text())
	assert.Equal(t, 1, countWith(sessions, "This browser"), "this browser's session is marked: %q", sessions)
	assert.Equal(t, 2, countWith(sessions, "With a password."), "how each signed in: %q", sessions)
	apps := l.listItems("apps")
	require.Len(t, apps, 1, "%q", l.Text())
	assert.Contains(t, apps[0], c.Name)
	assert.Contains(t, apps[0], "See your email address", "the scopes in words")

	f := l.formWith(t, nil, []string{buttonSignOutElsewhere})
	require.NotNil(t, f, "the page offers to sign out everywhere else: %q", l.Text())
	l = a.submit(t, f, nil, "")
	require.Equal(t, http.StatusOK, l.Status, "%q", l.Text())
	assert.Equal(t, pathAccount, l.URL.Path, "back on the account page")
	assert.Contains(t, l.byID("account-notice"), "You were signed out everywhere else.")
	sessions = l.listItems("sessions")
	require.Len(t, sessions, 1, "only this browser is left: %q", sessions)
	assert.Contains(t, sessions[0], "This browser")
	assert.Nil(t, l.formWith(t, nil, []string{buttonSignOutElsewhere}), "no one else to sign out")

	next := app.get(t, d.s.newAuthRequest(c).URL())
	assert.True(t, next.isLogin(t), "the app's browser must sign in again; got %d %q", next.Status, next.Text())
	_, err := d.s.refresh(t, c, tok.RefreshToken)
	requireGrantError(t, err, "invalid_grant") // it ended with its session
	d.requireNoMoreMail(t, m)
}

func accountRevokeApp(t *testing.T, d *directory) {
	m := d.activeMember(t)
	c, app, tok := d.appSignIn(t, m)
	other, _, otherTok := d.appSignIn(t, m)
	a, l := d.accountPage(t, m)
	require.Len(t, l.listItems("apps"), 2, "%q", l.Text())

	f := l.formWith(t, nil, []string{revokeButton(c)})
	require.NotNil(t, f, "each app has its own form: %q", l.Text())
	l = a.submit(t, f, nil, "")
	require.Equal(t, http.StatusOK, l.Status, "%q", l.Text())
	assert.Contains(t, l.byID("account-notice"), "The app's access was revoked.")
	apps := l.listItems("apps")
	require.Len(t, apps, 1, "%q", apps)
	assert.Contains(t, apps[0], other.Name)

	d.s.requireInactive(t, c, tok.AccessToken, "the revoked app's access token")
	requireInvalidToken(t, d.s.userinfo(t, tok.AccessToken))
	_, err := d.s.refresh(t, c, tok.RefreshToken)
	requireGrantError(t, err, "invalid_grant")

	d.s.requireActive(t, other, otherTok.AccessToken, "another app's access token")
	assert.Len(t, l.listItems("sessions"), 3, "revoking an app ends no session")
	next := app.get(t, d.s.newAuthRequest(c).URL())
	assert.True(t, next.isConsent(t), "the app must ask again; got %d %q", next.Status, next.Text())
	d.requireNoMoreMail(t, m)
}

func accountAppsBadInput(t *testing.T, d *directory) {
	m := d.activeMember(t)
	c, app, tok := d.appSignIn(t, m)
	stranger := d.register(t) // an app m never allowed
	a, l := d.accountPage(t, m)
	end := l.formWith(t, nil, []string{buttonSignOutElsewhere})
	revoke := l.formWith(t, nil, []string{revokeButton(c)})
	require.NotNil(t, end, "%q", l.Text())
	require.NotNil(t, revoke, "%q", l.Text())

	t.Run("a forged or missing CSRF token is refused on both forms", func(t *testing.T) {
		for _, f := range []*form{end, revoke} {
			vals := f.values(t, nil)
			vals.Set("csrf_token", "forged")
			assert.Equal(t, http.StatusBadRequest, a.post(t, f.Action.String(), vals).Status, "forged, %s", f.Action.Path)
			vals.Del("csrf_token")
			assert.Equal(t, http.StatusBadRequest, a.post(t, f.Action.String(), vals).Status, "missing, %s", f.Action.Path)
		}
	})
	t.Run("an app the member never allowed, or no app, is refused", func(t *testing.T) {
		for name, id := range map[string]string{
			"another app": stranger.ID, "a long id": strings.Repeat("x", 5000), "an empty id": "", "an unknown id": "cca_nobody",
		} {
			vals := revoke.values(t, nil)
			vals.Set("client_id", id)
			r := a.post(t, revoke.Action.String(), vals)
			assert.Equal(t, http.StatusNotFound, r.Status, name)
			assert.Contains(t, r.byID("account-error"), "That app has no access to your account", name)
		}
	})
	t.Run("a browser without the session is sent to sign in", func(t *testing.T) {
		for _, f := range []*form{end, revoke} {
			r := d.s.newAgent(t).post(t, f.Action.String(), f.values(t, nil))
			assert.True(t, r.isLogin(t), "got %d %q", r.Status, r.Text())
		}
	})
	t.Run("nothing changed", func(t *testing.T) {
		d.s.requireActive(t, c, tok.AccessToken, "the app's access token")
		l := a.get(t, d.s.env.BaseURL+pathAccount)
		assert.Len(t, l.listItems("sessions"), 2, "%q", l.Text())
		assert.Len(t, l.listItems("apps"), 1, "%q", l.Text())
		next := app.get(t, d.s.newAuthRequest(c).URL())
		assert.NotNil(t, next.Left, "the app's browser is still signed in, and the app still allowed; got %d %q", next.Status, next.Text())
	})
	d.requireNoMoreMail(t, m)
}
