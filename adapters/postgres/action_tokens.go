package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.ActionTokenStore = (*ActionTokenStore)(nil)

// ActionTokenStore is the PostgreSQL ports.ActionTokenStore, keyed by the
// hash of the emailed token. The janitor deletes expired tokens.
type ActionTokenStore struct{ pool db }

// NewActionTokenStore returns an ActionTokenStore on pool.
func NewActionTokenStore(pool *pgxpool.Pool) *ActionTokenStore {
	return &ActionTokenStore{pool: db{pool}}
}

// actionTokenColumns are every column of action_tokens. organization_id
// and client_id are a join link's, empty for other purposes; email is the
// address the link was mailed to.
const actionTokenColumns = `hash, purpose, user_id, organization_id, client_id, email, created_at, expires_at`

// CreateActionToken stores a token. ErrAlreadyExists if the hash is taken.
func (s *ActionTokenStore) CreateActionToken(ctx context.Context, t domain.ActionToken) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO action_tokens (`+actionTokenColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.Hash, string(t.Purpose), t.UserID, t.OrganizationID, t.ClientID, t.Email, ts(t.CreatedAt), ts(t.ExpiresAt))
	return translate("create action token", err)
}

// ConsumeActionToken deletes and returns a live token of this purpose in one
// DELETE … RETURNING: of concurrent calls, the row lock lets exactly one
// delete it and the others find nothing. A token of another purpose, or one
// expired at now, is left as it is.
func (s *ActionTokenStore) ConsumeActionToken(ctx context.Context, hash []byte, purpose domain.ActionPurpose, now time.Time) (domain.ActionToken, error) {
	var t domain.ActionToken
	var p string
	var created, expires pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, `DELETE FROM action_tokens
		WHERE hash = $1 AND purpose = $2 AND expires_at > $3
		RETURNING `+actionTokenColumns, hash, string(purpose), now).
		Scan(&t.Hash, &p, &t.UserID, &t.OrganizationID, &t.ClientID, &t.Email, &created, &expires)
	if err != nil {
		return domain.ActionToken{}, translate("consume action token", err)
	}
	t.Purpose, t.CreatedAt, t.ExpiresAt = domain.ActionPurpose(p), fromTS(created), fromTS(expires)
	return t, nil
}
