package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.SessionStore = (*SessionStore)(nil)

// SessionStore is the PostgreSQL ports.SessionStore, keyed by the hash of
// the cookie secret.
type SessionStore struct{ pool db }

// NewSessionStore returns a SessionStore on pool.
func NewSessionStore(pool *pgxpool.Pool) *SessionStore { return &SessionStore{pool: db{pool}} }

// CreateSession stores a session. ErrAlreadyExists if the hash is taken.
func (s *SessionStore) CreateSession(ctx context.Context, sess domain.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions
		(hash, sid, user_id, auth_time, amr, created_at, last_seen, expires_at, client_ids)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9::text[], '{}'))`,
		sess.Hash, sess.SID, sess.UserID, ts(sess.AuthTime), sess.AMR, ts(sess.CreatedAt),
		ts(sess.LastSeen), ts(sess.ExpiresAt), sess.ClientIDs)
	return translate("create session", err)
}

// GetSession returns the session with this hash, unless it expired at now.
func (s *SessionStore) GetSession(ctx context.Context, hash []byte, now time.Time) (domain.Session, error) {
	return s.get(ctx, "get session", `WHERE hash = $1 AND expires_at > $2`, hash, now)
}

func (s *SessionStore) get(ctx context.Context, op, where string, key any, now time.Time) (domain.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM sessions `+where, key, now)
	if err != nil {
		return domain.Session{}, translate(op, err)
	}
	sess, err := pgx.CollectExactlyOneRow(rows, scanSession)
	return sess, translate(op, err)
}

// sessionCols are the columns scanSession reads.
const sessionCols = `hash, sid, user_id, auth_time, amr, created_at, last_seen, expires_at, client_ids`

func scanSession(row pgx.CollectableRow) (domain.Session, error) {
	var sess domain.Session
	var authTime, created, lastSeen, expires pgtype.Timestamptz
	if err := row.Scan(&sess.Hash, &sess.SID, &sess.UserID, &authTime, &sess.AMR, &created, &lastSeen, &expires, &sess.ClientIDs); err != nil {
		return domain.Session{}, err
	}
	sess.AuthTime, sess.CreatedAt, sess.LastSeen, sess.ExpiresAt = fromTS(authTime), fromTS(created), fromTS(lastSeen), fromTS(expires)
	if len(sess.ClientIDs) == 0 {
		sess.ClientIDs = nil // no client is nil, as memory has it
	}
	return sess, nil
}

// GetSessionBySID returns the session with this public sid, unless it
// expired at now (index sessions_sid).
func (s *SessionStore) GetSessionBySID(ctx context.Context, sid string, now time.Time) (domain.Session, error) {
	return s.get(ctx, "get session by sid", `WHERE sid = $1 AND expires_at > $2`, sid, now)
}

// TouchSession slides a live session in one conditional UPDATE. An expired
// session stays expired: sliding expiry must not revive one that ended.
func (s *SessionStore) TouchSession(ctx context.Context, hash []byte, now, expiresAt time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen = $2, expires_at = $3
		WHERE hash = $1 AND expires_at > $2`, hash, now, expiresAt)
	if err != nil {
		return translate("touch session", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("touch session", pgx.ErrNoRows)
	}
	return nil
}

// AddSessionClient appends clientID to a live session's client_ids unless
// it is there, in one UPDATE: the row lock orders it with a concurrent
// DELETE, which then returns the client, or came first and leaves no row.
func (s *SessionStore) AddSessionClient(ctx context.Context, sid, clientID string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET client_ids = CASE WHEN $2 = ANY(client_ids)
		THEN client_ids ELSE array_append(client_ids, $2) END
		WHERE sid = $1 AND expires_at > $3`, sid, clientID, now)
	if err != nil {
		return translate("add session client", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("add session client", pgx.ErrNoRows)
	}
	return nil
}

// DeleteSession removes a session and returns it (DELETE ... RETURNING).
// ErrNotFound if there is none.
func (s *SessionStore) DeleteSession(ctx context.Context, hash []byte) (domain.Session, error) {
	rows, err := s.pool.Query(ctx, `DELETE FROM sessions WHERE hash = $1 RETURNING `+sessionCols, hash)
	if err != nil {
		return domain.Session{}, translate("delete session", err)
	}
	sess, err := pgx.CollectExactlyOneRow(rows, scanSession)
	return sess, translate("delete session", err)
}

// DeleteUserSessions removes every session of a user and returns them.
func (s *SessionStore) DeleteUserSessions(ctx context.Context, userID string) ([]domain.Session, error) {
	rows, err := s.pool.Query(ctx, `DELETE FROM sessions WHERE user_id = $1 RETURNING `+sessionCols, userID)
	if err != nil {
		return nil, translate("delete user sessions", err)
	}
	out, err := pgx.CollectRows(rows, scanSession)
	return out, translate("delete user sessions", err)
}

// ListUserSessions returns the user's sessions live at now, newest sign-in
// first, at most ports.MaxUserSessions (index sessions_user; a user's
// sessions are few, so sorting them costs nothing).
func (s *SessionStore) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]domain.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = $1 AND expires_at > $2 ORDER BY auth_time DESC NULLS LAST, sid LIMIT $3`,
		userID, now, ports.MaxUserSessions)
	if err != nil {
		return nil, translate("list user sessions", err)
	}
	out, err := pgx.CollectRows(rows, scanSession)
	return out, translate("list user sessions", err)
}
