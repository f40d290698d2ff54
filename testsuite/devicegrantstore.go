package testsuite

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// RunDeviceGrantStore checks a DeviceGrantStore against its port contract.
// newStore is called once per subtest; the store may hold other grants.
func RunDeviceGrantStore(t *testing.T, newStore func(t *testing.T) ports.DeviceGrantStore) {
	runSubtests(t, newStore, []subtest[ports.DeviceGrantStore]{
		{"a created grant reads back by either code until it expires", deviceGrantReadsBack},
		{"creating a grant whose device or user code is taken fails with ErrAlreadyExists", deviceGrantDuplicate},
		{"reading a missing grant fails with ErrNotFound", deviceGrantMissing},
		{"an update stores what the callback made and keeps the keys and the expiry", deviceGrantUpdate},
		{"an update whose callback fails writes nothing and returns the callback's error", deviceGrantUpdateRefused},
		{"updating a missing grant fails with ErrNotFound", deviceGrantUpdateMissing},
		{"an expired grant still reaches the callback, so a late poll hears expired_token", deviceGrantUpdateExpired},
	})
}

// RunDeviceGrantStoreConcurrency checks that updates of one grant are
// atomic: none is lost, and of concurrent polls of an approved grant
// exactly one redeems it.
func RunDeviceGrantStoreConcurrency(t *testing.T, newStore func(t *testing.T) ports.DeviceGrantStore) {
	runSubtests(t, newStore, []subtest[ports.DeviceGrantStore]{
		{"concurrent updates of one grant lose none", deviceGrantConcurrentUpdates},
		{"of concurrent polls of an approved grant exactly one redeems it", deviceGrantConcurrentRedeem},
	})
}

func sampleDeviceGrant() domain.DeviceGrant {
	return domain.DeviceGrant{
		DeviceCodeHash: uniqueHash(),
		UserCodeHash:   uniqueHash(),
		ClientID:       uniqueID(domain.ClientIDPrefix),
		Scopes:         []string{domain.ScopeOpenID, domain.ScopeProfile},
		Status:         domain.DevicePending,
		Interval:       5 * time.Second,
		CreatedAt:      epoch,
		ExpiresAt:      epoch.Add(10 * time.Minute),
	}
}

func createDeviceGrant(t *testing.T, s ports.DeviceGrantStore) domain.DeviceGrant {
	t.Helper()
	g := sampleDeviceGrant()
	require.NoError(t, s.CreateDeviceGrant(t.Context(), g))
	return g
}

func deviceGrantReadsBack(t *testing.T, s ports.DeviceGrantStore) {
	g := createDeviceGrant(t, s)
	before := g.ExpiresAt.Add(-time.Second)
	got, err := s.GetDeviceGrant(t.Context(), g.DeviceCodeHash, before)
	require.NoError(t, err, "by device code, a second before expiry")
	assertSame(t, g, got)
	got, err = s.GetDeviceGrantByUserCode(t.Context(), g.UserCodeHash, before)
	require.NoError(t, err, "by user code, a second before expiry")
	assertSame(t, g, got)
	_, err = s.GetDeviceGrant(t.Context(), g.DeviceCodeHash, g.ExpiresAt)
	require.ErrorIs(t, err, domain.ErrNotFound, "by device code at expiry")
	_, err = s.GetDeviceGrantByUserCode(t.Context(), g.UserCodeHash, g.ExpiresAt)
	require.ErrorIs(t, err, domain.ErrNotFound, "by user code at expiry")
}

func deviceGrantDuplicate(t *testing.T, s ports.DeviceGrantStore) {
	g := createDeviceGrant(t, s)
	sameDevice := sampleDeviceGrant()
	sameDevice.DeviceCodeHash = g.DeviceCodeHash
	require.ErrorIs(t, s.CreateDeviceGrant(t.Context(), sameDevice), domain.ErrAlreadyExists, "the device code")
	sameUser := sampleDeviceGrant()
	sameUser.UserCodeHash = g.UserCodeHash
	require.ErrorIs(t, s.CreateDeviceGrant(t.Context(), sameUser), domain.ErrAlreadyExists, "the user code")
	got, err := s.GetDeviceGrantByUserCode(t.Context(), g.UserCodeHash, epoch)
	require.NoError(t, err)
	assertSame(t, g, got, "the first grant is kept")
}

func deviceGrantMissing(t *testing.T, s ports.DeviceGrantStore) {
	_, err := s.GetDeviceGrant(t.Context(), uniqueHash(), epoch)
	require.ErrorIs(t, err, domain.ErrNotFound, "by device code")
	_, err = s.GetDeviceGrantByUserCode(t.Context(), uniqueHash(), epoch)
	require.ErrorIs(t, err, domain.ErrNotFound, "by user code")
}

