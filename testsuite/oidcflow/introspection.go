package oidcflow

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var introspectionChecks = []check{
	{"introspection reports an active access token with its fields", introspectActiveAccess},
	{"introspection reports an active refresh token", introspectActiveRefresh},
	{"introspection reports garbage and revoked tokens as only active false", introspectInactive},
	{"introspection requires client authentication", introspectNeedsClient},
	{"introspection reports another client's token as inactive", introspectOtherClient},
	{"introspection names the user only to a client granted the email scope", introspectUsernameNeedsEmail},
	{"revocation answers 200 for an unknown token", revokeUnknown},
	{"revoking an access token makes it inactive and refused by userinfo", revokeAccess},
	{"revoking a refresh token revokes its family's access tokens", revokeRefresh},
	{"revocation requires client authentication and ignores another client's token", revokeNeedsClient},
}

func introspectActiveAccess(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c, "openid", "email"))
	resp := s.postForm(t, pathIntrospect, url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}, c)
	require.Equal(t, http.StatusOK, resp.Status, "body %q", resp.Body)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	m := resp.JSON(t)
	claims := s.verifyAccessToken(t, tok.AccessToken, c)
	assert.Equal(t, true, m["active"])
	assert.Equal(t, "openid email", m["scope"])
	assert.Equal(t, c.ID, m["client_id"])
	assert.Equal(t, s.env.Email, m["username"])
	assert.Equal(t, tok.IDToken.Subject, m["sub"])
	assert.Equal(t, s.env.BaseURL, m["iss"])
	assert.Equal(t, claims["exp"], m["exp"])
	assert.Equal(t, claims["iat"], m["iat"])
	assert.Equal(t, claims["jti"], m["jti"])
	assert.Equal(t, "Bearer", m["token_type"])
}

func introspectActiveRefresh(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	for _, hint := range []string{"", "refresh_token", "access_token"} {
		form := url.Values{"token": {tok.RefreshToken}}
		if hint != "" {
			form.Set("token_type_hint", hint)
		}
		m := s.postForm(t, pathIntrospect, form, c).JSON(t)
		assert.Equal(t, true, m["active"], "hint %q is only a hint (RFC 7662 §2.1)", hint)
		assert.Equal(t, c.ID, m["client_id"])
		assert.Equal(t, tok.IDToken.Subject, m["sub"])
	}
}

func introspectInactive(t *testing.T, s *suite) {
	c := s.register(t, nil)
	for name, token := range map[string]string{
		"garbage":             "garbage",
		"a JWT-shaped string": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
	} {
		s.requireInactive(t, c, token, name)
	}
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	require.Equal(t, http.StatusOK, s.postForm(t, pathRevoke, url.Values{"token": {tok.AccessToken}}, c).Status)
	s.requireInactive(t, c, tok.AccessToken, "a revoked access token")
	require.Equal(t, http.StatusOK, s.postForm(t, pathRevoke, url.Values{"token": {tok.RefreshToken}}, c).Status)
	s.requireInactive(t, c, tok.RefreshToken, "a revoked refresh token")

	resp := s.postForm(t, pathIntrospect, url.Values{}, c)
	requireOAuthError(t, resp, http.StatusBadRequest, "invalid_request")
}

func introspectNeedsClient(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	form := url.Values{"token": {tok.AccessToken}}
	requireOAuthError(t, s.postForm(t, pathIntrospect, form, nil), http.StatusUnauthorized, "invalid_client")
	wrong := *c
	wrong.Secret = "ccas_wrong"
	requireOAuthError(t, s.postForm(t, pathIntrospect, form, &wrong), http.StatusUnauthorized, "invalid_client")
	wrong.AuthMethod = "client_secret_basic"
	resp := s.postForm(t, pathIntrospect, form, &wrong)
	requireOAuthError(t, resp, http.StatusUnauthorized, "invalid_client")
	assert.NotEmpty(t, resp.Header.Get("WWW-Authenticate"), "a Basic challenge after Basic")

	// A public client has no secret, so it cannot authenticate to introspect.
	public := s.register(t, func(m metadata) {
		m["token_endpoint_auth_method"] = "none"
		m["grant_types"] = []string{"authorization_code"}
	})
	requireOAuthError(t, s.postForm(t, pathIntrospect, form, public), http.StatusUnauthorized, "invalid_client")
}

