package oidc_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
	"github.com/calimatic/calimatic-auth/testsuite"
)

const (
	tokenURL    = testIssuer + oidc.PathToken
	userinfoURL = testIssuer + oidc.PathUserInfo
)

// dpopFixture is a provider on a fake clock, with a replay cache, and the
// user store its sign-ins use.
type dpopFixture struct {
	p     *oidc.Provider
	clock *testsuite.FakeClock
	users *memory.UserStore
}

func newDPoPFixture(t *testing.T) *dpopFixture {
	f := &dpopFixture{clock: testsuite.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)), users: memory.NewUserStore()}
	f.p = newTestProvider(t, func(_ *oidc.Config, d *oidc.Deps) {
		d.Clock, d.Users, d.Replay = f.clock, f.users, memory.NewReplayCache()
	})
	return f
}

// proofKey is a key a test client signs its DPoP proofs with.
type proofKey struct {
	alg  string
	priv crypto.Signer
}

func newProofKey(t *testing.T, alg string) proofKey {
	return proofKey{alg: alg, priv: newClientKey(t, alg, "").priv}
}

// jwk is the key's public JWK as a JSON object.
func (k proofKey) jwk(t *testing.T) map[string]any {
	t.Helper()
	raw, err := json.Marshal(jose.JSONWebKey{Key: k.priv.Public()})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

// thumbprint is the key's RFC 7638 SHA-256 thumbprint.
func (k proofKey) thumbprint(t *testing.T) string {
	t.Helper()
	tp, err := (&jose.JSONWebKey{Key: k.priv.Public()}).Thumbprint(crypto.SHA256)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(tp)
}

// proof makes a valid proof for method and url at the fixture's now, with
// the server's nonce, and the ath of token when it is not empty; edit
// changes the header and the claims before they are signed.
func (k proofKey) proof(t *testing.T, f *dpopFixture, method, url, token string, edit func(h, c map[string]any)) string {
	t.Helper()
	h := map[string]any{"typ": "dpop+jwt", "alg": k.alg, "jwk": k.jwk(t)}
	c := map[string]any{"jti": rand.Text(), "htm": method, "htu": url, "iat": f.clock.Now().Unix(), "nonce": f.p.DPoPNonce()}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		c["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if edit != nil {
		edit(h, c)
	}
	return k.sign(t, h, c)
}

// sign makes a compact JWS of h and c signed with k, whatever h says.
func (k proofKey) sign(t *testing.T, h, c map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	hb, err := json.Marshal(h)
	require.NoError(t, err)
	cb, err := json.Marshal(c)
	require.NoError(t, err)
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(cb)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch priv := k.priv.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest[:])
		require.NoError(t, err)
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	case *rsa.PrivateKey:
		if k.alg == "PS256" {
			sig, err = rsa.SignPSS(rand.Reader, priv, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, digest[:])
		}
		require.NoError(t, err)
	case ed25519.PrivateKey:
		sig = ed25519.Sign(priv, []byte(input))
	}
	return input + "." + enc.EncodeToString(sig)
}

// requireOAuthError asserts that err is the OAuth error code.
func requireOAuthError(t *testing.T, err error, code string) *oidc.Error {
	t.Helper()
	e, ok := oidc.AsError(err)
	require.True(t, ok, "an OAuth error: %v", err)
	require.Equal(t, code, e.Code, e.Description)
	return e
}

// accessClaims decodes an access token's claims without verifying them.
func accessClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(raw, &c))
	return c
}

// serviceClient registers a client_credentials client with a secret.
func serviceClient(t *testing.T, p *oidc.Provider, md oidc.ClientMetadata) oidc.ClientCredentials {
	t.Helper()
	md.GrantTypes, md.Scope = []string{domain.GrantClientCredentials}, "openid"
	reg, err := p.Register(context.Background(), md)
	require.NoError(t, err)
	return oidc.ClientCredentials{ClientID: reg.ClientID, Secret: reg.ClientSecret}
}

func (f *dpopFixture) clientCredentials(cc oidc.ClientCredentials, proofs ...string) (oidc.TokenResponse, error) {
	return f.p.Token(context.Background(), oidc.TokenRequest{GrantType: domain.GrantClientCredentials, Client: cc, DPoP: proofs})
}

func TestDPoPIsAdvertisedInDiscovery(t *testing.T) {
	var doc map[string]any
	require.NoError(t, json.Unmarshal(newDPoPFixture(t).p.Discovery(), &doc))
	assert.Equal(t, []any{"RS256", "PS256", "ES256", "EdDSA"}, doc["dpop_signing_alg_values_supported"])
}

