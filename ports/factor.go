package ports

import (
	"context"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// FactorStore keeps users' second factors (domain.Factors), one record per
// user. Stores seal the TOTP secrets at rest as they seal signing keys.
type FactorStore interface {
	// GetFactors returns a user's factors. A user with none gets
	// Factors{UserID: userID} and no error.
	GetFactors(ctx context.Context, userID string) (domain.Factors, error)
	// UpdateFactors reads the user's factors (empty if none), applies fn
	// and writes the result, atomically: concurrent updates of one user
	// apply one after the other, so of two that spend the same recovery
	// code or TOTP step, the second sees it spent. fn may run more than
	// once (a lost compare-and-swap is retried), each time on the factors
	// as stored then, so it must have no effect but on the record it is
	// given. If fn returns an error nothing is written and that error is
	// returned. UpdatedAt is set by fn, never by the store. A backend that
	// keeps factors only of the users it holds (PostgreSQL) fails with
	// ErrNotFound, without calling fn, when the user does not exist; the
	// others keep factors of any user id, so the caller deletes a user's
	// factors with the user (DeleteFactors).
	UpdateFactors(ctx context.Context, userID string, fn func(*domain.Factors) error) (domain.Factors, error)
	// DeleteFactors removes every factor of a user. No error if there are
	// none.
	DeleteFactors(ctx context.Context, userID string) error
}
