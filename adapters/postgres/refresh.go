package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/calimatic/calimatic-auth/core/domain"
)

const refreshFamilyColumns = `id, client_id, user_id, scopes, auth_time, session_id, amr,
	created_at, expires_at, revoked_at, dpop_jkt, claims`

// refreshFamilyColumnsOf is refreshFamilyColumns qualified with the alias f.
const refreshFamilyColumnsOf = `f.id, f.client_id, f.user_id, f.scopes, f.auth_time, f.session_id, f.amr,
	f.created_at, f.expires_at, f.revoked_at, f.dpop_jkt, f.claims`

// familyDest returns the scan destinations of refreshFamilyColumns and a
// function that finishes f once the row is scanned.
func familyDest(f *domain.RefreshFamily) ([]any, func()) {
	var authTime, created, expires, revoked pgtype.Timestamptz
	dest := []any{&f.ID, &f.ClientID, &f.UserID, &f.Scopes, &authTime, &f.SessionID, &f.AMR,
		&created, &expires, &revoked, &f.DPoPJKT, &f.Claims}
	return dest, func() {
		f.AuthTime, f.CreatedAt, f.ExpiresAt, f.RevokedAt = fromTS(authTime), fromTS(created), fromTS(expires), fromTS(revoked)
	}
}

// CreateRefreshFamily stores a family and its first token in one
// statement; a first token without a hash stores the family alone.
func (s *GrantStore) CreateRefreshFamily(ctx context.Context, f domain.RefreshFamily, first domain.RefreshToken) error {
	// One statement, so one round trip and one commit: a single statement is
	// atomic, and the family exists before its token references it.
	_, err := s.pool.Exec(ctx, `WITH family AS (
			INSERT INTO refresh_families (`+refreshFamilyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $15) RETURNING id)
		INSERT INTO refresh_tokens (hash, family_id, created_at, rotated_at)
		SELECT $12, id, $13, $14 FROM family WHERE $12::bytea IS NOT NULL`,
		f.ID, f.ClientID, f.UserID, f.Scopes, ts(f.AuthTime), f.SessionID, f.AMR,
		ts(f.CreatedAt), ts(f.ExpiresAt), ts(f.RevokedAt), f.DPoPJKT, first.Hash, ts(first.CreatedAt), ts(first.RotatedAt), f.Claims)
	return translate("create refresh family", err)
}

// GetRefreshFamily returns a family by id. ErrNotFound if there is none.
func (s *GrantStore) GetRefreshFamily(ctx context.Context, id string) (domain.RefreshFamily, error) {
	var f domain.RefreshFamily
	dest, finish := familyDest(&f)
	if err := s.pool.QueryRow(ctx, `SELECT `+refreshFamilyColumns+` FROM refresh_families WHERE id = $1`, id).Scan(dest...); err != nil {
		return domain.RefreshFamily{}, translate("get refresh family", err)
	}
	finish()
	return f, nil
}

// getTokenAndFamily reads a token and its family; with lock, it locks the
// token's row until the transaction ends.
func getTokenAndFamily(ctx context.Context, q rowQuerier, hash []byte, lock bool) (domain.RefreshToken, domain.RefreshFamily, error) {
	var t domain.RefreshToken
	var f domain.RefreshFamily
	var created, rotated pgtype.Timestamptz
	dest, finish := familyDest(&f)
	query := `SELECT t.hash, t.family_id, t.created_at, t.rotated_at, ` + refreshFamilyColumnsOf + `
		FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = $1`
	if lock {
		query += ` FOR UPDATE OF t`
	}
	err := q.QueryRow(ctx, query, hash).Scan(append([]any{&t.Hash, &t.FamilyID, &created, &rotated}, dest...)...)
	if err != nil {
		return domain.RefreshToken{}, domain.RefreshFamily{}, err
	}
	finish()
	t.CreatedAt, t.RotatedAt = fromTS(created), fromTS(rotated)
	return t, f, nil
}

// RotateRefreshToken spends old and stores next in one short transaction.
// The old token's row is locked first (FOR UPDATE), so concurrent rotations
// of one token queue on it: the first sees it live and rotates it, the rest
// see it rotated and fall in the grace window or are replays.
func (s *GrantStore) RotateRefreshToken(ctx context.Context, old []byte, next domain.RefreshToken, now time.Time, grace time.Duration) (domain.RefreshFamily, domain.RotateOutcome, error) {
	var (
		family  domain.RefreshFamily
		outcome domain.RotateOutcome
	)
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		t, f, err := getTokenAndFamily(ctx, tx, old, true)
		if err != nil {
			return err
		}
		if !f.Active(now) {
			return pgx.ErrNoRows
		}
		family = f
		switch {
		case t.RotatedAt.IsZero():
			outcome = domain.Rotated
		case grace > 0 && now.Sub(t.RotatedAt) <= grace:
			outcome = domain.RotatedInGrace
		default:
			outcome = domain.Replayed
			return nil // nothing is stored; the caller revokes the family
		}
		if outcome == domain.Rotated {
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = $2 WHERE hash = $1`, old, now); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, family_id, created_at, rotated_at)
			VALUES ($1, $2, $3, $4)`, next.Hash, f.ID, ts(next.CreatedAt), ts(next.RotatedAt))
		return err
	})
	if err != nil {
		return domain.RefreshFamily{}, 0, translate("rotate refresh token", err)
	}
	return family, outcome, nil
}

// GetRefreshToken returns the token with this hash and its family.
func (s *GrantStore) GetRefreshToken(ctx context.Context, hash []byte) (domain.RefreshToken, domain.RefreshFamily, error) {
	t, f, err := getTokenAndFamily(ctx, s.pool, hash, false)
	if err != nil {
		return domain.RefreshToken{}, domain.RefreshFamily{}, translate("get refresh token", err)
	}
	return t, f, nil
}

// RevokeRefreshFamily marks a family revoked at now, keeping an earlier time.
func (s *GrantStore) RevokeRefreshFamily(ctx context.Context, id string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE refresh_families SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, now)
	if err != nil {
		return translate("revoke refresh family", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("revoke refresh family", pgx.ErrNoRows)
	}
	return nil
}

// RevokeUserRefreshFamilies revokes every live family of a user in one statement.
func (s *GrantStore) RevokeUserRefreshFamilies(ctx context.Context, userID string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE refresh_families SET revoked_at = $2
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2`, userID, now)
	return translate("revoke user refresh families", err)
}

// RevokeUserClientRefreshFamilies revokes every live family of a user for
// one client in one statement (index refresh_families_user), as
// RevokeUserRefreshFamilies does for all of them, and returns the ids of
// the rows it changed.
func (s *GrantStore) RevokeUserClientRefreshFamilies(ctx context.Context, userID, clientID string, now time.Time) ([]string, error) {
	const op = "revoke user client refresh families"
	rows, err := s.pool.Query(ctx, `UPDATE refresh_families SET revoked_at = $3
		WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL AND expires_at > $3
		RETURNING id`, userID, clientID, now)
	if err != nil {
		return nil, translate(op, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate(op, err)
}
