package postgres_test

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// The module runs the janitor from start to stop, on the graph's clock. Its
// period is also each sweep's time limit, so it is long enough for a sweep
// of every table on a loaded CI machine.
func TestModuleRunsTheJanitor(t *testing.T) {
	t.Parallel()
	pool := newPool(t) // a fresh, migrated schema
	ctx := context.Background()
	var schema string
	require.NoError(t, pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema))
	u, err := url.Parse(os.Getenv("CALIMATIC_TEST_POSTGRES_DSN"))
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	var sessions ports.SessionStore
	var scim ports.SCIMStore // provided like every store port
	var replays ports.ReplayCache
	app := fx.New(
		fx.NopLogger,
		postgres.Module(postgres.Options{DSN: u.String(), KeyEncryptionKey: randomKey(), JanitorEvery: 250 * time.Millisecond}),
		fx.Supply(fx.Annotate(fixedClock{janitorNow}, fx.As(new(ports.Clock)))),
		fx.Supply(slog.New(slog.DiscardHandler)),
		fx.Populate(&sessions, &scim, &replays),
	)
	require.NoError(t, app.Err())
	require.NotNil(t, scim)
	require.NotNil(t, replays)
	require.NoError(t, app.Start(ctx))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = app.Stop(context.Background())
		}
	})

	expired := domain.Session{Hash: randomBytes(), SID: randomID(), UserID: "u", ExpiresAt: longExpired}
	live := domain.Session{Hash: randomBytes(), SID: randomID(), UserID: "u", ExpiresAt: stillLive}
	require.NoError(t, sessions.CreateSession(ctx, expired))
	require.NoError(t, sessions.CreateSession(ctx, live))
	count := func(hash []byte) int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE hash = $1`, hash).Scan(&n))
		return n
	}
	require.Eventually(t, func() bool { return count(expired.Hash) == 0 }, 20*time.Second, 10*time.Millisecond,
		"the janitor deletes the expired session")
	require.Equal(t, 1, count(live.Hash), "and keeps the live one")

	require.NoError(t, app.Stop(ctx), "the janitor stops with the app")
	stopped = true
}
