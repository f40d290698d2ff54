package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// newPool returns a pool on a fresh schema of the test database, migrated,
// and drops the schema when t ends, so tests run in parallel and never see
// each other's rows. It skips without CALIMATIC_TEST_POSTGRES_DSN, unless
// CALIMATIC_TEST_REQUIRE_BACKENDS=1 (CI) makes that a failure.
func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := newEmptyPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, postgres.Migrate(ctx, pool))
	return pool
}

// newEmptyPool is newPool without the migrations.
func newEmptyPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	dsn := os.Getenv("CALIMATIC_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CALIMATIC_TEST_REQUIRE_BACKENDS") == "1" {
			t.Fatal("CALIMATIC_TEST_POSTGRES_DSN is not set and CALIMATIC_TEST_REQUIRE_BACKENDS=1")
		}
		t.Skip("CALIMATIC_TEST_POSTGRES_DSN is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	suffix := make([]byte, 8)
	_, _ = rand.Read(suffix)
	schema := "test_" + hex.EncodeToString(suffix)
	admin, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	_, err = admin.Exec(ctx, `CREATE SCHEMA `+schema)
	require.NoError(t, err)
	require.NoError(t, admin.Close(ctx))

	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = 40 // the concurrency suites race 32 workers
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer func() { _ = admin.Close(ctx) }()
		if _, err := admin.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return pool
}

// The suites use fresh random ids, so the subtests of one suite share a
// schema; only the key store, whose suite needs an empty store, gets one per
// subtest.

func TestClientStore(t *testing.T) {
	t.Parallel()
	s := postgres.NewClientStore(newPool(t))
	testsuite.RunClientStore(t, func(*testing.T) ports.ClientStore { return s })
}

func TestUserStore(t *testing.T) {
	t.Parallel()
	s := postgres.NewUserStore(newPool(t))
	testsuite.RunUserStore(t, func(*testing.T) ports.UserStore { return s })
}

func TestOrganizationStore(t *testing.T) {
	t.Parallel()
	s := postgres.NewOrganizationStore(newPool(t))
	testsuite.RunOrganizationStore(t, func(*testing.T) ports.OrganizationStore { return s })
}

// newDirectoryStores returns every directory store on one pool, for the
// directory suites, whose contracts span users, organizations and licenses.
func newDirectoryStores(pool *pgxpool.Pool) testsuite.DirectoryStores {
	return testsuite.DirectoryStores{
		Users:     postgres.NewUserStore(pool),
		Orgs:      postgres.NewOrganizationStore(pool),
		Licenses:  postgres.NewLicenseStore(pool),
		Grants:    postgres.NewClientGrantStore(pool),
		Roles:     postgres.NewRoleStore(pool),
		Directory: postgres.NewDirectoryStore(pool),
	}
}

func TestDirectoryStore(t *testing.T) {
	t.Parallel()
	s := newDirectoryStores(newPool(t))
	testsuite.RunDirectoryStore(t, func(*testing.T) testsuite.DirectoryStores { return s })
}

func TestDirectoryStoreConcurrency(t *testing.T) {
	t.Parallel()
	s := newDirectoryStores(newPool(t))
	testsuite.RunDirectoryStoreConcurrency(t, func(*testing.T) testsuite.DirectoryStores { return s })
}

func TestLicenseStore(t *testing.T) {
	t.Parallel()
	s := newDirectoryStores(newPool(t))
	testsuite.RunLicenseStore(t, func(*testing.T) testsuite.DirectoryStores { return s })
}

func TestClientGrantStore(t *testing.T) {
	t.Parallel()
	s := newDirectoryStores(newPool(t))
	testsuite.RunClientGrantStore(t, func(*testing.T) testsuite.DirectoryStores { return s })
}

func TestRoleStore(t *testing.T) {
	t.Parallel()
	s := newDirectoryStores(newPool(t))
	testsuite.RunRoleStore(t, func(*testing.T) testsuite.DirectoryStores { return s })
}

func TestAdminKeyStore(t *testing.T) {
	t.Parallel()
	s := postgres.NewAdminKeyStore(newPool(t))
	testsuite.RunAdminKeyStore(t, func(*testing.T) ports.AdminKeyStore { return s })
}

func TestActionTokenStore(t *testing.T) {
	t.Parallel()
	s := postgres.NewActionTokenStore(newPool(t))
	testsuite.RunActionTokenStore(t, func(*testing.T) ports.ActionTokenStore { return s })
}

