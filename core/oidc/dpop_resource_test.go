package oidc_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

// signIn signs a user in for a client registered with md and redeems the
// code with a proof of k, or without one when k is nil.
func (f *dpopFixture) signIn(t *testing.T, md oidc.ClientMetadata, k *proofKey) (oidc.ClientCredentials, oidc.TokenResponse) {
	t.Helper()
	cc, code, verifier := signInClientForCode(t, f.p, f.users, md, "openid email offline_access")
	req := oidc.TokenRequest{GrantType: domain.GrantAuthorizationCode, Code: code, RedirectURI: "https://app.example/cb", CodeVerifier: verifier, Client: cc}
	if k != nil {
		req.DPoP = []string{k.proof(t, f, "POST", tokenURL, "", nil)}
	}
	tok, err := f.p.Token(context.Background(), req)
	require.NoError(t, err)
	return cc, tok
}

func (f *dpopFixture) refresh(cc oidc.ClientCredentials, refreshToken string, proofs ...string) (oidc.TokenResponse, error) {
	return f.p.Token(context.Background(), oidc.TokenRequest{GrantType: domain.GrantRefreshToken, RefreshToken: refreshToken, Client: cc, DPoP: proofs})
}

func (f *dpopFixture) userinfo(scheme, token, method string, proofs ...string) (map[string]any, error) {
	return f.p.UserInfo(context.Background(), oidc.ResourceRequest{Scheme: scheme, Token: token, DPoP: proofs, Method: method})
}

var publicClient = oidc.ClientMetadata{TokenEndpointAuthMethod: domain.AuthMethodNone}

func TestTheCodeGrantBindsItsAccessTokenAndUserinfoAcceptsItWithAProof(t *testing.T) {
	f := newDPoPFixture(t)
	k := newProofKey(t, "ES256")
	_, tok := f.signIn(t, oidc.ClientMetadata{}, &k)
	assert.Equal(t, "DPoP", tok.TokenType)
	assert.Equal(t, map[string]any{"jkt": k.thumbprint(t)}, accessClaims(t, tok.AccessToken)["cnf"])

	for _, method := range []string{"GET", "POST"} {
		claims, err := f.userinfo(oidc.SchemeDPoP, tok.AccessToken, method, k.proof(t, f, method, userinfoURL, tok.AccessToken, nil))
		require.NoError(t, err, method)
		assert.Equal(t, "race@example.com", claims["email"], method)
	}
}

