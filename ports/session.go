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
	// AddSessionClient records, in one atomic step, that clientID was
	// issued tokens in the session whose sid is sid, unless it is recorded
	// already (ClientIDs holds each client once). ErrNotFound if there is
	// no such session or it expired at now: a session deleted meanwhile is
	// either deleted before (ErrNotFound) or returned with the client by
	// the delete, never ended without it.
	AddSessionClient(ctx context.Context, sid, clientID string, now time.Time) error
	// DeleteSession removes a session and returns it as it was removed
	// (with its ClientIDs), in one atomic step, so that whoever ends a
	// session learns which clients to tell. ErrNotFound if there is none
	// (a missing session is otherwise no error: the caller ignores it).
	DeleteSession(ctx context.Context, hash []byte) (domain.Session, error)
	// DeleteUserSessions removes every session of a user and returns them
	// as they were removed.
	DeleteUserSessions(ctx context.Context, userID string) ([]domain.Session, error)
	// ListUserSessions returns the user's sessions that are live at now
	// (ExpiresAt after now), newest sign-in first: by AuthTime descending,
	// then by SID ascending so that sessions signed in at the same instant
	// keep one order. It returns at most MaxUserSessions of them, the
	// newest; empty if none. The account page lists them so the user can
	// end the others.
	ListUserSessions(ctx context.Context, userID string, now time.Time) ([]domain.Session, error)
}

// MaxUserSessions bounds SessionStore.ListUserSessions. Each sign-in from a
// new browser makes a session, so a user's live sessions are as many as
// their sign-ins within a session's lifetime: a page shows the newest, and
// "sign out everywhere" (DeleteUserSessions) still ends every one.
const MaxUserSessions = 100

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
