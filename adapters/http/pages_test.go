package http

import (
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestPages(t *testing.T) *pages {
	t.Helper()
	p, err := newPages()
	require.NoError(t, err)
	return p
}

func renderPage(t *testing.T, p *pages, name string, data any) string {
	t.Helper()
	out, err := p.render(name, data)
	require.NoError(t, err)
	return string(out)
}

// samplePages is one well-formed view per page, as the handlers build them.
func samplePages() map[string]any {
	return map[string]any{
		"login": loginView{
			Action: "/login", InteractionID: "int-123", CSRFToken: "csrf-abc",
			ClientName: "Northside Gradebook", ClientURI: "https://gradebook.example",
			LogoURI: "https://gradebook.example/logo.png", Email: "ada@school.example",
			Error: "Wrong email or password.",
		},
		"consent": consentView{
			Action: "/consent", InteractionID: "int-123", CSRFToken: "csrf-abc",
			ClientName: "Northside Gradebook", ClientURI: "https://gradebook.example",
			UserEmail: "ada@school.example",
			Scopes: []scopeView{
				{Name: "openid", Description: "Know who you are when you sign in"},
				{Name: "email", Description: "See your email address"},
			},
		},
		"error": errorView{Title: "Invalid request", Message: "The redirect URI is not registered.", Status: 400},
		"logout": logoutView{
			Action: "/api/v1/oidc/end-session", CSRFToken: "csrf-abc", ClientName: "Northside Gradebook",
			ClientID: "client-1", PostLogoutRedirectURI: "https://gradebook.example/bye", State: "st-9",
		},
		"signed_out": signedOutView{ClientName: "Northside Gradebook"},
	}
}

func TestPagesRenderEveryPage(t *testing.T) {
	p := newTestPages(t)
	for name, data := range samplePages() {
		t.Run(name, func(t *testing.T) {
			html := renderPage(t, p, name, data)
			assert.Contains(t, html, `<html lang="en">`)
			assert.Contains(t, html, `<meta name="viewport"`)
			assert.Regexp(t, `<title>[^<]*Calimatic</title>`, html)
			assert.Contains(t, html, `<link rel="stylesheet" href="`+cssPath+`?v=`)
			assert.Contains(t, html, "Calimatic Auth")
		})
	}
}

func TestPagesRenderRejectsAnUnknownPage(t *testing.T) {
	_, err := newTestPages(t).render("nope", nil)
	require.Error(t, err)
}

func TestPagesNeverCarryInlineScriptOrStyle(t *testing.T) {
	p := newTestPages(t)
	for name, data := range samplePages() {
		t.Run(name, func(t *testing.T) {
			html := strings.ToLower(renderPage(t, p, name, data))
			assert.NotContains(t, html, "<script")
			assert.NotContains(t, html, "<style")
			assert.NotContains(t, html, " style=")
			assert.NotRegexp(t, ` on[a-z]+=`, html, "no inline event handlers")
		})
	}
}

func TestLoginPageHasTheFormTheHandlerReads(t *testing.T) {
	html := renderPage(t, newTestPages(t), "login", samplePages()["login"])

	assert.Contains(t, html, `<form class="form" method="post" action="/login">`)
	assert.Contains(t, html, `<input type="hidden" name="interaction" value="int-123">`)
	assert.Contains(t, html, `<input type="hidden" name="csrf_token" value="csrf-abc">`)
	assert.Contains(t, html, `<label for="email">Email</label>`)
	assert.Contains(t, html, `<input id="email" name="email" type="email" value="ada@school.example" autocomplete="username"`)
	assert.Contains(t, html, `<label for="password">Password</label>`)
	assert.Contains(t, html, `<input id="password" name="password" type="password" autocomplete="current-password"`)
	assert.Regexp(t, `<button [^>]*type="submit">Sign in</button>`, html)
	assert.Regexp(t, `role="alert"[^>]*>Wrong email or password.</div>`, html)
}

func TestLoginPageShowsNoAlertWithoutAnError(t *testing.T) {
	html := renderPage(t, newTestPages(t), "login", loginView{Action: "/login"})

	assert.NotContains(t, html, `role="alert"`)
	assert.NotContains(t, html, `aria-invalid`)
}

func TestConsentPageListsScopesAndBothDecisions(t *testing.T) {
	html := renderPage(t, newTestPages(t), "consent", samplePages()["consent"])

	assert.Contains(t, html, `<input type="hidden" name="interaction" value="int-123">`)
	assert.Contains(t, html, `<input type="hidden" name="csrf_token" value="csrf-abc">`)
	assert.Contains(t, html, "Northside Gradebook")
	assert.Contains(t, html, "ada@school.example")
	assert.Contains(t, html, "<li>Know who you are when you sign in</li>")
	assert.Contains(t, html, "<li>See your email address</li>")
	assert.Regexp(t, `<button [^>]*name="decision" value="allow">Allow</button>`, html)
	assert.Regexp(t, `<button [^>]*name="decision" value="deny">Deny</button>`, html)
}

func TestLogoutPageCarriesTheRequestForward(t *testing.T) {
	html := renderPage(t, newTestPages(t), "logout", samplePages()["logout"])

	assert.Contains(t, html, "Sign out of Calimatic?")
	assert.Contains(t, html, `<input type="hidden" name="csrf_token" value="csrf-abc">`)
	assert.Contains(t, html, `<input type="hidden" name="client_id" value="client-1">`)
	assert.Contains(t, html, `<input type="hidden" name="post_logout_redirect_uri" value="https://gradebook.example/bye">`)
	assert.Contains(t, html, `<input type="hidden" name="state" value="st-9">`)
	assert.Regexp(t, `<button [^>]*name="decision" value="logout">Sign out</button>`, html)
	assert.Regexp(t, `<button [^>]*name="decision" value="cancel">Cancel</button>`, html)
}

func TestLogoutPageOmitsHiddenFieldsThatAreNotSet(t *testing.T) {
	html := renderPage(t, newTestPages(t), "logout", logoutView{Action: "/logout", CSRFToken: "c"})

	assert.NotContains(t, html, `name="client_id"`)
	assert.NotContains(t, html, `name="post_logout_redirect_uri"`)
	assert.NotContains(t, html, `name="state"`)
}

func TestErrorPageShowsTitleAndMessage(t *testing.T) {
	html := renderPage(t, newTestPages(t), "error", samplePages()["error"])

	assert.Contains(t, html, "<title>Invalid request · Calimatic</title>")
	assert.Contains(t, html, "<h1>Invalid request</h1>")
	assert.Contains(t, html, "The redirect URI is not registered.")
	assert.Contains(t, html, "Error 400")
}

func TestSignedOutPageSaysSo(t *testing.T) {
	html := renderPage(t, newTestPages(t), "signed_out", signedOutView{})

	assert.Contains(t, html, "signed out of your Calimatic account")
}

func TestPagesEscapeHostileClientStrings(t *testing.T) {
	p := newTestPages(t)
	cases := []struct {
		name, hostile, escaped string
	}{
		{"a script tag in the name is shown as text", `<script>alert(1)</script>`, `&lt;script&gt;alert(1)&lt;/script&gt;`},
		{"a quote in the name cannot open an attribute", `" onmouseover="x`, `&#34; onmouseover=&#34;x`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			views := map[string]any{
				"login":      loginView{ClientName: tc.hostile, Email: tc.hostile, Error: tc.hostile},
				"consent":    consentView{ClientName: tc.hostile, UserEmail: tc.hostile, Scopes: []scopeView{{Name: tc.hostile}}},
				"error":      errorView{Title: tc.hostile, Message: tc.hostile},
				"logout":     logoutView{ClientName: tc.hostile, State: tc.hostile, PostLogoutRedirectURI: tc.hostile},
				"signed_out": signedOutView{ClientName: tc.hostile},
			}
			for page, data := range views {
				html := renderPage(t, p, page, data)
				assert.NotContains(t, html, tc.hostile, page)
				assert.Contains(t, html, tc.escaped, page)
				assert.NotContains(t, strings.ToLower(html), "<script", page)
			}
		})
	}
}

