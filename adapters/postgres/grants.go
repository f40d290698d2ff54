package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.GrantStore = (*GrantStore)(nil)

// GrantStore is the PostgreSQL ports.GrantStore: authorization codes (this
// file), refresh-token families (refresh.go), revocations (revocations.go)
// and consents (consents.go). Codes and tokens are kept only as hashes.
type GrantStore struct{ pool db }

// NewGrantStore returns a GrantStore on pool.
func NewGrantStore(pool *pgxpool.Pool) *GrantStore { return &GrantStore{pool: db{pool}} }

const authCodeColumns = `hash, client_id, user_id, redirect_uri, scopes, nonce, code_challenge,
	code_challenge_method, auth_time, session_id, amr, grant_id, expires_at, redeemed_at, created_at, dpop_jkt, claims`

func scanAuthCode(row pgx.Row) (domain.AuthCode, error) {
	var c domain.AuthCode
	var authTime, expires, redeemed, created pgtype.Timestamptz
	err := row.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scopes, &c.Nonce, &c.CodeChallenge,
		&c.CodeChallengeMethod, &authTime, &c.SessionID, &c.AMR, &c.GrantID, &expires, &redeemed, &created, &c.DPoPJKT, &c.Claims)
	c.AuthTime, c.ExpiresAt, c.RedeemedAt, c.CreatedAt = fromTS(authTime), fromTS(expires), fromTS(redeemed), fromTS(created)
	return c, err
}

// CreateAuthCode stores a code. ErrAlreadyExists if the hash is taken.
func (s *GrantStore) CreateAuthCode(ctx context.Context, c domain.AuthCode) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO auth_codes (`+authCodeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Scopes, c.Nonce, c.CodeChallenge,
		c.CodeChallengeMethod, ts(c.AuthTime), c.SessionID, c.AMR, c.GrantID, ts(c.ExpiresAt),
		ts(c.RedeemedAt), ts(c.CreatedAt), c.DPoPJKT, c.Claims)
	return translate("create auth code", err)
}

// RedeemAuthCode marks the code redeemed with one conditional UPDATE: the
// row lock it takes lets exactly one of concurrent calls match
// "redeemed_at IS NULL". RFC 6749 §4.1.2: codes are single use. Only a call
// that matched nothing reads the row again, to tell a replay (ErrAlreadyUsed,
// with the code, so the caller can revoke its grant) from an unknown or
// expired code (ErrNotFound). That second read is a fresh snapshot, so it
// sees the winner's redemption.
func (s *GrantStore) RedeemAuthCode(ctx context.Context, hash []byte, clientID string, now time.Time) (domain.AuthCode, error) {
	c, err := scanAuthCode(s.pool.QueryRow(ctx, `UPDATE auth_codes SET redeemed_at = $2
		WHERE hash = $1 AND redeemed_at IS NULL AND expires_at > $2 AND client_id = $3
		RETURNING `+authCodeColumns, hash, now, clientID))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return domain.AuthCode{}, translate("redeem auth code", err)
	}
	c, err = scanAuthCode(s.pool.QueryRow(ctx, `SELECT `+authCodeColumns+` FROM auth_codes
		WHERE hash = $1 AND expires_at > $2 AND redeemed_at IS NOT NULL AND client_id = $3`, hash, now, clientID))
	if err != nil {
		return domain.AuthCode{}, translate("redeem auth code", err)
	}
	return c, domain.ErrAlreadyUsed
}
