package app_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/testsuite/oidcflow"
)

// TestEndToEndPostgres runs the black-box suite against the real app on the
// postgres driver, in a fresh schema. Rate limits are off, as on memory.
func TestEndToEndPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	usePG := usePostgres(dsn, newKEK())
	srv := startServer(t, func(c *config.Config) {
		usePG(c)
		c.RateLimit.Enabled = false
	})
	oidcflow.Run(t, srv.env())
}

// TestPostgresRestart stops the server and starts it again on the same
// schema: the client, the refresh token, the signing keys and so a token
// issued before the restart all still work after it. A different master key
// stops the start instead of replacing the keys.
func TestPostgresRestart(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	testRestart(t, func(kek string) func(*config.Config) { return usePostgres(dsn, kek) })
}

// testRestart is the restart test on a backend: backend(kek) selects it
// with that master key, on the same data every time.
func testRestart(t *testing.T, backend func(kek string) func(*config.Config)) {
	kek := newKEK()
	ctx := context.Background()

	callback := newCodeCatcher(t)
	first := startServer(t, backend(kek))
	clientID, secret := guideRegister(t, first.BaseURL, callback.URL+"/cb")
	tokens := signInForTokens(t, ctx, first.BaseURL, clientID, secret, callback)
	require.NotEmpty(t, tokens.RefreshToken, "the code exchange returns a refresh token")
	requireUserInfo(t, first.BaseURL, tokens.AccessToken, http.StatusOK)
	requireStorageReady(t, first.BaseURL)

	// The second server listens where the first did, with the same issuer,
	// so that the access token's iss still matches.
	issuer, addr := first.BaseURL, strings.TrimPrefix(first.BaseURL, "http://")
	first.stop()

	// A wrong master key must fail the start, not replace the keys.
	_, err := tryStart(t, func(c *config.Config) {
		backend(newKEK())(c)
		c.Issuer, c.HTTP.Addr = issuer, addr
	})
	require.ErrorContains(t, err, "does not decrypt")

	second := startServer(t, func(c *config.Config) {
		backend(kek)(c)
		c.Issuer, c.HTTP.Addr = issuer, addr
	})
	requireUserInfo(t, second.BaseURL, tokens.AccessToken, http.StatusOK)

	refreshed := tokenRequest(t, second.BaseURL, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {tokens.RefreshToken},
		"client_id":     {clientID},
		"client_secret": {secret},
	})
	require.NotEmpty(t, refreshed.AccessToken)
	require.NotEqual(t, tokens.RefreshToken, refreshed.RefreshToken, "refresh rotates the token")
	requireUserInfo(t, second.BaseURL, refreshed.AccessToken, http.StatusOK)
}

// codeCatcher is a relying party's callback: it records the query it gets.
type codeCatcher struct {
	*httptest.Server
	got chan url.Values
}

func newCodeCatcher(t *testing.T) *codeCatcher {
	t.Helper()
	c := &codeCatcher{got: make(chan url.Values, 1)}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case c.got <- r.URL.Query():
		default:
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(c.Close)
	return c
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// signInForTokens runs the authorization code flow with PKCE as the seed
// user and exchanges the code.
func signInForTokens(t *testing.T, ctx context.Context, base, clientID, secret string, cb *codeCatcher) tokenResponse {
	t.Helper()
	code, verifier := signInForCode(t, ctx, base, clientID, cb)
	return tokenRequest(t, base, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {cb.URL + "/cb"},
		"code_verifier": {verifier},
		"client_id":     {clientID},
		"client_secret": {secret},
	})
}

// signInForCode runs the authorization code flow with PKCE as the seed user
// up to the callback, and returns the code and its PKCE verifier.
func signInForCode(t *testing.T, ctx context.Context, base, clientID string, cb *codeCatcher) (code, verifier string) {
	t.Helper()
	verifierBytes := make([]byte, 32)
	_, _ = rand.Read(verifierBytes)
	verifier = base64.RawURLEncoding.EncodeToString(verifierBytes)
	sum := sha256.Sum256([]byte(verifier))
	redirectURI := cb.URL + "/cb"
	authURL := base + "/api/v1/oidc/authorize?" + url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {"openid profile email"},
		"state":                 {"restart-state"},
		"nonce":                 {"restart-nonce"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}.Encode()

	q := browseToCallback(t, ctx, authURL, cb)
	require.Equal(t, "restart-state", q.Get("state"))
	require.NotEmpty(t, q.Get("code"), "callback query: %v", q)
	return q.Get("code"), verifier
}

// browseToCallback plays a fresh browser from authURL: the seed user signs
// in and consents, and the query the client's callback got is returned.
func browseToCallback(t *testing.T, ctx context.Context, authURL string, cb *codeCatcher) url.Values {
	t.Helper()
	browser := guideBrowser(t)
	page := guideGet(t, ctx, browser, authURL)
	login := page.form(t, "email")
	require.NotNil(t, login, "the login page has a form; got %d at %s: %s", page.status, page.url, page.body)
	vals := login.values()
	vals.Set("email", seedEmail)
	vals.Set("password", seedPassword)
	page = guidePost(t, ctx, browser, login.action, vals)
	// The consent page, unless the user consented to this client before.
	if consent := page.form(t, "decision"); consent != nil {
		vals = consent.values()
		vals.Set("decision", "allow")
		page = guidePost(t, ctx, browser, consent.action, vals)
	}
	require.Equal(t, http.StatusOK, page.status, "consent ends on the callback; at %s: %s", page.url, page.body)
	select {
	case q := <-cb.got:
		return q
	default:
		require.FailNow(t, "the flow did not reach the callback", "at %s: %s", page.url, page.body)
	}
	return nil
}

func tokenRequest(t *testing.T, base string, form url.Values) tokenResponse {
	t.Helper()
	resp, err := http.PostForm(base+"/api/v1/oidc/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "token response: %s", raw)
	var tr tokenResponse
	require.NoError(t, json.Unmarshal(raw, &tr), "token response: %s", raw)
	return tr
}

func requireUserInfo(t *testing.T, base, accessToken string, want int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/oidc/userinfo", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(t, want, resp.StatusCode, fmt.Sprintf("userinfo: %s", raw))
}

// requireStorageReady checks that /readyz reports the database as a check.
func requireStorageReady(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, body.Ready)
	require.Equal(t, "ok", body.Checks["storage"], "checks: %v", body.Checks)
}
