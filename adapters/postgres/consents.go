package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// consentColumns are the columns scanConsent reads.
const consentColumns = `user_id, client_id, scopes, created_at, updated_at`

func scanConsent(row pgx.Row) (domain.Consent, error) {
	var c domain.Consent
	var created, updated pgtype.Timestamptz
	err := row.Scan(&c.UserID, &c.ClientID, &c.Scopes, &created, &updated)
	c.CreatedAt, c.UpdatedAt = fromTS(created), fromTS(updated)
	return c, err
}

// GetConsent returns the consent of user for client. ErrNotFound if none.
func (s *GrantStore) GetConsent(ctx context.Context, userID, clientID string) (domain.Consent, error) {
	c, err := scanConsent(s.pool.QueryRow(ctx, `SELECT `+consentColumns+`
		FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID))
	if err != nil {
		return domain.Consent{}, translate("get consent", err)
	}
	return c, nil
}

// PutConsent creates the consent or merges its scopes into the stored ones in
// one upsert: the stored scopes keep their order and the new ones follow, in
// the order given. ON CONFLICT re-reads the locked row, so concurrent puts
// lose no scope. The first CreatedAt is kept; UpdatedAt is c's.
func (s *GrantStore) PutConsent(ctx context.Context, c domain.Consent) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO consents (user_id, client_id, scopes, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id, client_id) DO UPDATE SET
			scopes = COALESCE(consents.scopes, '{}') || ARRAY(
				SELECT u.s FROM unnest(EXCLUDED.scopes) WITH ORDINALITY AS u(s, o)
				WHERE NOT (u.s = ANY (COALESCE(consents.scopes, '{}')))
				ORDER BY u.o),
			updated_at = EXCLUDED.updated_at`,
		c.UserID, c.ClientID, dedupe(c.Scopes), ts(c.CreatedAt), ts(c.UpdatedAt))
	return translate("put consent", err)
}

// DeleteConsent removes a consent. ErrNotFound if there is none.
func (s *GrantStore) DeleteConsent(ctx context.Context, userID, clientID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
	if err != nil {
		return translate("delete consent", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("delete consent", pgx.ErrNoRows)
	}
	return nil
}

// ListUserConsents returns the user's consents ordered by client id, at
// most ports.MaxUserConsents: a range of the primary key (user_id,
// client_id), read in its order.
func (s *GrantStore) ListUserConsents(ctx context.Context, userID string) ([]domain.Consent, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+consentColumns+`
		FROM consents WHERE user_id = $1 ORDER BY client_id LIMIT $2`, userID, ports.MaxUserConsents)
	if err != nil {
		return nil, translate("list user consents", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Consent, error) { return scanConsent(row) })
	return out, translate("list user consents", err)
}

// dedupe returns scopes without repeats, first occurrence kept, so that the
// upsert's merge needs no DISTINCT.
func dedupe(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
