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
		(hash, sid, user_id, auth_time, amr, created_at, last_seen, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		sess.Hash, sess.SID, sess.UserID, ts(sess.AuthTime), sess.AMR, ts(sess.CreatedAt),
		ts(sess.LastSeen), ts(sess.ExpiresAt))
	return translate("create session", err)
}

// GetSession returns the session with this hash, unless it expired at now.
func (s *SessionStore) GetSession(ctx context.Context, hash []byte, now time.Time) (domain.Session, error) {
	return s.get(ctx, "get session", `WHERE hash = $1 AND expires_at > $2`, hash, now)
}

func (s *SessionStore) get(ctx context.Context, op, where string, key any, now time.Time) (domain.Session, error) {
	var sess domain.Session
	var authTime, created, lastSeen, expires pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, `SELECT hash, sid, user_id, auth_time, amr, created_at, last_seen, expires_at
		FROM sessions `+where, key, now).
		Scan(&sess.Hash, &sess.SID, &sess.UserID, &authTime, &sess.AMR, &created, &lastSeen, &expires)
	if err != nil {
		return domain.Session{}, translate(op, err)
	}
	sess.AuthTime, sess.CreatedAt, sess.LastSeen, sess.ExpiresAt = fromTS(authTime), fromTS(created), fromTS(lastSeen), fromTS(expires)
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

// DeleteSession removes a session; a missing one is not an error.
func (s *SessionStore) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
	return translate("delete session", err)
}

// DeleteUserSessions removes every session of a user.
func (s *SessionStore) DeleteUserSessions(ctx context.Context, userID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	return translate("delete user sessions", err)
}
