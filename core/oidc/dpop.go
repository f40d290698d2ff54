package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// DPoP (RFC 9449) binds access tokens, and a public client's refresh
// tokens, to a key the client holds: every request carries a proof, a JWT
// signed with that key over the method and URL of the request. This file
// checks one proof; dpop_nonce.go makes the server nonces, token.go and
// resource.go apply the checks at the token endpoint and at userinfo.

// Bounds on DPoP proofs.
const (
	// DPoPProofWindow is how far a proof's iat may be from now, either way
	// (RFC 9449 §4.3 item 11, §11.1): a proof is made for one request, and
	// its jti is remembered until the window closes.
	DPoPProofWindow = 60 * time.Second
	// typDPoP is the JWS typ of a proof (RFC 9449 §4.2).
	typDPoP = "dpop+jwt"
)

// DPoPAlgs are the proof algorithms accepted and advertised in
// dpop_signing_alg_values_supported (RFC 9449 §5.1): asymmetric ones only
// (§4.3 item 5), the same list as for client assertions.
var DPoPAlgs = domain.ClientSigningAlgs

// dpopJoseAlgs is DPoPAlgs as go-jose names them.
var dpopJoseAlgs = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(DPoPAlgs))
	for i, a := range DPoPAlgs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}()

// Confirmation is the cnf claim (RFC 7800 §3.1) of a DPoP-bound access
// token and its introspection: jkt is the RFC 7638 SHA-256 thumbprint of
// the proof key (RFC 9449 §6.1, §6.2).
type Confirmation struct {
	JKT string `json:"jkt"`
}

// dpopClaims are the claims of a proof (RFC 9449 §4.2). iat is a
// NumericDate, which may carry a fraction.
type dpopClaims struct {
	JTI   string   `json:"jti"`
	HTM   string   `json:"htm"`
	HTU   string   `json:"htu"`
	IAT   *float64 `json:"iat"`
	ATH   string   `json:"ath"`
	Nonce string   `json:"nonce"`
}

// dpopHeader is the part of a proof's JOSE header read before go-jose
// parses it, so that each refusal can say what was wrong.
type dpopHeader struct {
	Typ string                     `json:"typ"`
	Alg string                     `json:"alg"`
	JWK map[string]json.RawMessage `json:"jwk"`
}

// privateJWKMembers are the members that make a JWK private (RFC 7518
// §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// dpopRequest is what a proof must match: the method and endpoint of the
// request it came with and, at a protected resource, the access token.
type dpopRequest struct {
	proofs      []string // every DPoP header value the request carried
	method      string
	endpoint    string // a path of this server
	accessToken string // "" at the token endpoint
}

func dpopErr(format string, args ...any) *Error {
	return oauthErr(CodeInvalidDPoPProof, format, args...)
}

// verifyDPoP checks the request's proof (RFC 9449 §4.3) and remembers its
// jti (§11.1). It returns the thumbprint of the proof's key.
func (p *Provider) verifyDPoP(ctx context.Context, r dpopRequest) (string, error) {
	if len(r.proofs) != 1 {
		return "", dpopErr("send exactly one DPoP header") // §4.3 item 1
	}
	key, claims, err := parseDPoP(r.proofs[0])
	if err != nil {
		return "", err
	}
	if why := p.checkDPoPClaims(claims, r); why != "" {
		return "", dpopErr("the DPoP proof %s", why)
	}
	if !p.validNonce(claims.Nonce) {
		// §8: the client retries with the nonce in the DPoP-Nonce header.
		return "", oauthErr(CodeUseDPoPNonce, "the DPoP proof must carry the nonce this server provides in the DPoP-Nonce header")
	}
	thumb, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", dpopErr("the DPoP proof's jwk has no thumbprint")
	}
	jkt := base64.RawURLEncoding.EncodeToString(thumb)
	iat := time.Unix(int64(*claims.IAT), 0)
	fresh, err := p.deps.Replay.Remember(ctx, "dpop:"+jkt+":"+claims.JTI, p.now(), iat.Add(DPoPProofWindow+time.Second))
	if err != nil {
		return "", fault.Store("remember dpop proof", err)
	}
	if !fresh {
		return "", dpopErr("was already used (its jti repeats)") // §11.1
	}
	return jkt, nil
}

// parseDPoP reads a proof's header, checks it, and verifies the signature
// with the key the header carries (RFC 9449 §4.3 items 2 to 7).
func parseDPoP(proof string) (*jose.JSONWebKey, *dpopClaims, error) {
	if proof == "" || len(proof) > maxJWTLen {
		return nil, nil, dpopErr("the DPoP proof is empty or larger than 8 KiB")
	}
	if why := checkDPoPHeader(proof); why != "" {
		return nil, nil, dpopErr("the DPoP proof %s", why)
	}
	jws, err := jose.ParseSignedCompact(proof, dpopJoseAlgs)
	if err != nil || len(jws.Signatures) != 1 || jws.Signatures[0].Protected.JSONWebKey == nil {
		return nil, nil, dpopErr("the DPoP proof is not a compact JWS with a public jwk") // item 2
	}
	sig := jws.Signatures[0].Protected
	key := sig.JSONWebKey
	if !keyFitsAlg(key.Key, sig.Algorithm) {
		return nil, nil, dpopErr("the DPoP proof's jwk is not a key for %s (RSA of 2048 bits or more, P-256, Ed25519)", sig.Algorithm)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, nil, dpopErr("the DPoP proof's signature does not verify with its jwk") // item 6
	}
	var claims dpopClaims
	if err := json.Unmarshal(payload, &claims); err != nil || !exactMembers(payload, "jti", "htm", "htu", "iat", "ath", "nonce") {
		return nil, nil, dpopErr("the DPoP proof's claims are not a JSON object of the RFC 9449 §4.2 claims")
	}
	return key, &claims, nil
}

