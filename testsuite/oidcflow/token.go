package oidcflow

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// uuidPattern is the canonical, lower-case UUID form.
var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

var tokenChecks = []check{
	{"the token response has the RFC 6749 fields and Cache-Control: no-store", tokenResponseFields},
	{"the ID token says how the user signed in: auth_time, amr pwd and acr 1", idTokenAuthentication},
	{"a wrong code_verifier is invalid_grant", wrongVerifier},
	{"a missing code_verifier is invalid_request", missingVerifier},
	{"a wrong redirect_uri is invalid_grant", wrongRedirectURI},
	{"a code issued to another client is invalid_grant, and its own client still redeems it", codeOfAnotherClient},
	{"a replayed code is invalid_grant and revokes the tokens it issued", codeReplay},
	{"refresh rotates the refresh token on every use", refreshRotation},
	{"a replayed refresh token is invalid_grant and revokes its whole family", refreshReplay},
	{"refresh may narrow the scope but never widen it", refreshScope},
	{"a public client refreshes with rotation and no secret", refreshPublic},
	{"a refresh token of another client is invalid_grant and stays usable", refreshOtherClient},
	{"client_credentials issues an access token without id_token or refresh_token", clientCredentials},
	{"client_credentials is refused for a public client and an unregistered grant", clientCredentialsRefused},
	{"failed client authentication is 401 invalid_client, with WWW-Authenticate after Basic", invalidClient},
	{"other malformed token requests get RFC 6749 errors", tokenRequestErrors},
}

// verifyAccessToken checks an RFC 9068 access token with keyfunc against the
// JWKS endpoint: signature, typ, iss, aud, client_id, exp, iat and jti.
func (s *suite) verifyAccessToken(t *testing.T, raw string, c *client) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, claims, s.keys.Keyfunc,
		jwt.WithIssuer(s.env.BaseURL), jwt.WithAudience(c.ID), jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), jwt.WithValidMethods([]string{"RS256", "ES256"}))
	require.NoError(t, err, "the access token must verify against JWKS")
	assert.Equal(t, "at+jwt", tok.Header["typ"], "RFC 9068 §2.1")
	assert.NotEmpty(t, tok.Header["kid"])
	assert.Equal(t, c.ID, claims["client_id"])
	jti, _ := claims["jti"].(string)
	assert.GreaterOrEqual(t, len(jti), 16, "jti must be a long random value")
	exp, _ := claims["exp"].(float64)
	iat, _ := claims["iat"].(float64)
	assert.InDelta(t, s.env.AccessTokenTTL.Seconds(), exp-iat, 1, "exp is the access token lifetime after iat")
	assert.NotEmpty(t, claims["sub"])
	return claims
}

// codeFor runs r in a signed-in browser and returns an unredeemed code.
func (s *suite) codeFor(t *testing.T, r *authRequest) string {
	t.Helper()
	return s.code(t, r, s.signedInAgent(t).signIn(t, r))
}

// codeForm is the raw authorization_code grant request.
func codeForm(r *authRequest, code string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {r.client.RedirectURI}, "code_verifier": {r.Verifier},
	}
}

func tokenResponseFields(t *testing.T, s *suite) {
	c := s.register(t, nil)
	r := s.newAuthRequest(c, "openid", "email")
	resp := s.postForm(t, pathToken, codeForm(r, s.codeFor(t, r)), c)
	require.Equal(t, http.StatusOK, resp.Status, "body %q", resp.Body)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), "RFC 6749 §5.1")
	assert.Contains(t, resp.Header.Get("Content-Type"), "application/json")
	m := resp.JSON(t)
	assert.Equal(t, "Bearer", m["token_type"])
	assert.EqualValues(t, s.env.AccessTokenTTL.Seconds(), m["expires_in"])
	assert.Equal(t, "openid email", m["scope"])
	for _, k := range []string{"access_token", "id_token", "refresh_token"} {
		assert.NotEmpty(t, m[k], k)
	}

	// Errors are not cached either.
	resp = s.postForm(t, pathToken, codeForm(r, "not-a-code"), c)
	requireOAuthError(t, resp, http.StatusBadRequest, "invalid_grant")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
}

func wrongVerifier(t *testing.T, s *suite) {
	c := s.register(t, nil)
	r := s.newAuthRequest(c)
	code := s.codeFor(t, r)
	r.Verifier = oauth2.GenerateVerifier()
	_, err := s.exchange(t, r, code)
	requireGrantError(t, err, "invalid_grant")
}

