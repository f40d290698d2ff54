package postgres_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// bigOrganization fills the schema with an organization, "big", of many
// members, and pending memberships of as many more accounts (p000001 and
// on), so that plans are those of a large directory, then analyzes it. Each
// membership is named after its user id ("Name.u000042"), not the email, so
// that a userName lookup that found the account email would find no one.
func bigOrganization(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	const members, pending = 5000, 5000
	_, err := pool.Exec(ctx, `INSERT INTO organizations (id, name, slug) VALUES ('big', 'big', 'big'), ('small', 'small', 'small')`)
	require.NoError(t, err)
	for _, set := range []struct {
		prefix, status string
		n              int
	}{{"u", "active", members}, {"p", "pending", pending}} {
		_, err = pool.Exec(ctx, `INSERT INTO users (id, email, email_key, email_verified, given_name, family_name, picture,
				phone_number, phone_number_verified, password_hash, status, profiles)
			SELECT $1 || lpad(i::text, 6, '0'), $1 || i || '@example.com', $1 || i || '@example.com', true, 'G', 'F', '',
				'', false, '', 'active',
				jsonb_build_object('big', jsonb_build_object('externalId', $1 || 'ext-' || i, 'department', 'd' || (i % 10)))
			FROM generate_series(1, $2) AS i`, set.prefix, set.n)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `INSERT INTO memberships (user_id, organization_id, role, status, is_primary,
				user_name, user_name_key)
			SELECT id, 'big', 'member', $2, $2 = 'active', 'Name.' || id, 'name.' || id
			FROM users WHERE id LIKE $1 || '%'`, set.prefix, set.status)
		require.NoError(t, err)
	}
	_, err = pool.Exec(ctx, `ANALYZE users; ANALYZE memberships`)
	require.NoError(t, err)
}

// SCIM's lookups before a create or an update (externalId eq, userName eq)
// are index lookups, not a scan of the organization's members: in an
// organization of many members, the plans of the translated statements read
// users_profiles and memberships_user_name (the membership's name, by
// organization and key). Leaving pending memberships out does not change
// that, and a pending account is not found.
func TestSCIMLookupsUseIndexes(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	bigOrganization(t, pool)

	for _, c := range []struct {
		name   string
		filter domain.UserFilter
		index  string
		// generic: a generic plan uses the index too. A generic plan of
		// containment estimates 1% of the users to match, so on a small
		// table it prefers a scan; PostgreSQL keeps using custom plans
		// when the generic one costs more than they do.
		generic bool
		want    []string
	}{
		{"externalId eq", &domain.Compare{Field: domain.FieldExternalID, Op: domain.OpEq, Value: "uext-42"}, "users_profiles", false, []string{"u000042"}},
		{"userName eq", &domain.Compare{Field: domain.FieldUserName, Op: domain.OpEq, Value: "NAME.u000042"}, "memberships_user_name", true, []string{"u000042"}},
		{"userName eq of an account email", &domain.Compare{Field: domain.FieldUserName, Op: domain.OpEq, Value: "u42@example.com"}, "memberships_user_name", true, nil},
		{"id eq", &domain.Compare{Field: domain.FieldID, Op: domain.OpEq, Value: "u000042"}, "users_pkey", true, []string{"u000042"}},
		{"externalId eq of a pending member", &domain.Compare{Field: domain.FieldExternalID, Op: domain.OpEq, Value: "pext-42"}, "users_profiles", false, nil},
		{"userName eq of a pending member", &domain.Compare{Field: domain.FieldUserName, Op: domain.OpEq, Value: "name.p000042"}, "memberships_user_name", true, nil},
		{"id eq of a pending member", &domain.Compare{Field: domain.FieldID, Op: domain.OpEq, Value: "p000042"}, "users_pkey", true, nil},
		// active reads the membership's status as well as the account's:
		// a condition on the joined row, which leaves the lookup indexed.
		{"userName eq and active", &domain.And{
			Left:  &domain.Compare{Field: domain.FieldUserName, Op: domain.OpEq, Value: "Name.U000042"},
			Right: &domain.Compare{Field: domain.FieldActive, Op: domain.OpEq, Value: true},
		}, "memberships_user_name", true, []string{"u000042"}},
		{"id eq and not active", &domain.And{
			Left:  &domain.Compare{Field: domain.FieldID, Op: domain.OpEq, Value: "u000042"},
			Right: &domain.Not{X: &domain.Compare{Field: domain.FieldActive, Op: domain.OpEq, Value: true}},
		}, "users_pkey", true, nil},
		{"externalId eq and active", &domain.And{
			Left:  &domain.Compare{Field: domain.FieldExternalID, Op: domain.OpEq, Value: "uext-42"},
			Right: &domain.Compare{Field: domain.FieldActive, Op: domain.OpEq, Value: true},
		}, "users_profiles", false, []string{"u000042"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pageSQL, countSQL, args, err := postgres.SearchUsersSQL("big", c.filter)
			require.NoError(t, err)
			// pgx caches prepared statements, which PostgreSQL may run
			// with a generic plan, blind to the parameters.
			modes := []string{"force_custom_plan"}
			if c.generic {
				modes = append(modes, "force_generic_plan")
			}
			for _, mode := range modes {
				for _, q := range []struct {
					sql  string
					args []any
				}{{pageSQL, append(append([]any{}, args...), 0, 10)}, {countSQL, args}} {
					plan := explain(t, pool, mode, q.sql, q.args)
					assert.Contains(t, plan, c.index, "%s:\n%s", mode, plan)
					if c.index == "memberships_user_name" {
						// One lookup of both columns, not the organization's
						// members filtered by name.
						assert.Regexp(t, `Index Cond: \(\(organization_id = \S+\) AND \(user_name_key = `, plan,
							"%s:\n%s", mode, plan)
					}
				}
			}
			page, err := postgres.NewSCIMStore(pool).SearchUsers(ctx, domain.UserQuery{OrganizationID: "big", Filter: c.filter, Limit: 10})
			require.NoError(t, err)
			var got []string
			for _, m := range page.Members {
				got = append(got, m.User.ID)
			}
			assert.Equal(t, c.want, got)
			assert.Equal(t, len(c.want), page.Total)
		})
	}
}

