package mongo_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// unitUser is a new user with a unique email.
func unitUser(name string) domain.User {
	id := uuid.NewString()
	at := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	return domain.User{ID: id, Email: id + "@units.example", GivenName: name, Status: domain.UserActive, CreatedAt: at, UpdatedAt: at}
}

func unitEvent() domain.Event {
	return domain.Event{ID: "evt_" + uuid.NewString(), Type: domain.EventUserUpdated, OccurredAt: time.Now().UTC().Truncate(time.Millisecond)}
}

// countEvent is how many times the outbox holds the event id.
func countEvent(t *testing.T, o *mongoadapter.EventOutbox, id string) int {
	t.Helper()
	events, err := o.Events(context.Background())
	require.NoError(t, err)
	n := 0
	for _, e := range events {
		if e.ID == id {
			n++
		}
	}
	return n
}

func getUser(t *testing.T, users *mongoadapter.UserStore, id string) (domain.User, bool) {
	t.Helper()
	u, err := users.GetUser(context.Background(), id)
	if errors.Is(err, domain.ErrNotFound) {
		return domain.User{}, false
	}
	require.NoError(t, err)
	return u, true
}

// A process killed in the middle of a unit leaves its writes visible and
// its events unpublished. The next unit, here another instance's, waits
// for the dead unit's lease to run out and undoes it first: the user it
// created is gone, the one it renamed has its name back, the one it
// deleted is back, and its event never reaches the outbox.
func TestAUnitACrashLeftOpenIsUndoneByTheNext(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	ctx := t.Context()
	users, dir, outbox := mongoadapter.NewUserStore(db), mongoadapter.NewDirectoryStore(db), mongoadapter.NewEventOutbox(db)
	renamed, deleted, created := unitUser("Before"), unitUser("Kept"), unitUser("New")
	require.NoError(t, users.CreateUser(ctx, renamed))
	require.NoError(t, users.CreateUser(ctx, deleted))
	e := unitEvent()

	killed := mongoadapter.NewUnits(db, nil)
	require.NoError(t, mongoadapter.CrashUnitForTest(ctx, killed, false, func(ctx context.Context) error {
		if err := users.CreateUser(ctx, created); err != nil {
			return err
		}
		if _, err := users.UpdateUser(ctx, renamed.ID, func(u *domain.User) error { u.GivenName = "After"; return nil }); err != nil {
			return err
		}
		if err := dir.DeleteUser(ctx, deleted.ID); err != nil {
			return err
		}
		return outbox.Publish(ctx, e)
	}))
	_, ok := getUser(t, users, created.ID)
	require.True(t, ok, "the dead unit's writes are seen until it is undone")
	require.Zero(t, countEvent(t, outbox, e.ID), "its events are not")

	started := time.Now()
	require.NoError(t, mongoadapter.NewUnits(db, nil).Atomically(ctx, func(context.Context) error { return nil }))
	assert.Less(t, time.Since(started), mongoadapter.UnitLeaseForTest+5*time.Second, "the next unit waits for the dead one's lease, no longer")

	_, ok = getUser(t, users, created.ID)
	assert.False(t, ok, "the user the dead unit created is gone")
	got, ok := getUser(t, users, renamed.ID)
	require.True(t, ok)
	assert.Equal(t, "Before", got.GivenName, "the user it renamed has their name back")
	_, ok = getUser(t, users, deleted.ID)
	assert.True(t, ok, "the user it deleted is back")
	assert.Zero(t, countEvent(t, outbox, e.ID), "and its event never reaches the outbox")
	// The user it renamed can be changed again, from the restored revision.
	_, err := users.UpdateUser(ctx, renamed.ID, func(u *domain.User) error { u.GivenName = "Again"; return nil })
	require.NoError(t, err)
}

