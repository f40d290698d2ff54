package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.RoleStore = (*RoleStore)(nil)

// RoleStore is the PostgreSQL ports.RoleStore. It keeps only stored roles;
// the built-in defaults are the core's (domain.BuiltInRoles). A role goes
// with its organization (ON DELETE CASCADE).
type RoleStore struct{ pool db }

// NewRoleStore returns a RoleStore on pool.
func NewRoleStore(pool *pgxpool.Pool) *RoleStore { return &RoleStore{pool: db{pool}} }

const roleColumns = `organization_id, name, permissions, created_at, updated_at`

func scanRole(row pgx.Row) (domain.Role, error) {
	var r domain.Role
	var created, updated pgtype.Timestamptz
	err := row.Scan(&r.OrganizationID, &r.Name, &r.Permissions, &created, &updated)
	r.CreatedAt, r.UpdatedAt = fromTS(created), fromTS(updated)
	return r, err
}

// PutRole creates or replaces a role in one upsert that leaves created_at
// alone on a replacement. The foreign key makes a missing organization
// ErrNotFound in the same statement.
func (s *RoleStore) PutRole(ctx context.Context, r domain.Role) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO roles (`+roleColumns+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (organization_id, name) DO UPDATE
		SET permissions = EXCLUDED.permissions, updated_at = EXCLUDED.updated_at`,
		r.OrganizationID, r.Name, r.Permissions, ts(r.CreatedAt), ts(r.UpdatedAt))
	if isCode(err, codeForeignKeyViolation) {
		return translate("put role", pgx.ErrNoRows)
	}
	return translate("put role", err)
}

// GetRole returns a stored role. ErrNotFound if the organization stores
// none of that name.
func (s *RoleStore) GetRole(ctx context.Context, organizationID, name string) (domain.Role, error) {
	r, err := scanRole(s.pool.QueryRow(ctx, `SELECT `+roleColumns+` FROM roles
		WHERE organization_id = $1 AND name = $2`, organizationID, name))
	if err != nil {
		return domain.Role{}, translate("get role", err)
	}
	return r, nil
}

// DeleteRole removes a stored role. ErrNotFound if there is none.
func (s *RoleStore) DeleteRole(ctx context.Context, organizationID, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM roles WHERE organization_id = $1 AND name = $2`, organizationID, name)
	if err != nil {
		return translate("delete role", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("delete role", pgx.ErrNoRows)
	}
	return nil
}

// ListRoles returns an organization's stored roles ordered by name, in the
// primary key's order.
func (s *RoleStore) ListRoles(ctx context.Context, organizationID string) ([]domain.Role, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+roleColumns+` FROM roles WHERE organization_id = $1 ORDER BY name`,
		organizationID)
	if err != nil {
		return nil, translate("list roles", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Role, error) { return scanRole(row) })
	if err != nil {
		return nil, translate("list roles", err)
	}
	return out, nil
}
