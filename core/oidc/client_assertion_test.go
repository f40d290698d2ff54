package oidc_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/adapters/webhook"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/oidc"
)

const testIssuer = "https://auth.calimatic.test"

// clientKey is a key a test client signs its assertions with.
type clientKey struct {
	alg  string
	kid  string
	priv crypto.Signer
}

var rsaTestKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newClientKey(t testing.TB, alg, kid string) clientKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "PS256":
		priv = rsaTestKey()
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	require.NoError(t, err)
	return clientKey{alg: alg, kid: kid, priv: priv}
}

// jwks is the public JWK Set of keys.
func jwks(t testing.TB, keys ...clientKey) json.RawMessage {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"})
	}
	raw, err := json.Marshal(set)
	require.NoError(t, err)
	return raw
}

// assertion signs claims with k, starting from a valid assertion for
// clientID at the token endpoint; edit changes the claims first.
func (k clientKey) assertion(t testing.TB, clientID string, edit func(jwt.MapClaims)) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": clientID, "sub": clientID, "aud": testIssuer, "jti": rand.Text(),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}
	if edit != nil {
		edit(claims)
	}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(k.alg), claims)
	if k.kid != "" {
		tok.Header["kid"] = k.kid
	}
	s, err := tok.SignedString(k.priv)
	require.NoError(t, err)
	return s
}

func assertionProvider(t testing.TB) *oidc.Provider {
	return newTestProvider(t, func(_ *oidc.Config, d *oidc.Deps) {
		d.ClientKeys = webhook.NewClientKeys(webhook.Options{AllowLoopback: true}, slog.New(slog.DiscardHandler))
		d.Replay = memory.NewReplayCache()
	})
}

func registerKeyClient(t testing.TB, p *oidc.Provider, md oidc.ClientMetadata) string {
	t.Helper()
	md.TokenEndpointAuthMethod = domain.AuthMethodPrivateKeyJWT
	md.GrantTypes = []string{domain.GrantClientCredentials}
	reg, err := p.Register(context.Background(), md)
	require.NoError(t, err)
	assert.Empty(t, reg.ClientSecret, "a private_key_jwt client gets no secret")
	assert.Nil(t, reg.ClientSecretExpiresAt)
	return reg.ClientID
}

func clientCredentials(p *oidc.Provider, cc oidc.ClientCredentials) (oidc.TokenResponse, error) {
	return p.Token(context.Background(), oidc.TokenRequest{GrantType: domain.GrantClientCredentials, Client: cc})
}

func withAssertion(a string) oidc.ClientCredentials {
	return oidc.ClientCredentials{AssertionType: oidc.AssertionTypeJWT, Assertion: a}
}

func requireInvalidClient(t *testing.T, err error, description string) {
	t.Helper()
	e, ok := oidc.AsError(err)
	require.True(t, ok, "want an OAuth error, got %v", err)
	assert.Equal(t, oidc.CodeInvalidClient, e.Code)
	if description != "" {
		assert.Contains(t, e.Description, description)
	}
}

func TestPrivateKeyJWTAcceptsEachAlgorithm(t *testing.T) {
	p := assertionProvider(t)
	for _, alg := range domain.ClientSigningAlgs {
		t.Run(alg, func(t *testing.T) {
			k := newClientKey(t, alg, "k-"+alg)
			id := registerKeyClient(t, p, oidc.ClientMetadata{JWKS: jwks(t, k)})
			resp, err := clientCredentials(p, withAssertion(k.assertion(t, id, nil)))
			require.NoError(t, err)
			assert.NotEmpty(t, resp.AccessToken)
		})
	}
}