// A page of members reads memberships_organization_user in user id order,
// pending memberships dropped on the way, rather than scanning and sorting
// the organization's memberships.
func TestListMembersReadsTheOrganizationIndex(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	bigOrganization(t, pool)
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		plan := explain(t, pool, mode, postgres.ListMembersSQL(), []any{"big", "", 10})
		assert.Contains(t, plan, "memberships_organization_user", "%s:\n%s", mode, plan)
		assert.NotContains(t, plan, "Sort", "%s:\n%s", mode, plan)
	}
	members, err := postgres.NewDirectoryStore(pool).ListMembers(context.Background(), "big", "", 10)
	require.NoError(t, err)
	require.Len(t, members, 10)
	assert.Equal(t, "u000001", members[0].User.ID, "p… (pending) sorts first and is left out")
}

// explain returns the plan of query under a plan_cache_mode, for a
// statement prepared as pgx prepares it.
func explain(t *testing.T, pool *pgxpool.Pool, mode, query string, args []any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SET plan_cache_mode = `+mode)
	require.NoError(t, err)
	defer func() { _, _ = conn.Exec(ctx, `RESET plan_cache_mode`) }()
	_, err = conn.Exec(ctx, `PREPARE search AS `+query)
	require.NoError(t, err)
	defer func() { _, _ = conn.Exec(ctx, `DEALLOCATE search`) }()
	// EXECUTE takes no parameters of its own: the test's values are quoted
	// as literals.
	literals := make([]string, len(args))
	for i, a := range args {
		var text string
		switch a := a.(type) {
		case string:
			text = a
		case json.RawMessage:
			text = string(a)
		case int:
			text = strconv.Itoa(a)
		case bool:
			text = strconv.FormatBool(a)
		default:
			t.Fatalf("no literal for %T", a)
		}
		require.NoError(t, conn.QueryRow(ctx, `SELECT quote_literal($1::text)`, text).Scan(&literals[i]))
	}
	rows, err := conn.Query(ctx, `EXPLAIN EXECUTE search(`+strings.Join(literals, ", ")+`)`)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return strings.Join(lines, "\n")
}