func TestDPoPBindsTheAccessTokenToTheProofKeyWithEveryAlgorithm(t *testing.T) {
	for _, alg := range oidc.DPoPAlgs {
		t.Run(alg, func(t *testing.T) {
			f := newDPoPFixture(t)
			cc := serviceClient(t, f.p, oidc.ClientMetadata{})
			k := newProofKey(t, alg)
			tok, err := f.clientCredentials(cc, k.proof(t, f, "POST", tokenURL, "", nil))
			require.NoError(t, err)
			assert.Equal(t, "DPoP", tok.TokenType)
			assert.Equal(t, map[string]any{"jkt": k.thumbprint(t)}, accessClaims(t, tok.AccessToken)["cnf"])

			in, err := f.p.Introspect(context.Background(), cc, tok.AccessToken, "")
			require.NoError(t, err)
			assert.True(t, in.Active)
			assert.Equal(t, "DPoP", in.TokenType, "RFC 9449 §6.2")
			require.NotNil(t, in.Confirmation)
			assert.Equal(t, k.thumbprint(t), in.Confirmation.JKT)
		})
	}
}

// The thumbprint is RFC 7638's, computed here by hand for a P-256 key: the
// required members in lexicographic order, no whitespace.
func TestDPoPThumbprintIsRFC7638(t *testing.T) {
	f := newDPoPFixture(t)
	cc := serviceClient(t, f.p, oidc.ClientMetadata{})
	k := newProofKey(t, "ES256")
	pub := k.priv.Public().(*ecdsa.PublicKey)
	b64 := func(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.FillBytes(make([]byte, 32))) }
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + b64(pub.X) + `","y":"` + b64(pub.Y) + `"}`))
	tok, err := f.clientCredentials(cc, k.proof(t, f, "POST", tokenURL, "", nil))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"jkt": base64.RawURLEncoding.EncodeToString(sum[:])}, accessClaims(t, tok.AccessToken)["cnf"])
}

func TestATokenRequestWithoutProofGetsABearerToken(t *testing.T) {
	f := newDPoPFixture(t)
	tok, err := f.clientCredentials(serviceClient(t, f.p, oidc.ClientMetadata{}))
	require.NoError(t, err)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.NotContains(t, accessClaims(t, tok.AccessToken), "cnf")
}

func TestADPoPBoundClientIsRefusedWithoutProof(t *testing.T) {
	f := newDPoPFixture(t)
	cc := serviceClient(t, f.p, oidc.ClientMetadata{DPoPBoundAccessTokens: true})
	_, err := f.clientCredentials(cc)
	requireOAuthError(t, err, oidc.CodeInvalidDPoPProof)
	tok, err := f.clientCredentials(cc, newProofKey(t, "ES256").proof(t, f, "POST", tokenURL, "", nil))
	require.NoError(t, err, "with a proof")
	assert.Equal(t, "DPoP", tok.TokenType)
}