func TestPrivateKeyJWTRefusals(t *testing.T) {
	p := assertionProvider(t)
	k := newClientKey(t, "ES256", "k1")
	id := registerKeyClient(t, p, oidc.ClientMetadata{JWKS: jwks(t, k)})
	other := newClientKey(t, "ES256", "k1")

	t.Run("a replayed assertion (RFC 7523 §3 item 7)", func(t *testing.T) {
		a := k.assertion(t, id, nil)
		_, err := clientCredentials(p, withAssertion(a))
		require.NoError(t, err)
		_, err = clientCredentials(p, withAssertion(a))
		requireInvalidClient(t, err, "already used")
	})
	cases := []struct {
		name, why string
		cc        func() oidc.ClientCredentials
	}{
		{"another audience (§3 item 3)", "aud", func() oidc.ClientCredentials {
			return withAssertion(k.assertion(t, id, func(c jwt.MapClaims) { c["aud"] = "https://evil.example/token" }))
		}},
		{"expired (§3 item 4)", "expired", func() oidc.ClientCredentials {
			return withAssertion(k.assertion(t, id, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }))
		}},
		{"no exp", "exp", func() oidc.ClientCredentials {
			return withAssertion(k.assertion(t, id, func(c jwt.MapClaims) { delete(c, "exp") }))
		}},
		{"an exp far in the future", "10 minutes", func() oidc.ClientCredentials {
			return withAssertion(k.assertion(t, id, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(time.Hour).Unix() }))
		}},
		{"not valid yet (§3 item 5)", "nbf", func() oidc.ClientCredentials {
			return withAssertion(k.assertion(t, id, func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(5 * time.Minute).Unix() }))
		}},
		{"iss other than sub (§3 item 1)", "iss", func() oidc.ClientCredentials {
			return withAssertion(k.assertion(t, id, func(c jwt.MapClaims) { c["iss"] = "cca_someone_else" }))
		}},
		{"no jti", "jti", func() oidc.ClientCredentials {
			return withAssertion(k.assertion(t, id, func(c jwt.MapClaims) { delete(c, "jti") }))
		}},
		{"signed by a key the client never registered", "", func() oidc.ClientCredentials {
			return withAssertion(other.assertion(t, id, nil))
		}},
		{"another client's id in client_id", "", func() oidc.ClientCredentials {
			cc := withAssertion(k.assertion(t, id, nil))
			cc.ClientID = "cca_another"
			return cc
		}},
		{"a wrong client_assertion_type", "", func() oidc.ClientCredentials {
			cc := withAssertion(k.assertion(t, id, nil))
			cc.AssertionType = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
			return cc
		}},
		{"alg none", "", func() oidc.ClientCredentials {
			tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": id, "sub": id, "aud": testIssuer, "jti": "x", "exp": time.Now().Add(time.Minute).Unix()})
			s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
			require.NoError(t, err)
			return withAssertion(s)
		}},
		{"HS256 keyed with the public key", "", func() oidc.ClientCredentials {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": id, "sub": id, "aud": testIssuer, "jti": "y", "exp": time.Now().Add(time.Minute).Unix()})
			tok.Header["kid"] = "k1"
			s, err := tok.SignedString([]byte(jwks(t, k)))
			require.NoError(t, err)
			return withAssertion(s)
		}},
		{"a secret instead of an assertion", "", func() oidc.ClientCredentials {
			return oidc.ClientCredentials{ClientID: id, Secret: "ccas_guess"}
		}},
		{"garbage", "", func() oidc.ClientCredentials { return withAssertion("not.a.jwt") }},
		{"exp as a string (RFC 7519 §2 NumericDate)", "", func() oidc.ClientCredentials {
			return withAssertion(k.assertion(t, id, func(c jwt.MapClaims) { c["exp"] = strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10) }))
		}},
		{"a crit header (RFC 7515 §4.1.11)", "", func() oidc.ClientCredentials {
			tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": id, "sub": id, "aud": testIssuer, "jti": rand.Text(), "exp": time.Now().Add(time.Minute).Unix()})
			tok.Header["kid"], tok.Header["crit"], tok.Header["x-ext"] = "k1", []string{"x-ext"}, 1
			s, err := tok.SignedString(k.priv)
			require.NoError(t, err)
			return withAssertion(s)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := clientCredentials(p, tc.cc())
			requireInvalidClient(t, err, tc.why)
		})
	}
}

func TestPrivateKeyJWTAudiences(t *testing.T) {
	p := assertionProvider(t)
	k := newClientKey(t, "EdDSA", "")
	id := registerKeyClient(t, p, oidc.ClientMetadata{JWKS: jwks(t, k)})
	for _, aud := range []any{testIssuer, testIssuer + oidc.PathToken, []string{testIssuer, testIssuer + oidc.PathToken}} {
		_, err := clientCredentials(p, withAssertion(k.assertion(t, id, func(c jwt.MapClaims) { c["aud"] = aud })))
		require.NoError(t, err, "aud %v", aud)
	}
	// An assertion also addressed to another server could be replayed there.
	_, err := clientCredentials(p, withAssertion(k.assertion(t, id, func(c jwt.MapClaims) { c["aud"] = []string{"https://other.example", testIssuer} })))
	requireInvalidClient(t, err, "no other value")
	// The introspection endpoint's own URL names us there, not at the token endpoint.
	a := k.assertion(t, id, func(c jwt.MapClaims) { c["aud"] = testIssuer + oidc.PathIntrospect })
	_, err = p.Introspect(context.Background(), withAssertion(a), "opaque", "")
	require.NoError(t, err)
	_, err = clientCredentials(p, withAssertion(k.assertion(t, id, func(c jwt.MapClaims) { c["aud"] = testIssuer + oidc.PathIntrospect })))
	requireInvalidClient(t, err, "aud")
}