func introspectOtherClient(t *testing.T, s *suite) {
	c, other := s.register(t, nil), s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	s.requireInactive(t, other, tok.AccessToken, "another client's access token")
	s.requireInactive(t, other, tok.RefreshToken, "another client's refresh token")
	s.requireActive(t, c, tok.AccessToken, "the owner's access token")
}

func revokeUnknown(t *testing.T, s *suite) {
	c := s.register(t, nil)
	for _, hint := range []string{"", "access_token", "refresh_token"} {
		form := url.Values{"token": {"never-issued"}}
		if hint != "" {
			form.Set("token_type_hint", hint)
		}
		resp := s.postForm(t, pathRevoke, form, c)
		assert.Equal(t, http.StatusOK, resp.Status, "RFC 7009 §2.2, hint %q; body %q", hint, resp.Body)
	}
}

func revokeAccess(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	require.Equal(t, http.StatusOK, s.userinfo(t, tok.AccessToken).Status)
	resp := s.postForm(t, pathRevoke, url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}, c)
	require.Equal(t, http.StatusOK, resp.Status)
	s.requireInactive(t, c, tok.AccessToken, "a revoked access token")
	requireInvalidToken(t, s.userinfo(t, tok.AccessToken))
	// The refresh token is a separate credential and still works.
	_, err := s.refresh(t, c, tok.RefreshToken)
	assert.NoError(t, err, "revoking an access token leaves its refresh token usable")
}

func revokeRefresh(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	next, err := s.refresh(t, c, tok.RefreshToken)
	require.NoError(t, err)
	resp := s.postForm(t, pathRevoke, url.Values{"token": {next.RefreshToken}, "token_type_hint": {"refresh_token"}}, c)
	require.Equal(t, http.StatusOK, resp.Status)

	s.requireInactive(t, c, next.RefreshToken, "a revoked refresh token")
	s.requireInactive(t, c, next.AccessToken, "the family's newest access token")
	s.requireInactive(t, c, tok.AccessToken, "the family's first access token")
	requireInvalidToken(t, s.userinfo(t, next.AccessToken))
	_, err = s.refresh(t, c, next.RefreshToken)
	requireGrantError(t, err, "invalid_grant")
}

func revokeNeedsClient(t *testing.T, s *suite) {
	c, other := s.register(t, nil), s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	form := url.Values{"token": {tok.AccessToken}}
	requireOAuthError(t, s.postForm(t, pathRevoke, form, nil), http.StatusUnauthorized, "invalid_client")
	wrong := *c
	wrong.Secret = "ccas_wrong"
	requireOAuthError(t, s.postForm(t, pathRevoke, form, &wrong), http.StatusUnauthorized, "invalid_client")

	resp := s.postForm(t, pathRevoke, form, other)
	assert.Equal(t, http.StatusOK, resp.Status, "another client's token is answered like a success")
	s.requireActive(t, c, tok.AccessToken, "a token another client tried to revoke")
	resp = s.postForm(t, pathRevoke, url.Values{"token": {tok.RefreshToken}}, other)
	assert.Equal(t, http.StatusOK, resp.Status)
	s.requireActive(t, c, tok.RefreshToken, "a refresh token another client tried to revoke")

	// RFC 7009 §2.1: a hint the server does not know is ignored, and the
	// token is still found and revoked.
	resp = s.postForm(t, pathRevoke, url.Values{"token": {tok.AccessToken}, "token_type_hint": {"id_token"}}, c)
	assert.Equal(t, http.StatusOK, resp.Status, "an unknown hint is ignored; body %q", resp.Body)
	s.requireInactive(t, c, tok.AccessToken, "an access token revoked with an unknown hint")
	// A wrong hint only changes where the search starts.
	tok2 := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	resp = s.postForm(t, pathRevoke, url.Values{"token": {tok2.AccessToken}, "token_type_hint": {"refresh_token"}}, c)
	assert.Equal(t, http.StatusOK, resp.Status)
	s.requireInactive(t, c, tok2.AccessToken, "an access token revoked with the refresh_token hint")
}

func introspectUsernameNeedsEmail(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c, "openid", "profile"))
	for _, token := range []string{tok.AccessToken, tok.RefreshToken} {
		m := s.introspect(t, c, token)
		assert.Equal(t, true, m["active"])
		assert.NotContains(t, m, "username", "without the email scope the email is not released")
	}
}