func TestPagesLinkOnlySafeClientURIs(t *testing.T) {
	p := newTestPages(t)
	cases := []struct {
		name, clientURI, logoURI string
		link, logo               bool
	}{
		{"https homepage and logo are shown", "https://school.example/app", "https://school.example/logo.png", true, true},
		{"an http localhost homepage is linked for development", "http://localhost:3000", "", true, false},
		{"a javascript homepage is not linked", "javascript:alert(1)", "", false, false},
		{"a plain http homepage is not linked", "http://school.example", "", false, false},
		{"a lookalike localhost host is not linked", "http://localhost.evil.example", "", false, false},
		{"a homepage hiding its host behind user info is not linked", "https://school.example@evil.example", "", false, false},
		{"an http logo is not loaded", "", "http://school.example/logo.png", false, false},
		{"a data logo is not loaded", "", "data:image/svg+xml,<svg onload=alert(1)>", false, false},
		{"a javascript logo is not loaded", "", "javascript:alert(1)", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, page := range []string{"login", "consent"} {
				var data any = loginView{ClientName: "App", ClientURI: tc.clientURI, LogoURI: tc.logoURI}
				if page == "consent" {
					data = consentView{ClientName: "App", ClientURI: tc.clientURI, LogoURI: tc.logoURI}
				}
				html := renderPage(t, p, page, data)
				assert.Equal(t, tc.link, strings.Contains(html, `<a class="client-link"`), page)
				assert.Equal(t, tc.logo, strings.Contains(html, `<img`), page)
				if tc.link {
					assert.Contains(t, html, `href="`+tc.clientURI+`"`, page)
				}
				if tc.logo {
					assert.Contains(t, html, `src="`+tc.logoURI+`"`, page)
				}
				assert.NotContains(t, html, "javascript:", page)
			}
		})
	}
}

