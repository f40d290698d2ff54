package fakeidp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/calimatic/calimatic-auth/testsuite/fakeidp"
)

const redirectURI = "https://rp.example/callback"

func newIdP(t *testing.T, opts ...fakeidp.Option) *fakeidp.IdP {
	opts = append([]fakeidp.Option{fakeidp.WithClient(fakeidp.Client{
		ID: "rp", Secret: "s3cret", RedirectURIs: []string{redirectURI},
		PostLogoutRedirectURIs: []string{"https://rp.example/signed-out"},
	})}, opts...)
	return fakeidp.New(t, opts...)
}

// authorizeURL is a valid request for rp with verifier's challenge, edit
// applied to its parameters.
func authorizeURL(idp *fakeidp.IdP, verifier string, edit func(url.Values)) string {
	q := url.Values{
		"client_id": {"rp"}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"st"}, "nonce": {"nc"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	if edit != nil {
		edit(q)
	}
	return idp.Issuer() + "/authorize?" + q.Encode()
}

// redeem posts code to the token endpoint with client_secret_post and
// returns the status and the decoded answer.
func redeem(t *testing.T, idp *fakeidp.IdP, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(idp.Issuer()+"/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var answer map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	return resp.StatusCode, answer
}

func redeemForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "client_id": {"rp"}, "client_secret": {"s3cret"},
	}
}

func TestAuthorize(t *testing.T) {
	t.Run("in Auto mode redirects back with a code and the state", func(t *testing.T) {
		idp := newIdP(t)
		back := idp.Authorize(t, authorizeURL(idp, oauth2.GenerateVerifier(), nil))
		assert.Equal(t, "rp.example", back.Host)
		assert.NotEmpty(t, back.Query().Get("code"))
		assert.Equal(t, "st", back.Query().Get("state"))
	})
	t.Run("in Deny mode redirects back with access_denied", func(t *testing.T) {
		idp := newIdP(t)
		idp.SetMode(fakeidp.Deny)
		back := idp.Authorize(t, authorizeURL(idp, oauth2.GenerateVerifier(), nil))
		assert.Equal(t, "access_denied", back.Query().Get("error"))
		assert.Equal(t, "st", back.Query().Get("state"))
		assert.False(t, back.Query().Has("code"))
	})
	t.Run("refuses, without redirecting, an unknown client or an unregistered redirect_uri", func(t *testing.T) {
		idp := newIdP(t)
		for _, edit := range []func(url.Values){
			func(q url.Values) { q.Set("client_id", "stranger") },
			func(q url.Values) { q.Set("redirect_uri", "https://evil.example/callback") },
		} {
			resp, err := http.Get(authorizeURL(idp, "v", edit))
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		}
	})
	t.Run("redirects back with an error a request without nonce, PKCE S256 or openid", func(t *testing.T) {
		idp := newIdP(t)
		for name, edit := range map[string]func(url.Values){
			"nonce":                 func(q url.Values) { q.Del("nonce") },
			"code_challenge":        func(q url.Values) { q.Del("code_challenge") },
			"code_challenge_method": func(q url.Values) { q.Set("code_challenge_method", "plain") },
			"openid":                func(q url.Values) { q.Set("scope", "email") },
		} {
			back := idp.Authorize(t, authorizeURL(idp, "v", edit))
			assert.NotEmpty(t, back.Query().Get("error"), name)
			assert.False(t, back.Query().Has("code"), name)
		}
	})
	t.Run("in Form mode shows a button that, posted, redirects back with a code", func(t *testing.T) {
		idp := newIdP(t)
		idp.SetMode(fakeidp.Form)
		resp, err := http.Get(authorizeURL(idp, "v", nil))
		require.NoError(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Contains(t, string(page), "Continue as ada@example.com")
		assert.Contains(t, string(page), `<form method="post" action="/authorize">`)

		q, err := url.ParseQuery(strings.TrimPrefix(authorizeURL(idp, "v", nil), idp.Issuer()+"/authorize?"))
		require.NoError(t, err)
		q.Set("continue", "1")
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err = noFollow.PostForm(idp.Issuer()+"/authorize", q)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode)
		back, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		assert.NotEmpty(t, back.Query().Get("code"))
	})
}

func TestToken(t *testing.T) {
	t.Run("a code is redeemed once, with its verifier", func(t *testing.T) {
		idp := newIdP(t)
		verifier := oauth2.GenerateVerifier()
		code := idp.Authorize(t, authorizeURL(idp, verifier, nil)).Query().Get("code")

		wrong := redeemForm(code, oauth2.GenerateVerifier())
		status, answer := redeem(t, idp, wrong)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", answer["error"])

		code = idp.Authorize(t, authorizeURL(idp, verifier, nil)).Query().Get("code")
		status, answer = redeem(t, idp, redeemForm(code, verifier))
		require.Equal(t, http.StatusOK, status, answer)
		assert.NotEmpty(t, answer["id_token"])

		status, answer = redeem(t, idp, redeemForm(code, verifier))
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", answer["error"], "a code is single use")
	})
	t.Run("a wrong secret, or two authentication methods, are refused", func(t *testing.T) {
		idp := newIdP(t)
		form := redeemForm("whatever", "v")
		form.Set("client_secret", "wrong")
		status, answer := redeem(t, idp, form)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "invalid_client", answer["error"])

		req, err := http.NewRequest(http.MethodPost, idp.Issuer()+"/token", strings.NewReader(redeemForm("whatever", "v").Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("rp", "s3cret")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
}

func TestKeysAndAvailability(t *testing.T) {
	kids := func(t *testing.T, idp *fakeidp.IdP) []string {
		resp, err := http.Get(idp.Issuer() + "/jwks")
		require.NoError(t, err)
		defer resp.Body.Close()
		var set struct{ Keys []struct{ Kid string } }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
		var out []string
		for _, k := range set.Keys {
			out = append(out, k.Kid)
		}
		return out
	}
	t.Run("after RotateKey only the new key is published", func(t *testing.T) {
		idp := newIdP(t)
		old := kids(t, idp)
		require.Len(t, old, 1)
		kid := idp.RotateKey()
		assert.Equal(t, []string{kid}, kids(t, idp))
		assert.NotEqual(t, old[0], kid)
	})
	t.Run("with KeepRetiredKeys the old key stays published after the new", func(t *testing.T) {
		idp := newIdP(t, fakeidp.KeepRetiredKeys())
		old := kids(t, idp)
		kid := idp.RotateKey()
		assert.Equal(t, []string{kid, old[0]}, kids(t, idp))
	})
	t.Run("Down answers 503 everywhere until Up, and requests are counted", func(t *testing.T) {
		idp := newIdP(t)
		idp.Down()
		resp, err := http.Get(idp.Issuer() + "/.well-known/openid-configuration")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		idp.Up()
		resp, err = http.Get(idp.Issuer() + "/.well-known/openid-configuration")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, 2, idp.Requests().Discovery)
	})
	t.Run("end session goes back only to a registered address", func(t *testing.T) {
		idp := newIdP(t)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for target, want := range map[string]int{
			"https://rp.example/signed-out": http.StatusFound,
			"https://evil.example/":         http.StatusBadRequest,
		} {
			resp, err := noFollow.Get(idp.Issuer() + "/logout?" + url.Values{"post_logout_redirect_uri": {target}, "state": {"s"}}.Encode())
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, want, resp.StatusCode, target)
		}
		assert.Equal(t, 2, idp.Requests().EndSession)
	})
}
