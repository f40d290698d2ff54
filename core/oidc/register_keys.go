package oidc

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// authMethods are the token_endpoint_auth_method values a client may
// register, in discovery's order.
var authMethods = []string{
	domain.AuthMethodSecretPost, domain.AuthMethodSecretBasic, domain.AuthMethodPrivateKeyJWT, domain.AuthMethodNone,
}

// Limits on what a client registers about its keys.
const (
	maxJWKSLen    = 16 << 10
	maxClientKeys = 20
	minRSAKeyBits = 2048
	maxRSAKeyBits = 8192
)

// checkKeysAndProtocols checks the metadata of keys, PAR, DPoP and
// back-channel logout (RFC 7591 §2, RFC 9126 §6, RFC 9449 §5.2, OIDC
// Back-Channel Logout §2.2). Anything a client asks for that this server
// would not do is refused rather than ignored: a client must not believe
// itself protected when it is not.
func (p *Provider) checkKeysAndProtocols(md ClientMetadata) (ClientMetadata, error) {
	if md.TLSClientCertificateBoundAccessTokens {
		return md, metadataErr(CodeInvalidClientMetadata, "tls_client_certificate_bound_access_tokens is not supported; use dpop_bound_access_tokens")
	}
	if len(md.JWKS) > 0 && string(md.JWKS) == "null" {
		md.JWKS = nil
	}
	if len(md.JWKS) > 0 && md.JWKSURI != "" {
		// RFC 7591 §2: "The "jwks_uri" and "jwks" parameters MUST NOT both be present".
		return md, metadataErr(CodeInvalidClientMetadata, "jwks and jwks_uri must not both be present")
	}
	if md.TokenEndpointAuthMethod == domain.AuthMethodPrivateKeyJWT && len(md.JWKS) == 0 && md.JWKSURI == "" {
		return md, metadataErr(CodeInvalidClientMetadata, "private_key_jwt needs the client's public keys in jwks or jwks_uri")
	}
	if len(md.JWKS) > 0 {
		compact, err := checkJWKS(md.JWKS)
		if err != nil {
			return md, err
		}
		md.JWKS = compact
	}
	if md.JWKSURI != "" {
		if why := p.checkClientURL(md.JWKSURI); why != "" {
			return md, metadataErr(CodeInvalidClientMetadata, "jwks_uri %s", why)
		}
	}
	if a := md.TokenEndpointAuthSigningAlg; a != "" {
		if !slices.Contains(domain.ClientSigningAlgs, a) {
			return md, metadataErr(CodeInvalidClientMetadata, "token_endpoint_auth_signing_alg must be one of %s", strings.Join(domain.ClientSigningAlgs, ", "))
		}
		if md.TokenEndpointAuthMethod != domain.AuthMethodPrivateKeyJWT {
			return md, metadataErr(CodeInvalidClientMetadata, "token_endpoint_auth_signing_alg goes with token_endpoint_auth_method private_key_jwt")
		}
	}
	if md.BackchannelLogoutURI != "" {
		if why := p.checkClientURL(md.BackchannelLogoutURI); why != "" {
			return md, metadataErr(CodeInvalidClientMetadata, "backchannel_logout_uri %s", why)
		}
	} else if md.BackchannelLogoutSessionRequired {
		return md, metadataErr(CodeInvalidClientMetadata, "backchannel_logout_session_required goes with a backchannel_logout_uri")
	}
	return md, nil
}

// checkClientURL says what is wrong with a URL this server will call (a
// JWK Set, a back-channel logout endpoint), "" when nothing is. The address
// it resolves to is checked when it is called, under the webhooks' SSRF
// rules; here only its form.
func (p *Provider) checkClientURL(raw string) string {
	probe, plain := raw, strings.HasPrefix(raw, "http://")
	if plain && !p.cfg.ClientURLsRequireHTTPS {
		// Where webhooks may use http, so may these: judge the rest of
		// the URL by the redirect URIs' rules.
		probe = "https://" + raw[len("http://"):]
	}
	if err := domain.ValidateRedirectURI(probe); err != nil {
		return err.Error()
	}
	if plain && p.cfg.ClientURLsRequireHTTPS {
		return "must use https"
	}
	return ""
}

// checkJWKS checks a registered JWK Set (RFC 7517 §5) and returns it
// compacted: public signing keys only, of a type and size this server
// verifies, at most maxClientKeys of them.
func checkJWKS(raw json.RawMessage) (json.RawMessage, error) {
	bad := func(format string, args ...any) error {
		return metadataErr(CodeInvalidClientMetadata, "jwks "+format, args...)
	}
	if len(raw) > maxJWKSLen {
		return nil, bad("must be at most %d bytes", maxJWKSLen)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, bad("must be a JWK Set of public keys (RFC 7517 §5)")
	}
	if len(set.Keys) == 0 || len(set.Keys) > maxClientKeys {
		return nil, bad("must hold between 1 and %d keys", maxClientKeys)
	}
	kids := map[string]bool{}
	for i, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() {
			return nil, bad("key %d must be a valid public key (no private members)", i)
		}
		if why := checkClientKey(k); why != "" {
			return nil, bad("key %d %s", i, why)
		}
		if k.KeyID != "" && kids[k.KeyID] {
			return nil, bad("key ids must be unique; %q repeats", clip(k.KeyID))
		}
		kids[k.KeyID] = true
	}
	// What is stored is what was checked, written out again by go-jose:
	// members it does not know (an "X5C" or a "D" in another case, which a
	// case-insensitive reader would take for x5c or d) do not survive.
	out, err := json.Marshal(set)
	if err != nil {
		return nil, bad("must be a JWK Set of public keys (RFC 7517 §5)")
	}
	return out, nil
}

// checkClientKey says what is wrong with one key of a client's set.
func checkClientKey(k jose.JSONWebKey) string {
	if k.Use != "" && k.Use != "sig" && k.Use != "enc" {
		return `must have "use" sig or enc`
	}
	if k.Algorithm != "" && k.Use != "enc" && !slices.Contains(domain.ClientSigningAlgs, k.Algorithm) {
		return "must have an alg of " + strings.Join(domain.ClientSigningAlgs, ", ")
	}
	return checkPublicKey(k.Key)
}

// checkPublicKey says what is wrong with a key a client signs with, ""
// when nothing is: RSA of 2048 to 8192 bits, EC on P-256 or Ed25519. It
// applies at registration to a jwks, and at every verification to the key
// chosen, so keys served at a jwks_uri meet it too.
func checkPublicKey(key any) string {
	switch pub := key.(type) {
	case *rsa.PublicKey:
		if n := pub.N.BitLen(); n < minRSAKeyBits || n > maxRSAKeyBits {
			return "must be an RSA key of 2048 to 8192 bits"
		}
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "must be an EC key on P-256"
		}
	case ed25519.PublicKey:
	default:
		return "must be an RSA, EC P-256 or Ed25519 key"
	}
	return ""
}
