package postgres_test

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
	assert.Equal(t, migrationsFrom(t, 5), applied)

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

// migrationsFrom returns the file names of the migrations from version on,
// in order: what MigrateUp applies to a schema at version-1.
func migrationsFrom(t *testing.T, version int) []string {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	slices.Sort(files)
	var out []string
	for _, f := range files {
		name := filepath.Base(f)
		n, err := strconv.Atoi(name[:strings.IndexByte(name, '_')])
		require.NoError(t, err, name)
		if n >= version {
			out = append(out, name)
		}
	}
	return out
}

// Migration 00006 on a directory filled under 00005: every membership is
// named after its user's email as stored (case and Unicode kept), keyed so
// that GetMembershipByUserName, SCIM's userName eq and the uniqueness of
// names find it; a user without an email, and a membership whose user is
// gone, are unnamed and do not collide. Profiles and SCIM tokens written
// before read as before.
func TestSCIMIdentitiesMigrationNamesMembers(t *testing.T) {
	t.Parallel()
	pool := newEmptyPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, postgres.MigrateTo(ctx, pool, 5))

	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err, sql)
	}
	for _, id := range []string{"org-a", "org-b"} {
		exec(`INSERT INTO organizations (id, name, slug) VALUES ($1, $1, $1)`, id)
	}
	emails := map[string]string{
		"plain":   "Plain.User@Example.com",
		"unicode": "ÉLODIE.Ünal@Example.com", // lower-cased by Go, whatever the database's locale
		"kelvin":  "\u212Aate@Example.com",   // the Kelvin sign, which Go lower-cased to "k"
		"noemail": "",
	}
	for id, email := range emails {
		// The key as versions before 00009 wrote it: Go's Unicode lower-casing.
		exec(`INSERT INTO users (id, email, email_key, email_verified, given_name, family_name, picture,
				phone_number, phone_number_verified, password_hash, status, created_at, updated_at, profiles)
			VALUES ($1, $2, $3, true, '', '', '', '', false, '', 'active', $4, $4, $5)`,
			id, email, strings.ToLower(email), t0,
			`{"org-a": {"externalId": "ext-`+id+`", "emails": [{"value": "w@example.com", "type": "work", "primary": true}]}}`)
	}
	membership := func(userID, orgID, status string) {
		t.Helper()
		exec(`INSERT INTO memberships (user_id, organization_id, role, status, is_primary, created_at)
			VALUES ($1, $2, 'member', $3, false, $4)`, userID, orgID, status, t0)
	}
	membership("plain", "org-a", "active")
	membership("plain", "org-b", "active")
	membership("unicode", "org-a", "pending")
	membership("noemail", "org-a", "active")
	membership("gone", "org-a", "active") // its user was deleted outside the stores
	tokenHash := []byte("an old scim token's hash")
	exec(`INSERT INTO scim_tokens (id, organization_id, name, hash, created_at) VALUES ('tok', 'org-a', 'entra', $1, $2)`,
		tokenHash, t0)

	applied, err := postgres.MigrateUp(ctx, pool)
	require.NoError(t, err)
	assert.Equal(t, migrationsFrom(t, 6), applied)

	orgs := postgres.NewOrganizationStore(pool)
	for _, c := range []struct{ user, org, name string }{
		{"plain", "org-a", emails["plain"]},
		{"plain", "org-b", emails["plain"]},
		{"unicode", "org-a", emails["unicode"]},
		{"noemail", "org-a", ""},
		{"gone", "org-a", ""},
	} {
		m, err := orgs.GetMembership(ctx, c.org, c.user)
		require.NoError(t, err)
		assert.Equal(t, c.name, m.UserName, "%s in %s is named after the email, as stored", c.user, c.org)
		if c.name == "" {
			continue
		}
		for _, n := range []string{c.name, strings.ToUpper(c.name), strings.ToLower(c.name)} {
			got, err := orgs.GetMembershipByUserName(ctx, c.org, n)
			require.NoError(t, err, "%s in %s by %q", c.user, c.org, n)
			assert.Equal(t, c.user, got.UserID)
			assert.Equal(t, c.name, got.UserName)
		}
	}
	_, err = orgs.GetMembershipByUserName(ctx, "org-a", "")
	require.ErrorIs(t, err, domain.ErrNotFound, "the unnamed members have no name")

	page, err := postgres.NewSCIMStore(pool).SearchUsers(ctx, domain.UserQuery{OrganizationID: "org-a",
		Filter: &domain.Compare{Field: domain.FieldUserName, Op: domain.OpEq, Value: "PLAIN.USER@example.COM"}, Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Members, 1, "SCIM finds the member by the userName it had before")
	assert.Equal(t, "plain", page.Members[0].User.ID)
	assert.Equal(t, emails["plain"], page.Members[0].Membership.UserName)

	// The backfilled names are held: no one else takes them.
	clash := domain.Membership{OrganizationID: "org-a", UserID: "newcomer", Role: domain.RoleMember,
		Status: domain.MembershipActive, UserName: strings.ToLower(emails["unicode"]), CreatedAt: t0}
	require.ErrorIs(t, orgs.PutMembership(ctx, clash), domain.ErrAlreadyExists)

	u, err := postgres.NewUserStore(pool).GetUser(ctx, "plain")
	require.NoError(t, err)
	assert.Equal(t, map[string]domain.OrgProfile{"org-a": {ExternalID: "ext-plain",
		Emails: []domain.MultiValue{{Value: "w@example.com", Type: "work", Primary: true}}}}, u.Profiles,
		"a profile stored before reads, every new attribute empty")

	tok, err := postgres.NewSCIMStore(pool).GetSCIMToken(ctx, tokenHash)
	require.NoError(t, err)
	assert.Empty(t, tok.SignInEmail, "an old token takes the default rule")

	// 00009: email keys follow domain.NormalizeEmail, which lower-cases
	// ASCII only; the Kelvin sign no longer finds kate@example.com.
	users := postgres.NewUserStore(pool)
	for _, id := range []string{"plain", "unicode", "kelvin"} {
		var key string
		require.NoError(t, pool.QueryRow(ctx, `SELECT email_key FROM users WHERE id = $1`, id).Scan(&key))
		assert.Equal(t, domain.NormalizeEmail(emails[id]), key, id)
		got, err := users.GetUserByEmail(ctx, emails[id])
		require.NoError(t, err, id)
		assert.Equal(t, id, got.ID)
	}
	_, err = users.GetUserByEmail(ctx, "kate@example.com")
	require.ErrorIs(t, err, domain.ErrNotFound, "no Unicode folding in lookups")
}