func missingVerifier(t *testing.T, s *suite) {
	c := s.register(t, nil)
	r := s.newAuthRequest(c)
	form := codeForm(r, s.codeFor(t, r))
	form.Del("code_verifier")
	requireOAuthError(t, s.postForm(t, pathToken, form, c), http.StatusBadRequest, "invalid_request")
}

func wrongRedirectURI(t *testing.T, s *suite) {
	c := s.register(t, nil)
	for name, uri := range map[string]string{
		"another registered redirect_uri": otherCallback,
		"an unregistered redirect_uri":    "https://evil.example.com/cb",
		"no redirect_uri":                 "",
	} {
		t.Run(name, func(t *testing.T) {
			r := s.newAuthRequest(c)
			form := codeForm(r, s.codeFor(t, r))
			form.Set("redirect_uri", uri)
			requireOAuthError(t, s.postForm(t, pathToken, form, c), http.StatusBadRequest, "invalid_grant")
		})
	}
}

func codeOfAnotherClient(t *testing.T, s *suite) {
	c, thief := s.register(t, nil), s.register(t, nil)
	r := s.newAuthRequest(c)
	code := s.codeFor(t, r)
	stolen := *r
	stolen.client = thief
	_, err := s.exchange(t, &stolen, code)
	requireGrantError(t, err, "invalid_grant")
	// RFC 6749 §4.1.3: the thief's attempt does not spend the code.
	_, err = s.exchange(t, r, code)
	require.NoError(t, err, "the code's own client redeems it after another client tried")
}

func codeReplay(t *testing.T, s *suite) {
	c := s.register(t, nil)
	r := s.newAuthRequest(c)
	code := s.codeFor(t, r)
	first, err := s.exchange(t, r, code)
	require.NoError(t, err)
	s.requireActive(t, c, first.AccessToken, "the first access token before the replay")

	_, err = s.exchange(t, r, code)
	requireGrantError(t, err, "invalid_grant")

	s.requireInactive(t, c, first.AccessToken, "the access token of a replayed code")
	requireInvalidToken(t, s.userinfo(t, first.AccessToken))
	_, err = s.refresh(t, c, first.RefreshToken)
	requireGrantError(t, err, "invalid_grant")
}

func refreshRotation(t *testing.T, s *suite) {
	c := s.register(t, nil)
	r := s.newAuthRequest(c)
	tok := s.signInTokens(t, s.signedInAgent(t), r)
	seen := map[string]bool{tok.RefreshToken: true}
	current := tok.Token
	for i := range 3 {
		next, err := s.refresh(t, c, current.RefreshToken)
		require.NoError(t, err, "refresh %d", i+1)
		require.NotEmpty(t, next.RefreshToken)
		assert.False(t, seen[next.RefreshToken], "refresh %d returns a new refresh token", i+1)
		seen[next.RefreshToken] = true
		assert.NotEqual(t, current.AccessToken, next.AccessToken)
		s.verifyAccessToken(t, next.AccessToken, c)
		// A refreshed ID token carries the same subject and no nonce check
		// applies (OIDC Core §12.2).
		if raw, _ := next.Extra("id_token").(string); raw != "" {
			idt, err := c.verifier.Verify(s.ctx, raw)
			require.NoError(t, err)
			assert.Equal(t, tok.IDToken.Subject, idt.Subject)
		}
		current = next
	}
	s.requireActive(t, c, current.RefreshToken, "the newest refresh token")
	s.requireInactive(t, c, tok.RefreshToken, "a rotated refresh token")
}

func refreshPublic(t *testing.T, s *suite) {
	c := s.register(t, func(m metadata) { m["token_endpoint_auth_method"] = "none" })
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	require.NotEmpty(t, tok.RefreshToken)
	next, err := s.refresh(t, c, tok.RefreshToken)
	require.NoError(t, err)
	assert.NotEqual(t, tok.RefreshToken, next.RefreshToken)
	_, err = s.refresh(t, c, tok.RefreshToken)
	requireGrantError(t, err, "invalid_grant")
	_, err = s.refresh(t, c, next.RefreshToken)
	requireGrantError(t, err, "invalid_grant")

	// A public client that sends a secret is refused.
	withSecret := *c
	withSecret.AuthMethod, withSecret.Secret = "client_secret_post", "ccas_made_up"
	resp := s.postForm(t, pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, &withSecret)
	requireOAuthError(t, resp, http.StatusUnauthorized, "invalid_client")
}

