package app_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app/config"
)

// rpClientDir holds openid-client v6 and rp.mjs, which drives it; `npm ci`
// there installs it.
const rpClientDir = "../testsuite/rpclients/openid-client"

// runRP runs `node rp.mjs command` with env and returns what it printed.
func runRP(t *testing.T, command string, env map[string]string) (stdout, stderr string, err error) {
	t.Helper()
	dir, err := filepath.Abs(rpClientDir)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, guideNode(t, dir), "rp.mjs", command)
	cmd.Dir = dir
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// rpClient runs `node rp.mjs command` with env and decodes what it prints.
func rpClient(t *testing.T, command string, env map[string]string) map[string]any {
	t.Helper()
	stdout, stderr, err := runRP(t, command, env)
	require.NoError(t, err, "openid-client %s failed:\n%s", command, stderr)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), "output: %s", stdout)
	return out
}

// rpBackends are the storages the protocol features are proven on over
// HTTP; each entry gives a test its configuration edit.
var rpBackends = map[string]func(*testing.T) func(*config.Config){
	"memory":   func(*testing.T) func(*config.Config) { return nil },
	"postgres": func(t *testing.T) func(*config.Config) { return usePostgres(postgresDSN(t), newKEK()) },
}

// rpClientFails runs `node rp.mjs command`, which must fail, and returns
// what it wrote to stderr.
func rpClientFails(t *testing.T, command string, env map[string]string) string {
	t.Helper()
	_, stderr, err := runRP(t, command, env)
	require.Error(t, err, "openid-client %s must fail", command)
	return stderr
}

// keyClient is a private_key_jwt client registered over HTTP.
type keyClient struct {
	id  string
	key *ecdsa.PrivateKey
	kid string
}

// registerKeyClient registers a private_key_jwt client with an inline
// JWK Set holding one ES256 key; extra adds metadata.
func registerKeyClient(t *testing.T, baseURL string, extra map[string]any) keyClient {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	kid := rand.Text()[:12]
	md := map[string]any{
		"client_name":                "Gradebook sync",
		"token_endpoint_auth_method": "private_key_jwt",
		"grant_types":                []string{"client_credentials"},
		"jwks":                       jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"}}},
	}
	for k, v := range extra {
		md[k] = v
	}
	reg := registerOverHTTP(t, baseURL, md)
	assert.NotContains(t, reg, "client_secret", "a private_key_jwt client gets no secret")
	assert.Equal(t, "private_key_jwt", reg["token_endpoint_auth_method"])
	return keyClient{id: reg["client_id"].(string), key: key, kid: kid}
}

// registerOverHTTP registers a client with metadata md (RFC 7591) and
// returns the registration.
func registerOverHTTP(t *testing.T, baseURL string, md map[string]any) map[string]any {
	t.Helper()
	body, err := json.Marshal(md)
	require.NoError(t, err)
	resp, err := http.Post(baseURL+"/api/v1/oidc/register", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var reg map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&reg))
	require.Equal(t, http.StatusCreated, resp.StatusCode, "registration: %v", reg)
	return reg
}

// privateJWK is the client's private key as openid-client imports it.
func (k keyClient) privateJWK(t *testing.T) string {
	raw, err := json.Marshal(jose.JSONWebKey{Key: k.key, KeyID: k.kid, Algorithm: "ES256"})
	require.NoError(t, err)
	return string(raw)
}

// assertion is a client assertion for audience, signed by the client.
func (k keyClient) assertion(t *testing.T, audience string) string {
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": k.id, "sub": k.id, "aud": audience, "jti": rand.Text(), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.key)
	require.NoError(t, err)
	return s
}

