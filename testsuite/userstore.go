package testsuite

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// RunUserStore checks a UserStore against its port contract, including that
// parallel creates of one email, in any letter case, make exactly one user.
// newStore is called once per subtest; the store may hold other users.
func RunUserStore(t *testing.T, newStore func(t *testing.T) ports.UserStore) {
	runSubtests(t, newStore, []subtest[ports.UserStore]{
		{"a created user reads back by id and by email in any letter case", userReadsBack},
		{"creating a user whose id is taken fails with ErrAlreadyExists", userDuplicateID},
		{"creating a user whose email differs only in letter case fails with ErrAlreadyExists", userDuplicateEmail},
		{"reading a missing user by id or by email fails with ErrNotFound", userMissing},
		{"an update stores what the callback made and moves the email lookup", userUpdate},
		{"the platform administrator flag is stored by a create and by updates either way", userPlatformAdmin},
		{"the platform lock is stored by a create and by updates either way", userPlatformLocked},
		{"an update may change the letter case of the user's own email", userUpdateOwnEmailCase},
		{"an update to an email another user holds fails with ErrAlreadyExists and writes nothing", userUpdateTakenEmail},
		{"an update whose callback fails writes nothing and returns the callback's error", userUpdateRefused},
		{"updating a missing user fails with ErrNotFound", userUpdateMissing},
		{"concurrent updates of one user lose none", userConcurrentUpdates},
		{"of parallel creates of one email in different letter case exactly one succeeds", userParallelCreates},
	})
}

// uniqueLocalPart starts with five letters, so that caseVariant can spell it
// in 32 different ways.
func uniqueLocalPart() string { return "casey." + strings.ReplaceAll(uuid.NewString(), "-", "") }

// caseVariant upper-cases letter j of the first five of local when bit j of i is set.
func caseVariant(local string, i int) string {
	b := []byte(local)
	for j := range 5 {
		if i>>j&1 == 1 {
			b[j] = strings.ToUpper(string(b[j]))[0]
		}
	}
	return string(b)
}

func sampleUser() domain.User {
	return domain.User{
		ID:            uuid.NewString(),
		Email:         uniqueLocalPart() + "@example.com",
		EmailVerified: true,
		GivenName:     "Casey",
		FamilyName:    "Jones",
		Picture:       "https://cdn.example.com/casey.png",
		PhoneNumber:   "+15551234567",
		PasswordHash:  "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
		Status:        domain.UserActive,
		// No organization need exist: the user store keeps the id as given.
		HomeOrganizationID: uuid.NewString(),
		NotBefore:          epoch.Add(-time.Hour),
		CreatedAt:          epoch,
		UpdatedAt:          epoch,
	}
}

func createUser(t *testing.T, s ports.UserStore) domain.User {
	t.Helper()
	u := sampleUser()
	require.NoError(t, s.CreateUser(t.Context(), u))
	return u
}

func userReadsBack(t *testing.T, s ports.UserStore) {
	u := createUser(t, s)
	got, err := s.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	assertSame(t, u, got, "by id")
	for _, email := range []string{u.Email, strings.ToUpper(u.Email), caseVariant(u.Email, 21)} {
		got, err := s.GetUserByEmail(t.Context(), email)
		require.NoError(t, err, email)
		assertSame(t, u, got, "by email %s", email)
	}
}

func userDuplicateID(t *testing.T, s ports.UserStore) {
	u := createUser(t, s)
	other := sampleUser()
	other.ID = u.ID
	require.ErrorIs(t, s.CreateUser(t.Context(), other), domain.ErrAlreadyExists)
	_, err := s.GetUserByEmail(t.Context(), other.Email)
	require.ErrorIs(t, err, domain.ErrNotFound, "the rejected user's email is not taken")
}

func userDuplicateEmail(t *testing.T, s ports.UserStore) {
	u := createUser(t, s)
	other := sampleUser()
	other.Email = strings.ToUpper(u.Email)
	require.ErrorIs(t, s.CreateUser(t.Context(), other), domain.ErrAlreadyExists)
	_, err := s.GetUser(t.Context(), other.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "the rejected user was not stored")
	got, err := s.GetUserByEmail(t.Context(), u.Email)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID, "the email still finds the first user")
}

func userMissing(t *testing.T, s ports.UserStore) {
	_, err := s.GetUser(t.Context(), uuid.NewString())
	require.ErrorIs(t, err, domain.ErrNotFound, "by id")
	_, err = s.GetUserByEmail(t.Context(), uniqueLocalPart()+"@example.com")
	require.ErrorIs(t, err, domain.ErrNotFound, "by email")
}

func userUpdate(t *testing.T, s ports.UserStore) {
	u := createUser(t, s)
	newEmail := uniqueLocalPart() + "@example.org"
	updated, err := s.UpdateUser(t.Context(), u.ID, func(u *domain.User) error {
		u.Email, u.Status, u.UpdatedAt = newEmail, domain.UserSuspended, epoch.Add(time.Hour)
		return nil
	})
	require.NoError(t, err)
	want := u
	want.Email, want.Status, want.UpdatedAt = newEmail, domain.UserSuspended, epoch.Add(time.Hour)
	assertSame(t, want, updated, "the update returns the stored user")

	got, err := s.GetUserByEmail(t.Context(), strings.ToUpper(newEmail))
	require.NoError(t, err)
	assertSame(t, want, got, "the new email finds the user")
	_, err = s.GetUserByEmail(t.Context(), u.Email)
	require.ErrorIs(t, err, domain.ErrNotFound, "the old email finds nobody")
}