func refreshOtherClient(t *testing.T, s *suite) {
	c, thief := s.register(t, nil), s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	_, err := s.refresh(t, thief, tok.RefreshToken)
	requireGrantError(t, err, "invalid_grant")
	_, err = s.refresh(t, c, tok.RefreshToken)
	assert.NoError(t, err, "the owner's refresh token is not spent by another client's attempt")
}

func refreshReplay(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	second, err := s.refresh(t, c, tok.RefreshToken)
	require.NoError(t, err)
	third, err := s.refresh(t, c, second.RefreshToken)
	require.NoError(t, err)

	_, err = s.refresh(t, c, tok.RefreshToken)
	requireGrantError(t, err, "invalid_grant")

	_, err = s.refresh(t, c, third.RefreshToken)
	requireGrantError(t, err, "invalid_grant")
	s.requireInactive(t, c, third.RefreshToken, "the newest refresh token of a revoked family")
	s.requireInactive(t, c, third.AccessToken, "an access token of a revoked family")
	s.requireInactive(t, c, tok.AccessToken, "the first access token of a revoked family")
}

func refreshScope(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c, "openid", "profile", "email"))

	wide := s.postForm(t, pathToken, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {"openid profile email phone"},
	}, c)
	requireOAuthError(t, wide, http.StatusBadRequest, "invalid_scope")

	// The refused request did not spend the token.
	narrow := s.postForm(t, pathToken, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {"openid email"},
	}, c)
	require.Equal(t, http.StatusOK, narrow.Status, "body %q", narrow.Body)
	m := narrow.JSON(t)
	assert.Equal(t, "openid email", m["scope"])
	claims := s.verifyAccessToken(t, m["access_token"].(string), c)
	assert.Equal(t, "openid email", claims["scope"])
}

func clientCredentials(t *testing.T, s *suite) {
	c := s.register(t, func(m metadata) {
		m["grant_types"] = []string{"client_credentials"}
		m["scope"] = "profile email"
		delete(m, "redirect_uris")
		delete(m, "post_logout_redirect_uris")
	})
	basicClient := s.register(t, func(m metadata) {
		m["grant_types"] = []string{"client_credentials"}
		m["scope"] = "profile email"
		m["token_endpoint_auth_method"] = "client_secret_basic"
		delete(m, "redirect_uris")
		delete(m, "post_logout_redirect_uris")
	})
	for _, c := range []*client{c, basicClient} {
		// RFC 7591 §2: only the registered method authenticates.
		other := *c
		other.AuthMethod = map[string]string{"client_secret_post": "client_secret_basic", "client_secret_basic": "client_secret_post"}[c.AuthMethod]
		require.NotEmpty(t, other.AuthMethod, "the client registered %q", c.AuthMethod)
		refused := s.postForm(t, pathToken, url.Values{"grant_type": {"client_credentials"}, "scope": {"email"}}, &other)
		requireOAuthError(t, refused, http.StatusUnauthorized, "invalid_client")

		resp := s.postForm(t, pathToken, url.Values{"grant_type": {"client_credentials"}, "scope": {"email"}}, c)
		require.Equal(t, http.StatusOK, resp.Status, "%s; body %q", c.AuthMethod, resp.Body)
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		m := resp.JSON(t)
		assert.NotContains(t, m, "id_token", "no user, no ID token")
		assert.NotContains(t, m, "refresh_token", "RFC 6749 §4.4.3")
		assert.Equal(t, "Bearer", m["token_type"])
		claims := s.verifyAccessToken(t, m["access_token"].(string), c)
		assert.Equal(t, c.ID, claims["sub"], "RFC 9068 §2.2: the client is the subject")
		assert.Equal(t, "email", claims["scope"])
	}
	resp := s.postForm(t, pathToken, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, c)
	requireOAuthError(t, resp, http.StatusBadRequest, "invalid_scope")
}