// postForm posts form to url and returns the status and the decoded JSON body.
func postForm(t *testing.T, target string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(target, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

// TestPrivateKeyJWTOverHTTP: openid-client v6 authenticates with
// private_key_jwt at the token and introspection endpoints, on memory and
// PostgreSQL; a replayed assertion and one for another audience are
// refused over HTTP with 401 invalid_client.
func TestPrivateKeyJWTOverHTTP(t *testing.T) {
	t.Parallel()
	for name, backend := range rpBackends {
		t.Run(name, func(t *testing.T) {
			srv := startServer(t, backend(t))
			c := registerKeyClient(t, srv.BaseURL, nil)

			out := rpClient(t, "client-credentials", map[string]string{
				"ISSUER": srv.BaseURL, "CLIENT_ID": c.id, "CLIENT_JWK": c.privateJWK(t), "SCOPE": "",
			})
			assert.Equal(t, "bearer", strings.ToLower(out["token_type"].(string)))
			in := out["introspection"].(map[string]any)
			assert.Equal(t, true, in["active"], "introspection: %v", in)
			assert.Equal(t, c.id, in["client_id"])
			assert.Contains(t, out["token_endpoint_auth_methods_supported"], "private_key_jwt")

			token := srv.BaseURL + "/api/v1/oidc/token"
			form := url.Values{
				"grant_type":            {"client_credentials"},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion":      {c.assertion(t, srv.BaseURL)},
			}
			status, body := postForm(t, token, form)
			require.Equal(t, http.StatusOK, status, "%v", body)
			status, body = postForm(t, token, form)
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Equal(t, "invalid_client", body["error"], "a replayed assertion: %v", body)

			form.Set("client_assertion", c.assertion(t, "https://elsewhere.example"))
			status, body = postForm(t, token, form)
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Equal(t, "invalid_client", body["error"], "another audience: %v", body)

			form.Set("client_assertion", c.assertion(t, srv.BaseURL))
			form.Set("client_secret", "ccas_also")
			status, body = postForm(t, token, form)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "invalid_request", body["error"], "two methods at once: %v", body)
		})
	}
}

// TestPushedAuthorizationOverHTTP: openid-client v6 pushes its
// authorization request with private_key_jwt (RFC 9126), the browser
// carries only client_id and request_uri, and the code it brings back is
// exchanged; the request_uri then works no more. A client that requires
// PAR is refused a plain authorization request.
func TestPushedAuthorizationOverHTTP(t *testing.T) {
	t.Parallel()
	for name, backend := range rpBackends {
		t.Run(name, func(t *testing.T) {
			srv := startServer(t, backend(t))
			cb := newCodeCatcher(t)
			redirectURI := cb.URL + "/cb"
			c := registerKeyClient(t, srv.BaseURL, map[string]any{
				"grant_types": []string{"authorization_code"}, "redirect_uris": []string{redirectURI},
				"require_pushed_authorization_requests": true,
			})
			env := map[string]string{
				"ISSUER": srv.BaseURL, "CLIENT_ID": c.id, "CLIENT_JWK": c.privateJWK(t),
				"SCOPE": "openid profile email", "REDIRECT_URI": redirectURI,
			}
			start := rpClient(t, "par-start", env)
			authURL := start["url"].(string)
			u, err := url.Parse(authURL)
			require.NoError(t, err)
			assert.ElementsMatch(t, []string{"client_id", "request_uri"}, mapsKeys(u.Query()), "the browser carries only client_id and request_uri: %s", authURL)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			q := browseToCallback(t, ctx, authURL, cb)
			callback := redirectURI + "?" + q.Encode()
			env["CALLBACK_URL"], env["CODE_VERIFIER"] = callback, start["code_verifier"].(string)
			env["STATE"], env["NONCE"] = start["state"].(string), start["nonce"].(string)
			done := rpClient(t, "par-finish", env)
			assert.NotEmpty(t, done["access_token"])
			assert.Equal(t, c.id, done["claims"].(map[string]any)["aud"])

			// Used once: the same request_uri is an error page now.
			resp, err := http.Get(authURL)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "a reused request_uri")

			// The client requires PAR: a plain request is sent back with invalid_request.
			plain := srv.BaseURL + "/api/v1/oidc/authorize?" + url.Values{
				"client_id": {c.id}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid"},
				"state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
			}.Encode()
			noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err = noRedirect.Get(plain)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			loc, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			assert.Equal(t, "invalid_request", loc.Query().Get("error"), "redirect: %s", loc)
		})
	}
}

