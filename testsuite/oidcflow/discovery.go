package oidcflow

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var discoveryChecks = []check{
	{"discovery advertises exactly the guide's endpoints, registration and issue 17's", discoveryEndpoints},
	{"discovery advertises S256 as the only code challenge method", discoveryPKCE},
	{"discovery advertises the iss authorization response parameter", discoveryISS},
	{"discovery advertises the code flow, the four client auth methods and the guide's scopes and claims", discoveryCapabilities},
	{"discovery advertises private_key_jwt's algorithms and the PAR endpoint", discoveryProtocolReach},
	{"the OAuth metadata path serves the same document", discoveryOAuthMetadata},
	{"JWKS serves signing keys with Cache-Control", discoveryJWKS},
	{"JWKS answers a matching If-None-Match with 304 (RFC 9110 §13.1.2)", discoveryJWKSConditional},
}

func (s *suite) discovery(t *testing.T, path string) map[string]any {
	t.Helper()
	r := s.get(t, path)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Contains(t, r.Header.Get("Content-Type"), "application/json")
	return r.JSON(t)
}

func discoveryEndpoints(t *testing.T, s *suite) {
	d := s.discovery(t, pathDiscovery)
	iss := s.env.BaseURL
	assert.Equal(t, iss, d["issuer"])
	want := map[string]string{
		"authorization_endpoint": iss + pathAuthorize,
		"token_endpoint":         iss + pathToken,
		"userinfo_endpoint":      iss + pathUserInfo,
		"jwks_uri":               iss + pathJWKS,
		"end_session_endpoint":   iss + pathEndSession,
		"introspection_endpoint": iss + pathIntrospect,
		"revocation_endpoint":    iss + pathRevoke,
		"registration_endpoint":  iss + pathRegister,
		// Issue 17's protocol reach (docs/PROTOCOLS.md).
		"pushed_authorization_request_endpoint": iss + "/api/v1/oidc/par",
		// RFC 8628 §4 (issue 17).
		"device_authorization_endpoint": iss + "/api/v1/oidc/device/authorize",
	}
	got := map[string]string{}
	for k, v := range d {
		if uri, ok := v.(string); ok && (strings.HasSuffix(k, "_endpoint") || k == "jwks_uri") {
			got[k] = uri
		}
	}
	assert.Equal(t, want, got, "the endpoints are the guide's §2 table plus registration and issue 17's, and nothing else")
}

func discoveryPKCE(t *testing.T, s *suite) {
	d := s.discovery(t, pathDiscovery)
	assert.Equal(t, []any{"S256"}, d["code_challenge_methods_supported"])
}

func discoveryISS(t *testing.T, s *suite) {
	d := s.discovery(t, pathDiscovery)
	assert.Equal(t, true, d["authorization_response_iss_parameter_supported"])
	// Request objects are refused (request_not_supported,
	// request_uri_not_supported), and discovery says so: an absent
	// request_uri_parameter_supported would mean true (OIDC Discovery §3).
	assert.Equal(t, false, d["request_parameter_supported"])
	assert.Equal(t, false, d["request_uri_parameter_supported"])
	// OIDC Back-Channel Logout 1.0 §2.1: logout tokens always carry sid.
	assert.Equal(t, true, d["backchannel_logout_supported"])
	assert.Equal(t, true, d["backchannel_logout_session_supported"])
}

