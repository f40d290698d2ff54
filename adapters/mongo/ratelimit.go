package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.RateLimiter = (*RateLimiter)(nil)

const rateSlotsCollection = "rate_limit_slots"

func init() {
	registerIndexes(rateSlotsCollection,
		// insertNumbered reads a window's highest slot.
		mongo.IndexModel{Keys: bson.D{{Key: "window", Value: 1}, {Key: "slot", Value: -1}}},
		// Sweep deletes spent windows by it. It is no TTL index: FerretDB
		// 1.24 refuses expireAfterSeconds, and EnsureIndexes must run
		// everywhere.
		mongo.IndexModel{Keys: bson.D{{Key: "expires_at", Value: 1}}},
	)
}

// RateLimiter is the MongoDB ports.RateLimiter: fixed windows shared by
// every instance on the database, so N instances enforce one limit
// together. Windows start at now truncated to rule.Window.
//
// A window is counted in slots: an allowed request stores the document of
// slot n (1 ≤ n ≤ rule.Limit) of its window, under a unique _id, and a
// request that finds every slot taken is denied. Taking a slot is an insert
// (see insertNumbered), so of a parallel burst exactly rule.Limit requests
// get one, each a distinct remaining count. A $inc with findOneAndUpdate
// would be one round trip, but FerretDB 1.24 runs it as a read and a write
// that racing callers interleave (a burst of 100 increments stored 3), and
// it has no update pipelines to reset a window in the same step. So Allow
// takes two round trips (read the highest slot, insert the next), more
// while it races others for a slot; a denial takes one.
//
// A window's slots expire at its end, and Sweep deletes them; counting never
// depends on it, since a window is named by its start. A request stamped in
// an earlier window (a late clock) counts in that window.
type RateLimiter struct{ coll *collection }

// NewRateLimiter returns a RateLimiter on db.
func NewRateLimiter(db *mongo.Database) *RateLimiter {
	return &RateLimiter{coll: collectionOf(db, rateSlotsCollection)}
}

type rateSlotDoc struct {
	ID        string    `bson:"_id"`
	Window    string    `bson:"window"`
	Slot      int64     `bson:"slot"`
	ExpiresAt time.Time `bson:"expires_at"`
}

// Allow counts one request for key under rule at now and says whether it
// is within the limit. A disabled rule allows everything and counts nothing.
func (l *RateLimiter) Allow(ctx context.Context, key string, rule domain.RateRule, now time.Time) (domain.RateDecision, error) {
	if !rule.Enabled() {
		return domain.RateDecision{Allowed: true, Limit: rule.Limit}, nil
	}
	start := now.Truncate(rule.Window)
	end := start.Add(rule.Window)
	// Lengths make the name unambiguous whatever the rule and key contain.
	window := fmt.Sprintf("%d:%s|%d:%s|%d", len(rule.Name), rule.Name, len(key), key, start.UnixMilli())
	slot, ok, err := insertNumbered(ctx, l.coll, bson.D{{Key: "window", Value: window}}, "slot", int64(rule.Limit),
		func(n int64) (any, error) {
			return rateSlotDoc{ID: fmt.Sprintf("%s|%d", window, n), Window: window, Slot: n, ExpiresAt: end}, nil
		})
	if err != nil {
		return domain.RateDecision{}, translate("rate limit", err)
	}
	if !ok {
		return domain.RateDecision{Allowed: false, Limit: rule.Limit, RetryAfter: end.Sub(now)}, nil
	}
	return domain.RateDecision{Allowed: true, Limit: rule.Limit, Remaining: rule.Limit - int(slot)}, nil
}

// Sweep deletes the slots of every window that ended at or before now, and
// returns how many it deleted. A janitor calls it now and then.
func (l *RateLimiter) Sweep(ctx context.Context, now time.Time) (int64, error) {
	res, err := l.coll.DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: now}}}})
	if err != nil {
		return 0, translate("sweep rate limits", err)
	}
	return res.DeletedCount, nil
}
