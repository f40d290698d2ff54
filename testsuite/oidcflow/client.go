package oidcflow

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// response is a back-channel answer, read whole.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object, failing the test when it is not one.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "the body must be a JSON object; status %d, body %q", r.Status, clipText(string(r.Body)))
	return m
}

// send makes a request and reads the answer. It fails on any 5xx: the
// provider answers bad input with a 4xx, never a server error.
func (s *suite) send(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := s.http.Do(req)
	require.NoError(t, err, "%s %s", req.Method, req.URL.Path)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 500, "%s %s must not fail with a 5xx; body %q", req.Method, req.URL.Path, clipText(string(body)))
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// sendOversized sends a request whose body is over the server's limit on a
// connection of its own, and reads the answer even when the server stops
// reading the body and closes the connection while the body is still being
// written. net/http's client would return the write error (connection
// reset) instead of the answer that the server sent first.
func (s *suite) sendOversized(t *testing.T, req *http.Request) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.base.Host, requestTimeout)
	require.NoError(t, err)
	if s.base.Scheme == "https" {
		cfg := &tls.Config{ServerName: s.base.Hostname()}
		if tr, ok := s.env.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
			cfg = tr.TLSClientConfig.Clone()
			cfg.ServerName = s.base.Hostname()
		}
		tc := tls.Client(conn, cfg)
		require.NoError(t, tc.HandshakeContext(t.Context()))
		conn = tc
	}
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(requestTimeout)))
	go func() {
		// The server may close the connection before the whole body is
		// written: that write error is expected, the answer is what counts.
		_ = req.Write(conn)
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	require.NoError(t, err, "the server must answer an oversized %s %s before closing the connection", req.Method, req.URL.Path)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 500, "body %q", clipText(string(body)))
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

