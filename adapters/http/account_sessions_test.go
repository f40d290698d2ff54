package http

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func sampleAccount() accountView {
	return accountView{
		CSRFToken: "csrf-abc", Email: "ada@school.example", MinPassword: 12,
		Sessions: []sessionItem{
			{SignedIn: "7 December 2026 at 09:02 UTC", LastActive: "7 December 2026 at 09:05 UTC", How: "a password", Current: true},
			{SignedIn: "7 December 2026 at 09:00 UTC", LastActive: "7 December 2026 at 09:01 UTC", How: "a password and an authenticator code", Apps: "Northside Gradebook"},
		},
		OtherSessions: true,
		Apps: []appItem{{
			ClientID: "cca_gradebook", ClientName: "Northside Gradebook", ClientURI: "https://gradebook.example",
			Since: "1 December 2026", Scopes: []scopeView{{Name: "openid", Description: "Know who you are when you sign in"}, {Name: "x-custom"}},
		}},
	}
}

func TestAccountPageListsSessionsWithThisBrowserMarked(t *testing.T) {
	html := renderPage(t, newTestPages(t), "account", sampleAccount())

	assert.Contains(t, html, `Signed in 7 December 2026 at 09:02 UTC <span class="badge">This browser</span>`)
	assert.Equal(t, 1, strings.Count(html, "This browser"), "only the current session is marked")
	assert.Contains(t, html, "Last active 7 December 2026 at 09:01 UTC. With a password and an authenticator code.")
	assert.Contains(t, html, "Apps used: Northside Gradebook")
	assert.Contains(t, html, `<form method="post" action="/account/sessions/end-others">`)
	assert.Regexp(t, `<button [^>]*type="submit">Sign out everywhere else</button>`, html)

	alone := sampleAccount()
	alone.Sessions, alone.OtherSessions = alone.Sessions[:1], false
	html = renderPage(t, newTestPages(t), "account", alone)
	assert.NotContains(t, html, "Sign out everywhere else", "no button with no other session")
}

func TestAccountPageListsAppsEachWithItsOwnRevokeForm(t *testing.T) {
	v := sampleAccount()
	v.Apps = append(v.Apps, appItem{ClientID: "cca_library", ClientName: "Library", Since: "2 December 2026"})
	html := renderPage(t, newTestPages(t), "account", v)

	assert.Contains(t, html, `<span class="client-name">Northside Gradebook</span>`)
	assert.Contains(t, html, `href="https://gradebook.example"`, "the app's https site is linked")
	assert.Contains(t, html, "<li>Know who you are when you sign in</li>")
	assert.Contains(t, html, "<li>x-custom</li>", "a scope without words shows its name")
	assert.Equal(t, 2, strings.Count(html, `action="/account/apps/revoke"`), "one form per app")
	assert.Contains(t, html, `<input type="hidden" name="client_id" value="cca_gradebook">`)
	assert.Contains(t, html, `<input type="hidden" name="client_id" value="cca_library">`)
	assert.Contains(t, html, `Revoke access<span class="visually-hidden"> of Library</span></button>`,
		"each button names its app to a screen reader")
	assert.Equal(t, strings.Count(html, "<form"), strings.Count(html, `name="csrf_token" value="csrf-abc"`), "every form carries the CSRF token")

	none := sampleAccount()
	none.Apps = nil
	html = renderPage(t, newTestPages(t), "account", none)
	assert.Contains(t, html, "No app has access to your account.")
	assert.NotContains(t, html, "/account/apps/revoke")
}

func TestAccountPageEscapesHostileAppNames(t *testing.T) {
	v := sampleAccount()
	hostile := `<script>alert(1)</script>`
	v.Apps[0].ClientName, v.Sessions[1].Apps, v.Apps[0].ClientURI = hostile, hostile, "javascript:alert(1)"
	html := strings.ToLower(renderPage(t, newTestPages(t), "account", v))
	assert.NotContains(t, html, "<script")
	assert.NotContains(t, html, "javascript:")
}

func TestHowSignedInSaysTheMethodsInWords(t *testing.T) {
	for _, tc := range []struct {
		amr  []string
		want string
	}{
		{[]string{"pwd"}, "a password"},
		{[]string{"pwd", "otp", "mfa"}, "a password and an authenticator code"},
		{[]string{"hwk", "mfa"}, "a passkey"},
		{[]string{"pwd", "swk", "mfa"}, "a password and a passkey"},
		{[]string{"mfa", "unknown"}, ""},
		{nil, ""},
	} {
		assert.Equal(t, tc.want, howSignedIn(tc.amr), "%v", tc.amr)
	}
}
