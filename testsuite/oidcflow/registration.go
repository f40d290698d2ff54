package oidcflow

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var registrationChecks = []check{
	{"registration answers 201 with the guide's fields", registerGuideExample},
	{"registration defaults to client_secret_post", registerDefaultsToPost},
	{"a client registered without scope gets every standard scope discovery lists", registerDefaultScopes},
	{"policy_uri and tos_uri are kept, returned, and linked from the consent page", registerPolicyAndTerms},
	{"registration accepts client_secret_basic and the client authenticates with it", registerBasic},
	{"a public client gets no secret", registerPublic},
	{"the secret is shown only once: RFC 7592 read does not return it", registerSecretOnce},
	{"RFC 7592 reads, updates and deletes a client with its registration access token", registerManage},
	{"RFC 7592 refuses a wrong registration access token with 401", registerWrongToken},
	{"a refresh keeps only the scopes the client's registration still lists", registerNarrowsRefresh},
	{"bad client metadata gets a 400 RFC 7591 error", registerBadMetadata},
}

// registerGuideExample posts the guide's §1 example, with redirect URIs of
// this suite, and checks the response field by field.
func registerGuideExample(t *testing.T, s *suite) {
	md := metadata{
		"client_name":   "My Third-Party App",
		"redirect_uris": []string{"https://myapp.com/auth/callback", "http://localhost:5173/auth/callback"},
		"grant_types":   []string{"authorization_code", "refresh_token"},
		"scope":         "openid profile email",
		"client_uri":    "https://myapp.com",
		"logo_uri":      "https://myapp.com/logo.png",
	}
	r := s.postJSON(t, http.MethodPost, pathRegister, "", md)
	require.Equal(t, http.StatusCreated, r.Status, "body %q", r.Body)
	assert.Contains(t, r.Header.Get("Content-Type"), "application/json")
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"), "the answer holds a secret")
	m := r.JSON(t)
	id, _ := m["client_id"].(string)
	secret, _ := m["client_secret"].(string)
	assert.True(t, strings.HasPrefix(id, "cca_") && len(id) > len("cca_")+16, "client_id %q must be cca_ and a long random part", id)
	assert.True(t, strings.HasPrefix(secret, "ccas_") && len(secret) > len("ccas_")+32, "client_secret must be ccas_ and a long random part")
	assert.EqualValues(t, 0, m["client_secret_expires_at"])
	assert.Equal(t, "My Third-Party App", m["client_name"])
	assert.Equal(t, []any{"https://myapp.com/auth/callback", "http://localhost:5173/auth/callback"}, m["redirect_uris"])
	assert.Equal(t, []any{"authorization_code", "refresh_token"}, m["grant_types"])
	assert.Equal(t, "client_secret_post", m["token_endpoint_auth_method"])
	assert.Equal(t, "openid profile email", m["scope"])
	assert.NotEmpty(t, m["registration_access_token"], "RFC 7592 §3")
	assert.Equal(t, s.env.BaseURL+pathRegister+"/"+id, m["registration_client_uri"])
}

func registerDefaultsToPost(t *testing.T, s *suite) {
	c := s.register(t, nil)
	assert.Equal(t, "client_secret_post", c.AuthMethod)
	require.NotEmpty(t, c.Secret)
	// The client authenticates with the secret in the form.
	a := s.newAgent(t)
	s.signInTokens(t, a, s.newAuthRequest(c))
}

func registerBasic(t *testing.T, s *suite) {
	c := s.register(t, func(m metadata) { m["token_endpoint_auth_method"] = "client_secret_basic" })
	assert.Equal(t, "client_secret_basic", c.AuthMethod)
	require.NotEmpty(t, c.Secret)
	// oauth2 sends the secret in the Authorization header for this client.
	s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
}

