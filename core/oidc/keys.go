package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sync"

	"github.com/go-jose/go-jose/v4"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// jwksCache keeps the JWKS body for one key-set version, so the endpoint
// serves prepared bytes and rebuilds only when the keys change.
type jwksCache struct {
	mu      sync.RWMutex
	version string
	body    []byte
	etag    string
}

// JWKS returns the JSON Web Key Set (RFC 7517 §5) of every published key,
// and a strong ETag for it.
func (p *Provider) JWKS(ctx context.Context) (body []byte, etag string, err error) {
	set, err := p.deps.Signer.PublicKeys(ctx)
	if err != nil {
		return nil, "", fault.Store("jwks", err)
	}
	c := &p.jwks
	c.mu.RLock()
	if c.version == set.Version && c.body != nil {
		body, etag = c.body, c.etag
		c.mu.RUnlock()
		return body, etag, nil
	}
	c.mu.RUnlock()

	jwks := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(set.Keys))}
	for _, k := range set.Keys {
		jwks.Keys = append(jwks.Keys, jose.JSONWebKey{Key: k.Key, KeyID: k.KID, Algorithm: k.Algorithm, Use: "sig"})
	}
	if body, err = json.Marshal(jwks); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(body)
	etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	c.mu.Lock()
	c.version, c.body, c.etag = set.Version, body, etag
	c.mu.Unlock()
	return body, etag, nil
}

// RotateKeys rotates the signing keys (an administrator's action): each
// algorithm's published next key starts signing, the previous one is
// retired (still published until its tokens expire), and a new next key is
// published. It returns the key set as published afterwards.
func (p *Provider) RotateKeys(ctx context.Context) (domain.KeySet, error) {
	if err := p.deps.Signer.Rotate(ctx); err != nil {
		return domain.KeySet{}, fault.Store("rotate keys", err)
	}
	set, err := p.deps.Signer.PublicKeys(ctx)
	if err != nil {
		return domain.KeySet{}, fault.Store("public keys", err)
	}
	return set, nil
}
