package testsuite

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// UnitStores are the stores of one backend that a unit of work spans, on
// the same data as the unit.
type UnitStores struct {
	Units  ports.UnitOfWork
	Users  ports.UserStore
	Orgs   ports.OrganizationStore
	Grants ports.ClientGrantStore
	Events ports.EventPublisher
	// Stored reads back every stored event.
	Stored func() []domain.Event
	// Undoes is true for a backend whose failed unit leaves nothing
	// (PostgreSQL, MongoDB); memory keeps the writes made before the
	// failure, as its adapter documents, and the suite checks that too.
	Undoes bool
	// Isolated is true for a backend where no one outside a unit sees its
	// writes before it ends (PostgreSQL). A backend that undoes without
	// isolating (MongoDB) shows no event of a unit before it ends.
	Isolated bool
}

// RunUnitOfWork checks a UnitOfWork against its port contract. newStores
// returns the backend's stores, fresh or shared (the cases use their own
// ids).
func RunUnitOfWork(t *testing.T, newStores func(t *testing.T) UnitStores) {
	tests := []struct {
		name string
		run  func(t *testing.T, s UnitStores)
	}{
		{"a unit that succeeds stores its change and its events", unitCommits},
		{"a unit that fails leaves its change and its events out, or keeps what its backend documents", unitFails},
		{"a unit called inside a unit joins it", unitNests},
		{"calls made with the outer context are not part of the unit", unitOuterContext},
		{"a unit's writes are seen by others only when it ends, where the backend isolates", unitIsolation},
		{"a grant read in a unit cannot be withdrawn until the unit ends", unitHoldsGrants},
		{"parallel units each store their change with their events", unitParallel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStores(t)) })
	}
}

// unitUser is a new user with a unique email.
func unitUser() domain.User {
	id := uuid.NewString()
	return domain.User{ID: id, Email: id + "@units.example", Status: domain.UserInvited, CreatedAt: epoch, UpdatedAt: epoch}
}

// storedIDs are the ids of the stored events among want's.
func storedIDs(s UnitStores, want ...domain.Event) []string {
	var out []string
	for _, e := range storedOf(s.Stored(), want) {
		out = append(out, e.ID)
	}
	return out
}

func userExists(t *testing.T, s UnitStores, id string) bool {
	t.Helper()
	_, err := s.Users.GetUser(context.Background(), id)
	if errors.Is(err, domain.ErrNotFound) {
		return false
	}
	require.NoError(t, err)
	return true
}

func unitCommits(t *testing.T, s UnitStores) {
	u, e := unitUser(), sampleEvent(domain.EventUserCreated)
	err := s.Units.Atomically(context.Background(), func(ctx context.Context) error {
		if err := s.Users.CreateUser(ctx, u); err != nil {
			return err
		}
		return s.Events.Publish(ctx, e)
	})
	require.NoError(t, err)
	assert.True(t, userExists(t, s, u.ID))
	assert.Equal(t, []string{e.ID}, storedIDs(s, e))
}

var errUnitTest = errors.New("the unit's own failure")

func unitFails(t *testing.T, s UnitStores) {
	u, e := unitUser(), sampleEvent(domain.EventUserCreated)
	err := s.Units.Atomically(context.Background(), func(ctx context.Context) error {
		if err := s.Users.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := s.Events.Publish(ctx, e); err != nil {
			return err
		}
		return errUnitTest
	})
	require.ErrorIs(t, err, errUnitTest, "the unit's error comes back as it is")
	if s.Undoes {
		assert.False(t, userExists(t, s, u.ID), "the change is undone")
		assert.Empty(t, storedIDs(s, e), "and so is its event")
		return
	}
	// What the backend documents: the writes stand, together.
	assert.True(t, userExists(t, s, u.ID))
	assert.Equal(t, []string{e.ID}, storedIDs(s, e))
}

func unitNests(t *testing.T, s UnitStores) {
	outer, inner := unitUser(), unitUser()
	e := sampleEvent(domain.EventUserCreated)
	err := s.Units.Atomically(context.Background(), func(ctx context.Context) error {
		if err := s.Users.CreateUser(ctx, outer); err != nil {
			return err
		}
		if err := s.Units.Atomically(ctx, func(ctx context.Context) error {
			if err := s.Users.CreateUser(ctx, inner); err != nil {
				return err
			}
			return s.Events.Publish(ctx, e)
		}); err != nil {
			return err
		}
		return errUnitTest
	})
	require.ErrorIs(t, err, errUnitTest)
	assert.Equal(t, !s.Undoes, userExists(t, s, inner.ID), "the inner unit's change goes with the outer unit")
	assert.Equal(t, !s.Undoes, userExists(t, s, outer.ID))
	assert.Equal(t, !s.Undoes, len(storedIDs(s, e)) == 1)
}

