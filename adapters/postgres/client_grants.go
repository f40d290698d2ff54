package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.ClientGrantStore = (*ClientGrantStore)(nil)

// ClientGrantStore is the PostgreSQL ports.ClientGrantStore. A grant goes
// with its organization (ON DELETE CASCADE).
type ClientGrantStore struct{ pool db }

// NewClientGrantStore returns a ClientGrantStore on pool.
func NewClientGrantStore(pool *pgxpool.Pool) *ClientGrantStore {
	return &ClientGrantStore{pool: db{pool}}
}

// PutClientGrant creates or replaces the grant in one upsert that leaves
// created_at alone on a replacement. The foreign key makes a missing
// organization ErrNotFound in the same statement.
func (s *ClientGrantStore) PutClientGrant(ctx context.Context, g domain.ClientGrant) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO client_grants
		(client_id, organization_id, actions, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (client_id, organization_id) DO UPDATE
		SET actions = EXCLUDED.actions, updated_at = EXCLUDED.updated_at`,
		g.ClientID, g.OrganizationID, g.Actions, ts(g.CreatedAt), ts(g.UpdatedAt))
	if isCode(err, codeForeignKeyViolation) {
		return translate("put client grant", pgx.ErrNoRows)
	}
	return translate("put client grant", err)
}

// DeleteClientGrant removes a grant. ErrNotFound if there is none.
func (s *ClientGrantStore) DeleteClientGrant(ctx context.Context, clientID, organizationID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM client_grants WHERE client_id = $1 AND organization_id = $2`,
		clientID, organizationID)
	if err != nil {
		return translate("delete client grant", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("delete client grant", pgx.ErrNoRows)
	}
	return nil
}

// ListClientGrants returns a client's grants ordered by organization id, in
// the primary key's order. Inside a unit of work it locks them FOR SHARE
// until the unit ends, so that a withdrawal (which updates or deletes the
// row) waits for the unit instead of slipping between its check and its
// writes.
func (s *ClientGrantStore) ListClientGrants(ctx context.Context, clientID string) ([]domain.ClientGrant, error) {
	q := `SELECT client_id, organization_id, actions, created_at, updated_at
		FROM client_grants WHERE client_id = $1 ORDER BY organization_id`
	if inUnit(ctx) {
		q += ` FOR SHARE`
	}
	rows, err := s.pool.Query(ctx, q, clientID)
	if err != nil {
		return nil, translate("list client grants", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.ClientGrant, error) {
		var g domain.ClientGrant
		var created, updated pgtype.Timestamptz
		err := row.Scan(&g.ClientID, &g.OrganizationID, &g.Actions, &created, &updated)
		g.CreatedAt, g.UpdatedAt = fromTS(created), fromTS(updated)
		return g, err
	})
	if err != nil {
		return nil, translate("list client grants", err)
	}
	return out, nil
}
