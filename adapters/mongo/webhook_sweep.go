package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// DefaultWebhookRetention keeps finished deliveries and dispatched events
// for 30 days when Options.WebhookRetention is 0.
const DefaultWebhookRetention = 30 * 24 * time.Hour

// sweepWebhooks deletes, at most batch of each, the deliveries finished
// (delivered or failed) before cutoff, with their attempts and lease
// documents, and the dispatched event batches whose events happened before
// cutoff. It never deletes the newest batch, whose number the next publish
// counts from. Lease documents go only with what they leased: a month after
// the work ended no reader can still be about to take one of them.
func sweepWebhooks(ctx context.Context, db *mongo.Database, cutoff time.Time, batch int) (int, error) {
	n, err := sweepDeliveries(ctx, db, cutoff, batch)
	if err != nil {
		return n, translate("sweep webhook deliveries", err)
	}
	m, err := sweepEventBatches(ctx, db, cutoff, batch)
	if err != nil {
		return n + m, translate("sweep event batches", err)
	}
	return n + m, nil
}

func sweepDeliveries(ctx context.Context, db *mongo.Database, cutoff time.Time, batch int) (int, error) {
	cur, err := collectionOf(db, deliveriesCollection).Find(ctx,
		bson.D{{Key: "state", Value: bson.D{{Key: "$ne", Value: "pending"}}}, {Key: "completed_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "lease_gen", Value: 1}}).SetLimit(int64(batch)))
	if err != nil {
		return 0, err
	}
	var rows []struct {
		ID       string `bson:"_id"`
		LeaseGen int64  `bson:"lease_gen"`
	}
	if err := cur.All(ctx, &rows); err != nil || len(rows) == 0 {
		return 0, err
	}
	ids, leases := make(bson.A, 0, len(rows)), bson.A{}
	for _, r := range rows {
		ids = append(ids, r.ID)
		for g := int64(1); g <= r.LeaseGen; g++ {
			leases = append(leases, fmt.Sprintf("delivery/%s/%d", r.ID, g))
		}
	}
	// Attempts and leases first: a sweep cut short then leaves a delivery
	// without history, never history without its delivery.
	if _, err := collectionOf(db, attemptsCollection).DeleteMany(ctx, bson.D{{Key: "delivery_id", Value: bson.D{{Key: "$in", Value: ids}}}}); err != nil {
		return 0, err
	}
	if len(leases) > 0 {
		if _, err := collectionOf(db, leasesCollection).DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: leases}}}}); err != nil {
			return 0, err
		}
	}
	res, err := collectionOf(db, deliveriesCollection).DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return 0, err
	}
	return int(res.DeletedCount), nil
}

func sweepEventBatches(ctx context.Context, db *mongo.Database, cutoff time.Time, batch int) (int, error) {
	coll := collectionOf(db, eventsCollection)
	var newest struct {
		Seq int64 `bson:"_id"`
	}
	err := coll.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}}).SetProjection(bson.D{{Key: "_id", Value: 1}})).Decode(&newest)
	if err == mongo.ErrNoDocuments {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cur, err := coll.Find(ctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$lt", Value: newest.Seq}}},
		{Key: "dispatched", Value: true},
		{Key: "events.occurred_at", Value: bson.D{{Key: "$lt", Value: cutoff}}},
	}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "lease_gen", Value: 1}}).SetLimit(int64(batch)))
	if err != nil {
		return 0, err
	}
	var rows []struct {
		Seq      int64 `bson:"_id"`
		LeaseGen int64 `bson:"lease_gen"`
	}
	if err := cur.All(ctx, &rows); err != nil || len(rows) == 0 {
		return 0, err
	}
	seqs, leases := make(bson.A, 0, len(rows)), bson.A{}
	for _, r := range rows {
		seqs = append(seqs, r.Seq)
		for g := int64(1); g <= r.LeaseGen; g++ {
			leases = append(leases, fmt.Sprintf("events/%d/%d", r.Seq, g))
		}
	}
	if len(leases) > 0 {
		if _, err := collectionOf(db, leasesCollection).DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: leases}}}}); err != nil {
			return 0, err
		}
	}
	res, err := coll.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: seqs}}}})
	if err != nil {
		return 0, err
	}
	return int(res.DeletedCount), nil
}
