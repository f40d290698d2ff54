package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.DirectoryStore = (*DirectoryStore)(nil)

// DirectoryStore is the PostgreSQL ports.DirectoryStore. Memberships and
// licenses reference their user ON DELETE CASCADE, so deleting a user is one
// statement, and a membership or license of a missing user cannot be
// written.
type DirectoryStore struct{ pool db }

// NewDirectoryStore returns a DirectoryStore on pool.
func NewDirectoryStore(pool *pgxpool.Pool) *DirectoryStore { return &DirectoryStore{pool: db{pool}} }

// provisionAttempts bounds how often a row looks again for a user (or a
// membership) that another transaction deleted between two statements.
const provisionAttempts = 3

// Provision runs every row in one transaction, each under a savepoint of its
// own: a failing row is rolled back to its savepoint alone, and a batch
// costs one commit. Rows run in the order of their normalised emails (rows
// of one email keep their own order), so two batches that share emails take
// their user locks in the same order and never deadlock each other. User
// names are not taken in that order: two batches that give the same two
// names to different new members, in opposite orders, can each wait for the
// other's commit, and PostgreSQL then fails one batch as a whole with a
// deadlock error.
func (s *DirectoryStore) Provision(ctx context.Context, rows []domain.ProvisionRow) ([]domain.ProvisionResult, error) {
	results := make([]domain.ProvisionResult, len(rows))
	if len(rows) == 0 {
		return results, nil
	}
	order := make([]int, len(rows))
	keys := make([]string, len(rows))
	for i := range rows {
		order[i], keys[i] = i, domain.NormalizeEmail(rows[i].User.Email)
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })

	// A batch that fails as a whole fails the directory's unit of work
	// too, so inside one it needs no savepoint of its own.
	err := inUnitOrTx(ctx, s.pool, func(tx pgx.Tx) error {
		for _, i := range order {
			res, err := provisionRow(ctx, tx, &rows[i], keys[i])
			if err != nil {
				return err
			}
			results[i] = res
		}
		return nil
	})
	if err != nil {
		return nil, translate("provision", err)
	}
	return results, nil
}

// provisionRow runs one row under a savepoint. A row's own failure (see
// rowFailure) rolls back to the savepoint and is returned in the result;
// any other error fails the whole batch.
func provisionRow(ctx context.Context, tx pgx.Tx, row *domain.ProvisionRow, key string) (domain.ProvisionResult, error) {
	if _, err := tx.Exec(ctx, `SAVEPOINT provision_row`); err != nil {
		return domain.ProvisionResult{}, err
	}
	res, err := provisionSteps(ctx, tx, row, key)
	if err == nil {
		_, err = tx.Exec(ctx, `RELEASE SAVEPOINT provision_row`)
		return res, err
	}
	rowErr := rowFailure(err)
	if rowErr == nil {
		return domain.ProvisionResult{}, err
	}
	// Without arguments pgx sends both statements in one round trip.
	if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT provision_row; RELEASE SAVEPOINT provision_row`); err != nil {
		return domain.ProvisionResult{}, err
	}
	return domain.ProvisionResult{Err: rowErr}, nil
}

// rowFailure returns the sentinel of an error that belongs to one row (a
// missing organization, a taken user id or user name, text no column can
// hold), or nil for an error of the store as a whole.
func rowFailure(err error) error {
	switch {
	case isCode(err, codeForeignKeyViolation):
		// The user is ours (inserted or locked), so the missing row is the
		// organization.
		return translate("provision", pgx.ErrNoRows)
	case isCode(err, codeUniqueViolation), badText(err), errors.Is(err, errUserNameTaken):
		return translate("provision", err)
	}
	return nil
}

// provisionSteps finds or creates the user, ensures the membership and, if
// asked and the membership is not pending, the license.
func provisionSteps(ctx context.Context, tx pgx.Tx, row *domain.ProvisionRow, key string) (domain.ProvisionResult, error) {
	var res domain.ProvisionResult
	var err error
	if res.User, res.Created, err = ensureUser(ctx, tx, &row.User, key); err != nil {
		return res, err
	}
	link, err := mayLink(ctx, tx, &res.User, row, res.Created)
	if err != nil {
		return res, err
	}
	if res.Membership, res.Joined, err = ensureMembership(ctx, tx, &res.User, row, link); err != nil {
		return res, err
	}
	if row.LicenseClientID != "" && res.Membership.Visible() {
		tag, err := tx.Exec(ctx, insertLicense, row.LicenseClientID, res.User.ID, ts(row.Now))
		if err != nil {
			return res, err
		}
		res.LicenseAssigned = tag.RowsAffected() == 1
	}
	return res, nil
}

// mayLink reports whether the row may make the user a member at once: it
// created the user, it says LinkExisting and the user's email is verified,
// the user's home is one of
// row.VisibleIn, or the user has a membership other than pending in one of
// them (read by the primary key, which leads with user_id).
func mayLink(ctx context.Context, tx pgx.Tx, u *domain.User, row *domain.ProvisionRow, created bool) (bool, error) {
	if created || row.LinkExisting && u.EmailVerified || u.HomeOrganizationID != "" && slices.Contains(row.VisibleIn, u.HomeOrganizationID) {
		return true, nil
	}
	userID := u.ID
	if len(row.VisibleIn) == 0 {
		return false, nil
	}
	var seen bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM memberships
		WHERE user_id = $1 AND organization_id = ANY($2::text[]) AND status <> 'pending')`,
		userID, row.VisibleIn).Scan(&seen)
	return seen, err
}

