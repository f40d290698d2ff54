package app_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
)

// dpopKey signs DPoP proofs (RFC 9449 §4.2) by hand, as a client would.
type dpopKey struct{ key *ecdsa.PrivateKey }

func newDPoPKey(t *testing.T) dpopKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return dpopKey{key}
}

// proof is a proof for method and target with nonce, and the ath of
// accessToken when it is not empty.
func (k dpopKey) proof(t *testing.T, method, target, nonce, accessToken string) string {
	t.Helper()
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": target, "iat": time.Now().Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	require.NoError(t, err)
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	jws, err := signer.Sign(payload)
	require.NoError(t, err)
	s, err := jws.CompactSerialize()
	require.NoError(t, err)
	return s
}

func (k dpopKey) thumbprint(t *testing.T) string {
	tp, err := (&jose.JSONWebKey{Key: &k.key.PublicKey}).Thumbprint(crypto.SHA256)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(tp)
}

func (k dpopKey) privateJWK(t *testing.T) string {
	raw, err := json.Marshal(jose.JSONWebKey{Key: k.key, Algorithm: "ES256"})
	require.NoError(t, err)
	return string(raw)
}

// answer is an HTTP response with its JSON body.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// dpopCall sends method to target with form (a POST) or none (a GET),
// the Authorization header auth when not empty, and a DPoP header per proof.
func dpopCall(t *testing.T, method, target string, form url.Values, auth string, proofs ...string) answer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header}
	require.NoError(t, json.Unmarshal(raw, &a.body), "%s %s: %s", method, target, raw)
	return a
}

// registerPublicClient registers a public client of the code and refresh
// grants over HTTP.
func registerPublicClient(t *testing.T, baseURL, redirectURI string) string {
	t.Helper()
	return registerOverHTTP(t, baseURL, map[string]any{
		"client_name": "Gradebook mobile", "redirect_uris": []string{redirectURI}, "token_endpoint_auth_method": "none",
		"grant_types": []string{"authorization_code", "refresh_token"}, "scope": "openid profile email",
	})["client_id"].(string)
}

// TestDPoPOverHTTP: a public client signs a user in with DPoP, is told to
// use the server's nonce, gets a bound access token and a bound refresh
// token; userinfo takes the token only with its proof, and refuses every
// bad one with the DPoP challenge; openid-client v6 gets a bound token with
// client_credentials, introspects it, and calls userinfo with the user's
// token. On memory and PostgreSQL.
func TestDPoPOverHTTP(t *testing.T) {
	t.Parallel()
	for name, backend := range rpBackends {
		t.Run(name, func(t *testing.T) {
			srv := startServer(t, backend(t))
			k := newDPoPKey(t)
			user := dpopSignIn(t, srv.BaseURL, k)
			userinfoRefusals(t, srv.BaseURL, k, user)
			refreshWithKey(t, srv.BaseURL, k, user)

			c := registerKeyClient(t, srv.BaseURL, nil)
			out := rpClient(t, "dpop", map[string]string{
				"ISSUER": srv.BaseURL, "CLIENT_ID": c.id, "CLIENT_JWK": c.privateJWK(t), "SCOPE": "",
				"USER_TOKEN": user.accessToken, "USER_SUB": user.sub, "USER_DPOP_JWK": k.privateJWK(t),
			})
			assert.Equal(t, "dpop", strings.ToLower(out["token_type"].(string)))
			var rpKey jose.JSONWebKey
			raw, err := json.Marshal(out["dpop_jwk"])
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, &rpKey))
			tp, err := rpKey.Thumbprint(crypto.SHA256)
			require.NoError(t, err)
			in := out["introspection"].(map[string]any)
			assert.Equal(t, true, in["active"], "introspection: %v", in)
			assert.Equal(t, "DPoP", in["token_type"], "RFC 9449 §6.2: %v", in)
			assert.Equal(t, map[string]any{"jkt": base64.RawURLEncoding.EncodeToString(tp)}, in["cnf"], "bound to openid-client's key")
			assert.Equal(t, []any{"RS256", "PS256", "ES256", "EdDSA"}, out["dpop_signing_alg_values_supported"])
			info := out["userinfo"].(map[string]any)
			assert.Equal(t, user.sub, info["sub"])
			assert.Equal(t, seedEmail, info["email"])
		})
	}
}