func registerPublic(t *testing.T, s *suite) {
	c := s.register(t, func(m metadata) {
		m["token_endpoint_auth_method"] = "none"
		m["grant_types"] = []string{"authorization_code"}
	})
	assert.Equal(t, "none", c.AuthMethod)
	assert.NotContains(t, c.Registered, "client_secret", "a public client gets no secret")
	assert.NotContains(t, c.Registered, "client_secret_expires_at")
	// A public client redeems its code with PKCE alone, and gets no refresh
	// token because it did not register the grant.
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	assert.Empty(t, tok.RefreshToken)
}

func (s *suite) readRegistration(t *testing.T, c *client, token string) response {
	t.Helper()
	req := s.newRequest(t, http.MethodGet, strings.TrimPrefix(c.RegURI, s.env.BaseURL), "", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return s.send(t, req)
}

func registerSecretOnce(t *testing.T, s *suite) {
	c := s.register(t, nil)
	require.NotEmpty(t, c.Secret)
	r := s.readRegistration(t, c, c.RegToken)
	require.Equal(t, http.StatusOK, r.Status, "body %q", r.Body)
	m := r.JSON(t)
	assert.Equal(t, c.ID, m["client_id"])
	assert.NotContains(t, m, "client_secret", "the secret is returned only once")
	assert.NotContains(t, m, "registration_access_token", "the registration token is returned only once")
}

func registerManage(t *testing.T, s *suite) {
	c := s.register(t, nil)
	path := strings.TrimPrefix(c.RegURI, s.env.BaseURL)
	require.True(t, strings.HasPrefix(path, pathRegister+"/"), "registration_client_uri %q is on the provider", c.RegURI)

	r := s.readRegistration(t, c, c.RegToken)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, c.Name, r.JSON(t)["client_name"])

	md := defaultMetadata(t.Name())
	md["client_id"] = c.ID
	md["client_name"] = "Renamed by RFC 7592"
	md["redirect_uris"] = []string{callbackURI}
	r = s.postJSON(t, http.MethodPut, path, c.RegToken, md)
	require.Equal(t, http.StatusOK, r.Status, "update; body %q", r.Body)
	m := r.JSON(t)
	assert.Equal(t, "Renamed by RFC 7592", m["client_name"])
	assert.Equal(t, []any{callbackURI}, m["redirect_uris"])
	assert.NotContains(t, m, "client_secret")
	r = s.readRegistration(t, c, c.RegToken)
	assert.Equal(t, "Renamed by RFC 7592", r.JSON(t)["client_name"], "the update is stored")

	// The client keeps its secret across the update.
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c))
	require.Equal(t, http.StatusOK, s.userinfo(t, tok.AccessToken).Status)

	// RFC 7592 §2.2: the body names the client itself.
	md["client_id"] = "cca_someone_else"
	r = s.postJSON(t, http.MethodPut, path, c.RegToken, md)
	requireOAuthError(t, r, http.StatusBadRequest, "invalid_request")

	req := s.newRequest(t, http.MethodDelete, path, "", nil)
	req.Header.Set("Authorization", "Bearer "+c.RegToken)
	r = s.send(t, req)
	assert.Equal(t, http.StatusNoContent, r.Status, "delete")
	r = s.readRegistration(t, c, c.RegToken)
	assert.Equal(t, http.StatusUnauthorized, r.Status, "a deleted client cannot be read")
	// RFC 7592 §2.3: its tokens die with it.
	requireInvalidToken(t, s.userinfo(t, tok.AccessToken))
	// A deleted client is unknown to the authorization endpoint.
	l := s.newAgent(t).get(t, s.newAuthRequest(c).URL())
	assert.Equal(t, http.StatusBadRequest, l.Status)
	assert.Nil(t, l.Left, "an unknown client is never redirected to")
}

