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

// dpopJob asks for a client_credentials token bound to the worker's own
// DPoP key (RFC 9449), with a fresh proof per request. The server nonce
// comes with every answer; the first is fetched at set-up.
type dpopJob struct {
	e     *env
	key   *ecdsa.PrivateKey
	jwk   map[string]string
	htu   string
	nonce string
}

func (e *env) newDPoPJob() (*dpopJob, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	var disc struct {
		Token string `json:"token_endpoint"`
	}
	if err := getJSON(e.url("/.well-known/openid-configuration"), &disc); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	pub, _ := json.Marshal(jose.JSONWebKey{Key: &key.PublicKey})
	var jwk map[string]string
	_ = json.Unmarshal(pub, &jwk)
	j := &dpopJob{e: e, key: key, jwk: jwk, htu: disc.Token}
	// One unmeasured request learns the nonce (use_dpop_nonce, §8).
	resp, err := http.Post(j.htu, formType, bytes.NewReader([]byte(j.body())))
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if j.nonce = resp.Header.Get("DPoP-Nonce"); j.nonce == "" {
		return nil, fmt.Errorf("the token endpoint sent no DPoP-Nonce (status %d)", resp.StatusCode)
	}
	return j, nil
}

func (j *dpopJob) body() string {
	return "grant_type=client_credentials&client_id=" + url.QueryEscape(j.e.clientID) + "&client_secret=" + url.QueryEscape(j.e.clientSecret)
}

func (j *dpopJob) proof() string {
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"jti": randToken(16), "htm": "POST", "htu": j.htu, "iat": time.Now().Unix(), "nonce": j.nonce,
	})
	tok.Header["typ"], tok.Header["jwk"] = "dpop+jwt", j.jwk
	s, _ := tok.SignedString(j.key)
	return s
}

func (j *dpopJob) next(req *fasthttp.Request) bool {
	j.e.post("/api/v1/oidc/token", j.body())(req)
	req.Header.Set("DPoP", j.proof())
	return true
}

func (j *dpopJob) check(resp *fasthttp.Response) bool {
	if n := resp.Header.Peek("DPoP-Nonce"); len(n) > 0 && string(n) != j.nonce {
		j.nonce = string(n)
	}
	return bytes.Contains(resp.Body(), []byte(`"token_type":"DPoP"`))
}