func discoveryCapabilities(t *testing.T, s *suite) {
	d := s.discovery(t, pathDiscovery)
	assert.Equal(t, []any{"code"}, d["response_types_supported"])
	assert.ElementsMatch(t, []any{"client_secret_post", "client_secret_basic", "private_key_jwt", "none"}, d["token_endpoint_auth_methods_supported"])
	assert.ElementsMatch(t, []any{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"}, d["grant_types_supported"])
	scopes, _ := d["scopes_supported"].([]any)
	for _, sc := range []string{"openid", "profile", "email", "phone"} {
		assert.Contains(t, scopes, sc, "scopes_supported")
	}
	claims, _ := d["claims_supported"].([]any)
	for _, c := range []string{"sub", "name", "given_name", "family_name", "picture", "updated_at", "email", "email_verified", "phone_number", "phone_number_verified"} {
		assert.Contains(t, claims, c, "claims_supported")
	}
	assert.Contains(t, d["id_token_signing_alg_values_supported"], "RS256", "OIDC Core §15.1")
}

func discoveryProtocolReach(t *testing.T, s *suite) {
	d := s.discovery(t, pathDiscovery)
	for _, key := range []string{"token_endpoint_auth_signing_alg_values_supported", "introspection_endpoint_auth_signing_alg_values_supported", "revocation_endpoint_auth_signing_alg_values_supported"} {
		assert.ElementsMatch(t, []any{"RS256", "PS256", "ES256", "EdDSA"}, d[key], key)
	}
	assert.Contains(t, d["introspection_endpoint_auth_methods_supported"], "private_key_jwt")
	assert.NotContains(t, d["introspection_endpoint_auth_methods_supported"], "none", "introspection needs a confidential client")
	issuer, _ := d["issuer"].(string)
	assert.Equal(t, issuer+"/api/v1/oidc/par", d["pushed_authorization_request_endpoint"], "RFC 9126 §5")
	assert.Equal(t, false, d["require_pushed_authorization_requests"])
	assert.Equal(t, true, d["claims_parameter_supported"], "OIDC Core §5.5")
}

func discoveryOAuthMetadata(t *testing.T, s *suite) {
	oidcDoc := s.get(t, pathDiscovery)
	oauthDoc := s.get(t, pathOAuthMetadata)
	require.Equal(t, http.StatusOK, oauthDoc.Status)
	assert.JSONEq(t, string(oidcDoc.Body), string(oauthDoc.Body))
}

func discoveryJWKS(t *testing.T, s *suite) {
	r := s.get(t, pathJWKS)
	require.Equal(t, http.StatusOK, r.Status)
	assert.NotEmpty(t, r.Header.Get("Cache-Control"), "JWKS must carry Cache-Control")
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Kty string `json:"kty"`
			Alg string `json:"alg"`
			Use string `json:"use"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &set))
	require.NotEmpty(t, set.Keys)
	for _, k := range set.Keys {
		assert.NotEmpty(t, k.Kid, "every key has a kid")
		assert.NotEmpty(t, k.Alg, "every key names its algorithm")
		assert.Empty(t, k.D, "JWKS must never publish private key material")
	}
}

func discoveryJWKSConditional(t *testing.T, s *suite) {
	r := s.get(t, pathJWKS)
	require.Equal(t, http.StatusOK, r.Status)
	etag := r.Header.Get("ETag")
	require.NotEmpty(t, etag, "JWKS carries an ETag")
	for name, match := range map[string]string{
		"the ETag":                      etag,
		"the ETag, weakened by a proxy": "W/" + etag,
		"a list holding the ETag":       `"other", ` + etag,
		"a wildcard":                    "*",
	} {
		t.Run(name, func(t *testing.T) {
			req := s.newRequest(t, http.MethodGet, pathJWKS, "", nil)
			req.Header.Set("If-None-Match", match)
			resp := s.send(t, req)
			// RFC 9110 §13.1.2: If-None-Match uses the weak comparison, and
			// takes a list or "*".
			assert.Equal(t, http.StatusNotModified, resp.Status,
				"If-None-Match: %s must match ETag %s (weak comparison, lists and * per RFC 9110 §13.1.2)", match, etag)
			assert.Zero(t, len(resp.Body), "a 304 has no body")
		})
	}
	req := s.newRequest(t, http.MethodGet, pathJWKS, "", nil)
	req.Header.Set("If-None-Match", `"stale"`)
	assert.Equal(t, http.StatusOK, s.send(t, req).Status, "a stale ETag gets the key set")
}
