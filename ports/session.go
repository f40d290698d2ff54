package ports

import (
	"context"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// SessionStore keeps browser login sessions, keyed by the hash of the cookie secret.
type SessionStore interface {
	// CreateSession stores a session. ErrAlreadyExists if the hash is taken.
	CreateSession(ctx context.Context, s domain.Session) error
	// GetSession returns the session with this hash. ErrNotFound if there is
	// none or it expired at now.
	GetSession(ctx context.Context, hash []byte, now time.Time) (domain.Session, error)
	// GetSessionBySID returns the session whose public sid is sid.
	// ErrNotFound if there is none or it expired at now. Refresh tokens
	// bound to a browser session, and logout by id_token_hint, find their
	// session this way.
	GetSessionBySID(ctx context.Context, sid string, now time.Time) (domain.Session, error)
	// TouchSession sets LastSeen to now and ExpiresAt to expiresAt in one
	// statement, unless the session expired. ErrNotFound if there is none.
	TouchSession(ctx context.Context, hash []byte, now, expiresAt time.Time) error
	// DeleteSession removes a session. Deleting a missing session is not an error.
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteUserSessions removes every session of a user.
	DeleteUserSessions(ctx context.Context, userID string) error
}

// AuthRequestStore keeps authorization requests that wait for login or consent.
type AuthRequestStore interface {
	// CreateAuthRequest stores a request. ErrAlreadyExists if the id is taken.
	CreateAuthRequest(ctx context.Context, r domain.AuthRequest) error
	// GetAuthRequest returns a request by id. ErrNotFound if there is none or
	// it expired at now.
	GetAuthRequest(ctx context.Context, id string, now time.Time) (domain.AuthRequest, error)
	// UpdateAuthRequest reads, applies fn and writes atomically. ErrNotFound
	// if there is none or it expired at now.
	UpdateAuthRequest(ctx context.Context, id string, now time.Time, fn func(*domain.AuthRequest) error) (domain.AuthRequest, error)
	// DeleteAuthRequest removes a request and reports whether this call did
	// so: of concurrent calls exactly one gets true, so a request completes once.
	DeleteAuthRequest(ctx context.Context, id string) (bool, error)
}
