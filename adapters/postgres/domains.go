package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.DomainStore = (*DomainStore)(nil)

// DomainStore is the PostgreSQL ports.DomainStore: rows of verified_domains,
// keyed by the domain name (so a domain has one organization), deleted with
// their organization.
type DomainStore struct{ pool db }

// NewDomainStore returns a DomainStore on pool.
func NewDomainStore(pool *pgxpool.Pool) *DomainStore { return &DomainStore{pool: db{pool}} }

const domainColumns = `domain, organization_id, verified_by, created_at`

func scanDomain(row pgx.Row) (domain.VerifiedDomain, error) {
	var d domain.VerifiedDomain
	var created pgtype.Timestamptz
	if err := row.Scan(&d.Domain, &d.OrganizationID, &d.VerifiedBy, &created); err != nil {
		return domain.VerifiedDomain{}, err
	}
	d.CreatedAt = fromTS(created)
	return d, nil
}

// PutDomain records a verified domain in one upsert on the primary key: a
// new domain is inserted (the foreign key refusing a missing organization),
// the organization's own is given the new verifier and keeps its creation
// time, and another organization's is left alone, so that the statement
// returns no row. Of parallel claims by different organizations, the unique
// index lets one insert and the others find its row.
func (s *DomainStore) PutDomain(ctx context.Context, d domain.VerifiedDomain) (domain.VerifiedDomain, error) {
	got, err := scanDomain(s.pool.QueryRow(ctx, `INSERT INTO verified_domains (`+domainColumns+`)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (domain) DO UPDATE SET verified_by = EXCLUDED.verified_by
		WHERE verified_domains.organization_id = EXCLUDED.organization_id
		RETURNING `+domainColumns, d.Domain, d.OrganizationID, d.VerifiedBy, ts(d.CreatedAt)))
	switch {
	case err == nil:
		return got, nil
	case isCode(err, codeForeignKeyViolation):
		return domain.VerifiedDomain{}, translate("put domain", pgx.ErrNoRows)
	case !errors.Is(err, pgx.ErrNoRows):
		return domain.VerifiedDomain{}, translate("put domain", err)
	}
	// Another organization has the domain. A missing organization is still
	// ErrNotFound, as if the insert had been tried.
	var orgExists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1)`,
		d.OrganizationID).Scan(&orgExists); err != nil {
		return domain.VerifiedDomain{}, translate("put domain", err)
	}
	if !orgExists {
		return domain.VerifiedDomain{}, translate("put domain", pgx.ErrNoRows)
	}
	return domain.VerifiedDomain{}, fmt.Errorf("postgres: put domain: %q is verified by another organization: %w",
		d.Domain, domain.ErrAlreadyExists)
}

// GetDomain returns a verified domain by name. ErrNotFound if none.
func (s *DomainStore) GetDomain(ctx context.Context, name string) (domain.VerifiedDomain, error) {
	d, err := scanDomain(s.pool.QueryRow(ctx, `SELECT `+domainColumns+` FROM verified_domains WHERE domain = $1`, name))
	if err != nil {
		return domain.VerifiedDomain{}, translate("get domain", err)
	}
	return d, nil
}

// ListDomains returns an organization's domains by name, in byte order (the
// column's collation is "C"), read in order from verified_domains_organization.
func (s *DomainStore) ListDomains(ctx context.Context, organizationID string) ([]domain.VerifiedDomain, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+domainColumns+` FROM verified_domains
		WHERE organization_id = $1 ORDER BY domain`, organizationID)
	if err != nil {
		return nil, translate("list domains", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.VerifiedDomain, error) { return scanDomain(row) })
	if badText(err) {
		return []domain.VerifiedDomain{}, nil // no organization id holds such text
	}
	if err != nil {
		return nil, translate("list domains", err)
	}
	if out == nil {
		out = []domain.VerifiedDomain{}
	}
	return out, nil
}

// DeleteDomain removes one of an organization's domains. ErrNotFound if the
// organization has no such domain.
func (s *DomainStore) DeleteDomain(ctx context.Context, organizationID, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM verified_domains WHERE domain = $1 AND organization_id = $2`,
		name, organizationID)
	if err != nil {
		return translate("delete domain", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("delete domain", pgx.ErrNoRows)
	}
	return nil
}