// Each refusal of a proof at the token endpoint (RFC 9449 §4.3), by the
// check that makes it.
func TestTheTokenEndpointRefusesABadProof(t *testing.T) {
	f := newDPoPFixture(t)
	cc := serviceClient(t, f.p, oidc.ClientMetadata{})
	k, other := newProofKey(t, "ES256"), newProofKey(t, "ES256")
	edit := func(fn func(h, c map[string]any)) string { return k.proof(t, f, "POST", tokenURL, "", fn) }
	hs256 := func() string {
		enc := base64.RawURLEncoding
		in := enc.EncodeToString([]byte(`{"typ":"dpop+jwt","alg":"HS256","jwk":{"kty":"oct","k":"c2VjcmV0"}}`)) + "." +
			enc.EncodeToString([]byte(`{"jti":"x","htm":"POST","htu":"`+tokenURL+`","iat":`+jsonInt(f.clock.Now().Unix())+`,"nonce":"`+f.p.DPoPNonce()+`"}`))
		mac := hmac.New(sha256.New, []byte("secret"))
		mac.Write([]byte(in))
		return in + "." + enc.EncodeToString(mac.Sum(nil))
	}
	withPrivate := func(h, _ map[string]any) {
		raw, err := json.Marshal(jose.JSONWebKey{Key: k.priv})
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		h["jwk"] = m
	}
	for _, tc := range []struct {
		name   string
		proofs []string
		code   string
		why    string // in the description
	}{
		{"a proof without nonce is told to use the server's nonce", []string{edit(func(_, c map[string]any) { delete(c, "nonce") })}, oidc.CodeUseDPoPNonce, "nonce"},
		{"a proof with a made-up nonce is told to use the server's nonce", []string{edit(func(_, c map[string]any) { c["nonce"] = "made-up" })}, oidc.CodeUseDPoPNonce, "nonce"},
		{"a proof for another URL is refused", []string{edit(func(_, c map[string]any) { c["htu"] = userinfoURL })}, oidc.CodeInvalidDPoPProof, "(htu)"},
		{"a proof for another host is refused", []string{edit(func(_, c map[string]any) { c["htu"] = "https://evil.test" + oidc.PathToken })}, oidc.CodeInvalidDPoPProof, "(htu)"},
		{"a proof for another method is refused", []string{edit(func(_, c map[string]any) { c["htm"] = "GET" })}, oidc.CodeInvalidDPoPProof, "(htm)"},
		{"a proof issued two minutes ago is refused", []string{edit(func(_, c map[string]any) { c["iat"] = f.clock.Now().Add(-2 * time.Minute).Unix() })}, oidc.CodeInvalidDPoPProof, "(iat)"},
		{"a proof issued two minutes ahead is refused", []string{edit(func(_, c map[string]any) { c["iat"] = f.clock.Now().Add(2 * time.Minute).Unix() })}, oidc.CodeInvalidDPoPProof, "(iat)"},
		{"a proof without iat is refused", []string{edit(func(_, c map[string]any) { delete(c, "iat") })}, oidc.CodeInvalidDPoPProof, "must have htm, htu and iat"},
		{"a proof without jti is refused", []string{edit(func(_, c map[string]any) { delete(c, "jti") })}, oidc.CodeInvalidDPoPProof, "jti"},
		{"a proof whose typ is not dpop+jwt is refused", []string{edit(func(h, _ map[string]any) { h["typ"] = "JWT" })}, oidc.CodeInvalidDPoPProof, "typ dpop+jwt"},
		{"a proof without jwk is refused", []string{edit(func(h, _ map[string]any) { delete(h, "jwk") })}, oidc.CodeInvalidDPoPProof, "public key in jwk"},
		{"a proof whose jwk holds the private key is refused", []string{edit(withPrivate)}, oidc.CodeInvalidDPoPProof, "private members"},
		{"a proof signed by another key than its jwk is refused", []string{other.sign(t,
			map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk(t)},
			map[string]any{"jti": "j", "htm": "POST", "htu": tokenURL, "iat": f.clock.Now().Unix(), "nonce": f.p.DPoPNonce()})}, oidc.CodeInvalidDPoPProof, "signature does not verify"},
		{"a proof with alg none is refused", []string{strings.Join(strings.Split(edit(func(h, _ map[string]any) { h["alg"] = "none" }), ".")[:2], ".") + "."}, oidc.CodeInvalidDPoPProof, "none and HMAC are refused"},
		{"a proof signed with HS256 is refused", []string{hs256()}, oidc.CodeInvalidDPoPProof, "none and HMAC are refused"},
		{"two DPoP headers are refused", []string{edit(nil), edit(nil)}, oidc.CodeInvalidDPoPProof, "exactly one"},
		{"a proof of more than 8 KiB is refused", []string{edit(func(_, c map[string]any) { c["pad"] = strings.Repeat("x", 9<<10) })}, oidc.CodeInvalidDPoPProof, "8 KiB"},
		{"garbage is refused", []string{"not.a.jwt"}, oidc.CodeInvalidDPoPProof, "not base64url JSON"},
		{"bad base64 is refused", []string{"%%%.%%%.%%%"}, oidc.CodeInvalidDPoPProof, "not base64url JSON"},
		{"an empty header is refused", []string{""}, oidc.CodeInvalidDPoPProof, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.clientCredentials(cc, tc.proofs...)
			e := requireOAuthError(t, err, tc.code)
			assert.Contains(t, e.Description, tc.why)
		})
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestAReplayedProofIsRefused(t *testing.T) {
	f := newDPoPFixture(t)
	cc := serviceClient(t, f.p, oidc.ClientMetadata{})
	proof := newProofKey(t, "ES256").proof(t, f, "POST", tokenURL, "", nil)
	_, err := f.clientCredentials(cc, proof)
	require.NoError(t, err)
	f.clock.Advance(10 * time.Second)
	_, err = f.clientCredentials(cc, proof)
	requireOAuthError(t, err, oidc.CodeInvalidDPoPProof)
}