func registerWrongToken(t *testing.T, s *suite) {
	c := s.register(t, nil)
	other := s.register(t, nil)
	path := strings.TrimPrefix(c.RegURI, s.env.BaseURL)
	for name, token := range map[string]string{
		"a made-up token":        "not-the-registration-token",
		"another client's token": other.RegToken,
		"the client secret":      c.Secret,
		"an empty token":         "",
	} {
		t.Run(name, func(t *testing.T) {
			r := s.readRegistration(t, c, token)
			requireOAuthError(t, r, http.StatusUnauthorized, "invalid_token")
			r = s.postJSON(t, http.MethodPut, path, token, defaultMetadata("hijack"))
			requireOAuthError(t, r, http.StatusUnauthorized, "invalid_token")
			req := s.newRequest(t, http.MethodDelete, path, "", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			requireOAuthError(t, s.send(t, req), http.StatusUnauthorized, "invalid_token")
		})
	}
	r := s.readRegistration(t, c, c.RegToken)
	assert.Equal(t, http.StatusOK, r.Status, "the client survives the attempts")
	assert.Equal(t, c.Name, r.JSON(t)["client_name"], "and is unchanged")
}

func registerBadMetadata(t *testing.T, s *suite) {
	cases := []struct {
		name    string
		edit    func(metadata)
		code    string
		mention string // the error_description must name this
	}{
		{"a wildcard redirect URI is refused", func(m metadata) { m["redirect_uris"] = []string{"https://*.example.com/cb"} }, "invalid_redirect_uri", "wildcard"},
		{"a redirect URI with a fragment is refused", func(m metadata) { m["redirect_uris"] = []string{"https://app.example.com/cb#frag"} }, "invalid_redirect_uri", "fragment"},
		{"an http redirect URI off localhost is refused", func(m metadata) { m["redirect_uris"] = []string{"http://app.example.com/cb"} }, "invalid_redirect_uri", "https"},
		{"a relative redirect URI is refused", func(m metadata) { m["redirect_uris"] = []string{"/cb"} }, "invalid_redirect_uri", ""},
		{"a custom-scheme redirect URI is refused", func(m metadata) { m["redirect_uris"] = []string{"javascript:alert(1)"} }, "invalid_redirect_uri", ""},
		{"the code grant without redirect URIs is refused", func(m metadata) { delete(m, "redirect_uris") }, "invalid_redirect_uri", "redirect_uris"},
		{"an unknown grant type is refused", func(m metadata) { m["grant_types"] = []string{"authorization_code", "password"} }, "invalid_client_metadata", "password"},
		{"the implicit response type is refused", func(m metadata) { m["response_types"] = []string{"token"} }, "invalid_client_metadata", "token"},
		{"scope organization is refused and named", func(m metadata) { m["scope"] = "openid organization" }, "invalid_client_metadata", "organization"},
		{"scope permissions is refused and named", func(m metadata) { m["scope"] = "openid permissions" }, "invalid_client_metadata", "permissions"},
		{"an unknown scope is refused", func(m metadata) { m["scope"] = "openid admin" }, "invalid_client_metadata", "admin"},
		{"an http post-logout redirect URI off localhost is refused", func(m metadata) { m["post_logout_redirect_uris"] = []string{"http://app.example.com/bye"} }, "invalid_client_metadata", "post_logout_redirect_uri"},
		{"an unknown auth method is refused", func(m metadata) { m["token_endpoint_auth_method"] = "private_key_jwt" }, "invalid_client_metadata", "private_key_jwt"},
		{"a public client with client_credentials is refused", func(m metadata) {
			m["token_endpoint_auth_method"] = "none"
			m["grant_types"] = []string{"authorization_code", "client_credentials"}
		}, "invalid_client_metadata", "client_credentials"},
		{"a field of the wrong type is refused", func(m metadata) { m["redirect_uris"] = "https://app.example.com/cb" }, "invalid_client_metadata", "redirect_uris"},
		// What the sign-in and consent pages show must read as it is.
		{"a client_uri with a right-to-left override is refused", func(m metadata) { m["client_uri"] = "https://\u202eude.hgihdleifgnirps/" }, "invalid_client_metadata", "client_uri"},
		{"a Unicode logo_uri host is refused", func(m metadata) { m["logo_uri"] = "https://spr\u0456ngfield.edu/logo.png" }, "invalid_client_metadata", "logo_uri"},
		{"a percent-encoded client_uri host is refused", func(m metadata) { m["client_uri"] = "https://p%D0%B0ypal.com/" }, "invalid_client_metadata", "client_uri"},
		{"a percent-encoded redirect URI host is refused", func(m metadata) { m["redirect_uris"] = []string{"https://evil.example%E2%80%AE/cb"} }, "invalid_redirect_uri", "xn--"},
		{"a client_name with a selector between ASCII letters is refused", func(m metadata) { m["client_name"] = "Demo\U000E0100School" }, "invalid_client_metadata", "client_name"},
		{"a Unicode redirect URI is refused", func(m metadata) { m["redirect_uris"] = []string{"https://app.example.com/\u202ecb"} }, "invalid_redirect_uri", "ASCII"},
		{"an http policy_uri is refused", func(m metadata) { m["policy_uri"] = "http://localhost/privacy" }, "invalid_client_metadata", "policy_uri"},
		{"a javascript tos_uri is refused", func(m metadata) { m["tos_uri"] = "javascript:alert(1)" }, "invalid_client_metadata", "tos_uri"},
		{"a contact that is not an email address is refused", func(m metadata) { m["contacts"] = []string{"root@[127.0.0.1]"} }, "invalid_client_metadata", "contacts"},
		{"a contact with control characters is refused", func(m metadata) { m["contacts"] = []string{"\u0000\u001b[31mroot@example.com"} }, "invalid_client_metadata", "contacts"},
		{"a client_name with a zero-width space is refused", func(m metadata) { m["client_name"] = "Springfield High\u200b" }, "invalid_client_metadata", "client_name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			md := defaultMetadata(t.Name())
			tc.edit(md)
			r := s.postJSON(t, http.MethodPost, pathRegister, "", md)
			m := requireOAuthError(t, r, http.StatusBadRequest, tc.code)
			if tc.mention != "" {
				assert.Contains(t, m["error_description"], tc.mention)
			}
		})
	}
	raw := []struct {
		name, contentType, body, code string
	}{
		{"malformed JSON is refused", "application/json", `{"client_name": "x", "redirect_uris": [`, "invalid_client_metadata"},
		{"a JSON array is refused", "application/json", `["https://app.example.com/cb"]`, "invalid_client_metadata"},
		{"a form body is refused", "application/x-www-form-urlencoded", "client_name=x&redirect_uris=https%3A%2F%2Fapp.example.com%2Fcb", "invalid_request"},
		{"a body without a content type is refused", "", `{"client_name":"x","redirect_uris":["https://app.example.com/cb"]}`, "invalid_request"},
		// Strict JSON: two redirect_uris in any case, or bytes that are not
		// UTF-8, could read one way here and another in a gateway's log.
		{"a duplicate key is refused", "application/json", `{"redirect_uris":["https://app.example.com/cb"],"redirect_uris":["https://evil.example.com/cb"]}`, "invalid_client_metadata"},
		{"keys that differ in case are refused", "application/json", `{"redirect_uris":["https://app.example.com/cb"],"Redirect_URIs":["https://evil.example.com/cb"]}`, "invalid_client_metadata"},
		{"invalid UTF-8 is refused", "application/json", "{\"client_name\":\"App\xff\",\"redirect_uris\":[\"https://app.example.com/cb\"]}", "invalid_client_metadata"},
		{"an unpaired surrogate escape is refused", "application/json", `{"client_name":"App\ud800","redirect_uris":["https://app.example.com/cb"]}`, "invalid_client_metadata"},
	}
	for _, tc := range raw {
		t.Run(tc.name, func(t *testing.T) {
			req := s.newRequest(t, http.MethodPost, pathRegister, tc.contentType, strings.NewReader(tc.body))
			requireOAuthError(t, s.send(t, req), http.StatusBadRequest, tc.code)
		})
	}
}

