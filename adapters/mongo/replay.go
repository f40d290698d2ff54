package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.ReplayCache = (*ReplayCache)(nil)

const (
	replayCollection       = "replay_cache"
	replayClaimsCollection = "replay_cache_claims"
)

func init() {
	registerIndexes(replayCollection, expiresAtIndex())
	registerIndexes(replayClaimsCollection, expiresAtIndex())
}

// ReplayCache is the MongoDB ports.ReplayCache, shared by every instance on
// the database. A key is one document, whose _id is the key; each use that
// records it gives it a new incarnation v.
//
// Every "exactly one" here is decided by an insert, as in GrantStore: a new
// key by inserting its document, and the reuse of an expired one by
// inserting a claim on the incarnation it replaces. The update that a claim
// then allows is the only write to that incarnation. A conditional update
// alone ("expires_at <= now") would not do: FerretDB 1.24 runs it as a read
// and an unconditional write, and of 32 racing calls on an expired key two
// got true.
//
// The janitor deletes expired documents and claims. A caller that read a
// document the janitor then deleted, a minute or more past its expiry,
// could still take it with a fresh insert by another caller; such a key is
// one the caller refuses anyway (its assertion or proof has expired).
type ReplayCache struct {
	keys   *collection
	claims *collection
}

// NewReplayCache returns a ReplayCache on db.
func NewReplayCache(db *mongo.Database) *ReplayCache {
	return &ReplayCache{keys: collectionOf(db, replayCollection), claims: collectionOf(db, replayClaimsCollection)}
}

// replayDoc is a key's record until ExpiresAt; V names this incarnation.
type replayDoc struct {
	Key       string             `bson:"_id"`
	V         primitive.ObjectID `bson:"v"`
	ExpiresAt time.Time          `bson:"expires_at"`
}

// replayClaimDoc says that one call replaces the incarnation its _id names.
// It expires with the record that replaces it.
type replayClaimDoc struct {
	ID        replayClaimID `bson:"_id"`
	ExpiresAt time.Time     `bson:"expires_at"`
}

type replayClaimID struct {
	Key string             `bson:"k"`
	V   primitive.ObjectID `bson:"v"`
}

// replayAttempts bounds how often Remember starts again after the janitor
// deleted the document it was looking at.
const replayAttempts = 8

// Remember inserts the key's document, which decides a new key in one round
// trip. When the key is taken it reads the document: a live one refuses
// this use, and an expired one is replaced by the one call whose claim on
// it inserts. The expiry is rounded up to the millisecond MongoDB keeps, so
// a record never lapses before expiresAt.
func (c *ReplayCache) Remember(ctx context.Context, key string, now, expiresAt time.Time) (bool, error) {
	const op = "remember replay key"
	if t := expiresAt.Truncate(time.Millisecond); t.Before(expiresAt) {
		expiresAt = t.Add(time.Millisecond)
	}
	for range replayAttempts {
		next := replayDoc{Key: key, V: primitive.NewObjectID(), ExpiresAt: expiresAt}
		_, err := c.keys.InsertOne(ctx, next)
		if err == nil {
			return true, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return false, translate(op, err)
		}
		var cur replayDoc
		err = c.keys.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&cur)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			continue // swept in between: insert again
		case err != nil:
			return false, translate(op, err)
		case cur.ExpiresAt.After(now):
			return false, nil
		}
		taken, again, err := c.replace(ctx, cur, next)
		if err != nil {
			return false, translate(op, err)
		}
		if !again {
			return taken, nil
		}
	}
	return false, errors.New("mongo: remember replay key: too many concurrent writers")
}

// replace takes the expired record cur for next: the call whose claim on
// cur inserts updates it, and every other call is refused. It reports again
// when the record was swept before the update, to start over.
func (c *ReplayCache) replace(ctx context.Context, cur, next replayDoc) (taken, again bool, err error) {
	_, err = c.claims.InsertOne(ctx, replayClaimDoc{ID: replayClaimID{Key: cur.Key, V: cur.V}, ExpiresAt: next.ExpiresAt})
	if mongo.IsDuplicateKeyError(err) {
		return false, false, nil // another call replaces it
	}
	if err != nil {
		return false, false, err
	}
	res, err := c.keys.UpdateOne(ctx, bson.D{{Key: "_id", Value: cur.Key}, {Key: "v", Value: cur.V}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: next.V}, {Key: "expires_at", Value: next.ExpiresAt}}}})
	if err != nil {
		return false, false, err
	}
	return res.MatchedCount == 1, res.MatchedCount == 0, nil
}

// sweepReplays deletes expired replay records and their claims.
func sweepReplays(ctx context.Context, db *mongo.Database, now time.Time, batch int) (int, error) {
	return sweepCollections(ctx, db, now, batch, replayCollection, replayClaimsCollection)
}
