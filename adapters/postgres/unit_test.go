package postgres_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// Two units that lock two users in opposite orders deadlock; PostgreSQL
// aborts one, and Units runs it again, so both succeed and neither caller
// sees the conflict.
func TestUnitsRunAUnitThatLostADeadlockAgain(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	units, users := postgres.NewUnits(pool), postgres.NewUserStore(pool)
	ctx := context.Background()
	ids := [2]string{}
	for i := range ids {
		ids[i] = uuid.NewString()
		require.NoError(t, users.CreateUser(ctx, domain.User{ID: ids[i], Email: ids[i] + "@units.example", Status: domain.UserActive}))
	}
	var runs atomic.Int32
	locked := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	var once [2]sync.Once
	touch := func(ctx context.Context, id string) error {
		_, err := users.UpdateUser(ctx, id, func(u *domain.User) error { u.GivenName += "x"; return nil })
		return err
	}
	unit := func(me int) error {
		return units.Atomically(ctx, func(ctx context.Context) error {
			runs.Add(1)
			if err := touch(ctx, ids[me]); err != nil {
				return err
			}
			once[me].Do(func() { close(locked[me]) })
			<-locked[1-me] // both hold their first lock: the second makes a cycle
			return touch(ctx, ids[1-me])
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- unit(0) }()
	go func() { errs <- unit(1) }()
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	// The victim ran again; under load a rerun can lose once more before
	// the winner commits, so at least once more, not exactly.
	assert.GreaterOrEqual(t, runs.Load(), int32(3), "the deadlock's victim ran again")
	for _, id := range ids {
		u, err := users.GetUser(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, "xx", u.GivenName, "each unit's change is stored once")
	}
}

// A withdrawal waits for the units that read the grant before it, and
// units that start after it wait for it: a client that keeps changes in
// flight cannot put its own withdrawal off. (With FOR SHARE row locks it
// could: PostgreSQL grants a new FOR SHARE past a DELETE already waiting.)
func TestAGrantWithdrawalIsNotStarvedByLaterUnits(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	units, grants := postgres.NewUnits(pool), postgres.NewClientGrantStore(pool)
	ctx := context.Background()
	org := createOrg(t, pool)
	clientID := "cca_" + uuid.NewString()
	require.NoError(t, grants.PutClientGrant(ctx, domain.ClientGrant{ClientID: clientID, OrganizationID: org.ID, Actions: []string{domain.ActionProvision}}))

	// waitForWaiters waits until n advisory lock requests are queued.
	waitForWaiters := func(n int) {
		require.Eventually(t, func() bool {
			var waiting int
			require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks
				WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&waiting))
			return waiting >= n
		}, 10*time.Second, 10*time.Millisecond)
	}
	firstRead, releaseFirst := make(chan struct{}), make(chan struct{})
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(releaseFirst) }) }) // a failure must not leave it hanging
	first := make(chan error, 1)
	go func() {
		first <- units.Atomically(ctx, func(ctx context.Context) error {
			if _, err := grants.ListClientGrants(ctx, clientID); err != nil {
				return err
			}
			close(firstRead)
			<-releaseFirst
			return nil
		})
	}()
	<-firstRead
	withdrawn := make(chan error, 1)
	go func() {
		withdrawn <- units.Atomically(ctx, func(ctx context.Context) error {
			return grants.DeleteClientGrant(ctx, clientID, org.ID)
		})
	}()
	waitForWaiters(1) // the withdrawal waits for the first unit
	var later []domain.ClientGrant
	second := make(chan error, 1)
	go func() {
		second <- units.Atomically(ctx, func(ctx context.Context) (err error) {
			later, err = grants.ListClientGrants(ctx, clientID)
			return err
		})
	}()
	waitForWaiters(2) // the later unit queues behind the withdrawal
	release.Do(func() { close(releaseFirst) })
	require.NoError(t, <-first)
	require.NoError(t, <-withdrawn)
	require.NoError(t, <-second)
	assert.Empty(t, later, "the unit that came after the withdrawal sees it")
}

// Revoking a user's refresh families for one app runs in the unit's
// transaction, as RevokeUserRefreshFamilies does: a unit that fails after
// it leaves the families unrevoked.
func TestAFailedUnitLeavesTheFamiliesItRevokedForAnAppLive(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	grants := postgres.NewGrantStore(pool)
	at := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	f := domain.RefreshFamily{
		ID: uuid.NewString(), ClientID: "cca_" + uuid.NewString(), UserID: uuid.NewString(),
		CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour),
	}
	require.NoError(t, grants.CreateRefreshFamily(ctx, f, domain.RefreshToken{Hash: []byte(uuid.NewString()), FamilyID: f.ID, CreatedAt: at}))
	failed := errors.New("the unit fails")
	err := postgres.NewUnits(pool).Atomically(ctx, func(ctx context.Context) error {
		if _, err := grants.RevokeUserClientRefreshFamilies(ctx, f.UserID, f.ClientID, at.Add(time.Hour)); err != nil {
			return err
		}
		got, err := grants.GetRefreshFamily(ctx, f.ID)
		require.NoError(t, err)
		require.False(t, got.RevokedAt.IsZero(), "revoked within the unit")
		return failed
	})
	require.ErrorIs(t, err, failed)
	got, err := grants.GetRefreshFamily(ctx, f.ID)
	require.NoError(t, err)
	assert.True(t, got.RevokedAt.IsZero(), "the failed unit's revocation is rolled back")
}
