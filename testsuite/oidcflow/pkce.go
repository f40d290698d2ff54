package oidcflow

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pkceOptional reports whether the server lets confidential clients omit
// PKCE (oidc.pkce_required: public).
func (s *suite) pkceOptional() bool { return s.env.PKCEPolicy == "public" }

// noPKCERequest is an authorization request without PKCE, relying on nonce.
func (s *suite) noPKCERequest(c *client) *authRequest {
	r := s.newAuthRequest(c)
	r.NoPKCE = true
	return r
}

// pkceOptional: under "public" a confidential client signs in without
// PKCE, and the ID token's nonce is what binds the answer to its request;
// under "all" the same request is refused.
func pkceOptional(t *testing.T, s *suite) {
	c := s.register(t, nil)
	r := s.noPKCERequest(c)
	if !s.pkceOptional() {
		q := s.signedInAgent(t).get(t, r.URL()).Query(t)
		assert.Equal(t, "invalid_request", q.Get("error"), "PKCE is required of every client")
		return
	}
	tok := s.signInTokens(t, s.signedInAgent(t), r) // verifies the nonce
	assert.NotEmpty(t, tok.AccessToken)
	assert.Equal(t, http.StatusOK, s.userinfo(t, tok.AccessToken).Status)
}

// pkceDowngrade: a code_verifier sent for a code issued without a
// code_challenge is refused (RFC 9700 §4.8.2), so an attacker who injects
// a PKCE-less code cannot pass it off.
func pkceDowngrade(t *testing.T, s *suite) {
	c := s.register(t, nil)
	r := s.noPKCERequest(c)
	a := s.signedInAgent(t)
	if !s.pkceOptional() {
		q := a.get(t, r.URL()).Query(t)
		require.Equal(t, "invalid_request", q.Get("error"), "no code is issued without PKCE")
		return
	}
	code := s.code(t, r, a.signIn(t, r))
	resp := s.postForm(t, pathToken, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.RedirectURI},
		"code_verifier": {r.Verifier},
	}, c)
	requireOAuthError(t, resp, http.StatusBadRequest, "invalid_grant")
}

// pkcePerClient: with pkceRequired set through the admin API, the client
// is refused without PKCE under either policy.
func pkcePerClient(t *testing.T, s *suite) {
	require.NotEmpty(t, s.env.AdminKey, "Env.AdminKey is required to set pkceRequired")
	c := s.register(t, nil)
	r := s.postJSON(t, http.MethodPatch, "/api/v1/admin/clients/"+url.PathEscape(c.ID), s.env.AdminKey, map[string]any{"pkceRequired": true})
	require.Equal(t, http.StatusOK, r.Status, "body %q", r.Body)
	assert.Equal(t, true, r.JSON(t)["pkceRequired"])

	q := s.signedInAgent(t).get(t, s.noPKCERequest(c).URL()).Query(t)
	assert.Equal(t, "invalid_request", q.Get("error"), "error_description %q", q.Get("error_description"))
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	assert.NotEmpty(t, tok.AccessToken, "with PKCE the client signs in as before")
}
