package oidc_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/oidc"
)

const parRedirect = "https://gradebook.example.com/cb"

// parClient registers a confidential code-flow client and returns its
// credentials.
func parClient(t *testing.T, p *oidc.Provider, requirePAR bool) oidc.ClientCredentials {
	t.Helper()
	reg, err := p.Register(context.Background(), oidc.ClientMetadata{
		RedirectURIs: []string{parRedirect}, Scope: "openid profile",
		RequirePushedAuthorizationRequests: requirePAR,
	})
	require.NoError(t, err)
	return oidc.ClientCredentials{ClientID: reg.ClientID, Secret: reg.ClientSecret}
}

func parParams(cc oidc.ClientCredentials) oidc.AuthorizeParams {
	return oidc.AuthorizeParams{
		ClientID: cc.ClientID, RedirectURI: parRedirect, ResponseType: "code", Scope: "openid profile",
		State: "s1", Nonce: "n1", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256",
	}
}

var parBrowser = oidc.Browser{Binding: strings.Repeat("b", 43), IP: "192.0.2.1"}

func TestPARRequestURIIsSingleUseAndTheOnlyParameters(t *testing.T) {
	p := newTestProvider(t, nil)
	cc := parClient(t, p, false)
	pushed, err := p.PushAuthorization(context.Background(), cc, parParams(cc), nil)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(pushed.RequestURI, oidc.RequestURIPrefix))
	assert.Equal(t, 60, pushed.ExpiresIn)

	// Parameters beside request_uri are not read (RFC 9126 §4).
	out, err := p.Authorize(context.Background(), oidc.AuthorizeParams{
		ClientID: cc.ClientID, RequestURI: pushed.RequestURI, Scope: "openid email", RedirectURI: "https://evil.example/cb",
	}, parBrowser)
	require.NoError(t, err)
	require.Nil(t, out.Page)
	require.Equal(t, oidc.StepLogin, out.Step)
	prompt, page, err := p.LoginPrompt(context.Background(), out.Interaction, parBrowser)
	require.NoError(t, err)
	require.Nil(t, page)
	assert.Equal(t, []string{"openid", "profile"}, prompt.Scopes, "the pushed scopes, not the query's")

	out, err = p.Authorize(context.Background(), oidc.AuthorizeParams{ClientID: cc.ClientID, RequestURI: pushed.RequestURI}, parBrowser)
	require.NoError(t, err)
	require.NotNil(t, out.Page, "a used request_uri")
	assert.Equal(t, oidc.CodeInvalidRequestURI, out.Page.Code)
}

func TestPARRequestURIBelongsToItsClient(t *testing.T) {
	p := newTestProvider(t, nil)
	cc, other := parClient(t, p, false), parClient(t, p, false)
	pushed, err := p.PushAuthorization(context.Background(), cc, parParams(cc), nil)
	require.NoError(t, err)
	out, err := p.Authorize(context.Background(), oidc.AuthorizeParams{ClientID: other.ClientID, RequestURI: pushed.RequestURI}, parBrowser)
	require.NoError(t, err)
	require.NotNil(t, out.Page)
	assert.Equal(t, oidc.CodeInvalidRequestURI, out.Page.Code)
	out, err = p.Authorize(context.Background(), oidc.AuthorizeParams{ClientID: cc.ClientID, RequestURI: pushed.RequestURI}, parBrowser)
	require.NoError(t, err)
	assert.Nil(t, out.Page, "another client's attempt does not spend it")
}

func TestPARRequestURIExpires(t *testing.T) {
	p := newTestProvider(t, func(c *oidc.Config, _ *oidc.Deps) { c.AuthRequestTTL = 50 * time.Millisecond })
	cc := parClient(t, p, false)
	pushed, err := p.PushAuthorization(context.Background(), cc, parParams(cc), nil)
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond)
	out, err := p.Authorize(context.Background(), oidc.AuthorizeParams{ClientID: cc.ClientID, RequestURI: pushed.RequestURI}, parBrowser)
	require.NoError(t, err)
	require.NotNil(t, out.Page)
	assert.Equal(t, oidc.CodeInvalidRequestURI, out.Page.Code)
}

