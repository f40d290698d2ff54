package testsuite

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// When a subscription was disabled (domain.Subscription.DisabledAt): the
// time of the attempt that disabled it, or what its owner's update set.

func failingOutcome() domain.AttemptOutcome {
	return domain.AttemptOutcome{State: domain.DeliveryPending, NextAttemptAt: epoch.Add(time.Hour),
		DisableAfter: 2, DisabledReason: "2 deliveries in a row failed"}
}

func disabledAtByFailures(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	d := claimOne(t, s, sub.ID)
	stored, err := s.Deliveries.RecordAttempt(t.Context(), attemptAt(d, 1, 503), failingOutcome())
	require.NoError(t, err)
	assert.True(t, stored.DisabledAt.IsZero(), "not disabled yet, so no time")
	disabling := attemptAt(d, 2, 503)
	stored, err = s.Deliveries.RecordAttempt(t.Context(), disabling, failingOutcome())
	require.NoError(t, err)
	require.True(t, stored.Disabled)
	assert.Equal(t, disabling.At, stored.DisabledAt.UTC(), "the time of the attempt that disabled it")
	got, err := s.Subscriptions.GetSubscription(t.Context(), sub.ID)
	require.NoError(t, err)
	assertSame(t, stored, got, "as stored")

	// A post already under way when it was disabled fails later, with a 410.
	late := attemptAt(d, 3, 410)
	stored, err = s.Deliveries.RecordAttempt(t.Context(), late, domain.AttemptOutcome{
		State: domain.DeliveryFailed, Disable: true, DisabledReason: "the endpoint answered 410 Gone",
	})
	require.NoError(t, err)
	assert.Equal(t, disabling.At, stored.DisabledAt.UTC(), "an already disabled subscription keeps its first time")
	assert.Equal(t, "2 deliveries in a row failed", stored.DisabledReason, "and its first reason")
	assert.Equal(t, 2, stored.ConsecutiveFailures, "and its streak")
}

// A post under way when its subscription was disabled changes nothing when
// it ends: the streak still tells a disabling by failures (a streak) from
// its owner's (none).
func disabledStreakStays(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	d := claimOne(t, s, sub.ID)
	off := epoch.Add(time.Minute)
	_, err := s.Subscriptions.UpdateSubscription(t.Context(), sub.ID, func(x *domain.Subscription) error {
		x.Disabled, x.DisabledReason, x.DisabledAt, x.ConsecutiveFailures, x.UpdatedAt = true, "disabled by its owner", off, 0, off
		return nil
	})
	require.NoError(t, err)
	stored, err := s.Deliveries.RecordAttempt(t.Context(), attemptAt(d, 1, 503), failingOutcome())
	require.NoError(t, err)
	assert.Zero(t, stored.ConsecutiveFailures, "its owner's disabling has no streak, failures after it or not")
	got, err := s.Subscriptions.GetSubscription(t.Context(), sub.ID)
	require.NoError(t, err)
	assert.Zero(t, got.ConsecutiveFailures)
	assert.Equal(t, "disabled by its owner", got.DisabledReason)

	failed := createSub(t, s)
	d1, d2 := claimOne(t, s, failed.ID), claimOne(t, s, failed.ID)
	for n := 1; n <= 2; n++ {
		stored, err = s.Deliveries.RecordAttempt(t.Context(), attemptAt(d1, n, 503), failingOutcome())
		require.NoError(t, err)
	}
	require.True(t, stored.Disabled)
	ok := domain.AttemptOutcome{State: domain.DeliveryDelivered, Succeeded: true}
	stored, err = s.Deliveries.RecordAttempt(t.Context(), attemptAt(d2, 1, 200), ok)
	require.NoError(t, err)
	assert.Equal(t, 2, stored.ConsecutiveFailures, "a success after the disabling keeps the streak that disabled it")
	assert.True(t, stored.Disabled)
}

func disabledAtBy410(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	d := claimOne(t, s, sub.ID)
	gone := attemptAt(d, 1, 410)
	stored, err := s.Deliveries.RecordAttempt(t.Context(), gone, domain.AttemptOutcome{
		State: domain.DeliveryFailed, Disable: true, DisabledReason: "the endpoint answered 410 Gone",
	})
	require.NoError(t, err)
	assert.Equal(t, gone.At, stored.DisabledAt.UTC())
	got, err := s.Subscriptions.GetSubscription(t.Context(), sub.ID)
	require.NoError(t, err)
	assert.Equal(t, gone.At, got.DisabledAt.UTC())
}

func disabledAtUpdated(t *testing.T, s WebhookStores) {
	sub := createSub(t, s)
	off := epoch.Add(time.Minute)
	got, err := s.Subscriptions.UpdateSubscription(t.Context(), sub.ID, func(x *domain.Subscription) error {
		x.Disabled, x.DisabledReason, x.DisabledAt, x.UpdatedAt = true, "disabled by its owner", off, off
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, off, got.DisabledAt.UTC())
	listed, err := s.Subscriptions.ListSubscriptions(t.Context(), sub.ClientID)
	require.NoError(t, err)
	require.Len(t, listed, 1)
	assert.Equal(t, off, listed[0].DisabledAt.UTC(), "the list reads it too")

	_, err = s.Subscriptions.UpdateSubscription(t.Context(), sub.ID, func(x *domain.Subscription) error {
		x.Disabled, x.DisabledReason, x.DisabledAt = false, "", time.Time{}
		return nil
	})
	require.NoError(t, err)
	stored, err := s.Subscriptions.GetSubscription(t.Context(), sub.ID)
	require.NoError(t, err)
	assert.True(t, stored.DisabledAt.IsZero(), "enabled, it has no time: %v", stored.DisabledAt)

	// Enabled again, failures disable it anew, at their own time.
	d := claimOne(t, s, sub.ID)
	gone := attemptAt(d, 1, 410)
	stored, err = s.Deliveries.RecordAttempt(t.Context(), gone, domain.AttemptOutcome{
		State: domain.DeliveryFailed, Disable: true, DisabledReason: "the endpoint answered 410 Gone",
	})
	require.NoError(t, err)
	assert.Equal(t, gone.At, stored.DisabledAt.UTC())
}