// checkDPoPHeader checks typ, alg and jwk before the signature: typ is
// dpop+jwt, alg asymmetric, and jwk a public key (RFC 9449 §4.3 items 4,
// 5, 7). It says what is wrong, "" when nothing is.
func checkDPoPHeader(proof string) string {
	seg, _, ok := strings.Cut(proof, ".")
	if !ok {
		return "is not a compact JWS"
	}
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	var h dpopHeader
	if err != nil || json.Unmarshal(raw, &h) != nil {
		return "has a header that is not base64url JSON"
	}
	if !exactMembers(raw, "typ", "alg", "jwk") {
		return "has header members named in another case (typ, alg and jwk are case-sensitive)"
	}
	switch {
	case h.Typ != typDPoP:
		return "must have typ dpop+jwt"
	case !slices.Contains(DPoPAlgs, h.Alg):
		return "must be signed with one of " + strings.Join(DPoPAlgs, ", ") + " (none and HMAC are refused)"
	case h.JWK == nil:
		return "must carry the public key in jwk"
	case slices.ContainsFunc(privateJWKMembers, func(m string) bool { _, ok := h.JWK[m]; return ok }):
		return "must carry a public key: its jwk has private members"
	}
	return ""
}

// keyFitsAlg reports whether key is a public key alg may verify with, of a
// size worth trusting.
func keyFitsAlg(key any, alg string) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return (alg == domain.AlgRS256 || alg == "PS256") && k.N.BitLen() >= 2048
	case *ecdsa.PublicKey:
		return alg == domain.AlgES256 && k.Curve == elliptic.P256()
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// checkDPoPClaims applies RFC 9449 §4.3 items 3, 8, 9, 11 and 12 to a
// verified proof. It says what is wrong, "" when nothing is.
func (p *Provider) checkDPoPClaims(c *dpopClaims, r dpopRequest) string {
	now := p.now()
	switch {
	case c.JTI == "" || len(c.JTI) > maxJTILen:
		return "must have a jti of at most 255 characters" // item 3
	case c.HTM == "" || c.HTU == "" || c.IAT == nil:
		return "must have htm, htu and iat" // item 3
	case c.HTM != r.method:
		return "is for another method (htm)" // item 8
	case !sameHTU(c.HTU, p.cfg.Issuer+r.endpoint):
		return "is for another URL (htu)" // item 9
	case math.IsNaN(*c.IAT) || math.Abs(float64(now.Unix())-*c.IAT) > DPoPProofWindow.Seconds():
		return "was not issued within the last minute (iat)" // item 11
	case r.accessToken != "" && c.ATH != accessTokenHash(r.accessToken):
		return "must have ath, the hash of the access token it is sent with" // item 12
	}
	return ""
}

// accessTokenHash is ath: the base64url SHA-256 of the access token (RFC
// 9449 §4.2).
func accessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sameHTU compares a proof's htu with the URL of the endpoint it was sent
// to: scheme, host and path after RFC 3986 §6.2.2 and §6.2.3
// normalization, without query and fragment (RFC 9449 §4.3 item 9). The
// endpoint's URL is built from the issuer, not the Host header: behind a
// proxy the issuer is the URL the client called.
func sameHTU(htu, want string) bool {
	u, err := url.Parse(htu)
	if err != nil || u.Opaque != "" || u.User != nil {
		return false
	}
	w, err := url.Parse(want)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Scheme, w.Scheme) && hostOf(u) == hostOf(w) && pathOf(u) == pathOf(w)
}

// hostOf is u's host in lower case, with the scheme's default port left out.
func hostOf(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	scheme := strings.ToLower(u.Scheme)
	if port == "" || scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		return host
	}
	return host + ":" + port
}

// pathOf is u's path with only percent-encoded unreserved characters
// decoded and other escapes in upper case (RFC 3986 §6.2.2.1, §6.2.2.2),
// "/" for an empty one. A reserved character stays encoded: "%2F" is not
// a "/".
func pathOf(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) {
			if c, err := strconv.ParseUint(p[i+1:i+3], 16, 8); err == nil {
				if unreserved(byte(c)) {
					b.WriteByte(byte(c))
				} else {
					b.WriteString("%" + strings.ToUpper(p[i+1:i+3]))
				}
				i += 2
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// unreserved reports whether c is an RFC 3986 §2.3 unreserved character.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// exactMembers refuses a JSON object that names a member of names in
// another case: encoding/json matches names ignoring case, so {"TYP": …}
// would pass for typ where every other reader sees no typ (RFC 7515 and
// RFC 7519 member names are case-sensitive).
func exactMembers(raw []byte, names ...string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for k := range m {
		for _, n := range names {
			if k != n && strings.EqualFold(k, n) {
				return false
			}
		}
	}
	return true
}
