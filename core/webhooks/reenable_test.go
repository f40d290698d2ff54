package webhooks_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/webhooks"
)

// Reenable lifts only a disabling that failures made, in the same step as
// the check: a subscription its owner disabled, or an enabled one, is
// left as it is.
func TestReenableLiftsOnlyAFailuresDisabling(t *testing.T) {
	w := newLogoutWorld(t, fixedSigner{})
	ctx := context.Background()
	c := &access.Caller{Client: domain.Client{ID: "cca_rp"}}
	put := func(id string, disabled bool, failures int) {
		require.NoError(t, w.store.CreateSubscription(ctx, domain.Subscription{
			ID: id, ClientID: "cca_rp", URL: "https://rp.example/hook", Events: []string{domain.EventUserCreated},
			Disabled: disabled, DisabledReason: "why", ConsecutiveFailures: failures, CreatedAt: w.clock.t, UpdatedAt: w.clock.t,
		}))
	}
	put("sub-failed", true, 12)
	put("sub-owner", true, 0)
	put("sub-on", false, 2)

	got, err := w.svc.Reenable(ctx, c, "sub-failed")
	require.NoError(t, err)
	assert.False(t, got.Disabled)
	assert.Zero(t, got.ConsecutiveFailures, "the streak starts again")
	assert.Empty(t, got.DisabledReason)

	for _, id := range []string{"sub-owner", "sub-on", "sub-failed"} {
		before, err := w.store.GetSubscription(ctx, id)
		require.NoError(t, err)
		_, err = w.svc.Reenable(ctx, c, id)
		require.ErrorIs(t, err, webhooks.ErrNotDisabledByFailures, id)
		after, err := w.store.GetSubscription(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, before, after, "%s is left as it was", id)
	}

	other := &access.Caller{Client: domain.Client{ID: "cca_nouri"}}
	_, err = w.svc.Reenable(ctx, other, "sub-failed")
	assert.Error(t, err, "another app's subscription is not found")
}
