package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// JWS "typ" header values: RFC 9068 §2.1 for access tokens, so an ID token
// can never pass for an access token; plain JWT for ID tokens.
const (
	typAccessToken = "at+jwt"
	typIDToken     = "JWT"
)

// maxJWTLen bounds what we parse from a caller.
const maxJWTLen = 8 << 10

var errBadToken = errors.New("malformed, unsigned or unknown token")

type jwsHeaderKey struct{ kid, alg, typ string }

// encodedHeader returns the base64url JWS header for a key and type. Headers
// repeat for every token a key signs, so each is encoded once.
func (p *Provider) encodedHeader(ref domain.KeyRef, typ string) string {
	k := jwsHeaderKey{ref.KID, ref.Algorithm, typ}
	if h, ok := p.headers.Load(k); ok {
		return h.(string)
	}
	raw, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{ref.Algorithm, ref.KID, typ})
	h := base64.RawURLEncoding.EncodeToString(raw)
	p.headers.Store(k, h)
	return h
}

// signJWT makes a compact JWS (RFC 7515 §7.1) of claims, signed by the
// signer's active key for alg. The private key never reaches the core.
func (p *Provider) signJWT(ctx context.Context, alg, typ string, claims any) (string, error) {
	ref, err := p.deps.Signer.ActiveKey(ctx, alg)
	if err != nil {
		return "", fault.Store("active key", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	header := p.encodedHeader(ref, typ)
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(header)+2+enc.EncodedLen(len(payload))+enc.EncodedLen(512))
	buf = append(buf, header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := p.deps.Signer.Sign(ctx, ref, buf)
	if err != nil {
		return "", fault.Store("sign", err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// verifyJWT checks a compact JWS this provider issued against the
// published keys, and decodes its claims into dst. Expiry and issuer are the
// caller's to check, since end session accepts expired ID tokens.
//
// Only headers exactly as signJWT writes them are accepted: the header
// segment is looked up byte for byte among the published keys' headers, so
// alg, kid and typ are pinned (an ID token can't pass for an access token,
// and "alg":"none" or a swapped algorithm never reaches a verifier), and no
// header is parsed per request. The signature is checked with the standard
// library: this halves the cost of userinfo and introspection compared with
// parsing through a general JOSE library (docs/PERFORMANCE.md).
func (p *Provider) verifyJWT(ctx context.Context, token, typ string, dst any) error {
	if len(token) == 0 || len(token) > maxJWTLen {
		return errBadToken
	}
	dot1, dot2 := strings.IndexByte(token, '.'), strings.LastIndexByte(token, '.')
	if dot1 <= 0 || dot2 <= dot1 || strings.IndexByte(token[dot1+1:dot2], '.') >= 0 {
		return errBadToken
	}
	key, err := p.keyForHeader(ctx, token[:dot1], typ)
	if err != nil {
		return err
	}
	enc := base64.RawURLEncoding
	var sigBuf [512]byte
	if enc.DecodedLen(len(token)-dot2-1) > len(sigBuf) {
		return errBadToken
	}
	n, err := enc.Decode(sigBuf[:], []byte(token[dot2+1:]))
	if err != nil {
		return errBadToken
	}
	digest := sha256.Sum256([]byte(token[:dot2]))
	if !verifySignature(key, digest[:], sigBuf[:n]) {
		return errBadToken
	}
	payload, err := enc.DecodeString(token[dot1+1 : dot2])
	if err != nil || json.Unmarshal(payload, dst) != nil {
		return errBadToken
	}
	return nil
}

// verifySignature checks an RS256 or ES256 (RFC 7518 §3.3, §3.4) signature
// over a SHA-256 digest.
func verifySignature(key domain.PublicKey, digest, sig []byte) bool {
	switch pub := key.Key.(type) {
	case *rsa.PublicKey:
		return key.Algorithm == domain.AlgRS256 && rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig) == nil
	case *ecdsa.PublicKey:
		if key.Algorithm != domain.AlgES256 || len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub, digest, r, s)
	}
	return false
}

// headerKeys maps each published key's encoded JWS headers to the key and
// the typ they carry, for one key-set version.
type headerKeys struct {
	mu       sync.RWMutex
	version  string
	byHeader map[string]typedKey
}

type typedKey struct {
	key domain.PublicKey
	typ string
}

// keyForHeader finds the published key whose header, for typ, is exactly h.
func (p *Provider) keyForHeader(ctx context.Context, h, typ string) (domain.PublicKey, error) {
	set, err := p.deps.Signer.PublicKeys(ctx)
	if err != nil {
		return domain.PublicKey{}, fault.Store("public keys", err)
	}
	hk := &p.verifyKeys
	hk.mu.RLock()
	current := hk.version == set.Version && hk.byHeader != nil
	tk, ok := hk.byHeader[h]
	hk.mu.RUnlock()
	if !current {
		byHeader := make(map[string]typedKey, 2*len(set.Keys))
		for _, k := range set.Keys {
			ref := domain.KeyRef{KID: k.KID, Algorithm: k.Algorithm}
			for _, t := range []string{typAccessToken, typIDToken} {
				byHeader[p.encodedHeader(ref, t)] = typedKey{key: k, typ: t}
			}
		}
		hk.mu.Lock()
		hk.version, hk.byHeader = set.Version, byHeader
		hk.mu.Unlock()
		tk, ok = byHeader[h]
	}
	if !ok || tk.typ != typ {
		return domain.PublicKey{}, errBadToken
	}
	return tk.key, nil
}