func TestPrivateKeyJWTPinnedAlgorithm(t *testing.T) {
	p := assertionProvider(t)
	es, rs := newClientKey(t, "ES256", "es"), newClientKey(t, "RS256", "rs")
	id := registerKeyClient(t, p, oidc.ClientMetadata{JWKS: jwks(t, es, rs), TokenEndpointAuthSigningAlg: "ES256"})
	_, err := clientCredentials(p, withAssertion(es.assertion(t, id, nil)))
	require.NoError(t, err)
	_, err = clientCredentials(p, withAssertion(rs.assertion(t, id, nil)))
	requireInvalidClient(t, err, "")
}

// TestPrivateKeyJWTFollowsARotationAtTheJWKSURI: the client publishes a new
// key at its jwks_uri and signs with it at once; the unknown kid makes the
// server fetch the set again.
func TestPrivateKeyJWTFollowsARotationAtTheJWKSURI(t *testing.T) {
	oldKey, newKey := newClientKey(t, "ES256", "2026-01"), newClientKey(t, "ES256", "2026-02")
	var published atomic.Value
	published.Store(jwks(t, oldKey))
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(published.Load().(json.RawMessage))
	}))
	defer srv.Close()

	p := assertionProvider(t)
	id := registerKeyClient(t, p, oidc.ClientMetadata{JWKSURI: srv.URL + "/jwks.json"})
	_, err := clientCredentials(p, withAssertion(oldKey.assertion(t, id, nil)))
	require.NoError(t, err)
	_, err = clientCredentials(p, withAssertion(oldKey.assertion(t, id, nil)))
	require.NoError(t, err)
	assert.EqualValues(t, 1, fetches.Load(), "the set is cached")

	published.Store(jwks(t, newKey))
	_, err = clientCredentials(p, withAssertion(newKey.assertion(t, id, nil)))
	require.NoError(t, err, "a kid the cache lacks fetches the set again")
	assert.EqualValues(t, 2, fetches.Load())
	_, err = clientCredentials(p, withAssertion(oldKey.assertion(t, id, nil)))
	requireInvalidClient(t, err, "")
}

func TestPrivateKeyJWTRegistrationRefusals(t *testing.T) {
	p := assertionProvider(t)
	k := newClientKey(t, "ES256", "k1")
	ecPriv := k.priv.(*ecdsa.PrivateKey)
	privateSet, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: ecPriv, KeyID: "p"}}})
	require.NoError(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	smallSet, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &small.PublicKey}}})
	require.NoError(t, err)
	cases := map[string]oidc.ClientMetadata{
		"no keys":                         {},
		"jwks and jwks_uri both":          {JWKS: jwks(t, k), JWKSURI: "https://app.example/jwks"},
		"a private key in jwks":           {JWKS: privateSet},
		"an RSA key under 2048 bits":      {JWKS: smallSet},
		"jwks that is not a set":          {JWKS: json.RawMessage(`{"kty":"EC"}`)},
		"an unsupported assertion alg":    {JWKS: jwks(t, k), TokenEndpointAuthSigningAlg: "HS256"},
		"a jwks_uri with a fragment":      {JWKSURI: "https://app.example/jwks#x"},
		"a jwks_uri that is not a URL":    {JWKSURI: "jwks.json"},
		"certificate-bound access tokens": {JWKS: jwks(t, k), TLSClientCertificateBoundAccessTokens: true},
	}
	for name, md := range cases {
		t.Run(name, func(t *testing.T) {
			md.TokenEndpointAuthMethod = domain.AuthMethodPrivateKeyJWT
			md.GrantTypes = []string{domain.GrantClientCredentials}
			_, err := p.Register(context.Background(), md)
			e, ok := oidc.AsError(err)
			require.True(t, ok, "want an OAuth error, got %v", err)
			assert.Equal(t, oidc.CodeInvalidClientMetadata, e.Code)
		})
	}
	t.Run("an assertion algorithm without private_key_jwt", func(t *testing.T) {
		_, err := p.Register(context.Background(), oidc.ClientMetadata{
			GrantTypes: []string{domain.GrantClientCredentials}, TokenEndpointAuthSigningAlg: "ES256",
		})
		e, ok := oidc.AsError(err)
		require.True(t, ok)
		assert.Equal(t, oidc.CodeInvalidClientMetadata, e.Code)
	})
}
