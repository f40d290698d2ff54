package domain

import (
	"crypto"
	"time"
)

// Signing algorithms (RFC 7518 §3.1).
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

// KeyState is where a signing key is in its life.
type KeyState string

const (
	// KeyNext keys are published in JWKS but sign nothing yet, so relying
	// parties have them cached before the first token they sign appears.
	KeyNext KeyState = "next"
	// KeyActive keys sign new tokens; one per algorithm.
	KeyActive KeyState = "active"
	// KeyRetired keys sign nothing and stay published until RetireAt, when
	// every token they signed has expired.
	KeyRetired KeyState = "retired"
)

// PublicKey is one entry of the JWKS, and where the key is in its life.
// The JWKS publishes KID, Algorithm and Key only: the state and the dates
// are for operators (the console's signing keys page), never for relying
// parties.
type PublicKey struct {
	KID       string // RFC 7638 thumbprint
	Algorithm string
	Key       crypto.PublicKey
	State     KeyState
	// The dates, each zero where the signer does not know it: CreatedAt
	// when the key was made; ActiveAt when it started signing (for a next
	// key, when it is due to, if a publish delay fixes that); RetiredAt
	// when it stopped signing; RetireAt when a retired key leaves the JWKS.
	CreatedAt time.Time
	ActiveAt  time.Time
	RetiredAt time.Time
	RetireAt  time.Time
}

// KeySet is the published key set. Version changes whenever a key is
// published or withdrawn, so readers can cache what they derive from the
// keys themselves (the JWKS document, the verification keys). A key's
// State and dates may change under one Version (a Vault next version starts
// signing once its publish delay has passed): read them from the set at
// hand, never from a cache keyed by Version.
type KeySet struct {
	Version string
	Keys    []PublicKey
}

// Find returns the key with kid.
func (s *KeySet) Find(kid string) (PublicKey, bool) {
	for _, k := range s.Keys {
		if k.KID == kid {
			return k, true
		}
	}
	return PublicKey{}, false
}

// KeyRef names the key that signs: the header of a JWS needs it before the
// signature exists.
type KeyRef struct {
	KID       string
	Algorithm string
}

// KeyRecord is a signing key as a key store keeps it. Private is the private
// key in PKCS #8 DER, which the store may encrypt at rest.
type KeyRecord struct {
	KID       string
	Algorithm string
	State     KeyState
	Private   []byte
	CreatedAt time.Time
	ActiveAt  time.Time // when it started signing; zero while next
	RetireAt  time.Time // when it leaves JWKS; zero unless retired
}
