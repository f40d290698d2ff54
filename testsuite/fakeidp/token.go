package fakeidp

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// codeTTL is how long a code may wait to be redeemed (RFC 6749 §4.1.2
// recommends at most ten minutes).
const codeTTL = 10 * time.Minute

// signingKey is one of the IdP's RS256 keys.
type signingKey struct {
	kid     string
	private *rsa.PrivateKey
}

// issuedCode is what an authorization code stands for.
type issuedCode struct {
	clientID      string
	redirectURI   string
	codeChallenge string
	nonce         string
	scope         string
	user          User
	expires       time.Time
}

func (p *IdP) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	iss := p.Issuer()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"jwks_uri":                              iss + "/jwks",
		"end_session_endpoint":                  iss + "/logout",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": p.authMethods,
		"grant_types_supported":                 []string{"authorization_code"},
	})
}

func (p *IdP) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	var set jose.JSONWebKeySet
	for _, k := range p.published() {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.private.PublicKey, KeyID: k.kid, Algorithm: "RS256", Use: "sig"})
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

// serveToken redeems a code (RFC 6749 §4.1.3) as strictly as a real
// provider: the client authenticated by a method it advertises, the code
// unused, unexpired and the client's, the same redirect_uri, and the
// verifier of the challenge (RFC 7636 §4.6).
func (p *IdP) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
		return
	}
	client, ok := p.authenticate(w, r)
	if !ok {
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	p.mu.Lock()
	code, found := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code")) // RFC 6749 §4.1.2: single use, whatever follows
	p.mu.Unlock()
	switch {
	case !found:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
		return
	case code.clientID != client.ID:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code is another client's")
		return
	case code.redirectURI != r.PostForm.Get("redirect_uri"):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request's")
		return
	case !p.clock.Now().Before(code.expires):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code has expired")
		return
	case s256(r.PostForm.Get("code_verifier")) != code.codeChallenge:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
		return
	}
	idToken, err := p.idToken(code)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "cannot sign the ID token")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": randomToken(32),
		"token_type":   "Bearer",
		"expires_in":   3600,
		"scope":        code.scope,
		"id_token":     idToken,
	})
}

// authenticate returns the client the request authenticates as, or
// answers the error and false. RFC 6749 §2.3: one method only.
func (p *IdP) authenticate(w http.ResponseWriter, r *http.Request) (Client, bool) {
	id, secret, method := "", "", ""
	if raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Basic "); ok {
		id, secret, ok = decodeBasic(raw)
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_request", "a malformed Basic header")
			return Client{}, false
		}
		method = "client_secret_basic"
	}
	if r.PostForm.Has("client_secret") {
		if method != "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "more than one client authentication")
			return Client{}, false
		}
		id, secret, method = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), "client_secret_post"
	}
	p.mu.Lock()
	c, known := p.clients[id]
	p.mu.Unlock()
	if method == "" || !slices.Contains(p.authMethods, method) || !known ||
		subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="fakeidp"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return Client{}, false
	}
	return c, true
}

// decodeBasic reads client_secret_basic: base64 of the form-urlencoded id
// and secret joined by a colon (RFC 6749 §2.3.1).
func decodeBasic(raw string) (id, secret string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return "", "", false
	}
	encID, encSecret, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(encID)
	secret, err2 := url.QueryUnescape(encSecret)
	return id, secret, err1 == nil && err2 == nil
}

// idToken signs the ID token of code (OIDC Core §2): the standard claims,
// then the user's extras, then the test's tampering.
func (p *IdP) idToken(code issuedCode) (string, error) {
	now := p.clock.Now()
	claims := map[string]any{
		"iss":   p.Issuer(),
		"sub":   code.user.Sub,
		"aud":   code.clientID,
		"azp":   code.clientID,
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"nonce": code.nonce,
	}
	if u := code.user; u.Email != "" {
		claims["email"], claims["email_verified"] = u.Email, u.EmailVerified
	}
	for name, v := range map[string]string{"name": code.user.Name, "given_name": code.user.GivenName, "family_name": code.user.FamilyName} {
		if v != "" {
			claims[name] = v
		}
	}
	maps.Copy(claims, code.user.Extra)
	p.mu.Lock()
	key, tamper := p.key, p.tamper
	if p.unknown != nil {
		key = *p.unknown
	}
	p.mu.Unlock()
	if tamper != nil {
		tamper(claims)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	tok.Header["kid"] = key.kid
	return tok.SignedString(key.private)
}

// s256 is the S256 code challenge of verifier (RFC 7636 §4.2).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
