package postgres

import (
	"context"
	"time"
)

// RevokeAccessToken records jti as revoked until expiresAt. Revoking again
// keeps the later expiry, in one upsert.
func (s *GrantStore) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2)
		ON CONFLICT (jti) DO UPDATE
		SET expires_at = GREATEST(revoked_access_tokens.expires_at, EXCLUDED.expires_at)`, jti, expiresAt)
	return translate("revoke access token", err)
}

// RevokeGrant records every access token of grantID as revoked until
// expiresAt. Revoking again keeps the later expiry, in one upsert.
func (s *GrantStore) RevokeGrant(ctx context.Context, grantID string, expiresAt time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO revoked_grants (grant_id, expires_at) VALUES ($1, $2)
		ON CONFLICT (grant_id) DO UPDATE
		SET expires_at = GREATEST(revoked_grants.expires_at, EXCLUDED.expires_at)`, grantID, expiresAt)
	return translate("revoke grant", err)
}

// IsRevoked reports whether jti, or grantID when it is not empty, is revoked,
// in one round trip. The port passes no now: a record counts until it is
// deleted, which is safe because it outlives the tokens it covers.
func (s *GrantStore) IsRevoked(ctx context.Context, jti, grantID string) (bool, error) {
	j, g, err := s.revoked(ctx, jti, grantID)
	return j || g, err
}

// revoked answers for jti and for grantID (false when it is empty) apart,
// in one round trip, for CachedGrantStore to keep each.
func (s *GrantStore) revoked(ctx context.Context, jti, grantID string) (jtiRevoked, grantRevoked bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $1),
		$2 <> '' AND EXISTS (SELECT 1 FROM revoked_grants WHERE grant_id = $2)`, jti, grantID).Scan(&jtiRevoked, &grantRevoked)
	if err != nil {
		return false, false, translate("is revoked", err)
	}
	return jtiRevoked, grantRevoked, nil
}