// ensureUser inserts u unless its email is taken, else locks and returns the
// user who has it. A concurrent inserter of the same email makes the INSERT
// wait on the unique index until it commits, then do nothing; the SELECT, a
// new statement with a new snapshot (READ COMMITTED), then sees the
// committed user. The lock (FOR NO KEY UPDATE, which does not block the
// foreign-key checks of other tables) holds the user until commit, so that
// concurrent rows of one user decide its primary membership one at a time.
func ensureUser(ctx context.Context, tx pgx.Tx, u *domain.User, key string) (domain.User, bool, error) {
	args, err := userArgs(u)
	if err != nil {
		return domain.User{}, false, err
	}
	for range provisionAttempts {
		got, err := scanUser(tx.QueryRow(ctx, `INSERT INTO users (`+userColumns+`) VALUES (`+userPlaceholders+`)
			ON CONFLICT (email_key) WHERE email_key <> '' DO NOTHING
			RETURNING `+userColumns, args...))
		if !errors.Is(err, pgx.ErrNoRows) {
			return got, err == nil, err
		}
		got, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users
			WHERE email_key = $1 AND email_key <> '' FOR NO KEY UPDATE`, key))
		if !errors.Is(err, pgx.ErrNoRows) {
			return got, false, err
		}
		// The user with this email was deleted (or changed email) between
		// the two statements: try the insert again.
	}
	return domain.User{}, false, fmt.Errorf("the user with email %q keeps changing", key)
}

// noOtherPrimary is true when the user ($1) has no primary membership
// outside the organization ($2): a membership that becomes active then
// becomes primary.
const noOtherPrimary = `NOT EXISTS (SELECT 1 FROM memberships
	WHERE user_id = $1 AND organization_id <> $2 AND is_primary)`

// ensureMembership makes the membership unless one exists (joined reports
// that it did): active when link, primary if also the user has no primary
// membership, else pending and not primary. An existing membership keeps its
// role, status and name, except that a pending one becomes active (and
// primary as a new one would) when link. It returns the stored membership.
// The caller holds the user's row lock, so no other provisioning row of the
// user runs between the statements.
//
// A new membership is named row.UserName, else after the user's email,
// else (another member has that name) after the user id. The INSERT does
// nothing on any conflict, the membership's own or its name's, and waits
// for a concurrent writer of either to commit; so a name that comes back
// neither made nor found is taken, unless its holder left in between. A
// row's own name that is taken is errUserNameTaken, which fails the row
// alone. The common case, a free name, costs no extra statement.
func ensureMembership(ctx context.Context, tx pgx.Tx, u *domain.User, row *domain.ProvisionRow, link bool) (m domain.Membership, joined bool, err error) {
	status := domain.MembershipPending
	if link {
		status = domain.MembershipActive
	}
	name, fallback := row.UserName, row.UserName == ""
	if fallback {
		name = u.Email
	}
	for range provisionAttempts {
		m, err = scanMembership(tx.QueryRow(ctx, `INSERT INTO memberships (`+membershipColumns+`)
			VALUES ($2, $1, $3, $4, $5 AND `+noOtherPrimary+`, $6, $7, $8)
			ON CONFLICT DO NOTHING
			RETURNING `+membershipColumns,
			u.ID, row.OrganizationID, row.Role, string(status), link, ts(row.Now), name, domain.UserNameKey(name)))
		if !errors.Is(err, pgx.ErrNoRows) {
			return m, err == nil, err
		}
		if link {
			m, err = scanMembership(tx.QueryRow(ctx, `UPDATE memberships
				SET status = 'active', is_primary = `+noOtherPrimary+`
				WHERE user_id = $1 AND organization_id = $2 AND status = 'pending'
				RETURNING `+membershipColumns, u.ID, row.OrganizationID))
			if !errors.Is(err, pgx.ErrNoRows) {
				return m, false, err
			}
		}
		m, err = scanMembership(tx.QueryRow(ctx, `SELECT `+membershipColumns+` FROM memberships
			WHERE user_id = $1 AND organization_id = $2`, u.ID, row.OrganizationID))
		if !errors.Is(err, pgx.ErrNoRows) {
			return m, false, err
		}
		taken, err := userNameTaken(ctx, tx, row.OrganizationID, u.ID, name)
		switch {
		case err != nil:
			return domain.Membership{}, false, err
		case !taken:
			// The membership, or the name's holder, was deleted between
			// the statements: try again.
		case fallback:
			name, fallback = u.ID, false
		default:
			return domain.Membership{}, false, errUserNameTaken
		}
	}
	return domain.Membership{}, false, fmt.Errorf("the membership of %s in %s keeps changing", u.ID, row.OrganizationID)
}

// userNameTaken reports whether a member of the organization other than
// the user has the name, read from memberships_user_name.
func userNameTaken(ctx context.Context, tx pgx.Tx, organizationID, userID, name string) (bool, error) {
	if name == "" {
		return false, nil
	}
	var taken bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM memberships
		WHERE organization_id = $1 AND user_name_key = $2 AND user_name_key <> '' AND user_id <> $3)`,
		organizationID, domain.UserNameKey(name), userID).Scan(&taken)
	return taken, err
}

