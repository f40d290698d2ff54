package domain

import "errors"

// Sentinel errors shared by the core, the ports and the adapters. Compare them
// with errors.Is; adapters wrap driver errors into these at their edge.
var (
	// ErrNotFound: the record does not exist, or has expired.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a record with the same natural key exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: a compare-and-swap lost to a concurrent writer.
	ErrConflict = errors.New("conflict")
	// ErrAlreadyUsed: a single-use value (an authorization code, a rotated
	// refresh token) was presented a second time.
	ErrAlreadyUsed = errors.New("already used")
	// ErrUnavailable: a backing service (database, Vault) cannot be reached.
	// The HTTP edge answers 503 temporarily_unavailable.
	ErrUnavailable = errors.New("temporarily unavailable")
	// ErrInvalidToken: a token from elsewhere (an upstream provider's ID
	// token) failed its signature or could not be parsed.
	ErrInvalidToken = errors.New("invalid token")
)
