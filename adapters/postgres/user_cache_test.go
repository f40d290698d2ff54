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
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// cachedUsers is an instance's cached user store on pool, its listener
// running until t ends.
func cachedUsers(t *testing.T, pool *pgxpool.Pool) (*postgres.CachedUserStore, *postgres.Invalidations) {
	t.Helper()
	inv := listening(t, pool)
	return postgres.NewCachedUserStore(postgres.NewUserStore(pool), inv), inv
}

func TestCachedUserStore(t *testing.T) {
	s, _ := cachedUsers(t, newPool(t))
	testsuite.RunUserStore(t, func(*testing.T) ports.UserStore { return s })
}

// TestUserCacheAcrossInstances: a suspension through the store reaches the
// other instance's cache within a second and this one's at once; a write
// by any other statement (the directory's, SCIM's) reaches both through
// the users trigger.
func TestUserCacheAcrossInstances(t *testing.T) {
	pool := newPool(t)
	a, _ := cachedUsers(t, pool)
	b, _ := cachedUsers(t, samePool(t, pool))
	ctx := context.Background()
	u := domain.User{ID: "0b0f5d5e-0000-4000-8000-00000000cafe", Email: "cached@example.com", Status: domain.UserActive, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	require.NoError(t, a.CreateUser(ctx, u))
	for _, s := range []*postgres.CachedUserStore{a, b} {
		got, err := s.GetUser(ctx, u.ID)
		require.NoError(t, err)
		require.True(t, got.CanSignIn()) // now cached on both
	}

	_, err := a.UpdateUser(ctx, u.ID, func(u *domain.User) error { u.Status = domain.UserSuspended; return nil })
	require.NoError(t, err)
	got, err := a.GetUser(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, got.CanSignIn(), "at once on the instance that made the change")
	require.Eventually(t, func() bool {
		got, err := b.GetUser(ctx, u.ID)
		return err == nil && !got.CanSignIn()
	}, time.Second, 5*time.Millisecond, "within a second on the other instance")

	// Another statement, as the directory's or SCIM's writes are.
	notBefore := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
	_, err = pool.Exec(ctx, `UPDATE users SET status = 'active', not_before = $2 WHERE id = $1`, u.ID, notBefore)
	require.NoError(t, err)
	for name, s := range map[string]*postgres.CachedUserStore{"a": a, "b": b} {
		require.Eventually(t, func() bool {
			got, err := s.GetUser(ctx, u.ID)
			return err == nil && got.CanSignIn() && got.NotBefore.Equal(notBefore)
		}, time.Second, 5*time.Millisecond, "the trigger tells instance %s", name)
	}

	_, err = pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, u.ID)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := b.GetUser(ctx, u.ID)
		return err != nil
	}, time.Second, 5*time.Millisecond, "a deleted user is gone from the cache too")
}