// approve is what the approval page stores.
func approve(g *domain.DeviceGrant) {
	g.Status = domain.DeviceApproved
	g.UserID, g.AuthTime, g.SessionID = uuid.NewString(), epoch.Add(time.Minute), uuid.NewString()
	g.AMR, g.GrantID = []string{"pwd"}, uuid.NewString()
}

func deviceGrantUpdate(t *testing.T, s ports.DeviceGrantStore) {
	g := createDeviceGrant(t, s)
	var want domain.DeviceGrant
	updated, err := s.UpdateDeviceGrant(t.Context(), g.DeviceCodeHash, func(x *domain.DeviceGrant) error {
		assertSame(t, g, *x, "the callback gets the stored grant")
		approve(x)
		want = *x
		// The keys and the expiry are not the callback's to change.
		x.DeviceCodeHash, x.UserCodeHash, x.ExpiresAt = uniqueHash(), uniqueHash(), epoch.Add(time.Hour)
		return nil
	})
	require.NoError(t, err)
	assertSame(t, want, updated, "the update returns the stored grant")
	got, err := s.GetDeviceGrant(t.Context(), g.DeviceCodeHash, epoch)
	require.NoError(t, err)
	assertSame(t, want, got, "a read by device code sees the update")
	got, err = s.GetDeviceGrantByUserCode(t.Context(), g.UserCodeHash, epoch)
	require.NoError(t, err)
	assertSame(t, want, got, "a read by user code sees the update")
}

func deviceGrantUpdateRefused(t *testing.T, s ports.DeviceGrantStore) {
	g := createDeviceGrant(t, s)
	_, err := s.UpdateDeviceGrant(t.Context(), g.DeviceCodeHash, func(x *domain.DeviceGrant) error {
		approve(x)
		x.Scopes[0] = "tampered"
		return errRefused
	})
	require.ErrorIs(t, err, errRefused)
	got, err := s.GetDeviceGrant(t.Context(), g.DeviceCodeHash, epoch)
	require.NoError(t, err)
	assertSame(t, g, got)
}

func deviceGrantUpdateMissing(t *testing.T, s ports.DeviceGrantStore) {
	called := false
	_, err := s.UpdateDeviceGrant(t.Context(), uniqueHash(), func(*domain.DeviceGrant) error {
		called = true
		return nil
	})
	require.ErrorIs(t, err, domain.ErrNotFound)
	assert.False(t, called, "the callback never runs")
}

func deviceGrantUpdateExpired(t *testing.T, s ports.DeviceGrantStore) {
	g := createDeviceGrant(t, s)
	lateBy := 30 * time.Second // within the minute the contract keeps it
	var seen domain.DevicePoll = -1
	_, err := s.UpdateDeviceGrant(t.Context(), g.DeviceCodeHash, func(x *domain.DeviceGrant) error {
		seen = x.Poll(g.ExpiresAt.Add(lateBy))
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, domain.PollExpired, seen)
}

var errUsedInTest = errors.New("the grant was redeemed by another poll")

func deviceGrantConcurrentUpdates(t *testing.T, s ports.DeviceGrantStore) {
	g := createDeviceGrant(t, s)
	errs := make([]error, contenders)
	race(contenders, func(i int) {
		_, errs[i] = s.UpdateDeviceGrant(t.Context(), g.DeviceCodeHash, func(x *domain.DeviceGrant) error {
			x.Interval += time.Second
			return nil
		})
	})
	ok, _ := countErrors(errs, nil)
	require.Equal(t, contenders, ok, "every update succeeds")
	got, err := s.GetDeviceGrant(t.Context(), g.DeviceCodeHash, epoch)
	require.NoError(t, err)
	assert.Equal(t, g.Interval+contenders*time.Second, got.Interval)
}

func deviceGrantConcurrentRedeem(t *testing.T, s ports.DeviceGrantStore) {
	g := createDeviceGrant(t, s)
	_, err := s.UpdateDeviceGrant(t.Context(), g.DeviceCodeHash, func(x *domain.DeviceGrant) error {
		approve(x)
		return nil
	})
	require.NoError(t, err)
	errs := make([]error, contenders)
	race(contenders, func(i int) {
		_, errs[i] = s.UpdateDeviceGrant(t.Context(), g.DeviceCodeHash, func(x *domain.DeviceGrant) error {
			if x.Poll(epoch.Add(time.Minute)) != domain.PollIssue {
				return errUsedInTest
			}
			return nil
		})
	})
	ok, used := countErrors(errs, errUsedInTest)
	assert.Equal(t, 1, ok, "exactly one poll redeems the grant")
	assert.Equal(t, contenders-1, used, "every other poll finds it used: %v", errs)
	got, err := s.GetDeviceGrant(t.Context(), g.DeviceCodeHash, epoch)
	require.NoError(t, err)
	assert.Equal(t, domain.DeviceRedeemed, got.Status)
}
