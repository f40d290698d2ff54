package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/app"
	"github.com/calimatic/calimatic-auth/app/config"
)

// postgresDSN returns CALIMATIC_TEST_POSTGRES_DSN pointed (by search_path) at
// a fresh schema that is dropped when t ends, so tests never see each
// other's rows. It skips without the variable, unless
// CALIMATIC_TEST_REQUIRE_BACKENDS=1 (CI) makes that a failure.
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("CALIMATIC_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CALIMATIC_TEST_REQUIRE_BACKENDS") == "1" {
			t.Fatal("CALIMATIC_TEST_POSTGRES_DSN is not set and CALIMATIC_TEST_REQUIRE_BACKENDS=1")
		}
		t.Skip("CALIMATIC_TEST_POSTGRES_DSN is not set")
	}
	suffix := make([]byte, 8)
	_, _ = rand.Read(suffix)
	schema := "app_test_" + hex.EncodeToString(suffix)
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close(ctx) }()
		_, err = conn.Exec(ctx, sql)
		return err
	}
	require.NoError(t, exec(`CREATE SCHEMA `+schema))
	t.Cleanup(func() {
		if err := exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	require.NoError(t, err, "CALIMATIC_TEST_POSTGRES_DSN must be a postgres:// URL")
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// newKEK returns a random master key, base64 as in the configuration.
func newKEK() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return base64.StdEncoding.EncodeToString(key)
}

// usePostgres is a startServer edit that selects the postgres driver and its
// rate limiter on dsn, with the dev seed on (it is off by default there).
func usePostgres(dsn, kek string) func(*config.Config) {
	return func(c *config.Config) {
		c.Storage.Driver = config.StoragePostgres
		c.Storage.Postgres.DSN = dsn
		c.Storage.Postgres.KeyEncryptionKey = kek
		c.RateLimit.Kind = config.RateLimitPostgres
		seed := true
		c.Dev.Seed = &seed
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	env := []string{
		"CALIMATIC_STORAGE_DRIVER=postgres",
		"CALIMATIC_STORAGE_POSTGRES_DSN=" + postgresDSN(t),
		"CALIMATIC_STORAGE_POSTGRES_KEY_ENCRYPTION_KEY=" + newKEK(),
		"CALIMATIC_STORAGE_POSTGRES_MIGRATE=off",
	}
	var out, errOut bytes.Buffer
	require.NoError(t, app.Main([]string{"migrate"}, env, &out, &errOut), "stderr: %s", errOut.String())
	require.Contains(t, out.String(), "migrate: applied 00001_initial.sql")
	require.Contains(t, out.String(), "applied; the schema is up to date")

	out.Reset()
	require.NoError(t, app.Main([]string{"migrate"}, env, &out, &errOut), "stderr: %s", errOut.String())
	require.Equal(t, "migrate: the schema is up to date; nothing to apply\n", out.String())
}

func TestMigrateCommandNeedsPostgres(t *testing.T) {
	var out, errOut bytes.Buffer
	err := app.Main([]string{"migrate"}, nil, &out, &errOut)
	require.ErrorContains(t, err, `storage.driver is "memory": only postgres has migrations`)
}

func TestMigrateCommandFailsClearlyWhenUnreachable(t *testing.T) {
	env := []string{
		"CALIMATIC_STORAGE_DRIVER=postgres",
		"CALIMATIC_STORAGE_POSTGRES_DSN=postgres://u:hunter2secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"CALIMATIC_STORAGE_POSTGRES_KEY_ENCRYPTION_KEY=" + newKEK(),
	}
	var out, errOut bytes.Buffer
	err := app.Main([]string{"migrate"}, env, &out, &errOut)
	require.ErrorContains(t, err, "postgres: cannot reach the database at 127.0.0.1:1/db")
	require.False(t, strings.Contains(err.Error(), "hunter2secret"), "the password is never shown: %v", err)
}

// TestAdminCreateKeyCommand makes a key with the command, on an empty
// database, and uses it on a server of the same database.
func TestAdminCreateKeyCommand(t *testing.T) {
	t.Parallel()
	dsn, kek := postgresDSN(t), newKEK()
	checkAdminCreateKeyCommand(t, []string{
		"CALIMATIC_STORAGE_DRIVER=postgres",
		"CALIMATIC_STORAGE_POSTGRES_DSN=" + dsn,
		"CALIMATIC_STORAGE_POSTGRES_KEY_ENCRYPTION_KEY=" + kek,
	}, usePostgres(dsn, kek))
}

// TestPlatformAdminCommands grants and revokes the platform administrator
// role with the commands, next to a running server of the same database.
func TestPlatformAdminCommands(t *testing.T) {
	t.Parallel()
	dsn, kek := postgresDSN(t), newKEK()
	checkPlatformAdminCommands(t, []string{
		"CALIMATIC_STORAGE_DRIVER=postgres",
		"CALIMATIC_STORAGE_POSTGRES_DSN=" + dsn,
		"CALIMATIC_STORAGE_POSTGRES_KEY_ENCRYPTION_KEY=" + kek,
	}, usePostgres(dsn, kek))
}
