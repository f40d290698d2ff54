package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// cachedGrants is an instance's cached grant store on pool, its listener
// running until t ends.
func cachedGrants(t *testing.T, pool *pgxpool.Pool) (*postgres.CachedGrantStore, *postgres.Invalidations) {
	t.Helper()
	inv := listening(t, pool)
	return postgres.NewCachedGrantStore(postgres.NewGrantStore(pool), inv), inv
}

// TestRevocationCacheAcrossInstances: a token or grant revoked through one
// instance is revoked there at once and on the other within a second,
// though both had "not revoked" cached; one revoked by another statement
// reaches both through the triggers; and with the listener down, the
// database answers.
func TestRevocationCacheAcrossInstances(t *testing.T) {
	pool := newPool(t)
	a, _ := cachedGrants(t, pool)
	b, invB := cachedGrants(t, samePool(t, pool))
	ctx := context.Background()
	sfx := time.Now().Format("150405.000000000")
	jti, grant := "jti-"+sfx, "grant-"+sfx
	later := time.Now().Add(time.Hour)
	revoked := func(s *postgres.CachedGrantStore, jti, grant string) bool {
		r, err := s.IsRevoked(ctx, jti, grant)
		require.NoError(t, err)
		return r
	}
	for _, s := range []*postgres.CachedGrantStore{a, b} {
		require.False(t, revoked(s, jti, grant)) // "no" cached on both
	}

	require.NoError(t, a.RevokeAccessToken(ctx, jti, later))
	assert.True(t, revoked(a, jti, grant), "at once on the instance that revoked")
	require.Eventually(t, func() bool { return revoked(b, jti, grant) }, time.Second, 5*time.Millisecond, "within a second on the other")

	jti2 := jti + "-2"
	require.False(t, revoked(b, jti2, grant))
	require.NoError(t, b.RevokeGrant(ctx, grant, later))
	assert.True(t, revoked(b, jti2, grant), "a grant's revocation covers its other tokens at once")
	require.Eventually(t, func() bool { return revoked(a, jti2, grant) }, time.Second, 5*time.Millisecond, "and on the other within a second")

	// Another statement: the triggers tell both.
	jti3, grant3 := jti+"-3", grant+"-3"
	require.False(t, revoked(a, jti3, grant3))
	require.False(t, revoked(b, jti3, grant3))
	_, err := pool.Exec(ctx, `INSERT INTO revoked_grants (grant_id, expires_at) VALUES ($1, $2)`, grant3, later)
	require.NoError(t, err)
	for name, s := range map[string]*postgres.CachedGrantStore{"a": a, "b": b} {
		require.Eventually(t, func() bool { return revoked(s, jti3, grant3) }, time.Second, 5*time.Millisecond, "the trigger tells instance %s", name)
	}

	// With its listener stopped, b asks the database every time.
	jti4 := jti + "-4"
	require.False(t, revoked(b, jti4, ""))
	require.NoError(t, invB.Stop(ctx))
	require.False(t, invB.Healthy())
	_, err = pool.Exec(ctx, `INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2)`, jti4, later)
	require.NoError(t, err)
	assert.True(t, revoked(b, jti4, ""), "nothing stale is served while the listener is down")
}

// TestCachedGrantStore: the cached store keeps the port's promises.
func TestCachedGrantStore(t *testing.T) {
	s, _ := cachedGrants(t, newPool(t))
	testsuite.RunGrantStore(t, func(*testing.T) ports.GrantStore { return s })
}