// dpopUser is what a DPoP sign-in left the client with.
type dpopUser struct {
	clientID, accessToken, refreshToken, sub string
}

// dpopSignIn runs the code flow for a new public client and redeems the
// code with proofs of k: first without nonce, as a client that has none
// yet, then with the one the server gave.
func dpopSignIn(t *testing.T, base string, k dpopKey) dpopUser {
	t.Helper()
	cb := newCodeCatcher(t)
	clientID := registerPublicClient(t, base, cb.URL+"/cb")
	code, verifier := signInForCode(t, context.Background(), base, clientID, cb)
	tokenURL := base + "/api/v1/oidc/token"
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb.URL + "/cb"},
		"code_verifier": {verifier}, "client_id": {clientID},
	}

	a := dpopCall(t, http.MethodPost, tokenURL, form, "", k.proof(t, "POST", tokenURL, "", ""))
	require.Equal(t, http.StatusBadRequest, a.status, "%v", a.body)
	require.Equal(t, "use_dpop_nonce", a.body["error"], "RFC 9449 §8: %v", a.body)
	nonce := a.header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce, "the answer carries the nonce")

	a = dpopCall(t, http.MethodPost, tokenURL, form, "", k.proof(t, "POST", tokenURL, nonce, ""))
	require.Equal(t, http.StatusOK, a.status, "the retry with the nonce redeems the same code: %v", a.body)
	assert.Equal(t, "DPoP", a.body["token_type"])
	assert.NotEmpty(t, a.header.Get("DPoP-Nonce"), "a success carries a nonce too")
	u := dpopUser{clientID: clientID, accessToken: a.body["access_token"].(string), refreshToken: a.body["refresh_token"].(string)}
	require.NotEmpty(t, u.refreshToken)

	userinfo := base + "/api/v1/oidc/userinfo"
	a = dpopCall(t, http.MethodGet, userinfo, nil, "DPoP "+u.accessToken, k.proof(t, "GET", userinfo, nonce, u.accessToken))
	require.Equal(t, http.StatusOK, a.status, "%v", a.body)
	u.sub = a.body["sub"].(string)
	return u
}

// userinfoRefusals sends the user's bound token to userinfo every wrong way.
func userinfoRefusals(t *testing.T, base string, k dpopKey, u dpopUser) {
	userinfo, at := base+"/api/v1/oidc/userinfo", u.accessToken
	nonce := dpopCall(t, http.MethodGet, userinfo, nil, "").header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)
	other := newDPoPKey(t)
	for _, tc := range []struct {
		name   string
		auth   string
		proofs []string
		code   string
	}{
		{"the token as a bearer token", "Bearer " + at, nil, "invalid_token"},
		{"no proof", "DPoP " + at, nil, "invalid_dpop_proof"},
		{"a proof without nonce", "DPoP " + at, []string{k.proof(t, "GET", userinfo, "", at)}, "use_dpop_nonce"},
		{"a proof for the token endpoint", "DPoP " + at, []string{k.proof(t, "GET", base+"/api/v1/oidc/token", nonce, at)}, "invalid_dpop_proof"},
		{"a proof for POST", "DPoP " + at, []string{k.proof(t, "POST", userinfo, nonce, at)}, "invalid_dpop_proof"},
		{"a proof without ath", "DPoP " + at, []string{k.proof(t, "GET", userinfo, nonce, "")}, "invalid_dpop_proof"},
		{"a proof by another key", "DPoP " + at, []string{other.proof(t, "GET", userinfo, nonce, at)}, "invalid_dpop_proof"},
		{"two proofs", "DPoP " + at, []string{k.proof(t, "GET", userinfo, nonce, at), k.proof(t, "GET", userinfo, nonce, at)}, "invalid_dpop_proof"},
		{"garbage", "DPoP " + at, []string{"%%%garbage"}, "invalid_dpop_proof"},
		{"a proof of 9 KiB", "DPoP " + at, []string{strings.Repeat("a", 9<<10)}, "invalid_dpop_proof"},
	} {
		a := dpopCall(t, http.MethodGet, userinfo, nil, tc.auth, tc.proofs...)
		assert.Equal(t, http.StatusUnauthorized, a.status, "%s: %v", tc.name, a.body)
		assert.Equal(t, tc.code, a.body["error"], "%s: %v", tc.name, a.body)
		assert.True(t, strings.HasPrefix(a.header.Get("WWW-Authenticate"), `DPoP algs="RS256 PS256 ES256 EdDSA", error="`+tc.code+`"`),
			"%s: the DPoP challenge, got %q", tc.name, a.header.Get("WWW-Authenticate"))
		if tc.code == "use_dpop_nonce" {
			assert.Equal(t, nonce, a.header.Get("DPoP-Nonce"), tc.name)
		}
	}
}

