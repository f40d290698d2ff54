package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// Migration 00031 gives the memberships written before it their account's
// search keys, and from then on a rename reaches every membership of the
// account, whichever statement makes it.
func TestMemberSearchKeysFollowTheirAccounts(t *testing.T) {
	t.Parallel()
	pool := newEmptyPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, postgres.MigrateTo(ctx, pool, 30))
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	for _, org := range []string{"o1", "o2"} {
		exec(`INSERT INTO organizations (id, name, slug) VALUES ($1, $1, $1)`, org)
	}
	exec(`INSERT INTO users (id, email, email_key, email_verified, given_name, family_name, picture, phone_number,
		phone_number_verified, password_hash, status, created_at, updated_at, profiles)
		VALUES ('u1', 'Ada@Example.edu', 'ada@example.edu', true, 'Ada', 'Lovelace', '', '', false, '', 'active', now(), now(), '{}')`)
	exec(`INSERT INTO memberships (user_id, organization_id, role, is_primary, created_at, status) VALUES ('u1', 'o1', 'member', false, now(), 'active')`)
	require.NoError(t, postgres.Migrate(ctx, pool))

	keys := func(org string) []string {
		t.Helper()
		var e, g, f string
		require.NoError(t, pool.QueryRow(ctx, `SELECT search_email, search_given, search_family FROM memberships
			WHERE user_id = 'u1' AND organization_id = $1`, org).Scan(&e, &g, &f))
		return []string{e, g, f}
	}
	assert.Equal(t, []string{"ada@example.edu", "ada", "lovelace"}, keys("o1"), "an old membership gets its keys")
	exec(`INSERT INTO memberships (user_id, organization_id, role, is_primary, created_at, status) VALUES ('u1', 'o2', 'member', false, now(), 'active')`)
	assert.Equal(t, []string{"ada@example.edu", "ada", "lovelace"}, keys("o2"), "a new one takes them")
	_, err := postgres.NewUserStore(pool).UpdateUser(ctx, "u1", func(u *domain.User) error {
		u.Email, u.GivenName, u.FamilyName = "Countess@example.edu", "Élise", "King"
		return nil
	})
	require.NoError(t, err)
	for _, org := range []string{"o1", "o2"} {
		assert.Equal(t, []string{"countess@example.edu", "élise", "king"}, keys(org), "a rename reaches %s, lower-cased as Go does", org)
	}

	dir := postgres.NewDirectoryStore(pool)
	found, err := dir.SearchMembers(ctx, "o2", []string{"ÉLI", "ki"}, "", 10)
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, "u1", found[0].User.ID)
}

// A search reads the organization's own search key indexes: a name rare in
// the school costs what the school holds of it, whatever other schools do.
func TestMemberSearchReadsTheOrganizationsIndexes(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := pool.Exec(ctx, `INSERT INTO organizations (id, name, slug) VALUES ('o1', 'o1', 'o1'), ('o2', 'o2', 'o2');
		INSERT INTO users (id, email, email_key, email_verified, given_name, family_name, picture, phone_number,
			phone_number_verified, password_hash, status, created_at, updated_at, profiles, given_name_key, family_name_key)
		SELECT 'u' || i, 'm' || i || '@example.edu', 'm' || i || '@example.edu', true, CASE WHEN i % 2 = 0 THEN 'Zed' ELSE 'Ada' END,
			'Family' || (i % 100), '', '', false, '', 'active', now(), now(), '{}', CASE WHEN i % 2 = 0 THEN 'zed' ELSE 'ada' END,
			'family' || (i % 100) FROM generate_series(1, 4000) AS i;
		INSERT INTO memberships (user_id, organization_id, role, is_primary, created_at, status)
		SELECT 'u' || i, CASE WHEN i % 2 = 0 THEN 'o2' ELSE 'o1' END, 'member', true, now(), 'active' FROM generate_series(1, 4000) AS i;
		ANALYZE users; ANALYZE memberships`)
	require.NoError(t, err)
	// Every Zed is in o2: o1's search for "zed" must not walk o1's members
	// (or every Zed) to find none.
	rows, err := pool.Query(ctx, `EXPLAIN `+postgres.SearchMembersSQL(1), "o1", "", 51, "zed", "zed\U0010FFFF", "zed", "zed\U0010FFFF")
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	plan := strings.Join(lines, "\n")
	for _, index := range []string{"memberships_search_email", "memberships_search_given", "memberships_search_family"} {
		assert.Contains(t, plan, index, plan)
	}
}
