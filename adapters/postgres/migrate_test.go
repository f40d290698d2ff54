package postgres_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
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