// registerNarrowsRefresh: a client that removes a scope from its
// registration (RFC 7592 PUT) gets no more of it at the next refresh, nor
// at userinfo: a refresh never widens past the client's current scopes.
func registerNarrowsRefresh(t *testing.T, s *suite) {
	c := s.register(t, nil)
	tok := s.signInTokens(t, s.signedInAgent(t), s.newAuthRequest(c, "openid", "profile", "email"))
	require.Contains(t, idClaims(t, tok), "email")

	md := defaultMetadata(t.Name())
	md["client_id"], md["scope"] = c.ID, "openid profile"
	r := s.postJSON(t, http.MethodPut, strings.TrimPrefix(c.RegURI, s.env.BaseURL), c.RegToken, md)
	require.Equal(t, http.StatusOK, r.Status, "update; body %q", r.Body)

	// Asking for only what is gone is invalid_scope, not a 200 that
	// leaves scope out (which would read as granted, RFC 6749 §5.1).
	r = s.postForm(t, pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {"email"}}, c)
	requireOAuthError(t, r, http.StatusBadRequest, "invalid_scope")

	next, err := s.refresh(t, c, tok.RefreshToken)
	require.NoError(t, err, "the refresh succeeds")
	assert.ElementsMatch(t, []string{"openid", "profile"}, strings.Fields(tokenScope(next.Extra("scope"))), "email is gone")
	raw, _ := next.Extra("id_token").(string)
	require.NotEmpty(t, raw)
	idt, err := c.verifier.Verify(s.ctx, raw)
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, idt.Claims(&claims))
	assert.NotContains(t, claims, "email")
	resp := s.userinfo(t, next.AccessToken)
	require.Equal(t, http.StatusOK, resp.Status)
	assert.NotContains(t, resp.JSON(t), "email", "the new access token carries the narrowed scope")
	// The access token issued before keeps its scope until it expires (an
	// hour by default), as a self-contained token does.
}

