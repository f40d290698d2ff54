package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
	"github.com/calimatic/calimatic-auth/testsuite"
)

// events reads back everything o has stored, failing t on error.
func events(t *testing.T, o *postgres.EventOutbox) []domain.Event {
	t.Helper()
	all, err := o.Events(context.Background())
	require.NoError(t, err)
	return all
}

func TestEventOutbox(t *testing.T) {
	t.Parallel()
	o := postgres.NewEventOutbox(newPool(t))
	testsuite.RunEventPublisher(t, func(t *testing.T) (ports.EventPublisher, func() []domain.Event) {
		return o, func() []domain.Event { return events(t, o) }
	})
}

// A large batch is one statement: it comes back whole, in order, with every
// field as published, whatever order the keys would sort in.
func TestEventOutboxLargeBatchRoundTrips(t *testing.T) {
	t.Parallel()
	o := postgres.NewEventOutbox(newPool(t))
	at := time.Date(2031, time.March, 14, 15, 9, 26, 123456000, time.UTC)
	want := make([]domain.Event, 200)
	for i := range want {
		want[i] = domain.Event{
			ID:             fmt.Sprintf("evt_%03d", i),
			Type:           domain.EventTypes[i%len(domain.EventTypes)],
			OccurredAt:     at.Add(time.Duration(i) * time.Second),
			UserID:         fmt.Sprintf("user_%d", i),
			OrganizationID: fmt.Sprintf("org_%d", i%7),
			Data: []domain.Field{
				{Key: "zeta", Value: fmt.Sprintf("z%d", i)},
				{Key: "alpha", Value: i%2 == 0},
				{Key: "email", Value: "<casey&co>@example.com"},
				{Key: "nul", Value: "a\x00b"},
				{Key: "count", Value: float64(i) + 0.5},
				{Key: "nothing", Value: nil},
				{Key: "zeta", Value: "a repeated key stays"},
			},
		}
	}
	want[0].UserID, want[0].OrganizationID, want[0].OccurredAt, want[0].Data = "", "", time.Time{}, nil

	require.NoError(t, o.Publish(t.Context(), want...))
	assert.Equal(t, want, events(t, o))
}

// Numbers come back as encoding/json reads them into an any: float64.
func TestEventOutboxNumbersComeBackAsFloat64(t *testing.T) {
	t.Parallel()
	o := postgres.NewEventOutbox(newPool(t))
	e := domain.Event{ID: "evt_n", Type: domain.EventUserUpdated, Data: []domain.Field{
		{Key: "int", Value: 42}, {Key: "int64", Value: int64(1) << 53}, {Key: "uint8", Value: uint8(7)},
	}}
	require.NoError(t, o.Publish(t.Context(), e))
	got := events(t, o)
	require.Len(t, got, 1)
	assert.Equal(t, []domain.Field{
		{Key: "int", Value: float64(42)}, {Key: "int64", Value: float64(1 << 53)}, {Key: "uint8", Value: float64(7)},
	}, got[0].Data)
}

// The batch is one statement: a taken id anywhere in it stores none of it.
func TestEventOutboxTakenIDStoresNothing(t *testing.T) {
	t.Parallel()
	o := postgres.NewEventOutbox(newPool(t))
	first := domain.Event{ID: "evt_taken", Type: domain.EventUserCreated}
	require.NoError(t, o.Publish(t.Context(), first))

	tests := []struct {
		name  string
		batch []domain.Event
	}{
		{"an id already stored", []domain.Event{{ID: "evt_new1", Type: domain.EventUserUpdated}, first}},
		{"an id repeated within the batch", []domain.Event{
			{ID: "evt_twice", Type: domain.EventUserUpdated}, {ID: "evt_twice", Type: domain.EventUserDeleted},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := o.Publish(t.Context(), tc.batch...)
			require.ErrorIs(t, err, domain.ErrAlreadyExists)
			assert.Equal(t, []domain.Event{first}, events(t, o), "nothing of the batch is stored")
		})
	}
}

// A value json cannot encode fails the whole batch before anything is
// stored.
func TestEventOutboxUnencodableValueStoresNothing(t *testing.T) {
	t.Parallel()
	o := postgres.NewEventOutbox(newPool(t))
	err := o.Publish(t.Context(),
		domain.Event{ID: "evt_ok", Type: domain.EventUserCreated},
		domain.Event{ID: "evt_bad", Type: domain.EventUserCreated, Data: []domain.Field{{Key: "c", Value: make(chan int)}}},
	)
	require.Error(t, err)
	assert.Empty(t, events(t, o))
}

func TestUnitOfWork(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	o := postgres.NewEventOutbox(pool)
	testsuite.RunUnitOfWork(t, func(t *testing.T) testsuite.UnitStores {
		return testsuite.UnitStores{
			Units: postgres.NewUnits(pool), Users: postgres.NewUserStore(pool), Orgs: postgres.NewOrganizationStore(pool),
			Grants: postgres.NewClientGrantStore(pool), Events: o, Stored: func() []domain.Event { return events(t, o) },
			Undoes: true, Isolated: true,
		}
	})
}

func TestEventLog(t *testing.T) {
	t.Parallel()
	o := postgres.NewEventOutbox(newPool(t))
	testsuite.RunEventLog(t, func(*testing.T) testsuite.EventLogStores {
		return testsuite.EventLogStores{Publisher: o, Log: o}
	})
}

// Events stored before 00026 read with no actor, and are in the log of the
// organizations they concern.
func TestEventLogMigrationFilesOldEvents(t *testing.T) {
	t.Parallel()
	pool := newEmptyPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, postgres.MigrateTo(ctx, pool, 25))
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	_, err := pool.Exec(ctx, `INSERT INTO events (id, type, occurred_at, user_id, organization_id, data, audience_organization_ids)
		VALUES ('old-1', 'user.updated', $1, 'u1', '', '[]', '{heard,also}'), ('old-2', 'organization.updated', $1, '', 'about', '[]', NULL)`, t0)
	require.NoError(t, err)
	_, err = postgres.MigrateUp(ctx, pool)
	require.NoError(t, err)

	o := postgres.NewEventOutbox(pool)
	for org, want := range map[string]string{"heard": "old-1", "also": "old-1", "about": "old-2"} {
		p, err := o.ListEvents(ctx, domain.EventQuery{OrganizationID: org})
		require.NoError(t, err)
		require.Len(t, p.Events, 1, org)
		assert.Equal(t, want, p.Events[0].ID, org)
		assert.Equal(t, domain.Actor{}, p.Events[0].Actor, "an old event names no actor")
	}
}