func TestPARRefusals(t *testing.T) {
	p := newTestProvider(t, nil)
	cc := parClient(t, p, false)
	cases := []struct {
		name string
		cc   func() oidc.ClientCredentials
		edit func(*oidc.AuthorizeParams)
		code string
	}{
		{"a wrong secret", func() oidc.ClientCredentials {
			return oidc.ClientCredentials{ClientID: cc.ClientID, Secret: "ccas_wrong"}
		}, nil, oidc.CodeInvalidClient},
		{"another client's id in the form", nil, func(in *oidc.AuthorizeParams) { in.ClientID = "cca_other" }, oidc.CodeInvalidRequest},
		{"a request_uri inside (§2.1)", nil, func(in *oidc.AuthorizeParams) { in.RequestURI = oidc.RequestURIPrefix + "x" }, oidc.CodeInvalidRequest},
		{"no redirect_uri", nil, func(in *oidc.AuthorizeParams) { in.RedirectURI = "" }, oidc.CodeInvalidRequest},
		{"an unregistered redirect_uri", nil, func(in *oidc.AuthorizeParams) { in.RedirectURI = "https://evil.example/cb" }, oidc.CodeInvalidRequest},
		{"no PKCE", nil, func(in *oidc.AuthorizeParams) { in.CodeChallenge, in.CodeChallengeMethod = "", "" }, oidc.CodeInvalidRequest},
		{"PKCE plain", nil, func(in *oidc.AuthorizeParams) { in.CodeChallengeMethod = "plain" }, oidc.CodeInvalidRequest},
		{"an unregistered scope", nil, func(in *oidc.AuthorizeParams) { in.Scope = "openid phone" }, oidc.CodeInvalidScope},
		{"another response_type", nil, func(in *oidc.AuthorizeParams) { in.ResponseType = "token" }, oidc.CodeUnsupportedResponseType},
		{"a request object", nil, func(in *oidc.AuthorizeParams) { in.Request = "eyJ.e30." }, oidc.CodeRequestNotSupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			creds, in := cc, parParams(cc)
			if tc.cc != nil {
				creds = tc.cc()
			}
			if tc.edit != nil {
				tc.edit(&in)
			}
			_, err := p.PushAuthorization(context.Background(), creds, in, nil)
			requireOAuthCode(t, tc.code, err)
		})
	}
}

func TestPARRequiredByTheClientOrTheServer(t *testing.T) {
	for name, setup := range map[string]struct {
		global, client bool
	}{"by the client's metadata": {false, true}, "by the server's policy": {true, false}} {
		t.Run(name, func(t *testing.T) {
			p := newTestProvider(t, func(c *oidc.Config, _ *oidc.Deps) { c.RequirePAR = setup.global })
			cc := parClient(t, p, setup.client)
			out, err := p.Authorize(context.Background(), parParams(cc), parBrowser)
			require.NoError(t, err)
			require.NotEmpty(t, out.RedirectTo, "refused by redirect: the client and redirect URI are good")
			u, err := url.Parse(out.RedirectTo)
			require.NoError(t, err)
			assert.Equal(t, oidc.CodeInvalidRequest, u.Query().Get("error"))

			pushed, err := p.PushAuthorization(context.Background(), cc, parParams(cc), nil)
			require.NoError(t, err)
			out, err = p.Authorize(context.Background(), oidc.AuthorizeParams{ClientID: cc.ClientID, RequestURI: pushed.RequestURI}, parBrowser)
			require.NoError(t, err)
			assert.Equal(t, oidc.StepLogin, out.Step)
		})
	}
}

func TestPARForeignRequestURIs(t *testing.T) {
	p := newTestProvider(t, nil)
	cc := parClient(t, p, false)
	for uri, code := range map[string]string{
		oidc.RequestURIPrefix + "guessed":                oidc.CodeInvalidRequestURI,
		oidc.RequestURIPrefix:                            oidc.CodeInvalidRequestURI,
		oidc.RequestURIPrefix + strings.Repeat("x", 200): oidc.CodeInvalidRequestURI,
	} {
		out, err := p.Authorize(context.Background(), oidc.AuthorizeParams{ClientID: cc.ClientID, RequestURI: uri}, parBrowser)
		require.NoError(t, err)
		require.NotNil(t, out.Page, uri)
		assert.Equal(t, code, out.Page.Code, uri)
	}
	// A request object by reference (OIDC Core §6.2) is refused by redirect.
	in := parParams(cc)
	in.RequestURI = "https://client.example/request.jwt"
	out, err := p.Authorize(context.Background(), in, parBrowser)
	require.NoError(t, err)
	u, err := url.Parse(out.RedirectTo)
	require.NoError(t, err)
	assert.Equal(t, oidc.CodeRequestURINotSupported, u.Query().Get("error"))
}