func registerDefaultScopes(t *testing.T, s *suite) {
	c := s.register(t, func(m metadata) { delete(m, "scope") })
	var want []string
	for _, v := range s.discovery(t, pathDiscovery)["scopes_supported"].([]any) {
		if sc := v.(string); sc != "organization" && sc != "permissions" {
			want = append(want, sc)
		}
	}
	assert.ElementsMatch(t, want, c.Scopes, "every advertised scope but the extended ones")
	assert.Contains(t, c.Scopes, "phone")
	assert.Contains(t, c.Scopes, "offline_access")
	tok := s.signInTokens(t, s.newAgent(t), s.newAuthRequest(c, "openid", "phone", "offline_access"))
	assert.NotEmpty(t, tok.RefreshToken, "the defaults are granted at authorize")
}

func registerPolicyAndTerms(t *testing.T, s *suite) {
	const policy, terms = "https://oidcflow.example.com/privacy", "https://oidcflow.example.com/terms"
	c := s.register(t, func(m metadata) { m["policy_uri"], m["tos_uri"] = policy, terms })
	assert.Equal(t, policy, c.Registered["policy_uri"])
	assert.Equal(t, terms, c.Registered["tos_uri"])
	r := s.postJSON(t, http.MethodGet, strings.TrimPrefix(c.RegURI, s.env.BaseURL), c.RegToken, nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, policy, r.JSON(t)["policy_uri"], "read back (RFC 7592)")

	req := s.newAuthRequest(c)
	req.Extra["prompt"] = "consent"
	l := s.signedInAgent(t).get(t, req.URL())
	require.True(t, l.isConsent(t), "got %d %q", l.Status, l.Text())
	assert.Contains(t, l.Body, `href="`+policy+`"`, "the consent page links the privacy policy")
	assert.Contains(t, l.Body, `href="`+terms+`"`, "and the terms of service")
	assert.Contains(t, l.Text(), "Privacy policy")
	assert.Contains(t, l.Text(), "Terms of service")
}
