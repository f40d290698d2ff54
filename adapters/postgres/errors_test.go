package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// A database that cannot be reached is ErrUnavailable (a 503 at the edge),
// never a bare driver error. Port 1 on loopback refuses connections, so this
// needs no server.
func TestAnUnreachableDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.NoError(t, err, "the pool connects lazily")
	defer pool.Close()

	_, err = postgres.NewClientStore(pool).GetClient(ctx, "cca_x")
	assert.ErrorIs(t, err, domain.ErrUnavailable)
	_, err = postgres.NewRateLimiter(pool).Allow(ctx, "k", domain.RateRule{Name: "token", Limit: 1, Window: time.Minute}, time.Now())
	assert.ErrorIs(t, err, domain.ErrUnavailable)
	assert.ErrorIs(t, postgres.Migrate(ctx, pool), domain.ErrUnavailable)
}

// A key that PostgreSQL text cannot hold (a NUL byte, invalid UTF-8) is an
// unknown key, ErrNotFound, so the API answers 4xx rather than 500.
func TestTextPostgresCannotHoldIsNotFound(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	for _, id := range []string{"cca_\x00nul", "cca_\xff\xfe"} {
		_, err := postgres.NewClientStore(pool).GetClient(ctx, id)
		assert.ErrorIs(t, err, domain.ErrNotFound, "%q", id)
		_, err = postgres.NewUserStore(pool).GetUserByEmail(ctx, id+"@example.com")
		assert.ErrorIs(t, err, domain.ErrNotFound, "%q", id)
	}
}
