package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// screenshots, when set, saves a screenshot of the login and consent pages:
// "1" or "true" into the test's temporary directory (logged), anything else
// names a directory. CALIMATIC_TEST_SCREENSHOTS works the same way.
var screenshots = flag.String("browser.screenshots", os.Getenv("CALIMATIC_TEST_SCREENSHOTS"),
	`save login and consent screenshots: "1" for a temporary directory, or a directory`)

// browserTimeout bounds one browser journey; the steps poll, never sleep.
const browserTimeout = 60 * time.Second

// chromiumPath finds Chromium: CALIMATIC_TEST_CHROMIUM when set (and then
// only there), else /usr/bin/chromium, else chromium in PATH. Without one the
// test skips, unless the environment requires every backend (CI), where it
// fails.
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/chromium"}
	if p, err := exec.LookPath("chromium"); err == nil {
		candidates = append(candidates, p)
	}
	if p := os.Getenv("CALIMATIC_TEST_CHROMIUM"); p != "" {
		candidates = []string{p}
	}
	for _, p := range candidates {
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := fmt.Sprintf("Chromium not found at %s: install it or set CALIMATIC_TEST_CHROMIUM", strings.Join(candidates, " or "))
	if os.Getenv("CALIMATIC_TEST_REQUIRE_BACKENDS") == "1" {
		t.Fatal(msg + " (CALIMATIC_TEST_REQUIRE_BACKENDS=1)")
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts headless Chromium with a fresh profile.
func newBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	require.NoError(t, chromedp.Do(browserCtx), "Chromium must start")
	return browserCtx
}

// freshProfile opens a tab in a new browser context of the browser: its own
// cookies, like a private window, so each journey starts signed out.
func freshProfile(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	return ctx
}

// callbackServer is the relying party's redirect_uri on loopback. It hands
// each callback's query to the test.
type callbackServer struct {
	*httptest.Server
	got chan url.Values
}

func newCallbackServer(t *testing.T) *callbackServer {
	t.Helper()
	cb := &callbackServer{got: make(chan url.Values, 4)}
	cb.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		cb.got <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Back at the app</title><h1 id="done">Back at the app</h1>`)
	}))
	t.Cleanup(cb.Close)
	return cb
}

func (cb *callbackServer) wait(t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-cb.got:
		return q
	case <-time.After(browserTimeout):
		require.FailNow(t, "the browser never reached the callback")
		return nil
	}
}

// registerBrowserClient registers a confidential client whose redirect_uri
// is the callback server.
func registerBrowserClient(t *testing.T, srv *testServer, name, redirectURI string) (id, secret string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"client_name":   name,
		"redirect_uris": []string{redirectURI},
		"grant_types":   []string{"authorization_code", "refresh_token"},
		"scope":         "openid profile email",
	})
	require.NoError(t, err)
	resp, err := http.Post(srv.BaseURL+"/api/v1/oidc/register", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&reg))
	return reg.ClientID, reg.ClientSecret
}

// Selectors by what a user sees: the input a label names, a button's text.
func labelledInput(label string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//input[@id=//label[normalize-space()=%q]/@for]`, label))
}

func buttonNamed(text string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//button[normalize-space()=%q]`, text))
}

const submitButton = chromedp.Search(`//form//button[@type="submit"]`)

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := *screenshots
	switch dir {
	case "":
		return
	case "1", "true":
		dir = t.TempDir()
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is PNG
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	prefix := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	file := filepath.Join(dir, prefix+"-"+name+".png")
	require.NoError(t, os.WriteFile(file, png, 0o644))
	t.Logf("screenshot: %s", file)
}

