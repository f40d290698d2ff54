package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/calimatic/calimatic-auth/testsuite/fakeidp"
)

// adminCall sends a JSON request with the seed's platform admin key and
// decodes the answer, checking its status.
func adminCall(t *testing.T, srv *testServer, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, srv.BaseURL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+seedAdminKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	require.Equal(t, want, resp.StatusCode, "%s %s: %v", method, path, out)
	return out
}

// TestBrowserFederatedSignIn: a pupil of a school that signs in with its
// own identity provider types their email on the email-first page, signs
// in at the upstream, and comes back to the app signed in, with an
// account made just in time.
func TestBrowserFederatedSignIn(t *testing.T) {
	chromium := chromiumPath(t)
	t.Parallel()
	srv := startServer(t, nil)
	idp := fakeidp.New(t, fakeidp.WithClient(fakeidp.Client{
		ID: "calimatic", Secret: "upstream-secret", RedirectURIs: []string{srv.BaseURL + "/login/federated/callback"},
	}))
	idp.SetMode(fakeidp.Form)
	const email = "lisa@springfield-elementary.example"
	idp.SetUser(fakeidp.User{Sub: "workspace-lisa", Email: email, EmailVerified: true, Name: "Lisa Simpson", GivenName: "Lisa", FamilyName: "Simpson"})

	org := adminCall(t, srv, http.MethodPost, "/api/v1/admin/organizations", map[string]any{"name": "Springfield Elementary"}, http.StatusCreated)
	orgPath := "/api/v1/admin/organizations/" + org["id"].(string)
	adminCall(t, srv, http.MethodPut, orgPath+"/domains/springfield-elementary.example", nil, http.StatusCreated)
	adminCall(t, srv, http.MethodPost, orgPath+"/identity-providers", map[string]any{
		"name": "Springfield Workspace", "issuer": idp.Issuer(), "clientId": "calimatic", "clientSecret": "upstream-secret",
		"domains": []string{"springfield-elementary.example"}, "jitProvisioning": true,
	}, http.StatusCreated)

	cb := newCallbackServer(t)
	redirectURI := cb.URL + "/callback"
	id, secret := registerBrowserClient(t, srv, "Gradebook", redirectURI)
	ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
	provider, err := oidc.NewProvider(ctx, srv.BaseURL)
	require.NoError(t, err)
	rp := oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirectURI, Scopes: []string{"openid", "profile", "email"}}
	verifier, state, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()[:20], oauth2.GenerateVerifier()[:20]
	authURL := rp.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))

	browser := freshProfile(t, newBrowser(t, chromium))
	require.NoError(t, chromedp.Do(browser,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(labelledInput("Email")),
		chromedp.WaitVisible(buttonNamed("Continue")),
	), "the sign-in page asks for the email first")
	_, err = chromedp.Run(browser, chromedp.WaitNotPresent(labelledInput("Password")))
	require.NoError(t, err, "and nothing else")
	keepScreenshot(t, browser, "1-email-first")
	require.NoError(t, chromedp.Do(browser,
		chromedp.SendKeys(labelledInput("Email"), email),
		chromedp.Click(buttonNamed("Continue")),
		chromedp.WaitVisible(buttonNamed("Continue as "+email)),
	), "the school's domain sends the browser to its identity provider")
	keepScreenshot(t, browser, "2-upstream")
	require.NoError(t, chromedp.Do(browser,
		chromedp.Click(buttonNamed("Continue as "+email)),
		chromedp.WaitVisible(buttonNamed("Allow")),
	), "back from the upstream, the consent page")
	keepScreenshot(t, browser, "3-consent")
	require.NoError(t, chromedp.Do(browser, chromedp.Click(buttonNamed("Allow"))))

	q := cb.wait(t)
	require.Empty(t, q.Get("error"), q.Get("error_description"))
	require.Equal(t, state, q.Get("state"))
	tok, err := rp.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: id}).Verify(ctx, raw)
	require.NoError(t, err)
	require.Equal(t, nonce, idt.Nonce)
	var claims struct {
		Email string   `json:"email"`
		Name  string   `json:"name"`
		AMR   []string `json:"amr"`
	}
	require.NoError(t, idt.Claims(&claims))
	assert.Equal(t, email, claims.Email)
	assert.Equal(t, "Lisa Simpson", claims.Name)
	assert.Contains(t, claims.AMR, "fed")
	require.NoError(t, chromedp.Do(browser, chromedp.WaitVisible(chromedp.ID("done"))))
	keepScreenshot(t, browser, "4-back-at-the-app")
	members := adminCall(t, srv, http.MethodGet, orgPath+"/users", nil, http.StatusOK)
	raw2, _ := json.Marshal(members)
	assert.True(t, strings.Contains(string(raw2), email), "the pupil is the school's member now: %s", raw2)
}