// Migration 00020 on organizations written under 00018: each reads under
// off without a backfill, takes a policy at its next update, and the column
// refuses anything but the four policies.
func TestOrganizationMFAPolicyMigrationReadsOldOrganizationsUnderOff(t *testing.T) {
	t.Parallel()
	pool := newEmptyPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, postgres.MigrateTo(ctx, pool, 18))
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	_, err := pool.Exec(ctx, `INSERT INTO organizations (id, name, slug, created_at, updated_at) VALUES ('old', 'Old School', 'old', $1, $1)`, t0)
	require.NoError(t, err)

	applied, err := postgres.MigrateUp(ctx, pool)
	require.NoError(t, err)
	assert.Equal(t, migrationsFrom(t, 19), applied)

	orgs := postgres.NewOrganizationStore(pool)
	want := domain.Organization{ID: "old", Name: "Old School", Slug: "old", MFAPolicy: domain.MFAOff, CreatedAt: t0, UpdatedAt: t0}
	got, err := orgs.GetOrganization(ctx, "old")
	require.NoError(t, err)
	assert.Equal(t, want, got)
	got, err = orgs.UpdateOrganization(ctx, "old", func(o *domain.Organization) error {
		o.MFAPolicy = domain.MFARequired
		return nil
	})
	require.NoError(t, err)
	want.MFAPolicy = domain.MFARequired
	assert.Equal(t, want, got)

	_, err = pool.Exec(ctx, `UPDATE organizations SET mfa_policy = 'sometimes' WHERE id = 'old'`)
	require.Error(t, err, "a policy outside the four is refused")
	_, err = pool.Exec(ctx, `UPDATE organizations SET mfa_policy = '' WHERE id = 'old'`)
	require.Error(t, err, "so is none: the store writes it as off")
	_, err = orgs.UpdateOrganization(ctx, "old", func(o *domain.Organization) error {
		o.MFAPolicy = "sometimes"
		return nil
	})
	require.Error(t, err, "through the store too")
	got, err = orgs.GetOrganization(ctx, "old")
	require.NoError(t, err)
	assert.Equal(t, want, got, "the refused writes changed nothing")
}

// Migration 00032 on subscriptions disabled under 00031: their disabled_at
// stays NULL, read as the zero DisabledAt ("unknown"), not backfilled from
// updated_at, which is not when they were disabled.
func TestSubscriptionDisabledAtMigrationLeavesOldRowsUnknown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key := randomKey()
	// The secret is sealed by a store on an up-to-date schema: the store
	// cannot write to the old one.
	current := newPool(t)
	sealer := newWebhookStores(t, current, key)
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	old := domain.Subscription{ID: "whs_old", ClientID: "cca_old", URL: "https://hooks.example.com/old",
		Events: []string{domain.EventUserCreated}, Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0", Disabled: true,
		DisabledReason: "3 deliveries in a row failed", ConsecutiveFailures: 3, CreatedAt: t0, UpdatedAt: t0}
	require.NoError(t, sealer.subs.CreateSubscription(ctx, old))
	var sealed []byte
	require.NoError(t, current.QueryRow(ctx, `SELECT secret FROM webhook_subscriptions WHERE id = $1`, old.ID).Scan(&sealed))

	pool := newEmptyPool(t)
	require.NoError(t, postgres.MigrateTo(ctx, pool, 31))
	_, err := pool.Exec(ctx, `INSERT INTO webhook_subscriptions (id, client_id, url, events, secret, description,
		disabled, disabled_reason, consecutive_failures, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, '', true, $6, 3, $7, $7)`,
		old.ID, old.ClientID, old.URL, old.Events, sealed, old.DisabledReason, t0)
	require.NoError(t, err)

	applied, err := postgres.MigrateUp(ctx, pool)
	require.NoError(t, err)
	assert.Equal(t, migrationsFrom(t, 32), applied)
	got, err := newWebhookStores(t, pool, key).subs.GetSubscription(ctx, old.ID)
	require.NoError(t, err)
	assert.Equal(t, old, got, "disabled, with its reason and streak, at an unknown time")
}