func clientCredentialsRefused(t *testing.T, s *suite) {
	public := s.register(t, func(m metadata) {
		m["token_endpoint_auth_method"] = "none"
		m["grant_types"] = []string{"authorization_code"}
	})
	resp := s.postForm(t, pathToken, url.Values{"grant_type": {"client_credentials"}}, public)
	requireOAuthError(t, resp, http.StatusBadRequest, "unauthorized_client")

	codeOnly := s.register(t, nil)
	resp = s.postForm(t, pathToken, url.Values{"grant_type": {"client_credentials"}}, codeOnly)
	requireOAuthError(t, resp, http.StatusBadRequest, "unauthorized_client")
}

func invalidClient(t *testing.T, s *suite) {
	c := s.register(t, nil)
	form := url.Values{"grant_type": {"client_credentials"}}
	wrong := *c
	wrong.Secret = "ccas_wrong"

	wrong.AuthMethod = "client_secret_basic"
	resp := s.postForm(t, pathToken, form, &wrong)
	requireOAuthError(t, resp, http.StatusUnauthorized, "invalid_client")
	assert.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic "), "RFC 6749 §5.2: a Basic challenge after Basic; got %q", resp.Header.Get("WWW-Authenticate"))

	wrong.AuthMethod = "client_secret_post"
	resp = s.postForm(t, pathToken, form, &wrong)
	requireOAuthError(t, resp, http.StatusUnauthorized, "invalid_client")

	unknown := client{ID: "cca_unknown", Secret: "ccas_unknown", AuthMethod: "client_secret_post"}
	requireOAuthError(t, s.postForm(t, pathToken, form, &unknown), http.StatusUnauthorized, "invalid_client")

	noSecret := *c
	noSecret.AuthMethod = "none"
	requireOAuthError(t, s.postForm(t, pathToken, form, &noSecret), http.StatusUnauthorized, "invalid_client")

	// A malformed Basic header is a failed Basic authentication.
	req := s.newRequest(t, http.MethodPost, pathToken, "application/x-www-form-urlencoded", nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("no-colon")))
	setBody(req, form.Encode())
	resp = s.send(t, req)
	requireOAuthError(t, resp, http.StatusUnauthorized, "invalid_client")
	assert.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))
}

func tokenRequestErrors(t *testing.T, s *suite) {
	c := s.register(t, nil)
	cases := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"a missing grant_type is invalid_request", url.Values{}, http.StatusBadRequest, "invalid_request"},
		{"the password grant is unsupported_grant_type", url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, http.StatusBadRequest, "unsupported_grant_type"},
		{"a missing code is invalid_request", url.Values{"grant_type": {"authorization_code"}, "code_verifier": {"x"}}, http.StatusBadRequest, "invalid_request"},
		{"an unknown code is invalid_grant", url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "code_verifier": {oauth2.GenerateVerifier()}, "redirect_uri": {callbackURI}}, http.StatusBadRequest, "invalid_grant"},
		{"a missing refresh_token is invalid_request", url.Values{"grant_type": {"refresh_token"}}, http.StatusBadRequest, "invalid_request"},
		{"an unknown refresh_token is invalid_grant", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, http.StatusBadRequest, "invalid_grant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.postForm(t, pathToken, tc.form, c)
			requireOAuthError(t, resp, tc.status, tc.code)
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		})
	}
	t.Run("a public client sending Basic, even with an empty password, is invalid_client", func(t *testing.T) {
		public := s.register(t, func(m metadata) { m["token_endpoint_auth_method"] = "none" })
		req := s.newRequest(t, http.MethodPost, pathToken, "application/x-www-form-urlencoded", nil)
		req.SetBasicAuth(public.ID, "")
		setBody(req, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}.Encode())
		requireOAuthError(t, s.send(t, req), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("Basic and a form secret together are invalid_request", func(t *testing.T) {
		req := s.newRequest(t, http.MethodPost, pathToken, "application/x-www-form-urlencoded", nil)
		req.SetBasicAuth(c.ID, c.Secret)
		setBody(req, url.Values{"grant_type": {"client_credentials"}, "client_secret": {c.Secret}}.Encode())
		requireOAuthError(t, s.send(t, req), http.StatusBadRequest, "invalid_request")
	})
}

func idTokenAuthentication(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.newAgent(t), s.newAuthRequest(c))
	id := idClaims(t, tok)
	assert.NotZero(t, id["auth_time"])
	assert.Equal(t, []any{"pwd"}, id["amr"])
	assert.Equal(t, "1", id["acr"], "a password is one factor: level 1")
	assert.Contains(t, s.discovery(t, pathDiscovery)["claims_supported"], "acr")
}
