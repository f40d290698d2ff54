package mongo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Settling units of work: what a crash left, what a unit decided, and the
// old documents of units long done (see Units).

// cleanUp deletes, best effort, the leases of old units that are done and
// their outcomes, and the waits of instances killed while they waited.
func (us *Units) cleanUp(ctx context.Context, gen int64, now time.Time) {
	_, _ = us.leases.DeleteMany(ctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$lt", Value: gen - 1}}}, {Key: "state", Value: unitDone},
	})
	// An outcome is kept long after its unit, so that a commit sent
	// before its lease ran out always finds the outcome that decided it,
	// and until its unit is settled, however long every instance was down.
	below := gen - 1
	var unsettled leaseDoc
	err := us.leases.FindOne(ctx, bson.D{{Key: "state", Value: bson.D{{Key: "$ne", Value: unitDone}}}},
		options.FindOne().SetSort(bson.D{{Key: "_id", Value: 1}})).Decode(&unsettled)
	switch {
	case err == nil:
		below = min(below, unsettled.Gen)
	case !errors.Is(err, mongo.ErrNoDocuments):
		return
	}
	_, _ = us.outcomes.DeleteMany(ctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$lt", Value: below}}},
		{Key: "at", Value: bson.D{{Key: "$lt", Value: now.Add(-unitKeep)}}},
	})
	_, _ = us.waiters.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: now.Add(-unitKeep)}}}})
}

// Recover settles a unit that a crash left unsettled, once its lease has
// run out, when no unit has started since to do it. Nothing happens when
// the last unit is settled or still running.
func (us *Units) Recover(ctx context.Context) error {
	last, err := us.last(ctx)
	if err != nil || last == nil || last.State == unitDone || !last.free(time.Now()) {
		return translate("recover units of work", err)
	}
	return us.Atomically(ctx, func(context.Context) error { return nil })
}

// recover settles, under u's lease, every unsettled unit numbered below
// u's, the newest first: each one's lease ran out before u's was taken.
func (us *Units) recover(ctx context.Context, u *unit) error {
	cur, err := us.leases.Find(ctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$lt", Value: u.gen}}},
		{Key: "state", Value: bson.D{{Key: "$ne", Value: unitDone}}},
	}, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}))
	if err != nil {
		return err
	}
	var stale []leaseDoc
	if err := cur.All(ctx, &stale); err != nil {
		return err
	}
	for _, d := range stale {
		if err := u.writable(); err != nil {
			return err
		}
		o, err := us.decide(ctx, outcomeDoc{Gen: d.Gen, Committed: false, At: time.Now()})
		if err != nil {
			return fmt.Errorf("settle unit %d: %w", d.Gen, err)
		}
		outcome := "undone"
		if o.Committed {
			outcome = "committed: events published"
			err = us.finish(ctx, d.Gen, o.Events, true, nil)
		} else {
			err = us.undoUnit(ctx, d.Gen, u)
		}
		if err != nil {
			return fmt.Errorf("settle unit %d: %w", d.Gen, err)
		}
		us.log.Info("mongo: settled a unit of work a crash left", slog.Int64("unit", d.Gen), slog.String("outcome", outcome))
	}
	return nil
}

// decide stores o as its unit's outcome unless the unit has one already,
// and returns the unit's outcome.
func (us *Units) decide(ctx context.Context, o outcomeDoc) (outcomeDoc, error) {
	_, err := us.outcomes.InsertOne(ctx, o)
	if err == nil {
		return o, nil
	}
	// A duplicate, or an insert whose answer was lost: read what holds.
	var got outcomeDoc
	if ferr := us.outcomes.FindOne(ctx, bson.D{{Key: "_id", Value: o.Gen}}).Decode(&got); ferr != nil {
		if mongo.IsDuplicateKeyError(err) {
			return outcomeDoc{}, ferr
		}
		return outcomeDoc{}, err
	}
	return got, nil
}

// finish completes a committed unit: it publishes the unit's events as one
// batch (unless, when recovering, a batch of the unit is stored already),
// drops its journal and marks it done (own is the unit when it is its
// owner's).
func (us *Units) finish(ctx context.Context, gen int64, events []eventDoc, recovering bool, own *unit) error {
	publish := len(events) > 0
	if publish && recovering {
		n, err := us.outbox.CountDocuments(ctx, bson.D{{Key: "unit", Value: gen}}, options.Count().SetLimit(1))
		if err != nil {
			return err
		}
		publish = n == 0
	}
	if publish {
		if _, _, err := insertNumbered(ctx, &collection{us.outbox}, bson.D{}, "_id", 0, func(seq int64) (any, error) {
			return bson.Marshal(eventBatchDoc{Seq: seq, Events: events, Unit: gen})
		}); err != nil {
			return err
		}
	}
	return us.markDone(ctx, gen, own)
}

// markDone drops a unit's journal and marks its lease done. For the
// owner's own unit (own), the lease's renewals stop first.
func (us *Units) markDone(ctx context.Context, gen int64, own *unit) error {
	if _, err := us.undo.DeleteMany(ctx, bson.D{{Key: "unit", Value: gen}}); err != nil {
		return err
	}
	if own != nil {
		own.leaseMu.Lock()
		defer own.leaseMu.Unlock()
		own.mu.Lock()
		own.settled = true
		own.mu.Unlock()
	}
	_, err := us.leases.UpdateOne(ctx, bson.D{{Key: "_id", Value: gen}}, bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: unitDone}}}})
	return err
}
