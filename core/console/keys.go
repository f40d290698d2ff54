package console

import (
	"context"
	"slices"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// KeyLister lists the published signing keys with their states and dates:
// ports.KeySigner has it.
type KeyLister interface {
	PublicKeys(ctx context.Context) (domain.KeySet, error)
}

// KeyRotator rotates the signing keys: oidc.Provider's RotateKeys, the use
// case the admin API's POST /api/v1/admin/keys/rotate runs, so the console
// never holds a second copy of it.
type KeyRotator interface {
	RotateKeys(ctx context.Context) (domain.KeySet, error)
}

// ManagesKeys reports whether v sees and rotates the signing keys: they
// sign every organization's tokens, so platform administrators only.
func (v *Viewer) ManagesKeys() bool { return v.Platform }

// SigningKeys lists the published signing keys, in the JWKS's order
// (active, next, retired; by algorithm within each): platform
// administrators only.
func (s *Service) SigningKeys(ctx context.Context, v *Viewer) ([]domain.PublicKey, error) {
	if !v.ManagesKeys() {
		return nil, ErrForbidden
	}
	set, err := s.deps.KeyList.PublicKeys(ctx)
	if err != nil {
		return nil, fault.Store("list signing keys", err)
	}
	// The signer shares its slice with every reader.
	return slices.Clone(set.Keys), nil
}

// RotateKeys rotates the signing keys through the provider's use case and
// returns the keys as published afterwards: platform administrators only.
// Each algorithm's next key starts signing (with Vault, once its publish
// delay has passed), the active key retires, still published until every
// token it signed has expired, and a new next key is published.
func (s *Service) RotateKeys(ctx context.Context, v *Viewer) ([]domain.PublicKey, error) {
	if !v.ManagesKeys() {
		return nil, ErrForbidden
	}
	set, err := s.deps.KeyRotation.RotateKeys(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Clone(set.Keys), nil
}
