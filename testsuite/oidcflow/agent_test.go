package oidcflow

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// The suite is only as good as its reading of the pages, so the form reader
// has a test of its own.
func TestFormsAreReadAsAUserSeesThem(t *testing.T) {
	page := `<!doctype html><html><body>
<h1>Sign in</h1>
<form method="post" action="/login">
<input type="hidden" name="interaction" value="i-1">
<input type="hidden" name="csrf_token" value="c&amp;2">
<label for="email">Email</label><input id="email" name="email" type="email" value="jane@example.edu">
<label for="pw"> Password </label><input id="pw" name="password" type="password">
<button type="submit">Sign in</button>
</form>
<form method="post" action="https://op.example/consent">
<button type="submit" name="decision" value="deny">Deny</button>
<button class="x" type="submit" name="decision" value="allow"><span>Allow</span></button>
<button type="button">Help</button>
</form></body></html>`
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	base, _ := url.Parse("http://op.example/api/v1/oidc/authorize?x=1")
	l := &landing{URL: base, doc: doc}

	login := l.formWith(t, loginLabels, nil)
	require.NotNil(t, login, "the form with inputs labelled Email and Password is found")
	assert.Equal(t, "http://op.example/login", login.Action.String(), "a relative action resolves against the page")
	assert.Equal(t, "POST", login.Method)
	assert.Equal(t, url.Values{"interaction": {"i-1"}, "csrf_token": {"c&2"}}, login.Hidden)
	assert.Equal(t, map[string]string{"Email": "email", "Password": "password"}, login.Inputs, "labels are matched to inputs by for/id, whitespace trimmed")
	assert.Equal(t, "jane@example.edu", login.Values["email"], "a prefilled value is kept")
	require.Len(t, login.Buttons, 1)

	consent := l.formWith(t, nil, consentButtons)
	require.NotNil(t, consent)
	assert.Equal(t, &button{Name: "decision", Value: "allow", Text: "Allow"}, consent.button("Allow"), "a button's text includes its children")
	assert.Nil(t, consent.button("Help"), "type=button does not submit")
	assert.True(t, l.isLogin(t))
	assert.True(t, l.isConsent(t))
	assert.Equal(t, "Sign in Email Password Sign in Deny Allow Help", l.Text())

	assert.Nil(t, l.formWith(t, []string{"Username"}, nil), "no form has an input labelled Username")
}