// htu is compared after normalization, without query and fragment (RFC
// 9449 §4.3 item 9).
func TestAProofsHTUIsComparedWithoutQueryAndFragment(t *testing.T) {
	f := newDPoPFixture(t)
	cc := serviceClient(t, f.p, oidc.ClientMetadata{})
	k := newProofKey(t, "ES256")
	for _, htu := range []string{
		tokenURL + "?x=1#frag",
		"HTTPS://AUTH.calimatic.TEST" + oidc.PathToken,
		"https://auth.calimatic.test:443" + oidc.PathToken,
		testIssuer + "/api/v1/oidc/%74oken", // an unreserved character, encoded
	} {
		_, err := f.clientCredentials(cc, k.proof(t, f, "POST", htu, "", nil))
		assert.NoError(t, err, htu)
	}
	// RFC 3986 §6.2.2.2: a reserved character encoded is another path.
	_, err := f.clientCredentials(cc, k.proof(t, f, "POST", testIssuer+"/api/v1/oidc%2Ftoken", "", nil))
	requireOAuthError(t, err, oidc.CodeInvalidDPoPProof)
}

// Member names are case-sensitive (RFC 7515 §4, RFC 7519 §4): a typ or a
// claim named in another case is not the member, whatever encoding/json
// makes of it.
func TestAProofWithMembersInAnotherCaseIsRefused(t *testing.T) {
	f := newDPoPFixture(t)
	cc := serviceClient(t, f.p, oidc.ClientMetadata{})
	k := newProofKey(t, "ES256")
	for name, edit := range map[string]func(h, c map[string]any){
		"typ as TYP beside typ JWT": func(h, _ map[string]any) { h["typ"], h["TYP"] = "JWT", "dpop+jwt" },
		"typ as Typ":                func(h, _ map[string]any) { delete(h, "typ"); h["Typ"] = "dpop+jwt" },
		"htu as Htu":                func(_, c map[string]any) { c["Htu"] = c["htu"]; delete(c, "htu") },
		"jti as JTI":                func(_, c map[string]any) { c["JTI"] = c["jti"]; delete(c, "jti") },
	} {
		_, err := f.clientCredentials(cc, k.proof(t, f, "POST", tokenURL, "", edit))
		e := requireOAuthError(t, err, oidc.CodeInvalidDPoPProof)
		assert.NotEmpty(t, e.Description, name)
	}
}

// A nonce is good in its five-minute slot and the next, and on every
// instance that shares the key.
func TestDPoPNoncesAreSharedByKeyAndExpire(t *testing.T) {
	clock := testsuite.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	key := []byte("0123456789abcdef0123456789abcdef")
	clients := memory.NewClientStore()
	instance := func(key []byte) *dpopFixture {
		f := &dpopFixture{clock: clock, users: memory.NewUserStore()}
		f.p = newTestProvider(t, func(c *oidc.Config, d *oidc.Deps) {
			c.DPoPNonceKey = key
			d.Clock, d.Replay, d.Clients = clock, memory.NewReplayCache(), clients
		})
		return f
	}
	a, b, stranger := instance(key), instance(key), instance([]byte("another key, another deployment!"))
	cc := serviceClient(t, a.p, oidc.ClientMetadata{})
	k := newProofKey(t, "ES256")
	withNonceOf := func(n string) string {
		return k.proof(t, b, "POST", tokenURL, "", func(_, c map[string]any) { c["nonce"] = n })
	}

	nonce := a.p.DPoPNonce()
	assert.Equal(t, nonce, b.p.DPoPNonce(), "instances sharing the key hand out one nonce")
	assert.NotEqual(t, nonce, stranger.p.DPoPNonce())
	_, err := b.clientCredentials(cc, withNonceOf(nonce))
	require.NoError(t, err, "another instance accepts the nonce")
	_, err = stranger.clientCredentials(cc, withNonceOf(nonce))
	requireOAuthError(t, err, oidc.CodeUseDPoPNonce)

	clock.Advance(oidc.DPoPNonceSlot)
	assert.NotEqual(t, nonce, a.p.DPoPNonce(), "a new slot, a new nonce")
	_, err = b.clientCredentials(cc, withNonceOf(nonce))
	require.NoError(t, err, "the previous slot's nonce is still good")

	clock.Advance(oidc.DPoPNonceSlot)
	_, err = b.clientCredentials(cc, withNonceOf(nonce))
	requireOAuthError(t, err, oidc.CodeUseDPoPNonce)
}