// A process killed right after its unit committed leaves the events with
// the unit. Recovery (run by every instance while no unit starts)
// publishes them, once: running it again, or another unit, adds nothing.
func TestAUnitACrashLeftCommittedHasItsEventsPublishedOnce(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	ctx := t.Context()
	users, outbox := mongoadapter.NewUserStore(db), mongoadapter.NewEventOutbox(db)
	created, e := unitUser("New"), unitEvent()
	require.NoError(t, mongoadapter.CrashUnitForTest(ctx, mongoadapter.NewUnits(db, nil), true, func(ctx context.Context) error {
		if err := users.CreateUser(ctx, created); err != nil {
			return err
		}
		return outbox.Publish(ctx, e)
	}))
	require.Zero(t, countEvent(t, outbox, e.ID))

	other := mongoadapter.NewUnits(db, nil)
	require.Eventually(t, func() bool {
		require.NoError(t, other.Recover(ctx))
		return countEvent(t, outbox, e.ID) > 0
	}, mongoadapter.UnitLeaseForTest+10*time.Second, 100*time.Millisecond, "recovery publishes the committed unit's events")
	require.NoError(t, other.Recover(ctx))
	require.NoError(t, other.Atomically(ctx, func(context.Context) error { return nil }))
	assert.Equal(t, 1, countEvent(t, outbox, e.ID), "once")
	_, ok := getUser(t, users, created.ID)
	assert.True(t, ok, "and the change stands")
}