// TestPushedAuthorizationWithDPoPOverHTTP: openid-client v6 sends a DPoP
// proof with its pushed request, which binds the code to the key (RFC 9449
// §10.1), and proves the key again at the code exchange: the access token
// is a DPoP token.
func TestPushedAuthorizationWithDPoPOverHTTP(t *testing.T) {
	t.Parallel()
	for name, backend := range rpBackends {
		t.Run(name, func(t *testing.T) {
			srv := startServer(t, backend(t))
			cb := newCodeCatcher(t)
			redirectURI := cb.URL + "/cb"
			c := registerKeyClient(t, srv.BaseURL, map[string]any{
				"grant_types": []string{"authorization_code"}, "redirect_uris": []string{redirectURI},
			})
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			require.NoError(t, err)
			dpopJWK, err := json.Marshal(jose.JSONWebKey{Key: key, Algorithm: "ES256"})
			require.NoError(t, err)
			env := map[string]string{
				"ISSUER": srv.BaseURL, "CLIENT_ID": c.id, "CLIENT_JWK": c.privateJWK(t),
				"SCOPE": "openid email", "REDIRECT_URI": redirectURI, "DPOP_JWK": string(dpopJWK),
			}
			start := rpClient(t, "par-start", env)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			q := browseToCallback(t, ctx, start["url"].(string), cb)
			env["CALLBACK_URL"], env["CODE_VERIFIER"] = redirectURI+"?"+q.Encode(), start["code_verifier"].(string)
			env["STATE"], env["NONCE"] = start["state"].(string), start["nonce"].(string)
			done := rpClient(t, "par-finish", env)
			assert.Equal(t, "dpop", strings.ToLower(done["token_type"].(string)), "the code was bound to the key, and the exchange proved it")

			// A code pushed with the key is useless without it.
			start = rpClient(t, "par-start", env)
			q = browseToCallback(t, ctx, start["url"].(string), cb)
			env["CALLBACK_URL"], env["CODE_VERIFIER"] = redirectURI+"?"+q.Encode(), start["code_verifier"].(string)
			env["STATE"], env["NONCE"] = start["state"].(string), start["nonce"].(string)
			delete(env, "DPOP_JWK")
			assert.Contains(t, rpClientFails(t, "par-finish", env), "invalid_dpop_proof")
		})
	}
}

func mapsKeys(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	return out
}

// TestDeviceFlowWithOpenIDClient: openid-client v6 runs the device
// authorization grant (RFC 8628) with private_key_jwt, polling at the
// interval it is given, while the user approves in a browser; it gets an
// ID token it validates. On memory and PostgreSQL.
func TestDeviceFlowWithOpenIDClient(t *testing.T) {
	t.Parallel()
	for name, backend := range rpBackends {
		t.Run(name, func(t *testing.T) {
			srv := startServer(t, backend(t))
			c := registerKeyClient(t, srv.BaseURL, map[string]any{
				"client_name": "Living Room TV", "grant_types": []string{"urn:ietf:params:oauth:grant-type:device_code"},
			})
			dir, err := filepath.Abs(rpClientDir)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, guideNode(t, dir), "rp.mjs", "device")
			cmd.Dir = dir
			cmd.Env = []string{"ISSUER=" + srv.BaseURL, "CLIENT_ID=" + c.id, "CLIENT_JWK=" + c.privateJWK(t), "SCOPE=openid email"}
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			stderr, err := cmd.StderrPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			lines := bufio.NewScanner(stderr)
			var userCode, link string
			for lines.Scan() {
				if f := strings.Fields(lines.Text()); len(f) == 3 && f[0] == "USER_CODE" {
					userCode, link = f[1], f[2]
					break
				}
				t.Log(lines.Text())
			}
			require.NotEmpty(t, userCode, "openid-client printed no user code")
			go func() { _, _ = io.Copy(io.Discard, stderr) }()

			page := approveInBrowser(t, guideBrowser(t), deviceAuthorization{UserCode: userCode, VerificationURIComplete: link}, "allow")
			require.Equal(t, http.StatusOK, page.status, page.body)
			require.NoError(t, cmd.Wait(), "openid-client polled until it got tokens")
			var out map[string]any
			require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), stdout.String())
			assert.NotEmpty(t, out["access_token"])
			assert.Equal(t, c.id, out["claims"].(map[string]any)["aud"], "the ID token, validated by the library")
			assert.Equal(t, srv.BaseURL+"/device", out["verification_uri"])
		})
	}
}
