package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.OrganizationStore = (*OrganizationStore)(nil)

// OrganizationStore is the PostgreSQL ports.OrganizationStore.
type OrganizationStore struct{ pool db }

// NewOrganizationStore returns an OrganizationStore on pool.
func NewOrganizationStore(pool *pgxpool.Pool) *OrganizationStore {
	return &OrganizationStore{pool: db{pool}}
}

// organizationColumns are every column of organizations. mfa_policy is one
// of the domain.MFAPolicy values, off for an organization that never set
// one (see migration 00020).
const organizationColumns = `id, name, slug, mfa_policy, created_at, updated_at`

func scanOrganization(row pgx.Row) (domain.Organization, error) {
	var o domain.Organization
	var policy string
	var created, updated pgtype.Timestamptz
	err := row.Scan(&o.ID, &o.Name, &o.Slug, &policy, &created, &updated)
	o.MFAPolicy, o.CreatedAt, o.UpdatedAt = domain.MFAPolicy(policy), fromTS(created), fromTS(updated)
	return o, err
}

// CreateOrganization stores a new organization, one given no MFA policy
// under off. ErrAlreadyExists if the id or the slug is taken.
func (s *OrganizationStore) CreateOrganization(ctx context.Context, o domain.Organization) error {
	// One statement writes the organization and its search terms
	// (migration 00029), so neither is ever there without the other.
	_, err := s.pool.Exec(ctx, `WITH o AS (
			INSERT INTO organizations (`+organizationColumns+`) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id)
		INSERT INTO organization_search_terms (term, organization_id) SELECT t, o.id FROM o, unnest($7::text[]) AS t`,
		o.ID, o.Name, o.Slug, string(o.MFAPolicy.OrOff()), ts(o.CreatedAt), ts(o.UpdatedAt), domain.OrganizationSearchTerms(o))
	return translate("create organization", err)
}

// GetOrganization returns an organization by id. ErrNotFound if there is none.
func (s *OrganizationStore) GetOrganization(ctx context.Context, id string) (domain.Organization, error) {
	o, err := scanOrganization(s.pool.QueryRow(ctx, `SELECT `+organizationColumns+` FROM organizations WHERE id = $1`, id))
	if err != nil {
		return domain.Organization{}, translate("get organization", err)
	}
	return o, nil
}

// GetOrganizationBySlug returns an organization by slug. ErrNotFound if there is none.
func (s *OrganizationStore) GetOrganizationBySlug(ctx context.Context, slug string) (domain.Organization, error) {
	o, err := scanOrganization(s.pool.QueryRow(ctx, `SELECT `+organizationColumns+` FROM organizations WHERE slug = $1`, slug))
	if err != nil {
		return domain.Organization{}, translate("get organization by slug", err)
	}
	return o, nil
}

// UpdateOrganization locks the row, applies fn and writes the result, and
// its search terms, in one transaction.
func (s *OrganizationStore) UpdateOrganization(ctx context.Context, id string, fn func(*domain.Organization) error) (domain.Organization, error) {
	return lockedUpdate(ctx, s.pool, "update organization",
		func(tx pgx.Tx) (domain.Organization, error) {
			return scanOrganization(tx.QueryRow(ctx, `SELECT `+organizationColumns+` FROM organizations WHERE id = $1 FOR UPDATE`, id))
		}, fn,
		func(tx pgx.Tx, o *domain.Organization) error {
			o.ID = id // the id is the key; fn cannot move the record
			o.MFAPolicy = o.MFAPolicy.OrOff()
			_, err := tx.Exec(ctx, `UPDATE organizations SET name = $2, slug = $3, mfa_policy = $4, created_at = $5, updated_at = $6
				WHERE id = $1`,
				o.ID, o.Name, o.Slug, string(o.MFAPolicy), ts(o.CreatedAt), ts(o.UpdatedAt))
			if err != nil {
				return err
			}
			return writeSearchTerms(ctx, tx, o)
		})
}

