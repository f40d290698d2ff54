package webhooks_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/webhooks"
)

// An owner's enabled: false dates the disabling by the clock, once: sent
// again it keeps the first time. Enabling clears it. An owner disabling
// one that failures disabled makes it theirs, dated now.
func TestOwnerDisablingIsDatedAndEnablingClearsIt(t *testing.T) {
	w := newLogoutWorld(t, fixedSigner{})
	ctx := context.Background()
	c := &access.Caller{Client: domain.Client{ID: "cca_rp"}}
	start := w.clock.t
	put := func(id string, disabled bool, failures int, disabledAt time.Time) {
		require.NoError(t, w.store.CreateSubscription(ctx, domain.Subscription{
			ID: id, ClientID: "cca_rp", URL: "https://rp.example/hook", Events: []string{domain.EventUserCreated},
			Disabled: disabled, DisabledReason: "3 deliveries in a row failed", DisabledAt: disabledAt,
			ConsecutiveFailures: failures, CreatedAt: start, UpdatedAt: start,
		}))
	}
	update := func(id string, in webhooks.Input) domain.Subscription {
		t.Helper()
		got, err := w.svc.Update(ctx, c, id, in)
		require.NoError(t, err)
		stored, err := w.store.GetSubscription(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, got, stored, "as stored")
		return got
	}
	off, on, note := false, true, "paused for the holidays"
	put("sub-on", false, 0, time.Time{})

	w.clock.t = start.Add(time.Minute)
	got := update("sub-on", webhooks.Input{Enabled: &off})
	assert.True(t, got.Disabled)
	assert.Equal(t, start.Add(time.Minute), got.DisabledAt, "disabled now")

	w.clock.t = start.Add(2 * time.Minute)
	got = update("sub-on", webhooks.Input{Enabled: &off, Description: &note})
	assert.Equal(t, start.Add(time.Minute), got.DisabledAt, "disabled again by its owner, it keeps the first time")
	assert.Equal(t, note, got.Description)

	got = update("sub-on", webhooks.Input{Enabled: &on})
	assert.False(t, got.Disabled)
	assert.True(t, got.DisabledAt.IsZero(), "enabled, it has no time")

	put("sub-failed", true, 3, start)
	w.clock.t = start.Add(3 * time.Minute)
	got = update("sub-failed", webhooks.Input{Enabled: &off})
	assert.Equal(t, "disabled by its owner", got.DisabledReason)
	assert.Equal(t, start.Add(3*time.Minute), got.DisabledAt, "its owner disabled it now")
	assert.False(t, got.DisabledByFailures())

	put("sub-reenabled", true, 3, start)
	got, err := w.svc.Reenable(ctx, c, "sub-reenabled")
	require.NoError(t, err)
	assert.True(t, got.DisabledAt.IsZero(), "re-enabling clears it too")
}
