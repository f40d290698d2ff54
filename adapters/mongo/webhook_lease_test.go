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

// A dispatcher or a claimer that died between inserting its lease and
// writing its generation to the document left a generation the document
// never shows. Once that lease has ended, the next caller steps over it;
// before, it is held. (The kill suite found batches and deliveries stuck
// for good this way.)
func TestAnOrphanedLeaseIsSteppedOverOnceItEnds(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	ctx := t.Context()
	hooks, err := mongoadapter.NewWebhookStore(db, make([]byte, 32))
	require.NoError(t, err)
	outbox := mongoadapter.NewEventOutbox(db)
	leases := db.Collection("webhook_leases")
	then := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

	sub := domain.Subscription{ID: "whs_orphan", ClientID: "cca_1", URL: "https://hooks.example", Events: []string{domain.EventUserCreated}, Secret: "whsec_x", CreatedAt: then, UpdatedAt: then}
	require.NoError(t, hooks.CreateSubscription(ctx, sub))
	d := domain.Delivery{ID: "dlv_orphan", SubscriptionID: sub.ID, EventType: domain.EventUserCreated, Payload: []byte("{}"),
		State: domain.DeliveryPending, NextAttemptAt: then, CreatedAt: then}
	require.NoError(t, hooks.CreateDelivery(ctx, d))
	orphan := func(id string, until time.Time) {
		_, err := leases.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "subscription_id", Value: sub.ID}, {Key: "until", Value: until}})
		require.NoError(t, err)
	}

	orphan("delivery/dlv_orphan/1", then.Add(time.Minute))
	claims, err := hooks.ClaimDeliveries(ctx, then, then.Add(time.Minute), 10)
	require.NoError(t, err)
	assert.Empty(t, claims, "a lease that has not ended is held, written to the document or not")
	later := then.Add(2 * time.Minute)
	claims, err = hooks.ClaimDeliveries(ctx, later, later.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, claims, 1, "an ended orphan is stepped over")
	again, err := hooks.ClaimDeliveries(ctx, later, later.Add(time.Minute), 10)
	require.NoError(t, err)
	assert.Empty(t, again, "and the new lease holds")

	// A lease stored before leases kept their end has no until: an orphan
	// of that shape is ended, so it is stepped over too.
	old := domain.Delivery{ID: "dlv_old_shape", SubscriptionID: sub.ID, EventType: domain.EventUserCreated, Payload: []byte("{}"),
		State: domain.DeliveryPending, NextAttemptAt: then, CreatedAt: then}
	require.NoError(t, hooks.CreateDelivery(ctx, old))
	_, err = leases.InsertOne(ctx, bson.D{{Key: "_id", Value: "delivery/dlv_old_shape/1"}, {Key: "subscription_id", Value: sub.ID}})
	require.NoError(t, err)
	claims, err = hooks.ClaimDeliveries(ctx, then, then.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, claims, 1, "an orphan of the old shape is stepped over")
	assert.Equal(t, old.ID, claims[0].Delivery.ID)

	// The same for an event batch; the dispatch lease runs on the wall
	// clock, so the orphan ended an hour ago.
	require.NoError(t, outbox.Publish(ctx, domain.Event{ID: "evt_orphan", Type: domain.EventUserCreated, OccurredAt: then}))
	var batch struct {
		Seq int64 `bson:"_id"`
	}
	require.NoError(t, db.Collection("event_batches").FindOne(ctx, bson.D{}).Decode(&batch))
	orphan(fmt.Sprintf("events/%d/1", batch.Seq), time.Now().Add(-time.Hour))
	var planned []domain.Event
	n, err := hooks.DispatchEvents(ctx, 10, func(es []domain.Event) ([]domain.Delivery, error) {
		planned = append(planned, es...)
		return nil, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.Len(t, planned, 1)
	assert.Equal(t, "evt_orphan", planned[0].ID)
}
