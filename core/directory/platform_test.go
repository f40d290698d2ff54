package directory_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

func TestPlatformAdminIsGrantedAndRevokedByIDAndByEmail(t *testing.T) {
	f := newFixture(t, domain.ActionProvision)
	u := f.provision(t, "seymour@example.edu").User
	ctx := t.Context()
	before := len(f.events.Events())

	f.clock.Advance(time.Minute)
	granted, err := f.svc.SetPlatformAdmin(ctx, u.ID, true)
	require.NoError(t, err)
	assert.True(t, granted.PlatformAdmin, "the returned account holds the role")
	assert.Equal(t, f.clock.Now(), granted.UpdatedAt, "granting moves UpdatedAt")
	stored, err := f.users.GetUser(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, stored.PlatformAdmin, "the stored account holds the role")

	f.clock.Advance(time.Minute)
	again, err := f.svc.SetPlatformAdmin(ctx, u.ID, true)
	require.NoError(t, err, "granting twice succeeds")
	assert.True(t, again.PlatformAdmin)
	assert.Equal(t, granted.UpdatedAt, again.UpdatedAt, "granting a held role changes nothing")

	revoked, err := f.svc.SetPlatformAdminByEmail(ctx, "  SEYMOUR@Example.EDU ", false)
	require.NoError(t, err, "the email is found in any letter case")
	assert.Equal(t, u.ID, revoked.ID)
	assert.False(t, revoked.PlatformAdmin, "the returned account no longer holds the role")
	stored, err = f.users.GetUser(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, stored.PlatformAdmin, "the stored account no longer holds the role")

	granted, err = f.svc.SetPlatformAdminByEmail(ctx, u.Email, true)
	require.NoError(t, err)
	assert.True(t, granted.PlatformAdmin, "the email grants as the id does")

	assert.Len(t, f.events.Events(), before, "no event names the platform's administrators")
}

func TestPlatformAdminOfAnUnknownAccountIsUserNotFound(t *testing.T) {
	f := newFixture(t)
	for name, id := range map[string]string{
		"an unknown id":       "0b7c8a0e-5f7e-4a53-9a57-2d1e3c0f9a11",
		"an empty id":         "",
		"an id too long":      strings.Repeat("a", 65),
		"an id of bad UTF-8":  "\xff\xfe",
		"an id with a NUL":    "a\x00b",
		"an id with a slash":  "../users",
		"an id of 64 letters": strings.Repeat("b", 64),
	} {
		t.Run(name, func(t *testing.T) {
			for _, on := range []bool{true, false} {
				_, err := f.svc.SetPlatformAdmin(t.Context(), id, on)
				assertUserNotFound(t, err)
			}
		})
	}
	for name, email := range map[string]string{
		"an unknown email":      "nobody@example.edu",
		"an empty email":        "   ",
		"an email too long":     strings.Repeat("a", 250) + "@example.edu",
		"an email of bad UTF-8": "\xff@example.edu",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.svc.SetPlatformAdminByEmail(t.Context(), email, true)
			assertUserNotFound(t, err)
		})
	}
}

func assertUserNotFound(t *testing.T, err error) {
	t.Helper()
	e, ok := fault.As(err)
	require.True(t, ok, "a directory error, got %v", err)
	assert.Equal(t, fault.NotFound, e.Kind)
	assert.Equal(t, "user_not_found", e.Code)
}