// refreshWithKey refreshes the public client's bound token: another key is
// refused, its own key gets a new bound token.
func refreshWithKey(t *testing.T, base string, k dpopKey, u dpopUser) {
	tokenURL := base + "/api/v1/oidc/token"
	nonce := dpopCall(t, http.MethodGet, base+"/api/v1/oidc/userinfo", nil, "").header.Get("DPoP-Nonce")
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {u.refreshToken}, "client_id": {u.clientID}}

	a := dpopCall(t, http.MethodPost, tokenURL, form, "", newDPoPKey(t).proof(t, "POST", tokenURL, nonce, ""))
	assert.Equal(t, http.StatusBadRequest, a.status, "%v", a.body)
	assert.Equal(t, "invalid_dpop_proof", a.body["error"], "RFC 9449 §5: another key: %v", a.body)
	a = dpopCall(t, http.MethodPost, tokenURL, form, "", "not a proof")
	assert.Equal(t, http.StatusBadRequest, a.status, "%v", a.body)
	assert.Equal(t, "invalid_dpop_proof", a.body["error"], "garbage: %v", a.body)

	a = dpopCall(t, http.MethodPost, tokenURL, form, "", k.proof(t, "POST", tokenURL, nonce, ""))
	require.Equal(t, http.StatusOK, a.status, "%v", a.body)
	assert.Equal(t, "DPoP", a.body["token_type"])
	claims := strings.Split(a.body["access_token"].(string), ".")
	raw, err := base64.RawURLEncoding.DecodeString(claims[1])
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"cnf":{"jkt":"`+k.thumbprint(t)+`"}`)
}

// TestDPoPNoncesHoldAcrossInstances: two instances on one PostgreSQL
// schema, behind one issuer, accept each other's nonces; they share no
// state for it, only the key-encryption key the nonce key derives from.
func TestDPoPNoncesHoldAcrossInstances(t *testing.T) {
	t.Parallel()
	backend := usePostgres(postgresDSN(t), newKEK())
	a := startServer(t, backend)
	b := startServer(t, func(c *config.Config) {
		backend(c)
		c.Issuer = a.BaseURL
	})
	c := registerKeyClient(t, a.URL, nil)
	k := newDPoPKey(t)
	tokenURL := a.BaseURL + "/api/v1/oidc/token"
	nonce := dpopCall(t, http.MethodGet, a.URL+"/api/v1/oidc/userinfo", nil, "").header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {c.assertion(t, a.BaseURL)},
	}
	got := dpopCall(t, http.MethodPost, b.URL+"/api/v1/oidc/token", form, "", k.proof(t, "POST", tokenURL, nonce, ""))
	require.Equal(t, http.StatusOK, got.status, "B accepts A's nonce: %v", got.body)
	assert.Equal(t, "DPoP", got.body["token_type"])
	assert.Equal(t, nonce, got.header.Get("DPoP-Nonce"), "and hands out the same one")

	lone := startServer(t, nil) // memory: a key of its own
	loneNonce := dpopCall(t, http.MethodGet, lone.URL+"/api/v1/oidc/userinfo", nil, "").header.Get("DPoP-Nonce")
	assert.NotEqual(t, nonce, loneNonce, "another deployment's nonces differ")
}
