package app_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/calimatic/calimatic-auth/adapters/memory"
	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/app"
	"github.com/calimatic/calimatic-auth/app/config"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

// TestSeedMakesTheDemoUserAPlatformAdministratorAndOwner: the developer
// signing in to the console as the demo user sees every part of it, and
// running the seed again (each start) restores that without duplicating
// anything, while the load-test users stay plain members.
func TestSeedMakesTheDemoUserAPlatformAdministratorAndOwner(t *testing.T) {
	ctx := t.Context()
	users, orgs := memory.NewUserStore(), memory.NewOrganizationStore()
	dev := config.Dev{SeedEmail: seedEmail, SeedPassword: seedPassword, SeedUsers: 2}
	first, err := app.Seed(ctx, dev, users, orgs, system.NewClock(), system.NewRandom())
	require.NoError(t, err)

	check := func(s app.Seeded) {
		t.Helper()
		u, err := users.GetUserByEmail(ctx, seedEmail)
		require.NoError(t, err)
		assert.Equal(t, first.User.ID, u.ID, "one demo user")
		assert.True(t, u.PlatformAdmin, "the demo user is a platform administrator")
		assert.True(t, s.User.PlatformAdmin, "the seed reports it so")
		ms, err := orgs.ListUserMemberships(ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, ms, 1, "one membership")
		assert.Equal(t, first.Organization.ID, ms[0].OrganizationID)
		assert.Equal(t, domain.RoleOwner, ms[0].Role, "the demo user owns the demo school")
		for i := range dev.SeedUsers {
			lu, err := users.GetUserByEmail(ctx, app.LoadUserEmail(seedEmail, i))
			require.NoError(t, err)
			assert.False(t, lu.PlatformAdmin, "load user %d is no platform administrator", i)
			lms, err := orgs.ListUserMemberships(ctx, lu.ID)
			require.NoError(t, err)
			require.Len(t, lms, 1)
			assert.Equal(t, domain.RoleMember, lms[0].Role, "load user %d is a member", i)
		}
	}
	check(first)

	// An earlier seed, or a hand, demoted the demo user: the next run
	// restores the role and the ownership.
	_, err = users.UpdateUser(ctx, first.User.ID, func(u *domain.User) error { u.PlatformAdmin = false; return nil })
	require.NoError(t, err)
	require.NoError(t, orgs.PutMembership(ctx, domain.Membership{OrganizationID: first.Organization.ID,
		UserID: first.User.ID, Role: domain.RoleMember, Status: domain.MembershipActive, Primary: true}))
	again, err := app.Seed(ctx, dev, users, orgs, system.NewClock(), system.NewRandom())
	require.NoError(t, err)
	assert.Equal(t, first.Organization.ID, again.Organization.ID, "one demo school")
	check(again)
}

// TestSeedBannerNamesTheConsole: the banner the developer reads at start
// gives the console's address next to the issuer.
func TestSeedBannerNamesTheConsole(t *testing.T) {
	cfg := config.Default()
	cfg.Issuer = "http://127.0.0.1:18080"
	cfg.Dev.SeedEmail, cfg.Dev.SeedPassword, cfg.Dev.SeedAdminKey = seedEmail, seedPassword, seedAdminKey
	require.True(t, cfg.SeedEnabled(), "the memory driver seeds by default")
	opts, err := app.Options(cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	var banner bytes.Buffer
	var users ports.UserStore
	// The seed is an fx.Invoke: building the graph runs it; nothing
	// needs to start.
	fxApp := fx.New(opts, fx.NopLogger,
		fx.Supply(fx.Annotate(io.Writer(&banner), fx.As(new(io.Writer)), fx.ResultTags(`name:"banner"`))),
		fx.Populate(&users))
	require.NoError(t, fxApp.Err())
	assert.Contains(t, banner.String(), fmt.Sprintf("Console      : %s/console\n", cfg.Issuer))
	assert.Contains(t, banner.String(), fmt.Sprintf("Issuer       : %s\n", cfg.Issuer))
	assert.Contains(t, banner.String(), "Demo user    : "+seedEmail)
	u, err := users.GetUserByEmail(t.Context(), seedEmail)
	require.NoError(t, err)
	assert.True(t, u.PlatformAdmin, "the started server's demo user is a platform administrator")
}