func unitOuterContext(t *testing.T, s UnitStores) {
	inside, outside := unitUser(), unitUser()
	outer := context.Background()
	err := s.Units.Atomically(outer, func(ctx context.Context) error {
		if err := s.Users.CreateUser(ctx, inside); err != nil {
			return err
		}
		if err := s.Users.CreateUser(outer, outside); err != nil {
			return err
		}
		return errUnitTest
	})
	require.ErrorIs(t, err, errUnitTest)
	assert.True(t, userExists(t, s, outside.ID), "a call with the outer context stands whatever the unit does")
	assert.Equal(t, !s.Undoes, userExists(t, s, inside.ID))
}

func unitIsolation(t *testing.T, s UnitStores) {
	u, e := unitUser(), sampleEvent(domain.EventUserCreated)
	var seenUser bool
	var seenEvents []string
	err := s.Units.Atomically(context.Background(), func(ctx context.Context) error {
		if err := s.Users.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := s.Events.Publish(ctx, e); err != nil {
			return err
		}
		// Read from outside the unit, while it is open. Memory's reads do
		// not wait for units, so this cannot block there.
		seenUser, seenEvents = userExists(t, s, u.ID), storedIDs(s, e)
		return nil
	})
	require.NoError(t, err)
	switch {
	case s.Isolated:
		assert.False(t, seenUser, "an open unit's change is not seen outside it")
		assert.Empty(t, seenEvents, "nor are its events")
	case s.Undoes:
		// MongoDB: the change may be seen early, but it may yet be undone,
		// so no event of it goes out before the unit ends.
		assert.Empty(t, seenEvents, "an open unit's events are not seen outside it")
	default:
		assert.Equal(t, seenUser, len(seenEvents) == 1, "outside the unit, the change and its event are seen alike")
	}
	assert.True(t, userExists(t, s, u.ID))
	assert.Equal(t, []string{e.ID}, storedIDs(s, e))
}

// unitHoldsGrants reads a grant in one unit while another unit withdraws
// it: the withdrawal must wait for the first unit to end, so the grant is
// still there when the first unit reads it again.
func unitHoldsGrants(t *testing.T, s UnitStores) {
	ctx := context.Background()
	org := domain.Organization{ID: uuid.NewString(), Name: "Units", Slug: "units-" + uuid.NewString()[:8], CreatedAt: epoch, UpdatedAt: epoch}
	require.NoError(t, s.Orgs.CreateOrganization(ctx, org))
	clientID := "cca_" + uuid.NewString()
	require.NoError(t, s.Grants.PutClientGrant(ctx, domain.ClientGrant{
		ClientID: clientID, OrganizationID: org.ID, Actions: []string{domain.ActionProvision}, CreatedAt: epoch, UpdatedAt: epoch,
	}))
	read, withdrawn := make(chan struct{}), make(chan error, 1)
	var again []domain.ClientGrant
	go func() {
		<-read
		withdrawn <- s.Units.Atomically(ctx, func(ctx context.Context) error {
			return s.Grants.DeleteClientGrant(ctx, clientID, org.ID)
		})
	}()
	err := s.Units.Atomically(ctx, func(ctx context.Context) error {
		gs, err := s.Grants.ListClientGrants(ctx, clientID)
		if err != nil || len(gs) != 1 {
			return errors.Join(err, errors.New("the grant is not there"))
		}
		select {
		case <-read: // a rerun: the withdrawal has started already
		default:
			close(read)
		}
		// Give the withdrawal every chance to slip in; it must not.
		time.Sleep(150 * time.Millisecond)
		again, err = s.Grants.ListClientGrants(ctx, clientID)
		return err
	})
	require.NoError(t, err)
	assert.Len(t, again, 1, "the grant held until the unit that read it ended")
	require.NoError(t, <-withdrawn, "the withdrawal goes through once the unit ends")
	gs, err := s.Grants.ListClientGrants(ctx, clientID)
	require.NoError(t, err)
	assert.Empty(t, gs)
}

func unitParallel(t *testing.T, s UnitStores) {
	const n = 8
	users, events := make([]domain.User, n), make([]domain.Event, n)
	errs := make(chan error, n)
	for i := range n {
		users[i], events[i] = unitUser(), sampleEvent(domain.EventUserCreated)
		go func() {
			errs <- s.Units.Atomically(context.Background(), func(ctx context.Context) error {
				if err := s.Users.CreateUser(ctx, users[i]); err != nil {
					return err
				}
				return s.Events.Publish(ctx, events[i])
			})
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	want := make([]string, n)
	for i := range n {
		assert.True(t, userExists(t, s, users[i].ID))
		want[i] = events[i].ID
	}
	got := storedIDs(s, events...)
	slices.Sort(got)
	slices.Sort(want)
	assert.Equal(t, want, got)
}
