package mongo_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/bson"

	mongoadapter "github.com/calimatic/calimatic-auth/adapters/mongo"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// The janitor deletes finished deliveries (with their attempts) and
// dispatched event batches past the retention, and keeps pending
// deliveries and the newest batch.
func TestSweepWebhooksPastRetention(t *testing.T) {
	db := testDB(t)
	ctx := t.Context()
	key := make([]byte, 32)
	hooks, err := mongoadapter.NewWebhookStore(db, key)
	require.NoError(t, err)
	outbox := mongoadapter.NewEventOutbox(db)
	then := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

	sub := domain.Subscription{ID: "whs_1", ClientID: "cca_1", URL: "https://hooks.example", Events: []string{domain.EventUserCreated}, Secret: "whsec_x", CreatedAt: then, UpdatedAt: then}
	require.NoError(t, hooks.CreateSubscription(ctx, sub))
	for i := range 3 {
		require.NoError(t, outbox.Publish(ctx, domain.Event{ID: "evt_" + string(rune('a'+i)), Type: domain.EventUserCreated, OccurredAt: then}))
	}
	_, err = hooks.DispatchEvents(ctx, 10, func(es []domain.Event) ([]domain.Delivery, error) { return nil, nil })
	require.NoError(t, err)

	done := domain.Delivery{ID: "dlv_done", SubscriptionID: sub.ID, EventType: domain.EventUserCreated, Payload: []byte("{}"), State: domain.DeliveryPending, NextAttemptAt: then, CreatedAt: then}
	waiting := done
	waiting.ID, waiting.NextAttemptAt = "dlv_waiting", then.Add(100*24*time.Hour)
	require.NoError(t, hooks.CreateDelivery(ctx, done))
	require.NoError(t, hooks.CreateDelivery(ctx, waiting))
	claims, err := hooks.ClaimDeliveries(ctx, then, then.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, claims, 1)
	_, err = hooks.RecordAttempt(ctx, domain.Attempt{DeliveryID: done.ID, At: then, StatusCode: 200}, domain.AttemptOutcome{State: domain.DeliveryDelivered, Succeeded: true})
	require.NoError(t, err)

	n, err := mongoadapter.Sweep(ctx, db, then.Add(29*24*time.Hour), 0)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is past the 30-day retention yet")

	n, err = mongoadapter.Sweep(ctx, db, then.Add(31*24*time.Hour), 0)
	require.NoError(t, err)
	assert.Positive(t, n)
	_, err = hooks.GetDelivery(ctx, done.ID)
	require.ErrorIs(t, err, domain.ErrNotFound, "the delivered delivery is gone")
	_, err = hooks.GetDelivery(ctx, waiting.ID)
	require.NoError(t, err, "a pending delivery is kept")
	attempts, err := db.Collection("webhook_attempts").CountDocuments(ctx, bson.D{{Key: "delivery_id", Value: done.ID}})
	require.NoError(t, err)
	assert.Zero(t, attempts, "its attempts went with it")
	batches, err := db.Collection("event_batches").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), batches, "only the newest batch is kept")
}

// The janitor deletes replay records, and the claims that replaced expired
// ones, a lag past their expiry, and keeps live records.
func TestSweepReplays(t *testing.T) {
	db := testDB(t)
	c := mongoadapter.NewReplayCache(db)
	ctx := t.Context()
	expired, live := sweepT0.Add(time.Minute), sweepT0.Add(time.Hour)
	remember := func(key string, now, expiresAt time.Time) bool {
		t.Helper()
		fresh, err := c.Remember(ctx, key, now, expiresAt)
		require.NoError(t, err)
		return fresh
	}
	for i := range 5 {
		require.True(t, remember(fmt.Sprint("jti-", i), sweepT0, expired))
	}
	// A record replaced after its expiry leaves a claim.
	require.True(t, remember("jti-reused", sweepT0, sweepT0.Add(30*time.Second)))
	require.True(t, remember("jti-reused", sweepT0.Add(40*time.Second), expired))
	require.True(t, remember("jti-live", sweepT0, live))
	require.Equal(t, int64(1), countDocs(t, db, "replay_cache_claims"))

	n, err := mongoadapter.Sweep(ctx, db, expired.Add(mongoadapter.ExpiredDocLagForTest), 0)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing goes before its expiry plus the lag")

	now := expired.Add(mongoadapter.ExpiredDocLagForTest + time.Second)
	n, err = mongoadapter.Sweep(ctx, db, now, 0)
	require.NoError(t, err)
	assert.Equal(t, 7, n, "six records and one claim")
	assert.Equal(t, int64(1), countDocs(t, db, "replay_cache"))
	assert.Zero(t, countDocs(t, db, "replay_cache_claims"))
	assert.False(t, remember("jti-live", now, live), "the live record is kept")
	assert.True(t, remember("jti-0", now, live), "a swept key is new again")
}