// Each refusal of a bound token at userinfo (RFC 9449 §7.1, §7.2), with the
// DPoP challenge.
func TestUserinfoRefusesABoundTokenWithoutItsProof(t *testing.T) {
	f := newDPoPFixture(t)
	k, other := newProofKey(t, "ES256"), newProofKey(t, "EdDSA")
	_, tok := f.signIn(t, oidc.ClientMetadata{}, &k)
	at := tok.AccessToken
	edit := func(fn func(h, c map[string]any)) string { return k.proof(t, f, "GET", userinfoURL, at, fn) }
	replayed := edit(nil)
	_, err := f.userinfo(oidc.SchemeDPoP, at, "GET", replayed)
	require.NoError(t, err, "the proof's first use")

	for _, tc := range []struct {
		name   string
		scheme string
		proofs []string
		code   string
		why    string // in the description
	}{
		{"the token sent as a bearer token is refused", oidc.SchemeBearer, nil, oidc.CodeInvalidToken, "DPoP-bound"},
		{"the token sent as a bearer token beside a good proof is refused", oidc.SchemeBearer, []string{edit(nil)}, oidc.CodeInvalidToken, "DPoP-bound"},
		{"the token without a proof is refused", oidc.SchemeDPoP, nil, oidc.CodeInvalidDPoPProof, "exactly one"},
		{"a proof by another key is refused", oidc.SchemeDPoP, []string{other.proof(t, f, "GET", userinfoURL, at, nil)}, oidc.CodeInvalidDPoPProof, "another key"},
		{"a proof without ath is refused", oidc.SchemeDPoP, []string{edit(func(_, c map[string]any) { delete(c, "ath") })}, oidc.CodeInvalidDPoPProof, "ath"},
		{"a proof whose ath is another token's is refused", oidc.SchemeDPoP, []string{k.proof(t, f, "GET", userinfoURL, "another token", nil)}, oidc.CodeInvalidDPoPProof, "ath"},
		{"a proof for the token endpoint is refused", oidc.SchemeDPoP, []string{edit(func(_, c map[string]any) { c["htu"] = tokenURL })}, oidc.CodeInvalidDPoPProof, "(htu)"},
		{"a proof for POST sent with GET is refused", oidc.SchemeDPoP, []string{edit(func(_, c map[string]any) { c["htm"] = "POST" })}, oidc.CodeInvalidDPoPProof, "(htm)"},
		{"a stale proof is refused", oidc.SchemeDPoP, []string{edit(func(_, c map[string]any) { c["iat"] = f.clock.Now().Add(-90 * time.Second).Unix() })}, oidc.CodeInvalidDPoPProof, "(iat)"},
		{"a replayed proof is refused", oidc.SchemeDPoP, []string{replayed}, oidc.CodeInvalidDPoPProof, "already used"},
		{"a proof without nonce is told to use the server's nonce", oidc.SchemeDPoP, []string{edit(func(_, c map[string]any) { delete(c, "nonce") })}, oidc.CodeUseDPoPNonce, "nonce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.userinfo(tc.scheme, at, "GET", tc.proofs...)
			e := requireOAuthError(t, err, tc.code)
			assert.Contains(t, e.Description, tc.why)
			assert.Equal(t, oidc.SchemeDPoP, e.Challenge, "the answer challenges for DPoP")
		})
	}
}

func TestUserinfoRefusesABearerTokenSentWithTheDPoPScheme(t *testing.T) {
	f := newDPoPFixture(t)
	_, tok := f.signIn(t, oidc.ClientMetadata{}, nil)
	require.Equal(t, "Bearer", tok.TokenType)
	k := newProofKey(t, "ES256")
	_, err := f.userinfo(oidc.SchemeDPoP, tok.AccessToken, "GET", k.proof(t, f, "GET", userinfoURL, tok.AccessToken, nil))
	e := requireOAuthError(t, err, oidc.CodeInvalidToken)
	assert.Equal(t, oidc.SchemeDPoP, e.Challenge)

	_, err = f.userinfo(oidc.SchemeBearer, tok.AccessToken, "GET")
	require.NoError(t, err, "as a bearer token it is good")
}

// RFC 9449 §5: a public client's refresh token is bound to the key that
// obtained it.
func TestAPublicClientsRefreshTokenIsBoundToItsKey(t *testing.T) {
	f := newDPoPFixture(t)
	k, other := newProofKey(t, "ES256"), newProofKey(t, "ES256")
	cc, tok := f.signIn(t, publicClient, &k)
	require.NotEmpty(t, tok.RefreshToken)

	_, err := f.refresh(cc, tok.RefreshToken, other.proof(t, f, "POST", tokenURL, "", nil))
	e := requireOAuthError(t, err, oidc.CodeInvalidDPoPProof)
	assert.Contains(t, e.Description, "bound")
	_, err = f.refresh(cc, tok.RefreshToken)
	requireOAuthError(t, err, oidc.CodeInvalidDPoPProof)

	next, err := f.refresh(cc, tok.RefreshToken, k.proof(t, f, "POST", tokenURL, "", nil))
	require.NoError(t, err, "the refused attempts did not spend the token")
	assert.Equal(t, "DPoP", next.TokenType)
	assert.Equal(t, map[string]any{"jkt": k.thumbprint(t)}, accessClaims(t, next.AccessToken)["cnf"])
	_, err = f.refresh(cc, next.RefreshToken, other.proof(t, f, "POST", tokenURL, "", nil))
	requireOAuthError(t, err, oidc.CodeInvalidDPoPProof)
}

