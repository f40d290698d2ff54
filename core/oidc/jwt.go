package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/go-jose/go-jose/v4"
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
		return "", storeErr("active key", err)
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
		return "", storeErr("sign", err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

var verifyAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// verifyJWT checks a compact JWS against the published keys and its typ
// header, and decodes its claims into dst. Expiry and issuer are the
// caller's to check, since end session accepts expired ID tokens.
func (p *Provider) verifyJWT(ctx context.Context, token, typ string, dst any) error {
	if len(token) == 0 || len(token) > maxJWTLen {
		return errBadToken
	}
	jws, err := jose.ParseSigned(token, verifyAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return errBadToken
	}
	h := jws.Signatures[0].Header
	if got, _ := h.ExtraHeaders[jose.HeaderType].(string); got != typ {
		return errBadToken
	}
	set, err := p.deps.Signer.PublicKeys(ctx)
	if err != nil {
		return storeErr("public keys", err)
	}
	key, ok := set.Find(h.KeyID)
	if !ok || key.Algorithm != h.Algorithm {
		return errBadToken
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return errBadToken
	}
	if err := json.Unmarshal(payload, dst); err != nil {
		return errBadToken
	}
	return nil
}
