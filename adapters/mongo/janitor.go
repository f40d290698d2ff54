package mongo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// runJanitor sweeps every `every` (0: never) from start to stop.
func runJanitor(every, retention time.Duration, in janitorIn) {
	if every <= 0 {
		return
	}
	log := in.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	runEvery(in.LC, every, func(ctx context.Context) {
		if n, err := Sweep(ctx, in.DB, in.Clock.Now(), retention); err != nil {
			log.Warn("mongo janitor", slog.String("err", err.Error()))
		} else if n > 0 {
			log.Debug("mongo janitor", slog.Int("deleted", n))
		}
	})
}

// sweepBatch bounds the documents one delete removes.
const sweepBatch = 1000

// sweepRounds bounds the batches of one sweep, so that a large backlog is
// drained over several ticks instead of in one long burst.
const sweepRounds = 20

// Sweep deletes expired documents from every collection that has them, and
// webhook documents older than retention (0: DefaultWebhookRetention), in
// bounded batches, and returns how many it deleted.
func Sweep(ctx context.Context, db *mongo.Database, now time.Time, retention time.Duration) (int, error) {
	if retention <= 0 {
		retention = DefaultWebhookRetention
	}
	webhooks := func(ctx context.Context, db *mongo.Database, now time.Time, batch int) (int, error) {
		return sweepWebhooks(ctx, db, now.Add(-retention), batch)
	}
	total := 0
	for range sweepRounds {
		deleted := 0
		for _, sweep := range []func(context.Context, *mongo.Database, time.Time, int) (int, error){
			sweepGrants, sweepSessions, sweepAuthRequests, sweepDeviceGrants, sweepActionTokens, sweepRateLimits, sweepReplays, webhooks,
		} {
			n, err := sweep(ctx, db, now, sweepBatch)
			deleted += n
			if err != nil {
				return total + deleted, err
			}
		}
		total += deleted
		if deleted == 0 {
			break
		}
	}
	return total, nil
}

// sweepActionTokens deletes expired emailed links.
func sweepActionTokens(ctx context.Context, db *mongo.Database, now time.Time, batch int) (int, error) {
	return sweepCollections(ctx, db, now, batch, actionTokensCollection)
}

// sweepRateLimits deletes ended rate-limit windows.
func sweepRateLimits(ctx context.Context, db *mongo.Database, now time.Time, _ int) (int, error) {
	n, err := NewRateLimiter(db).Sweep(ctx, now)
	return int(n), err
}

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
