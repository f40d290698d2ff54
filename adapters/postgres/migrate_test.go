package postgres_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
)

func TestMigrateRunsOnceUnderConcurrentStarts(t *testing.T) {
	t.Parallel()
	pool := newPool(t) // already migrated once
	ctx := context.Background()

	const instances = 8
	errs := make(chan error, instances)
	for range instances {
		go func() { errs <- postgres.Migrate(ctx, pool) }()
	}
	for range instances {
		require.NoError(t, <-errs, "a start on an up-to-date schema migrates nothing and succeeds")
	}
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	var applied int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied))
	assert.Equal(t, len(files), applied, "each migration is recorded once")
}

func TestRateLimitTableIsUnlogged(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	var persistence string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT c.relpersistence::text FROM pg_class c
		WHERE c.oid = 'rate_limits'::regclass`).Scan(&persistence))
	assert.Equal(t, "u", persistence, "counters skip the WAL")
}

func TestAFreshSchemaMigratesUnderConcurrentStarts(t *testing.T) {
	t.Parallel()
	pool := newEmptyPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const instances = 4
	errs := make(chan error, instances)
	for range instances {
		go func() { errs <- postgres.Migrate(ctx, pool) }()
	}
	for range instances {
		require.NoError(t, <-errs)
	}
	var tables int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables))
	assert.Greater(t, tables, 10, "the schema was created")
}

// Migration 00005 on a directory filled under 00004: an account's home is its
// oldest membership (ties broken by organization id, an unknown time the
// oldest), an account without one has no home, every membership is active,
// and an action token carries no organization or client.
func TestDirectoryModelMigrationBackfills(t *testing.T) {
	t.Parallel()
	pool := newEmptyPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, postgres.MigrateTo(ctx, pool, 4))

	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err, sql)
	}
	for _, id := range []string{"org-a", "org-b", "org-c"} {
		exec(`INSERT INTO organizations (id, name, slug) VALUES ($1, $1, $1)`, id)
	}
	for _, id := range []string{"two-ages", "tie", "unknown-time", "none"} {
		exec(`INSERT INTO users (id, email, email_key, email_verified, given_name, family_name, picture,
				phone_number, phone_number_verified, password_hash, status, created_at, updated_at)
			VALUES ($1, $1 || '@example.com', $1 || '@example.com', true, '', '', '', '', false, '', 'active', $2, $2)`,
			id, t0)
	}
	membership := func(userID, orgID string, created any, primary bool) {
		t.Helper()
		exec(`INSERT INTO memberships (user_id, organization_id, role, is_primary, created_at)
			VALUES ($1, $2, 'member', $3, $4)`, userID, orgID, primary, created)
	}
	// The oldest is not the first by organization id.
	membership("two-ages", "org-a", t0.Add(time.Hour), false)
	membership("two-ages", "org-b", t0, true)
	membership("tie", "org-c", t0, true)
	membership("tie", "org-a", t0, false)
	membership("unknown-time", "org-a", t0, true)
	membership("unknown-time", "org-c", nil, false)
	tokenHash := []byte("an old invitation's hash")
	exec(`INSERT INTO action_tokens (hash, purpose, user_id, created_at, expires_at) VALUES ($1, 'invite', 'none', $2, $3)`,
		tokenHash, t0, t0.Add(time.Hour))

	applied, err := postgres.MigrateUp(ctx, pool)
	require.NoError(t, err)
	assert.Equal(t, []string{"00005_directory_model.sql"}, applied)

	users, orgs := postgres.NewUserStore(pool), postgres.NewOrganizationStore(pool)
	for _, c := range []struct{ user, home string }{
		{"two-ages", "org-b"},
		{"tie", "org-a"},
		{"unknown-time", "org-c"},
		{"none", ""},
	} {
		u, err := users.GetUser(ctx, c.user)
		require.NoError(t, err)
		assert.Equal(t, c.home, u.HomeOrganizationID, "the home of %s", c.user)
		ms, err := orgs.ListUserMemberships(ctx, c.user)
		require.NoError(t, err)
		if c.home != "" {
			require.NotEmpty(t, ms)
			assert.Equal(t, c.home, ms[0].OrganizationID, "%s's home is the first of its memberships", c.user)
		}
		for _, m := range ms {
			assert.Equal(t, domain.MembershipActive, m.Status, "%s in %s", c.user, m.OrganizationID)
		}
	}
	var homeless bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT home_organization_id IS NULL FROM users WHERE id = 'none'`).Scan(&homeless))
	assert.True(t, homeless, "no home is NULL, not an empty id")

	tok, err := postgres.NewActionTokenStore(pool).ConsumeActionToken(ctx, tokenHash, domain.PurposeInvite, t0)
	require.NoError(t, err, "the old token is still good")
	assert.Equal(t, "none", tok.UserID)
	assert.Empty(t, tok.OrganizationID)
	assert.Empty(t, tok.ClientID)

	_, err = pool.Exec(ctx, `UPDATE memberships SET status = 'left' WHERE user_id = 'tie'`)
	require.Error(t, err, "a status outside the states is refused")
}