// writeSearchTerms replaces an organization's search terms (migration
// 00029) within tx, which holds the organization's row lock. Two
// statements: one that deleted and inserted the same terms would not see
// its own delete.
func writeSearchTerms(ctx context.Context, tx pgx.Tx, o *domain.Organization) error {
	if _, err := tx.Exec(ctx, `DELETE FROM organization_search_terms WHERE organization_id = $1`, o.ID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO organization_search_terms (term, organization_id) SELECT t, $1 FROM unnest($2::text[]) AS t`,
		o.ID, domain.OrganizationSearchTerms(*o))
	return err
}

// SearchOrganizations returns up to limit organizations that query finds,
// ordered by id, after the id after: the terms that start with the key are
// one range of organization_search_terms' primary key, and the
// organizations they name are read by primary key and sorted, so the cost
// grows with the organizations found.
func (s *OrganizationStore) SearchOrganizations(ctx context.Context, query, after string, limit int) ([]domain.Organization, error) {
	key := domain.OrganizationSearchKey(query)
	if limit <= 0 || key == "" {
		return []domain.Organization{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+organizationColumns+` FROM organizations
		WHERE id IN (SELECT organization_id FROM organization_search_terms WHERE term >= $1 AND term < $2 AND organization_id > $3)
		AND id > $3 ORDER BY id LIMIT $4`, key, domain.PrefixEnd(key), after, limit)
	if err != nil {
		return nil, translate("search organizations", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Organization, error) {
		return scanOrganization(row)
	})
	if err != nil {
		return nil, translate("search organizations", err)
	}
	return out, nil
}

// PutMembership creates or replaces the membership, its status and user
// name included, in one upsert. The foreign key makes a missing
// organization ErrNotFound, and memberships_user_name a name another member
// has ErrAlreadyExists, in the same statement: a failing upsert writes
// nothing, and of parallel writers of one name the index lets one through.
func (s *OrganizationStore) PutMembership(ctx context.Context, m domain.Membership) error {
	_, err := s.pool.ExecGuarded(ctx, `INSERT INTO memberships (`+membershipColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (user_id, organization_id) DO UPDATE
		SET role = EXCLUDED.role, status = EXCLUDED.status, is_primary = EXCLUDED.is_primary,
			created_at = EXCLUDED.created_at, user_name = EXCLUDED.user_name, user_name_key = EXCLUDED.user_name_key`,
		m.OrganizationID, m.UserID, m.Role, string(m.Status), m.Primary, ts(m.CreatedAt),
		m.UserName, domain.UserNameKey(m.UserName))
	if isCode(err, codeForeignKeyViolation) {
		return translate("put membership", pgx.ErrNoRows)
	}
	return translate("put membership", err)
}

// membershipColumns are every column of memberships. status is one of the
// domain.MembershipStatus states, or empty for a membership written without
// one (see migration 00005). user_name_key is domain.UserNameKey(user_name),
// written with it and never read back (see migration 00006).
const membershipColumns = `organization_id, user_id, role, status, is_primary, created_at, user_name, user_name_key`

func scanMembership(row pgx.Row) (domain.Membership, error) {
	var m domain.Membership
	var status, nameKey string
	var created pgtype.Timestamptz
	err := row.Scan(&m.OrganizationID, &m.UserID, &m.Role, &status, &m.Primary, &created, &m.UserName, &nameKey)
	m.Status, m.CreatedAt = domain.MembershipStatus(status), fromTS(created)
	return m, err
}

// ListOrganizations returns up to limit organizations ordered by id, after
// the id after: a keyset page, read from the primary key.
func (s *OrganizationStore) ListOrganizations(ctx context.Context, after string, limit int) ([]domain.Organization, error) {
	if limit <= 0 {
		return []domain.Organization{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+organizationColumns+` FROM organizations
		WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, translate("list organizations", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Organization, error) {
		return scanOrganization(row)
	})
	if err != nil {
		return nil, translate("list organizations", err)
	}
	return out, nil
}

// GetMembership returns the membership of (organization, user). ErrNotFound
// if there is none.
func (s *OrganizationStore) GetMembership(ctx context.Context, organizationID, userID string) (domain.Membership, error) {
	m, err := scanMembership(s.pool.QueryRow(ctx, `SELECT `+membershipColumns+` FROM memberships
		WHERE user_id = $1 AND organization_id = $2`, userID, organizationID))
	if err != nil {
		return domain.Membership{}, translate("get membership", err)
	}
	return m, nil
}

// GetMembershipByUserName returns the membership whose user name has the
// key of userName: one lookup in memberships_user_name, whose predicate the
// statement restates so that a generic plan may use it too. The empty name
// names no one.
func (s *OrganizationStore) GetMembershipByUserName(ctx context.Context, organizationID, userName string) (domain.Membership, error) {
	if userName == "" {
		return domain.Membership{}, translate("get membership by user name", pgx.ErrNoRows)
	}
	m, err := scanMembership(s.pool.QueryRow(ctx, `SELECT `+membershipColumns+` FROM memberships
		WHERE organization_id = $1 AND user_name_key = $2 AND user_name_key <> ''`,
		organizationID, domain.UserNameKey(userName)))
	if err != nil {
		return domain.Membership{}, translate("get membership by user name", err)
	}
	return m, nil
}

// DeleteMembership removes a membership. ErrNotFound if there is none.
func (s *OrganizationStore) DeleteMembership(ctx context.Context, organizationID, userID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM memberships WHERE user_id = $1 AND organization_id = $2`,
		userID, organizationID)
	if err != nil {
		return translate("delete membership", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("delete membership", pgx.ErrNoRows)
	}
	return nil
}

// ListUserMemberships returns a user's memberships in every status, oldest
// first (a zero time, NULL, first of all), ties broken by organization id.
func (s *OrganizationStore) ListUserMemberships(ctx context.Context, userID string) ([]domain.Membership, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+membershipColumns+`
		FROM memberships WHERE user_id = $1 ORDER BY created_at NULLS FIRST, organization_id`, userID)
	if err != nil {
		return nil, translate("list user memberships", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Membership, error) {
		return scanMembership(row)
	})
	if err != nil {
		return nil, translate("list user memberships", err)
	}
	return out, nil
}
