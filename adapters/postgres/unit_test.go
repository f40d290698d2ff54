package postgres_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

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
	assert.Equal(t, int32(3), runs.Load(), "the deadlock's victim ran twice")
	for _, id := range ids {
		u, err := users.GetUser(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, "xx", u.GivenName, "each unit's change is stored once")
	}
}
