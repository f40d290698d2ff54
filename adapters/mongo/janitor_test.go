package mongo_test

import (
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