// signInToConsent opens authURL, signs in on the login page as a user would
// (typing into the inputs labelled Email and Password and clicking the
// submit button), and waits for the consent page.
func signInToConsent(t *testing.T, browser context.Context, authURL string) {
	t.Helper()
	require.NoError(t, chromedp.Do(browser,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(labelledInput("Email")),
		chromedp.WaitVisible(labelledInput("Password")),
	), "the login page has inputs labelled Email and Password")
	screenshot(t, browser, "login")
	require.NoError(t, chromedp.Do(browser,
		chromedp.SendKeys(labelledInput("Email"), seedEmail),
		chromedp.SendKeys(labelledInput("Password"), seedPassword),
		chromedp.Click(submitButton),
		chromedp.WaitVisible(buttonNamed("Allow")),
		chromedp.WaitVisible(buttonNamed("Deny")),
	), "signing in leads to the consent page with Allow and Deny")
	screenshot(t, browser, "consent")
}

// TestBrowserSignIn drives headless Chromium through the login and consent
// pages as a user would, then redeems the code as the relying party.
func TestBrowserSignIn(t *testing.T) {
	chromium := chromiumPath(t)
	t.Parallel()
	srv := startServer(t, nil)
	cb := newCallbackServer(t)
	redirectURI := cb.URL + "/callback"

	ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
	provider, err := oidc.NewProvider(ctx, srv.BaseURL)
	require.NoError(t, err)
	chrome := newBrowser(t, chromium)

	t.Run("a user signs in, allows access and the app gets a verified ID token", func(t *testing.T) {
		const name = "Gradebook Browser Test"
		id, secret := registerBrowserClient(t, srv, name, redirectURI)
		rp := oauth2.Config{
			ClientID: id, ClientSecret: secret, Endpoint: provider.Endpoint(),
			RedirectURL: redirectURI, Scopes: []string{"openid", "profile", "email"},
		}
		verifier, state, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()[:20], oauth2.GenerateVerifier()[:20]
		authURL := rp.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))

		browser := freshProfile(t, chrome)
		signInToConsent(t, browser, authURL)
		heading, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("h1")))
		require.NoError(t, err)
		assert.Contains(t, heading, name, "the consent page names the client")
		require.NoError(t, chromedp.Do(browser, chromedp.Click(buttonNamed("Allow"))))

		q := cb.wait(t)
		require.Empty(t, q.Get("error"), q.Get("error_description"))
		assert.Equal(t, state, q.Get("state"))
		assert.Equal(t, srv.BaseURL, q.Get("iss"))
		require.NoError(t, chromedp.Do(browser, chromedp.WaitVisible(chromedp.ID("done"))))
		location, err := chromedp.Run(browser, chromedp.Location())
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(location, redirectURI+"?"), "the browser lands on the callback, at %s", location)

		tok, err := rp.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		require.NoError(t, err, "the code redeems over HTTP")
		raw, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&oidc.Config{ClientID: id}).Verify(ctx, raw)
		require.NoError(t, err, "the ID token verifies")
		assert.Equal(t, nonce, idt.Nonce)
		var claims struct {
			Email string `json:"email"`
		}
		require.NoError(t, idt.Claims(&claims))
		assert.Equal(t, seedEmail, claims.Email)
	})

	t.Run("denying access sends the user back with access_denied", func(t *testing.T) {
		id, secret := registerBrowserClient(t, srv, "Denied Browser Test", redirectURI)
		rp := oauth2.Config{
			ClientID: id, ClientSecret: secret, Endpoint: provider.Endpoint(),
			RedirectURL: redirectURI, Scopes: []string{"openid", "email"},
		}
		state := oauth2.GenerateVerifier()[:20]
		authURL := rp.AuthCodeURL(state, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		browser := freshProfile(t, chrome)
		signInToConsent(t, browser, authURL)
		require.NoError(t, chromedp.Do(browser, chromedp.Click(buttonNamed("Deny"))))
		q := cb.wait(t)
		assert.Equal(t, "access_denied", q.Get("error"))
		assert.Equal(t, state, q.Get("state"))
		assert.Empty(t, q.Get("code"))
	})
}
