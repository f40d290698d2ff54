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

// SCIM's lookups before a create or an update (externalId eq, userName eq)
// are index lookups, not a scan of the organization's members: in an
// organization of many members, the plans of the translated statements read
// users_profiles and users_email_key.
func TestSCIMLookupsUseIndexes(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	const members = 5000
	_, err := pool.Exec(ctx, `INSERT INTO organizations (id, name, slug) VALUES ('big', 'big', 'big'), ('small', 'small', 'small')`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO users (id, email, email_key, email_verified, given_name, family_name, picture,
			phone_number, phone_number_verified, password_hash, status, profiles)
		SELECT 'u' || lpad(i::text, 6, '0'), 'u' || i || '@example.com', 'u' || i || '@example.com', true, 'G', 'F', '',
			'', false, '', 'active',
			jsonb_build_object('big', jsonb_build_object('externalId', 'ext-' || i, 'department', 'd' || (i % 10)))
		FROM generate_series(1, $1) AS i`, members)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO memberships (user_id, organization_id, role, is_primary)
		SELECT id, 'big', 'member', true FROM users`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ANALYZE users; ANALYZE memberships`)
	require.NoError(t, err)

	for _, c := range []struct {
		name   string
		filter domain.UserFilter
		index  string
		// generic: a generic plan uses the index too. A generic plan of
		// containment estimates 1% of the users to match, so on a small
		// table it prefers a scan; PostgreSQL keeps using custom plans
		// when the generic one costs more than they do.
		generic bool
	}{
		{"externalId eq", &domain.Compare{Field: domain.FieldExternalID, Op: domain.OpEq, Value: "ext-42"}, "users_profiles", false},
		{"userName eq", &domain.Compare{Field: domain.FieldUserName, Op: domain.OpEq, Value: "U42@Example.com"}, "users_email_key", true},
		{"id eq", &domain.Compare{Field: domain.FieldID, Op: domain.OpEq, Value: "u000042"}, "users_pkey", true},
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
				}
			}
			page, err := postgres.NewSCIMStore(pool).SearchUsers(ctx, domain.UserQuery{OrganizationID: "big", Filter: c.filter, Limit: 10})
			require.NoError(t, err)
			require.Len(t, page.Members, 1)
			assert.Equal(t, "u000042", page.Members[0].User.ID)
			assert.Equal(t, 1, page.Total)
		})
	}
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