func TestCSSHandler(t *testing.T) {
	p := newTestPages(t)
	app := fiber.New()
	app.Get(cssPath, p.cssHandler)

	resp, err := app.Test(httptest.NewRequest(nethttp.MethodGet, cssPath, nil))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, fiber.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/css; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, "public, max-age=86400", resp.Header.Get("Cache-Control"))
	assert.Equal(t, p.css, body)
	etag := resp.Header.Get("ETag")
	require.Regexp(t, `^"[0-9a-f]+"$`, etag, "a strong ETag")

	cases := []struct {
		name, ifNoneMatch string
		status            int
	}{
		{"the same ETag is not modified", etag, fiber.StatusNotModified},
		{"a weak form of the ETag is not modified", "W/" + etag, fiber.StatusNotModified},
		{"an ETag in a list is not modified", `"old", ` + etag, fiber.StatusNotModified},
		{"a wildcard is not modified", "*", fiber.StatusNotModified},
		{"a stale ETag gets the stylesheet", `"stale"`, fiber.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(nethttp.MethodGet, cssPath+"?v=123", nil)
			req.Header.Set("If-None-Match", tc.ifNoneMatch)
			resp, err := app.Test(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, etag, resp.Header.Get("ETag"))
			if tc.status == fiber.StatusNotModified {
				assert.Empty(t, body)
			} else {
				assert.Equal(t, p.css, body)
			}
		})
	}
}

func TestStylesheetIsServedFromTheLinkedPath(t *testing.T) {
	p := newTestPages(t)
	html := renderPage(t, p, "signed_out", signedOutView{})

	assert.Contains(t, html, `href="`+cssPath+`?v=`+strings.Trim(p.cssETag, `"`)[:16]+`"`)
}

func TestConsentPageLinksOnlyHTTPSPolicyAndTerms(t *testing.T) {
	p := newTestPages(t)
	html := renderPage(t, p, "consent", consentView{ClientName: "App",
		PolicyURI: "https://app.example/privacy", TosURI: "javascript:alert(1)"})
	assert.Contains(t, html, `href="https://app.example/privacy"`)
	assert.Contains(t, html, "Privacy policy")
	assert.NotContains(t, html, "javascript:")
	assert.NotContains(t, html, "Terms of service", "an unsafe terms link is not shown")
	html = renderPage(t, p, "consent", consentView{ClientName: "App"})
	assert.NotContains(t, html, "client-terms", "no links, no paragraph")
}
