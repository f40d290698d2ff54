package oidc_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

// These tests pin, word for word, what the token endpoint, registration and
// discovery say about grant types: all three read one registry, and moving a
// grant's rules there must not change a byte of what clients see.

func TestDiscoveryListsTheGrantTypesInOrder(t *testing.T) {
	var doc struct {
		GrantTypes []string `json:"grant_types_supported"`
	}
	require.NoError(t, json.Unmarshal(newRegistrar(t).Discovery(), &doc))
	assert.Equal(t, []string{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"}, doc.GrantTypes)
}

func TestTokenEndpointGrantErrorsAreWordForWord(t *testing.T) {
	clients := memory.NewClientStore()
	p := newTestProvider(t, func(_ *oidc.Config, d *oidc.Deps) { d.Clients = clients })
	ctx := context.Background()
	machine, err := p.Register(ctx, oidc.ClientMetadata{GrantTypes: []string{"client_credentials"}})
	require.NoError(t, err)
	// Registration refuses a public client_credentials client; one stored
	// directly (an older release, an administrator) is still refused.
	require.NoError(t, clients.CreateClient(ctx, domain.Client{
		ID: "public-machine", GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "none",
	}))
	confidential := oidc.ClientCredentials{ClientID: machine.ClientID, Secret: machine.ClientSecret}
	cases := []struct {
		name   string
		req    oidc.TokenRequest
		code   string
		reason string
	}{
		{"no grant_type is invalid_request", oidc.TokenRequest{Client: confidential},
			"invalid_request", "grant_type is required"},
		{"an unknown grant_type is unsupported before the client is checked", oidc.TokenRequest{GrantType: "password", Client: oidc.ClientCredentials{ClientID: "nobody"}},
			"unsupported_grant_type", `grant_type "password" is not supported`},
		{"a long unknown grant_type is quoted clipped", oidc.TokenRequest{GrantType: "urn:ietf:params:oauth:grant-type:device_code:and-then-some-more-text", Client: confidential},
			"unsupported_grant_type", `grant_type "urn:ietf:params:oauth:grant-type:device_code:and-then-some-more-…" is not supported`},
		{"a grant the client did not register is unauthorized_client", oidc.TokenRequest{GrantType: "refresh_token", RefreshToken: "x", Client: confidential},
			"unauthorized_client", "the client is not registered for the refresh_token grant"},
		{"client_credentials for a public client is unauthorized_client", oidc.TokenRequest{GrantType: "client_credentials", Client: oidc.ClientCredentials{ClientID: "public-machine"}},
			"unauthorized_client", "public clients cannot use client_credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Token(ctx, tc.req)
			e, ok := oidc.AsError(err)
			require.True(t, ok, "got %v", err)
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, tc.reason, e.Description)
		})
	}
}

func TestRegistrationGrantErrorsAreWordForWord(t *testing.T) {
	ok := []string{"https://myapp.com/cb"}
	cases := []struct {
		name   string
		md     oidc.ClientMetadata
		code   string
		reason string
	}{
		{"an unknown grant type", oidc.ClientMetadata{RedirectURIs: ok, GrantTypes: []string{"authorization_code", "password"}},
			"invalid_client_metadata", `grant_type "password" is not supported`},
		{"an unknown grant type before an unknown response type", oidc.ClientMetadata{RedirectURIs: ok, GrantTypes: []string{"password"}, ResponseTypes: []string{"token"}},
			"invalid_client_metadata", `grant_type "password" is not supported`},
		{"response type code without the code grant, before refresh_token's need", oidc.ClientMetadata{GrantTypes: []string{"refresh_token"}, ResponseTypes: []string{"code"}},
			"invalid_client_metadata", "response_types code goes with grant_types authorization_code"},
		{"refresh_token without authorization_code", oidc.ClientMetadata{GrantTypes: []string{"refresh_token"}},
			"invalid_client_metadata", "grant_types refresh_token needs authorization_code or urn:ietf:params:oauth:grant-type:device_code"},
		{"refresh_token's need before a public client_credentials", oidc.ClientMetadata{GrantTypes: []string{"client_credentials", "refresh_token"}, TokenEndpointAuthMethod: "none"},
			"invalid_client_metadata", "grant_types refresh_token needs authorization_code or urn:ietf:params:oauth:grant-type:device_code"},
		{"a public client with client_credentials", oidc.ClientMetadata{GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "none"},
			"invalid_client_metadata", "public clients cannot use client_credentials"},
		{"an unknown auth method, whatever the grants", oidc.ClientMetadata{GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_jwt"},
			"invalid_client_metadata", `token_endpoint_auth_method "client_secret_jwt" is not supported (client_secret_post, client_secret_basic, private_key_jwt, none)`},
		{"the code grant without redirect URIs, after the grant checks", oidc.ClientMetadata{GrantTypes: []string{"authorization_code", "client_credentials"}},
			"invalid_redirect_uri", "redirect_uris is required for the authorization_code grant"},
	}
	for _, tc := range cases {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, err := newRegistrar(t).Register(context.Background(), tc.md)
			e, ok := oidc.AsError(err)
			require.True(t, ok, "got %v", err)
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, tc.reason, e.Description)
		})
	}
}