func userPlatformAdmin(t *testing.T, s ports.UserStore) {
	u := sampleUser()
	u.PlatformAdmin = true
	require.NoError(t, s.CreateUser(t.Context(), u))
	got, err := s.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	assertSame(t, u, got, "a created administrator reads back as one by id")
	got, err = s.GetUserByEmail(t.Context(), u.Email)
	require.NoError(t, err)
	assertSame(t, u, got, "a created administrator reads back as one by email")

	for _, on := range []bool{false, true} {
		updated, err := s.UpdateUser(t.Context(), u.ID, func(u *domain.User) error {
			u.PlatformAdmin = on
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, on, updated.PlatformAdmin, "the update returns the flag it set (%v)", on)
		got, err := s.GetUser(t.Context(), u.ID)
		require.NoError(t, err)
		want := u
		want.PlatformAdmin = on
		assertSame(t, want, got, "the flag set to %v reads back", on)
	}
}

func userPlatformLocked(t *testing.T, s ports.UserStore) {
	u := sampleUser()
	u.Status, u.PlatformLocked = domain.UserSuspended, true
	require.NoError(t, s.CreateUser(t.Context(), u))
	got, err := s.GetUserByEmail(t.Context(), u.Email)
	require.NoError(t, err)
	assertSame(t, u, got, "a created lock reads back")
	for _, on := range []bool{false, true} {
		updated, err := s.UpdateUser(t.Context(), u.ID, func(u *domain.User) error {
			u.PlatformLocked = on
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, on, updated.PlatformLocked, "the update returns the lock it set (%v)", on)
		got, err := s.GetUser(t.Context(), u.ID)
		require.NoError(t, err)
		want := u
		want.PlatformLocked = on
		assertSame(t, want, got, "the lock set to %v reads back", on)
	}
}

func userUpdateOwnEmailCase(t *testing.T, s ports.UserStore) {
	u := createUser(t, s)
	upper := strings.ToUpper(u.Email)
	_, err := s.UpdateUser(t.Context(), u.ID, func(u *domain.User) error {
		u.Email = upper
		return nil
	})
	require.NoError(t, err)
	got, err := s.GetUserByEmail(t.Context(), u.Email)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
	assert.Equal(t, upper, got.Email)
}

func userUpdateTakenEmail(t *testing.T, s ports.UserStore) {
	first, second := createUser(t, s), createUser(t, s)
	_, err := s.UpdateUser(t.Context(), second.ID, func(u *domain.User) error {
		u.Email, u.GivenName = strings.ToUpper(first.Email), "Taken"
		return nil
	})
	require.ErrorIs(t, err, domain.ErrAlreadyExists)
	got, err := s.GetUser(t.Context(), second.ID)
	require.NoError(t, err)
	assertSame(t, second, got, "the second user is unchanged")
	got, err = s.GetUserByEmail(t.Context(), first.Email)
	require.NoError(t, err)
	assert.Equal(t, first.ID, got.ID, "the email still finds the first user")
}

func userUpdateRefused(t *testing.T, s ports.UserStore) {
	u := createUser(t, s)
	_, err := s.UpdateUser(t.Context(), u.ID, func(u *domain.User) error {
		u.Status, u.Email = domain.UserDeactivated, uniqueLocalPart()+"@example.com"
		return errRefused
	})
	require.ErrorIs(t, err, errRefused)
	got, err := s.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	assertSame(t, u, got)
	_, err = s.GetUserByEmail(t.Context(), u.Email)
	require.NoError(t, err, "the email still finds the user")
}

func userUpdateMissing(t *testing.T, s ports.UserStore) {
	_, err := s.UpdateUser(t.Context(), uuid.NewString(), func(*domain.User) error { return nil })
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func userConcurrentUpdates(t *testing.T, s ports.UserStore) {
	u := createUser(t, s)
	errs := make([]error, contenders)
	race(contenders, func(i int) {
		_, errs[i] = s.UpdateUser(t.Context(), u.ID, func(u *domain.User) error {
			u.FamilyName += "x"
			return nil
		})
	})
	ok, _ := countErrors(errs, nil)
	require.Equal(t, contenders, ok, "every update succeeds")
	got, err := s.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.FamilyName+strings.Repeat("x", contenders), got.FamilyName)
}

func userParallelCreates(t *testing.T, s ports.UserStore) {
	local := uniqueLocalPart()
	users := make([]domain.User, contenders)
	errs := make([]error, contenders)
	for i := range users {
		users[i] = sampleUser()
		users[i].Email = caseVariant(local, i) + "@example.com"
	}
	race(contenders, func(i int) { errs[i] = s.CreateUser(t.Context(), users[i]) })

	ok, taken := countErrors(errs, domain.ErrAlreadyExists)
	require.Equal(t, 1, ok, "exactly one create succeeds")
	require.Equal(t, contenders-1, taken, "every other create fails with ErrAlreadyExists")
	winner := users[slices.IndexFunc(errs, func(err error) bool { return err == nil })]
	got, err := s.GetUserByEmail(t.Context(), local+"@example.com")
	require.NoError(t, err)
	assert.Equal(t, winner.ID, got.ID, "the email finds the user that was created")
}