// Units of two instances on one database run one at a time: each unit
// reads a counter, waits a moment and writes it plus one, which loses
// updates unless no other unit runs in between. Both instances get their
// turns.
func TestUnitsOfTwoInstancesRunOneAtATime(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	ctx := t.Context()
	users := mongoadapter.NewUserStore(db)
	counter := unitUser("0")
	require.NoError(t, users.CreateUser(ctx, counter))
	const perInstance = 15
	var wg sync.WaitGroup
	errs := make(chan error, 4*perInstance)
	for range 2 {
		units := mongoadapter.NewUnits(db, nil)
		for range 2 { // two goroutines per instance
			wg.Go(func() {
				for range (perInstance + 1) / 2 {
					errs <- units.Atomically(ctx, func(ctx context.Context) error {
						u, err := users.GetUser(ctx, counter.ID)
						if err != nil {
							return err
						}
						n, _ := strconv.Atoi(u.GivenName)
						time.Sleep(2 * time.Millisecond)
						_, err = users.UpdateUser(ctx, counter.ID, func(u *domain.User) error {
							u.GivenName = strconv.Itoa(n + 1)
							return nil
						})
						return err
					})
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	total := 0
	for err := range errs {
		require.NoError(t, err)
		total++
	}
	got, _ := getUser(t, users, counter.ID)
	assert.Equal(t, strconv.Itoa(total), got.GivenName, "no unit's update was lost")
}

var errUnitFails = errors.New("the unit fails")

// An upsert in a unit gets its _id before it is sent, and is journalled as
// absent under it: a failed unit that assigned a license (an upsert) leaves
// no license behind, whether it then revoked the license or assigned it
// again (the second write finds the unit's own document, which the journal
// already holds as absent).
func TestAnUndoneUnitLeavesNoDocumentItUpserted(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	ctx := t.Context()
	users, dir := mongoadapter.NewUserStore(db), mongoadapter.NewDirectoryStore(db)
	for name, then := range map[string]func(ctx context.Context, l domain.License) error{
		"then revoked": func(ctx context.Context, l domain.License) error { return dir.RevokeLicense(ctx, l.ClientID, l.UserID) },
		"then assigned again": func(ctx context.Context, l domain.License) error {
			_, err := dir.AssignLicense(ctx, l)
			return err
		},
	} {
		u := unitUser(name)
		require.NoError(t, users.CreateUser(ctx, u))
		l := domain.License{ClientID: "cca_upserted", UserID: u.ID, AssignedAt: time.Now().UTC().Truncate(time.Millisecond)}
		err := mongoadapter.NewUnits(db, nil).Atomically(ctx, func(ctx context.Context) error {
			if _, err := dir.AssignLicense(ctx, l); err != nil {
				return err
			}
			if err := then(ctx, l); err != nil {
				return err
			}
			return errUnitFails
		})
		require.ErrorIs(t, err, errUnitFails, name)
		has, err := dir.HasLicense(ctx, l.ClientID, l.UserID)
		require.NoError(t, err)
		assert.False(t, has, "assigned, %s, undone: no license", name)
	}
}

// A unit that moves a unique key from one document to another (an email)
// is undone whole: the undo deletes what the unit touched before it puts
// back what was there, so the two users get their own emails back.
func TestAnUndoneUnitGivesBackUniqueKeysItMoved(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	ctx := t.Context()
	users := mongoadapter.NewUserStore(db)
	a, b := unitUser("A"), unitUser("B")
	require.NoError(t, users.CreateUser(ctx, a))
	require.NoError(t, users.CreateUser(ctx, b))
	fresh := "fresh-" + a.Email
	err := mongoadapter.NewUnits(db, nil).Atomically(ctx, func(ctx context.Context) error {
		if _, err := users.UpdateUser(ctx, a.ID, func(u *domain.User) error { u.Email = fresh; return nil }); err != nil {
			return err
		}
		if _, err := users.UpdateUser(ctx, b.ID, func(u *domain.User) error { u.Email = a.Email; return nil }); err != nil {
			return err
		}
		return errUnitFails
	})
	require.ErrorIs(t, err, errUnitFails)
	gotA, _ := getUser(t, users, a.ID)
	gotB, _ := getUser(t, users, b.ID)
	assert.Equal(t, b.Email, gotB.Email, "B has its email back")
	assert.Equal(t, a.Email, gotA.Email, "A has its email back")
	// FerretDB reports a unique violation on an update as "UNIQUE
	// constraint failed", not as a duplicate key; whatever the undo met,
	// it ends, and the next unit runs.
	require.NoError(t, mongoadapter.NewUnits(db, nil).Atomically(ctx, func(context.Context) error { return nil }))
}

// A unit whose lease ran out (its process stalled, or the database was too
// slow) writes nothing more, and its caller hears of an outage (a 503),
// not of a fault; the next unit undoes what it wrote before.
func TestAUnitPastItsLeaseIsAnOutage(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	ctx := t.Context()
	users := mongoadapter.NewUserStore(db)
	before, after := unitUser("Before"), unitUser("After")
	err := mongoadapter.NewUnits(db, nil).Atomically(ctx, func(ctx context.Context) error {
		if err := users.CreateUser(ctx, before); err != nil {
			return err
		}
		mongoadapter.ExpireUnitForTest(ctx)
		return users.CreateUser(ctx, after)
	})
	require.ErrorIs(t, err, domain.ErrUnavailable)
	_, ok := getUser(t, users, after.ID)
	assert.False(t, ok, "the write past the lease was not made")
	require.NoError(t, mongoadapter.NewUnits(db, nil).Atomically(ctx, func(context.Context) error { return nil }))
	_, ok = getUser(t, users, before.ID)
	assert.False(t, ok, "the next unit undid the write made before")
}

// Revoking a user's refresh families for one app writes through the
// collection wrapper, so it joins a unit: a unit that fails after it gives
// the families back unrevoked, as it would for RevokeUserRefreshFamilies.
func TestAnUndoneUnitGivesBackTheFamiliesItRevokedForAnApp(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	ctx := t.Context()
	grants := mongoadapter.NewGrantStore(db)
	at := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	f := domain.RefreshFamily{
		ID: uuid.NewString(), ClientID: "cca_" + uuid.NewString(), UserID: uuid.NewString(),
		CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour),
	}
	require.NoError(t, grants.CreateRefreshFamily(ctx, f, domain.RefreshToken{Hash: []byte(uuid.NewString()), FamilyID: f.ID, CreatedAt: at}))
	err := mongoadapter.NewUnits(db, nil).Atomically(ctx, func(ctx context.Context) error {
		if _, err := grants.RevokeUserClientRefreshFamilies(ctx, f.UserID, f.ClientID, at.Add(time.Hour)); err != nil {
			return err
		}
		got, err := grants.GetRefreshFamily(ctx, f.ID)
		require.NoError(t, err)
		require.False(t, got.RevokedAt.IsZero(), "revoked within the unit")
		return errUnitFails
	})
	require.ErrorIs(t, err, errUnitFails)
	got, err := grants.GetRefreshFamily(ctx, f.ID)
	require.NoError(t, err)
	assert.True(t, got.RevokedAt.IsZero(), "the failed unit's revocation is undone")
}
