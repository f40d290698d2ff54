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

// A client's grants are guarded by a transaction-level advisory lock of
// its own (15150, hashtext(client_id)): a unit of work that reads
// them holds it shared until it ends, and a change to them takes it
// exclusive. PostgreSQL queues heavyweight locks in order, so a change
// waits for the units already running and units that start after it wait
// for it. Row locks would not do: a new FOR SHARE is granted past a DELETE
// already waiting for the row, so a client that keeps a change in flight
// could put its own withdrawal off for as long as it liked.
const (
	grantLockSpace      = 15150 // "client grants", the first key of the pair
	lockGrantsShared    = `SELECT pg_advisory_xact_lock_shared(15150, hashtext($1))`
	lockGrantsExclusive = `SELECT pg_advisory_xact_lock(15150, hashtext($1))`
)

// changeGrants runs a change to a client's grants in a transaction (a
// savepoint inside a unit) that holds the client's grant lock exclusive.
func (s *ClientGrantStore) changeGrants(ctx context.Context, clientID string, change func(tx pgx.Tx) error) error {
	return inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockGrantsExclusive, clientID); err != nil {
			return err
		}
		return change(tx)
	})
}

// PutClientGrant creates or replaces the grant in one upsert that leaves
// created_at alone on a replacement, under the client's grant lock. The
// foreign key makes a missing organization ErrNotFound in the same
// statement.
func (s *ClientGrantStore) PutClientGrant(ctx context.Context, g domain.ClientGrant) error {
	err := s.changeGrants(ctx, g.ClientID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO client_grants
			(client_id, organization_id, actions, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (client_id, organization_id) DO UPDATE
			SET actions = EXCLUDED.actions, updated_at = EXCLUDED.updated_at`,
			g.ClientID, g.OrganizationID, g.Actions, ts(g.CreatedAt), ts(g.UpdatedAt))
		return err
	})
	if isCode(err, codeForeignKeyViolation) {
		return translate("put client grant", pgx.ErrNoRows)
	}
	return translate("put client grant", err)
}

// DeleteClientGrant removes a grant, under the client's grant lock.
// ErrNotFound if there is none.
func (s *ClientGrantStore) DeleteClientGrant(ctx context.Context, clientID, organizationID string) error {
	err := s.changeGrants(ctx, clientID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM client_grants WHERE client_id = $1 AND organization_id = $2`,
			clientID, organizationID)
		if err == nil && tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		return err
	})
	return translate("delete client grant", err)
}

// ListClientGrants returns a client's grants ordered by organization id, in
// the primary key's order. Inside a unit of work it first takes the
// client's grant lock shared, held until the unit ends, so that a change to
// the grants waits for the unit instead of slipping between its check and
// its writes. The lock and the read go in one round trip, as two
// statements: the read's snapshot is taken after the lock is granted.
func (s *ClientGrantStore) ListClientGrants(ctx context.Context, clientID string) ([]domain.ClientGrant, error) {
	const q = `SELECT client_id, organization_id, actions, created_at, updated_at
		FROM client_grants WHERE client_id = $1 ORDER BY organization_id`
	var rows pgx.Rows
	var err error
	if tx := unitTx(ctx); tx != nil {
		b := &pgx.Batch{}
		b.Queue(lockGrantsShared, clientID)
		b.Queue(q, clientID)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return nil, translate("list client grants", err)
		}
		rows, err = br.Query()
	} else {
		rows, err = s.pool.Query(ctx, q, clientID)
	}
	if err != nil {
		return nil, translate("list client grants", err)
	}
	return collectGrants("list client grants", rows, nil)
}

// ListOrganizationGrants returns the grants on an organization ordered by
// client id, from the index on (organization_id, client_id). It takes no
// grant lock: it is a listing for people, and checks nothing.
func (s *ClientGrantStore) ListOrganizationGrants(ctx context.Context, organizationID string) ([]domain.ClientGrant, error) {
	rows, err := s.pool.Query(ctx, `SELECT client_id, organization_id, actions, created_at, updated_at
		FROM client_grants WHERE organization_id = $1 ORDER BY client_id`, organizationID)
	return collectGrants("list organization grants", rows, err)
}

// collectGrants reads the rows of a grant query; op names the failure.
func collectGrants(op string, rows pgx.Rows, err error) ([]domain.ClientGrant, error) {
	if err != nil {
		return nil, translate(op, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.ClientGrant, error) {
		var g domain.ClientGrant
		var created, updated pgtype.Timestamptz
		err := row.Scan(&g.ClientID, &g.OrganizationID, &g.Actions, &created, &updated)
		g.CreatedAt, g.UpdatedAt = fromTS(created), fromTS(updated)
		return g, err
	})
	if err != nil {
		return nil, translate(op, err)
	}
	return out, nil
}