// DeleteUser deletes the user row; the foreign keys' cascades delete their
// memberships and licenses in the same statement.
func (s *DirectoryStore) DeleteUser(ctx context.Context, userID string) error {
	// One statement: the memberships go with the user (licenses cascade).
	tag, err := s.pool.Exec(ctx, `WITH gone AS (DELETE FROM users WHERE id = $1 RETURNING id)
		, m AS (DELETE FROM memberships WHERE user_id IN (SELECT id FROM gone))
		SELECT 1 FROM gone`, userID)
	if err != nil {
		return translate("delete user", err)
	}
	if tag.RowsAffected() == 0 {
		return translate("delete user", pgx.ErrNoRows)
	}
	return nil
}

// listMembersSQL is ListMembers' statement: $1 the organization, $2 the
// user id to start after, $3 the limit.
var listMembersSQL = `SELECT ` + qualify("u", userColumns) + `, ` + qualify("m", membershipColumns) + `
	FROM memberships m JOIN users u ON u.id = m.user_id
	WHERE m.organization_id = $1 AND m.user_id > $2 AND m.status <> 'pending'
	ORDER BY m.user_id LIMIT $3`

// ListMembers returns a keyset page of an organization's members, read in
// user id order from memberships_organization_user; pending memberships are
// not members yet, and are filtered out on the way.
func (s *DirectoryStore) ListMembers(ctx context.Context, organizationID, afterUserID string, limit int) ([]domain.Member, error) {
	if limit <= 0 {
		return []domain.Member{}, nil
	}
	rows, err := s.pool.Query(ctx, listMembersSQL, organizationID, afterUserID, limit)
	if err != nil {
		return nil, translate("list members", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Member, error) { return scanMember(row) })
	if err != nil {
		return nil, translate("list members", err)
	}
	return out, nil
}