func TestActionTokenStoreConcurrency(t *testing.T) {
	t.Parallel()
	s := postgres.NewActionTokenStore(newPool(t))
	testsuite.RunActionTokenStoreConcurrency(t, func(*testing.T) ports.ActionTokenStore { return s })
}

func TestGrantStore(t *testing.T) {
	t.Parallel()
	s := postgres.NewGrantStore(newPool(t))
	testsuite.RunGrantStore(t, func(*testing.T) ports.GrantStore { return s })
}

func TestGrantStoreConcurrency(t *testing.T) {
	t.Parallel()
	s := postgres.NewGrantStore(newPool(t))
	testsuite.RunGrantStoreConcurrency(t, func(*testing.T) ports.GrantStore { return s })
}

func TestSessionStore(t *testing.T) {
	t.Parallel()
	s := postgres.NewSessionStore(newPool(t))
	testsuite.RunSessionStore(t, func(*testing.T) ports.SessionStore { return s })
}

func TestAuthRequestStore(t *testing.T) {
	t.Parallel()
	s := postgres.NewAuthRequestStore(newPool(t))
	testsuite.RunAuthRequestStore(t, func(*testing.T) ports.AuthRequestStore { return s })
}

func TestDeviceGrantStore(t *testing.T) {
	t.Parallel()
	s := postgres.NewDeviceGrantStore(newPool(t))
	testsuite.RunDeviceGrantStore(t, func(*testing.T) ports.DeviceGrantStore { return s })
}

func TestDeviceGrantStoreConcurrency(t *testing.T) {
	t.Parallel()
	s := postgres.NewDeviceGrantStore(newPool(t))
	testsuite.RunDeviceGrantStoreConcurrency(t, func(*testing.T) ports.DeviceGrantStore { return s })
}

func TestRateLimiter(t *testing.T) {
	t.Parallel()
	l := postgres.NewRateLimiter(newPool(t))
	testsuite.RunRateLimiter(t, func(*testing.T) ports.RateLimiter { return l })
}

func TestRateLimiterConcurrency(t *testing.T) {
	t.Parallel()
	l := postgres.NewRateLimiter(newPool(t))
	testsuite.RunRateLimiterConcurrency(t, func(*testing.T) ports.RateLimiter { return l })
}

func TestReplayCache(t *testing.T) {
	t.Parallel()
	c := postgres.NewReplayCache(newPool(t))
	testsuite.RunReplayCache(t, func(*testing.T) ports.ReplayCache { return c })
}

func TestReplayCacheConcurrency(t *testing.T) {
	t.Parallel()
	c := postgres.NewReplayCache(newPool(t))
	testsuite.RunReplayCacheConcurrency(t, func(*testing.T) ports.ReplayCache { return c })
}

func TestKeyStore(t *testing.T) {
	t.Parallel()
	key := randomKey()
	testsuite.RunKeyStore(t, func(t *testing.T) ports.KeyStore {
		return postgres.NewKeyStore(newPool(t), postgres.WithKeyEncryptionKey(key))
	})
}

func randomKey() []byte {
	key := make([]byte, postgres.KeyEncryptionKeySize)
	_, _ = rand.Read(key)
	return key
}

func TestSCIMStore(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	s := testsuite.SCIMStores{
		Users:     postgres.NewUserStore(pool),
		Orgs:      postgres.NewOrganizationStore(pool),
		Directory: postgres.NewDirectoryStore(pool),
		SCIM:      postgres.NewSCIMStore(pool),
	}
	testsuite.RunSCIMStore(t, func(*testing.T) testsuite.SCIMStores { return s })
}

func newDomainStores(pool *pgxpool.Pool) testsuite.DomainStores {
	return testsuite.DomainStores{Orgs: postgres.NewOrganizationStore(pool), Domains: postgres.NewDomainStore(pool)}
}

func TestDomainStore(t *testing.T) {
	t.Parallel()
	s := newDomainStores(newPool(t))
	testsuite.RunDomainStore(t, func(*testing.T) testsuite.DomainStores { return s })
}

func TestDomainStoreConcurrency(t *testing.T) {
	t.Parallel()
	s := newDomainStores(newPool(t))
	testsuite.RunDomainStoreConcurrency(t, func(*testing.T) testsuite.DomainStores { return s })
}

func TestGroupStore(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	s := testsuite.GroupStores{
		Orgs:      postgres.NewOrganizationStore(pool),
		Directory: postgres.NewDirectoryStore(pool),
		Users:     postgres.NewUserStore(pool),
		Groups:    postgres.NewGroupStore(pool),
	}
	testsuite.RunGroupStore(t, func(*testing.T) testsuite.GroupStores { return s })
}