func TestAPlatformSuspensionIsOnlyThePlatformsToLift(t *testing.T) {
	f := newFixture(t, domain.ActionProvision, domain.ActionRead, domain.ActionSuspend, domain.ActionDeactivate)
	ctx := t.Context()
	u := f.provision(t, "nelson@example.edu").User
	status := func() (domain.UserStatus, bool) {
		got, err := f.users.GetUser(ctx, u.ID)
		require.NoError(t, err)
		return got.Status, got.PlatformLocked
	}

	_, err := f.svc.AdminSetStatus(ctx, u.ID, directory.Suspend)
	require.NoError(t, err)
	st, locked := status()
	assert.Equal(t, domain.UserSuspended, st)
	assert.True(t, locked, "a platform administrator's suspension locks the account")

	before := len(f.events.Events())
	_, err = f.svc.SetStatus(ctx, f.caller, u.ID, directory.Reactivate)
	require.Error(t, err)
	assert.Equal(t, fault.Forbidden, kindOf(t, err), "the home organization may not lift it")
	e, _ := fault.As(err)
	assert.Equal(t, "platform_locked", e.Code)
	st, locked = status()
	assert.Equal(t, domain.UserSuspended, st, "still suspended")
	assert.True(t, locked)
	assert.Len(t, f.events.Events(), before, "and nothing emitted")

	_, err = f.svc.SetStatus(ctx, f.caller, u.ID, directory.Deactivate)
	require.NoError(t, err, "the organization may still go further")
	st, locked = status()
	assert.Equal(t, domain.UserDeactivated, st)
	assert.True(t, locked, "and the lock stays")

	_, err = f.svc.AdminSetStatus(ctx, u.ID, directory.Reactivate)
	require.NoError(t, err)
	st, locked = status()
	assert.Equal(t, domain.UserInvited, st, "back as it was, invited")
	assert.False(t, locked, "a platform administrator lifts it")

	// The organization suspends first; the platform suspends too, which
	// changes no status but takes the suspension over.
	_, err = f.svc.SetStatus(ctx, f.caller, u.ID, directory.Suspend)
	require.NoError(t, err)
	_, locked = status()
	assert.False(t, locked, "an organization's suspension locks nothing")
	_, err = f.svc.AdminSetStatus(ctx, u.ID, directory.Suspend)
	require.NoError(t, err)
	_, locked = status()
	assert.True(t, locked)
	_, err = f.svc.SetStatus(ctx, f.caller, u.ID, directory.Reactivate)
	assert.Equal(t, fault.Forbidden, kindOf(t, err))
}

// A platform administrator's account is the platform's: the organization
// it is homed in acts on its membership only, through any of its
// directory's doors.
func TestNoOrganizationChangesAPlatformAdministratorsAccount(t *testing.T) {
	f := newFixture(t, domain.ActionProvision, domain.ActionRead, domain.ActionSuspend, domain.ActionDeactivate, domain.ActionDelete, domain.ActionUpdate)
	ctx := t.Context()
	u := f.provision(t, "frink@example.edu").User
	require.Equal(t, f.org.ID, u.HomeOrganizationID, "homed in the school")
	_, err := f.svc.SetPlatformAdmin(ctx, u.ID, true)
	require.NoError(t, err)

	_, err = f.svc.SetStatus(ctx, f.caller, u.ID, directory.Suspend)
	require.NoError(t, err)
	got, err := f.users.GetUser(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.UserInvited, got.Status, "the account is untouched")
	m, err := f.orgs.GetMembership(ctx, f.org.ID, u.ID)
	require.NoError(t, err)
	assert.Equal(t, domain.MembershipSuspended, m.Status, "the school suspends its membership")

	_, err = f.svc.SetStatus(ctx, f.caller, u.ID, directory.Deactivate)
	assert.Equal(t, fault.Forbidden, kindOf(t, err), "deactivating is the account's own")
	taken := "attacker@example.edu"
	_, err = f.svc.UpdateAccount(ctx, f.caller, u.ID, directory.AccountChange{Email: &taken})
	assert.Equal(t, fault.Forbidden, kindOf(t, err), "and so is its email: no takeover through a reset")

	require.NoError(t, f.svc.Deprovision(ctx, directory.OrgCaller(f.org.ID), u.ID, false))
	got, err = f.users.GetUser(ctx, u.ID)
	require.NoError(t, err, "the school's directory deletes no platform administrator")
	assert.True(t, got.PlatformAdmin)
	_, err = f.orgs.GetMembership(ctx, f.org.ID, u.ID)
	assert.ErrorIs(t, err, domain.ErrNotFound, "it lets them go")
}