// searchMembersSQL is SearchMembers' statement for n terms: $1 the
// organization, $2 the user id to start after, $3 the limit, then per term
// the email key's bounds and the lower-cased name's bounds, over the search
// keys each membership keeps of its account (migrations 00031 and 00033:
// the store lower-cases the names with Go, as it does the terms). A prefix is
// a range in the "C" collation (byte order, which is code point order in
// UTF-8), so the organization's indexes serve it whatever the database's
// collation, and in a generic plan too (a LIKE with a parameter pattern may
// use no index there).
func searchMembersSQL(n int) string {
	var b strings.Builder
	b.WriteString(`WITH hits AS MATERIALIZED (SELECT m.user_id FROM memberships m
	WHERE m.organization_id = $1 AND m.user_id > $2 AND m.status <> 'pending'`)
	for i := range n {
		p := 4 + 4*i
		fmt.Fprintf(&b, `
	AND ((m.search_email COLLATE "C" >= $%[1]d AND m.search_email COLLATE "C" < $%[2]d)
		OR (m.search_given COLLATE "C" >= $%[3]d AND m.search_given COLLATE "C" < $%[4]d)
		OR (m.search_family COLLATE "C" >= $%[3]d AND m.search_family COLLATE "C" < $%[4]d))`, p, p+1, p+2, p+3)
	}
	b.WriteString(`)
	SELECT ` + qualify("u", userColumns) + `, ` + qualify("m", membershipColumns) + `
	FROM hits h JOIN memberships m ON m.organization_id = $1 AND m.user_id = h.user_id JOIN users u ON u.id = h.user_id
	ORDER BY h.user_id LIMIT $3`)
	return b.String()
}

// SearchMembers returns a keyset page of an organization's members who
// match every term. The matches after the cursor are gathered from the
// organization's search key indexes, then ordered and cut to the page: a
// page costs what the organization holds of the prefix, never what other
// organizations do.
func (s *DirectoryStore) SearchMembers(ctx context.Context, organizationID string, terms []string, afterUserID string, limit int) ([]domain.Member, error) {
	if limit <= 0 {
		return []domain.Member{}, nil
	}
	args := []any{pgx.QueryExecModeExec, organizationID, afterUserID, limit}
	for _, t := range terms {
		email, name := domain.NormalizeEmail(t), strings.ToLower(t)
		args = append(args, email, domain.PrefixEnd(email), name, domain.PrefixEnd(name))
	}
	rows, err := s.pool.Query(ctx, searchMembersSQL(len(terms)), args...)
	if err != nil {
		return nil, translate("search members", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Member, error) { return scanMember(row) })
	if err != nil {
		return nil, translate("search members", err)
	}
	return out, nil
}

// scanMember reads a row of the user's columns then the membership's: the
// two scanners share one row.Scan, the user's destinations first.
func scanMember(row pgx.Row) (domain.Member, error) {
	var mem domain.Member
	var err error
	mem.Membership, err = scanMembership(scanFunc(func(membershipDest ...any) error {
		var userErr error
		mem.User, userErr = scanUser(scanFunc(func(userDest ...any) error {
			return row.Scan(append(userDest, membershipDest...)...)
		}))
		return userErr
	}))
	return mem, err
}

// scanFunc is a pgx.Row made of a function.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// qualify prefixes each column of a column list with a table alias.
func qualify(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