func (s *suite) newRequest(t *testing.T, method, path, contentType string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.env.BaseURL+path, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func (s *suite) get(t *testing.T, path string) response {
	t.Helper()
	return s.send(t, s.newRequest(t, http.MethodGet, path, "", nil))
}

// postForm posts form to path, authenticated per c's method when c is set.
func (s *suite) postForm(t *testing.T, path string, form url.Values, c *client) response {
	t.Helper()
	form = cloneValues(form)
	req := s.newRequest(t, http.MethodPost, path, "application/x-www-form-urlencoded", nil)
	if c != nil {
		switch c.AuthMethod {
		case "client_secret_basic":
			req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
		case "none":
			form.Set("client_id", c.ID)
		default:
			form.Set("client_id", c.ID)
			form.Set("client_secret", c.Secret)
		}
	}
	setBody(req, form.Encode())
	return s.send(t, req)
}

func (s *suite) postJSON(t *testing.T, method, path, bearer string, body any) response {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req := s.newRequest(t, method, path, "application/json", bytes.NewReader(raw))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return s.send(t, req)
}

func setBody(req *http.Request, body string) {
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// requireOAuthError checks an RFC 6749 §5.2 error answer.
func requireOAuthError(t *testing.T, r response, status int, code string) map[string]any {
	t.Helper()
	require.Equal(t, status, r.Status, "status; body %q", clipText(string(r.Body)))
	assert.Contains(t, r.Header.Get("Content-Type"), "application/json", "OAuth errors are JSON")
	m := r.JSON(t)
	require.Equal(t, code, m["error"], "error code; body %q", clipText(string(r.Body)))
	return m
}

// client is a registered relying party.
type client struct {
	ID, Secret  string
	AuthMethod  string
	RedirectURI string
	RegToken    string
	RegURI      string
	Name        string
	Scopes      []string
	Registered  map[string]any // the registration response
	oauth       oauth2.Config
	verifier    *oidc.IDTokenVerifier
}

// metadata is RFC 7591 client metadata.
type metadata map[string]any

// defaultMetadata is a confidential web app like the guide's §1 example.
func defaultMetadata(name string) metadata {
	return metadata{
		"client_name":               "oidcflow " + name,
		"redirect_uris":             []string{callbackURI, otherCallback},
		"post_logout_redirect_uris": []string{logoutURI},
		"grant_types":               []string{"authorization_code", "refresh_token"},
		"scope":                     "openid profile email phone",
		"client_uri":                "https://oidcflow.example.com",
	}
}

// register registers a client with the default metadata changed by edit.
func (s *suite) register(t *testing.T, edit func(metadata)) *client {
	t.Helper()
	md := defaultMetadata(t.Name())
	if edit != nil {
		edit(md)
	}
	r := s.postJSON(t, http.MethodPost, pathRegister, "", md)
	require.Equal(t, http.StatusCreated, r.Status, "registration must succeed; body %q", clipText(string(r.Body)))
	return s.clientFrom(t, r.JSON(t))
}

func (s *suite) clientFrom(t *testing.T, reg map[string]any) *client {
	t.Helper()
	c := &client{Registered: reg}
	c.ID, _ = reg["client_id"].(string)
	c.Secret, _ = reg["client_secret"].(string)
	c.AuthMethod, _ = reg["token_endpoint_auth_method"].(string)
	c.RegToken, _ = reg["registration_access_token"].(string)
	c.RegURI, _ = reg["registration_client_uri"].(string)
	c.Name, _ = reg["client_name"].(string)
	scope, _ := reg["scope"].(string)
	c.Scopes = strings.Fields(scope)
	require.NotEmpty(t, c.ID, "registration must return client_id")
	if uris, ok := reg["redirect_uris"].([]any); ok && len(uris) > 0 {
		c.RedirectURI, _ = uris[0].(string)
	}
	style := oauth2.AuthStyleInParams
	if c.AuthMethod == "client_secret_basic" {
		style = oauth2.AuthStyleInHeader
	}
	ep := s.provider.Endpoint()
	ep.AuthStyle = style
	c.oauth = oauth2.Config{ClientID: c.ID, ClientSecret: c.Secret, Endpoint: ep, RedirectURL: c.RedirectURI, Scopes: c.Scopes}
	c.verifier = s.provider.VerifierContext(s.ctx, &oidc.Config{ClientID: c.ID})
	return c
}

// authRequest is one authorization request and the secrets the relying
// party keeps for the callback.
type authRequest struct {
	client   *client
	Scopes   []string
	State    string
	Nonce    string
	Verifier string
	Extra    map[string]string // more query parameters (prompt, login_hint…)
	// NoPKCE sends no code_challenge, and then no code_verifier.
	NoPKCE bool
}

func (s *suite) newAuthRequest(c *client, scopes ...string) *authRequest {
	if len(scopes) == 0 {
		scopes = []string{"openid", "profile", "email"}
	}
	return &authRequest{
		client: c, Scopes: scopes, State: oauth2.GenerateVerifier()[:24],
		Nonce: oauth2.GenerateVerifier()[:24], Verifier: oauth2.GenerateVerifier(), Extra: map[string]string{},
	}
}

// URL is the authorization URL, built by oauth2 with PKCE S256 and the nonce.
func (r *authRequest) URL() string {
	cfg := r.client.oauth
	cfg.Scopes = r.Scopes
	opts := []oauth2.AuthCodeOption{oidc.Nonce(r.Nonce)}
	if !r.NoPKCE {
		opts = append(opts, oauth2.S256ChallengeOption(r.Verifier))
	}
	for k, v := range r.Extra {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return cfg.AuthCodeURL(r.State, opts...)
}

// journey records what the user saw on the way back to the client.
type journey struct {
	SawLogin, SawConsent bool
	Callback             url.Values
	Last                 *landing
}

// signIn runs an authorization request in the agent as a user would: sign
// in with the env's user when asked, allow when asked, until the provider
// redirects to the client.
func (a *agent) signIn(t *testing.T, r *authRequest) journey {
	t.Helper()
	var j journey
	l := a.get(t, r.URL())
	for range 3 {
		switch {
		case l.Left != nil:
			j.Callback, j.Last = l.Left.Query(), l
			return j
		case l.isLogin(t):
			j.SawLogin = true
			l = a.login(t, l, a.s.env.Email, a.s.env.Password)
		case l.isConsent(t):
			j.SawConsent = true
			l = a.decide(t, l, "Allow")
		default:
			require.FailNow(t, "unexpected page", "status %d at %s: %q", l.Status, l.URL.Path, l.Text())
		}
	}
	require.NotNil(t, l.Left, "the flow must end at the client; got status %d: %q", l.Status, l.Text())
	j.Callback, j.Last = l.Left.Query(), l
	return j
}

// code checks a successful callback (state and RFC 9207 iss echoed) and
// returns its code.
func (s *suite) code(t *testing.T, r *authRequest, j journey) string {
	t.Helper()
	require.Empty(t, j.Callback.Get("error"), "the callback must not carry an error: %s", j.Callback.Get("error_description"))
	require.Equal(t, r.State, j.Callback.Get("state"), "state must be echoed")
	require.Equal(t, s.env.BaseURL, j.Callback.Get("iss"), "iss must be in the response (RFC 9207)")
	code := j.Callback.Get("code")
	require.NotEmpty(t, code, "the callback must carry a code")
	return code
}

// exchange redeems a code with oauth2, as the relying party would.
func (s *suite) exchange(t *testing.T, r *authRequest, code string) (*oauth2.Token, error) {
	t.Helper()
	if r.NoPKCE {
		return r.client.oauth.Exchange(s.ctx, code)
	}
	return r.client.oauth.Exchange(s.ctx, code, oauth2.VerifierOption(r.Verifier))
}

// tokens is what a completed sign-in gives the relying party.
type tokens struct {
	*oauth2.Token
	IDToken *oidc.IDToken
	RawID   string
}

// signInTokens signs in through the agent, redeems the code and verifies
// the ID token with go-oidc (signature, iss, aud, exp, nonce, at_hash).
func (s *suite) signInTokens(t *testing.T, a *agent, r *authRequest) tokens {
	t.Helper()
	code := s.code(t, r, a.signIn(t, r))
	tok, err := s.exchange(t, r, code)
	require.NoError(t, err, "the code exchange must succeed")
	return s.verifyTokens(t, r, tok)
}

func (s *suite) verifyTokens(t *testing.T, r *authRequest, tok *oauth2.Token) tokens {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	require.NotEmpty(t, raw, "the token response must carry an id_token")
	idt, err := r.client.verifier.Verify(s.ctx, raw)
	require.NoError(t, err, "go-oidc must verify the ID token")
	require.Equal(t, r.Nonce, idt.Nonce, "the ID token must carry the request's nonce")
	require.NoError(t, idt.VerifyAccessToken(tok.AccessToken), "at_hash must match the access token")
	return tokens{Token: tok, IDToken: idt, RawID: raw}
}

// retrieveError unwraps an oauth2 token endpoint error.
func retrieveError(t *testing.T, err error) *oauth2.RetrieveError {
	t.Helper()
	require.Error(t, err)
	var re *oauth2.RetrieveError
	require.True(t, errors.As(err, &re), "expected a token endpoint error, got %v", err)
	return re
}

func requireGrantError(t *testing.T, err error, code string) {
	t.Helper()
	re := retrieveError(t, err)
	assert.Equal(t, http.StatusBadRequest, re.Response.StatusCode)
	require.Equal(t, code, re.ErrorCode, "error code; body %q", clipText(string(re.Body)))
}

// refresh uses a refresh token once, without oauth2's token caching.
func (s *suite) refresh(t *testing.T, c *client, refreshToken string) (*oauth2.Token, error) {
	t.Helper()
	ts := c.oauth.TokenSource(s.ctx, &oauth2.Token{RefreshToken: refreshToken})
	return ts.Token()
}

// introspect asks about token as client c.
func (s *suite) introspect(t *testing.T, c *client, token string) map[string]any {
	t.Helper()
	r := s.postForm(t, pathIntrospect, url.Values{"token": {token}}, c)
	require.Equal(t, http.StatusOK, r.Status, "introspection; body %q", clipText(string(r.Body)))
	return r.JSON(t)
}

func (s *suite) requireInactive(t *testing.T, c *client, token, why string) {
	t.Helper()
	assert.Equal(t, map[string]any{"active": false}, s.introspect(t, c, token), "introspection must report %s as just {\"active\": false}", why)
}

func (s *suite) requireActive(t *testing.T, c *client, token, why string) {
	t.Helper()
	assert.Equal(t, true, s.introspect(t, c, token)["active"], "introspection must report %s active", why)
}

// userinfo calls the UserInfo endpoint with a bearer token.
func (s *suite) userinfo(t *testing.T, token string) response {
	t.Helper()
	req := s.newRequest(t, http.MethodGet, pathUserInfo, "", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return s.send(t, req)
}

// requireInvalidToken checks RFC 6750 §3.1's answer to a bad token.
func requireInvalidToken(t *testing.T, r response) {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, r.Status, "body %q", clipText(string(r.Body)))
	h := r.Header.Get("WWW-Authenticate")
	assert.True(t, strings.HasPrefix(h, "Bearer "), "WWW-Authenticate must be a Bearer challenge, got %q", h)
	assert.Contains(t, h, `error="invalid_token"`)
}
