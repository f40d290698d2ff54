package ports

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// KeySigner signs JWS signing inputs with private keys that the core never
// sees, and publishes the public keys. Adapters: localkeys (in-process keys
// kept through a KeyStore) and vault (transit engine).
type KeySigner interface {
	// ActiveKey returns the key that signs new tokens with algorithm alg.
	// ErrNotFound if the signer has no key for alg; ErrUnavailable if the
	// backend cannot be reached.
	ActiveKey(ctx context.Context, alg string) (domain.KeyRef, error)
	// Sign signs the JWS signing input (RFC 7515 §5.1 step 5) with the key
	// ref names and returns the JWS signature bytes (for ES256, r‖s). Any key
	// still in the key set may sign, so a rotation between ActiveKey and Sign
	// does no harm. ErrNotFound if the key is gone; ErrUnavailable on outage.
	Sign(ctx context.Context, ref domain.KeyRef, signingInput []byte) ([]byte, error)
	// PublicKeys returns every published key: next, active and retired. It is
	// cheap (served from memory) and its Version changes when the set does.
	PublicKeys(ctx context.Context) (domain.KeySet, error)
	// Rotate promotes each algorithm's next key to active, retires the
	// previous active key (kept published until every token it signed has
	// expired), and publishes a new next key.
	Rotate(ctx context.Context) error
	// Ready reports whether the signer can sign now.
	Ready(ctx context.Context) error
}

// KeyStore keeps signing keys for the localkeys signer, so that instances
// sharing a store share keys and keys survive restarts.
type KeyStore interface {
	// ListKeys returns every stored key.
	ListKeys(ctx context.Context) ([]domain.KeyRecord, error)
	// ReplaceKeys replaces the whole key set with next if the stored set still
	// has exactly the kids and states of prev (compare-and-swap), atomically.
	// ErrConflict if another writer changed it first.
	ReplaceKeys(ctx context.Context, prev, next []domain.KeyRecord) error
}
