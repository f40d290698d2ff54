package oidc_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

const parURL = testIssuer + oidc.PathPAR

// boundCode signs a user in for a public client with an authorization
// request that edit binds to a DPoP key, and returns what redeeming the
// code needs.
func (f *dpopFixture) boundCode(t *testing.T, edit func(cc oidc.ClientCredentials, in *oidc.AuthorizeParams)) oidc.TokenRequest {
	t.Helper()
	cc, code, verifier := signInClientForCodeWith(t, f.p, f.users, publicClient, "openid email", edit)
	return oidc.TokenRequest{GrantType: domain.GrantAuthorizationCode, Code: code, RedirectURI: "https://app.example/cb", CodeVerifier: verifier, Client: cc}
}

// TestDPoPJKTBindsTheCode: RFC 9449 §10. A code asked for with dpop_jkt is
// redeemed only with a proof of that key.
func TestDPoPJKTBindsTheCode(t *testing.T) {
	key, other := newProofKey(t, "ES256"), newProofKey(t, "ES256")
	bind := func(_ oidc.ClientCredentials, in *oidc.AuthorizeParams) { in.DPoPJKT = key.thumbprint(t) }
	t.Run("without a proof", func(t *testing.T) {
		f := newDPoPFixture(t)
		_, err := f.p.Token(context.Background(), f.boundCode(t, bind))
		requireOAuthError(t, err, oidc.CodeInvalidDPoPProof)
	})
	t.Run("with another key's proof", func(t *testing.T) {
		f := newDPoPFixture(t)
		req := f.boundCode(t, bind)
		req.DPoP = []string{other.proof(t, f, "POST", tokenURL, "", nil)}
		_, err := f.p.Token(context.Background(), req)
		requireOAuthError(t, err, oidc.CodeInvalidDPoPProof)
	})
	t.Run("with the key's proof", func(t *testing.T) {
		f := newDPoPFixture(t)
		req := f.boundCode(t, bind)
		req.DPoP = []string{key.proof(t, f, "POST", tokenURL, "", nil)}
		tok, err := f.p.Token(context.Background(), req)
		require.NoError(t, err)
		assert.Equal(t, "DPoP", tok.TokenType)
		assert.Equal(t, map[string]any{"jkt": key.thumbprint(t)}, accessClaims(t, tok.AccessToken)["cnf"])
	})
}

// TestAPushedProofBindsTheCode: RFC 9449 §10.1. A DPoP proof sent with a
// pushed authorization request binds the code to its key, as dpop_jkt does.
func TestAPushedProofBindsTheCode(t *testing.T) {
	key, other := newProofKey(t, "ES256"), newProofKey(t, "ES256")
	f := newDPoPFixture(t)
	req := f.boundCode(t, func(cc oidc.ClientCredentials, in *oidc.AuthorizeParams) {
		pushed, err := f.p.PushAuthorization(context.Background(), cc, *in, []string{key.proof(t, f, "POST", parURL, "", nil)})
		require.NoError(t, err)
		*in = oidc.AuthorizeParams{ClientID: cc.ClientID, RequestURI: pushed.RequestURI}
	})
	wrong := req
	wrong.DPoP = []string{other.proof(t, f, "POST", tokenURL, "", nil)}
	_, err := f.p.Token(context.Background(), wrong)
	requireOAuthError(t, err, oidc.CodeInvalidDPoPProof)
}

func TestDPoPJKTRefusals(t *testing.T) {
	f := newDPoPFixture(t)
	cc := parClient(t, f.p, false)
	key, other := newProofKey(t, "ES256"), newProofKey(t, "ES256")

	in := parParams(cc)
	in.DPoPJKT = "not-a-thumbprint"
	out, err := f.p.Authorize(context.Background(), in, parBrowser)
	require.NoError(t, err)
	u, err := url.Parse(out.RedirectTo)
	require.NoError(t, err)
	assert.Equal(t, oidc.CodeInvalidRequest, u.Query().Get("error"), "a malformed dpop_jkt")

	in = parParams(cc)
	in.DPoPJKT = other.thumbprint(t)
	_, err = f.p.PushAuthorization(context.Background(), cc, in, []string{key.proof(t, f, "POST", parURL, "", nil)})
	requireOAuthError(t, err, oidc.CodeInvalidDPoPProof) // §10.1: both must name one key

	_, err = f.p.PushAuthorization(context.Background(), cc, parParams(cc), []string{key.proof(t, f, "POST", tokenURL, "", nil)})
	requireOAuthError(t, err, oidc.CodeInvalidDPoPProof) // a proof for another endpoint (htu)
}
