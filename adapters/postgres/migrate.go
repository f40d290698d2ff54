package postgres

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationFS holds the schema: numbered, forward-only SQL files, reviewed
// like code. A released file is never edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrate applies every pending migration to the schema the pool's
// search_path selects, and returns once the schema is current. It is safe to
// call from many instances at once: goose holds a session-level advisory lock
// for the whole run, so one instance migrates and the others wait, then find
// nothing to do.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := MigrateUp(ctx, pool)
	return err
}

// MigrateUp is Migrate, and returns the file names of the migrations it
// applied, in order (none when the schema was already current).
func MigrateUp(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	provider, closeDB, err := newMigrator(ctx, pool)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	results, err := provider.Up(ctx)
	if err != nil {
		return nil, translate("migrate", err)
	}
	applied := make([]string, 0, len(results))
	for _, r := range results {
		applied = append(applied, filepath.Base(r.Source.Path))
	}
	return applied, nil
}

// newMigrator returns a goose provider over the pool, and a function that
// releases the database/sql handle it runs on.
func newMigrator(ctx context.Context, pool *pgxpool.Pool) (*goose.Provider, func(), error) {
	var schema string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, nil, translate("migrate: read schema", err)
	}
	// One lock per schema: instances sharing a schema serialise, while
	// separate schemas (one per test) migrate in parallel.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(lockID(schema)),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	migrations, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		_ = db.Close()
		return nil, nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return provider, func() { _ = db.Close() }, nil
}

// lockID derives the advisory lock key of a schema's migrations.
func lockID(schema string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("calimatic-auth migrations " + schema))
	return int64(h.Sum64())
}
