package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
)

// keyClient is a private_key_jwt client (RFC 7523) of the
// client_credentials_pkjwt scenario: it signs a fresh ES256 assertion for
// every request, as a real client must, since each jti is single use.
type keyClient struct {
	id, kid, issuer string
	key             *ecdsa.PrivateKey
}

// registerKeyClient registers a private_key_jwt client with its public key
// inline, and reads the issuer its assertions are addressed to.
func (e *env) registerKeyClient() (*keyClient, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	k := &keyClient{kid: randToken(9), key: key}
	var disc struct {
		Issuer string `json:"issuer"`
	}
	if err := getJSON(e.url("/.well-known/openid-configuration"), &disc); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	k.issuer = disc.Issuer
	body, _ := json.Marshal(map[string]any{
		"client_name":                "loadgen private_key_jwt",
		"grant_types":                []string{"client_credentials"},
		"token_endpoint_auth_method": "private_key_jwt",
		"jwks":                       jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: k.kid, Algorithm: "ES256", Use: "sig"}}},
	})
	resp, err := http.Post(e.url("/api/v1/oidc/register"), "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &reg) != nil || reg.ClientID == "" {
		return nil, fmt.Errorf("register a private_key_jwt client: status %d: %s", resp.StatusCode, clip(raw))
	}
	k.id = reg.ClientID
	return k, nil
}

// assertion signs a client assertion for the token endpoint.
func (k *keyClient) assertion() string {
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": k.id, "sub": k.id, "aud": k.issuer, "jti": randToken(16),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	tok.Header["kid"] = k.kid
	s, _ := tok.SignedString(k.key) // ES256 with a valid key cannot fail
	return s
}

// assertionJob asks for a client_credentials token with a new assertion
// each time.
type assertionJob struct {
	e *env
	k *keyClient
}

func (j *assertionJob) next(req *fasthttp.Request) bool {
	j.e.post("/api/v1/oidc/token", "grant_type=client_credentials"+
		"&client_assertion_type="+url.QueryEscape("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")+
		"&client_assertion="+j.k.assertion())(req)
	return true
}

func (j *assertionJob) check(resp *fasthttp.Response) bool {
	return bytes.Contains(resp.Body(), []byte(`"access_token":"`))
}

func getJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}
