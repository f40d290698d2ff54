package upstream_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/upstream"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// signingKey is a key an upstream signs ID tokens with.
type signingKey struct {
	kid     string
	method  jwt.SigningMethod
	private crypto.Signer
}

func rsaKey(t *testing.T, kid string) signingKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return signingKey{kid: kid, method: jwt.SigningMethodRS256, private: k}
}

func ecKey(t *testing.T, kid string) signingKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return signingKey{kid: kid, method: jwt.SigningMethodES256, private: k}
}

// sign returns claims as a JWT signed with k, its kid in the header unless
// k.kid is empty.
func (k signingKey) sign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(k.method, claims)
	if k.kid != "" {
		tok.Header["kid"] = k.kid
	}
	s, err := tok.SignedString(k.private)
	require.NoError(t, err)
	return s
}

func (k signingKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.private.Public(), KeyID: k.kid, Algorithm: k.method.Alg(), Use: "sig"}
}

// tokenRequest is what the token endpoint was sent.
type tokenRequest struct {
	Form          url.Values
	Authorization string
}

// testUpstream is an upstream served by httptest whose every answer a test
// can set: its discovery document, its published keys and its token
// endpoint's reply. By default it is a well-behaved provider that answers
// every code with an ID token signed by its current key.
type testUpstream struct {
	*httptest.Server
	t *testing.T

	mu          sync.Mutex
	discovery   http.HandlerFunc // nil: the document of docFields
	docFields   map[string]any   // added to, or replacing, the default document's
	published   []signingKey
	jwksStatus  int // 0: 200
	signer      signingKey
	tokenReply  http.HandlerFunc // nil: an ID token signed by signer
	requests    []tokenRequest
	discoveries int
	jwksFetches int
}

func newTestUpstream(t *testing.T) *testUpstream {
	u := &testUpstream{t: t, docFields: map[string]any{}}
	u.signer = rsaKey(t, "key-1")
	u.published = []signingKey{u.signer}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", u.serveDiscovery)
	mux.HandleFunc("GET /jwks", u.serveJWKS)
	mux.HandleFunc("POST /token", u.serveToken)
	u.Server = httptest.NewServer(mux)
	t.Cleanup(u.Close)
	return u
}

func (u *testUpstream) document() map[string]any {
	doc := map[string]any{
		"issuer":                 u.URL,
		"authorization_endpoint": u.URL + "/authorize",
		"token_endpoint":         u.URL + "/token",
		"jwks_uri":               u.URL + "/jwks",
	}
	for k, v := range u.docFields {
		if v == nil {
			delete(doc, k)
			continue
		}
		doc[k] = v
	}
	return doc
}

func (u *testUpstream) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.discoveries++
	h, doc := u.discovery, u.document()
	u.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

func (u *testUpstream) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.jwksFetches++
	if u.jwksStatus != 0 {
		w.WriteHeader(u.jwksStatus)
		return
	}
	var set jose.JSONWebKeySet
	for _, k := range u.published {
		set.Keys = append(set.Keys, k.jwk())
	}
	writeJSON(w, http.StatusOK, set)
}

func (u *testUpstream) serveToken(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	u.mu.Lock()
	u.requests = append(u.requests, tokenRequest{Form: form, Authorization: r.Header.Get("Authorization")})
	reply, signer := u.tokenReply, u.signer
	u.mu.Unlock()
	if reply != nil {
		reply(w, r)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": "at", "token_type": "Bearer",
		"id_token": signer.sign(u.t, u.claims()),
	})
}

// claims are the ID token claims the upstream issues by default.
func (u *testUpstream) claims() jwt.MapClaims {
	return jwt.MapClaims{"iss": u.URL, "sub": "alice", "aud": "rp", "exp": time.Now().Add(time.Hour).Unix(), "nonce": "n-1"}
}

func (u *testUpstream) set(f func(u *testUpstream)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f(u)
}

func (u *testUpstream) counts() (discoveries, jwksFetches, tokenRequests int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.discoveries, u.jwksFetches, len(u.requests)
}

func (u *testUpstream) lastRequest() tokenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	require.NotEmpty(u.t, u.requests, "the token endpoint was sent a request")
	return u.requests[len(u.requests)-1]
}

// exchange is a code to redeem at u.
func (u *testUpstream) exchange() ports.UpstreamExchange {
	return ports.UpstreamExchange{
		Metadata: domain.UpstreamMetadata{
			Issuer:                u.URL,
			AuthorizationEndpoint: u.URL + "/authorize",
			TokenEndpoint:         u.URL + "/token",
			JWKSURI:               u.URL + "/jwks",
		},
		ClientID:     "rp",
		ClientSecret: "s3cret",
		Code:         "code-1",
		CodeVerifier: "verifier-1",
		RedirectURI:  "https://rp.example/callback",
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newClient(t *testing.T, opts upstream.Options) *upstream.Client {
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	opts.Log = slog.New(slog.DiscardHandler)
	c := upstream.New(opts)
	t.Cleanup(c.Close)
	return c
}