// A confidential client's refresh token is not bound (it authenticates
// anyway); the new access token is bound to whatever proof comes with the
// refresh.
func TestAConfidentialClientsRefreshTokenIsNotBound(t *testing.T) {
	f := newDPoPFixture(t)
	k, other := newProofKey(t, "ES256"), newProofKey(t, "RS256")
	cc, tok := f.signIn(t, oidc.ClientMetadata{}, &k)

	next, err := f.refresh(cc, tok.RefreshToken, other.proof(t, f, "POST", tokenURL, "", nil))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"jkt": other.thumbprint(t)}, accessClaims(t, next.AccessToken)["cnf"])
	plain, err := f.refresh(cc, next.RefreshToken)
	require.NoError(t, err)
	assert.Equal(t, "Bearer", plain.TokenType)
}

// A public client that got its refresh token without DPoP may refresh
// without it too: only a bound family is held to a key.
func TestAnUnboundPublicRefreshTokenStaysUsableWithoutProof(t *testing.T) {
	f := newDPoPFixture(t)
	cc, tok := f.signIn(t, publicClient, nil)
	next, err := f.refresh(cc, tok.RefreshToken)
	require.NoError(t, err)
	assert.Equal(t, "Bearer", next.TokenType)
}

// A use_dpop_nonce answer spends nothing: the client retries with the
// nonce and the same code.
func TestANonceRetryKeepsTheCode(t *testing.T) {
	f := newDPoPFixture(t)
	k := newProofKey(t, "ES256")
	cc, code, verifier := signInClientForCode(t, f.p, f.users, oidc.ClientMetadata{}, "openid email")
	req := oidc.TokenRequest{GrantType: domain.GrantAuthorizationCode, Code: code, RedirectURI: "https://app.example/cb", CodeVerifier: verifier, Client: cc}
	req.DPoP = []string{k.proof(t, f, "POST", tokenURL, "", func(_, c map[string]any) { delete(c, "nonce") })}
	_, err := f.p.Token(context.Background(), req)
	requireOAuthError(t, err, oidc.CodeUseDPoPNonce)
	req.DPoP = []string{k.proof(t, f, "POST", tokenURL, "", nil)}
	tok, err := f.p.Token(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "DPoP", tok.TokenType)
}

// The device grant binds too (RFC 9449 §5: every grant), and so does the
// refresh family of its public client.
func TestTheDeviceGrantBindsItsTokensToTheProofKey(t *testing.T) {
	f := newDeviceFixture(t)
	reg, err := f.p.Register(context.Background(), oidc.ClientMetadata{
		ClientName: "Living Room TV", GrantTypes: []string{domain.GrantDeviceCode, domain.GrantRefreshToken},
		TokenEndpointAuthMethod: domain.AuthMethodNone, Scope: "openid email",
	})
	require.NoError(t, err)
	f.client = oidc.ClientCredentials{ClientID: reg.ClientID}
	da := f.authorize(t)
	f.decide(t, da.UserCode, true)
	df := &dpopFixture{p: f.p, clock: f.clock}
	k, other := newProofKey(t, "EdDSA"), newProofKey(t, "EdDSA")

	tok, err := f.p.Token(context.Background(), oidc.TokenRequest{
		GrantType: domain.GrantDeviceCode, DeviceCode: da.DeviceCode, Client: f.client,
		DPoP: []string{k.proof(t, df, "POST", tokenURL, "", nil)},
	})
	require.NoError(t, err)
	assert.Equal(t, "DPoP", tok.TokenType)
	assert.Equal(t, map[string]any{"jkt": k.thumbprint(t)}, accessClaims(t, tok.AccessToken)["cnf"])
	_, err = df.refresh(f.client, tok.RefreshToken, other.proof(t, df, "POST", tokenURL, "", nil))
	requireOAuthError(t, err, oidc.CodeInvalidDPoPProof)
	_, err = df.refresh(f.client, tok.RefreshToken, k.proof(t, df, "POST", tokenURL, "", nil))
	require.NoError(t, err)
}
