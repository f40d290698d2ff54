package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.LicenseStore = (*LicenseStore)(nil)

// LicenseStore is the PostgreSQL ports.LicenseStore. A license references
// its user (ON DELETE CASCADE), so a license of a missing user cannot be
// stored and a deleted user's licenses go with them.
type LicenseStore struct{ pool db }

// NewLicenseStore returns a LicenseStore on pool.
func NewLicenseStore(pool *pgxpool.Pool) *LicenseStore { return &LicenseStore{pool: db{pool}} }

// insertLicense is AssignLicense's statement, shared with Provision: one
// affected row means it assigned the license.
const insertLicense = `INSERT INTO licenses (client_id, user_id, assigned_at) VALUES ($1, $2, $3)
	ON CONFLICT (user_id, client_id) DO NOTHING`

// AssignLicense stores a license unless the user holds it already, in one
// statement, and reports whether it did. The foreign key makes a missing
// user ErrNotFound.
func (s *LicenseStore) AssignLicense(ctx context.Context, l domain.License) (bool, error) {
	tag, err := s.pool.Exec(ctx, insertLicense, l.ClientID, l.UserID, ts(l.AssignedAt))
	if isCode(err, codeForeignKeyViolation) {
		return false, translate("assign license", pgx.ErrNoRows)
	}
	if err != nil {
		return false, translate("assign license", err)
	}
	return tag.RowsAffected() == 1, nil
}

// RevokeLicense removes a license. ErrNotFound if the user does not hold it.
func (s *LicenseStore) RevokeLicense(ctx context.Context, clientID, userID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM licenses WHERE user_id = $1 AND client_id = $2`, userID, clientID)
	if err != nil {
		return translate("revoke license", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("revoke license", pgx.ErrNoRows)
	}
	return nil
}

// HasLicense reports whether the user holds the client's license.
func (s *LicenseStore) HasLicense(ctx context.Context, clientID, userID string) (bool, error) {
	var has bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM licenses WHERE user_id = $1 AND client_id = $2)`,
		userID, clientID).Scan(&has)
	if isCode(err, codeBadText) {
		return false, nil // no stored license can hold such text
	}
	if err != nil {
		return false, translate("has license", err)
	}
	return has, nil
}

// ListUserLicenses returns a user's licenses, oldest first, ties broken by
// client id.
func (s *LicenseStore) ListUserLicenses(ctx context.Context, userID string) ([]domain.License, error) {
	rows, err := s.pool.Query(ctx, `SELECT client_id, user_id, assigned_at FROM licenses
		WHERE user_id = $1 ORDER BY assigned_at, client_id`, userID)
	if err != nil {
		return nil, translate("list user licenses", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.License, error) {
		var l domain.License
		var assigned pgtype.Timestamptz
		err := row.Scan(&l.ClientID, &l.UserID, &assigned)
		l.AssignedAt = fromTS(assigned)
		return l, err
	})
	if err != nil {
		return nil, translate("list user licenses", err)
	}
	return out, nil
}
