package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/ports"
)

var (
	_ ports.GrantStore        = (*GrantStore)(nil)
	_ ports.AuthCodeStore     = (*GrantStore)(nil)
	_ ports.RefreshTokenStore = (*GrantStore)(nil)
	_ ports.RevocationStore   = (*GrantStore)(nil)
	_ ports.ConsentStore      = (*GrantStore)(nil)
)

// GrantStore is the MongoDB ports.GrantStore: authorization codes
// (auth_codes.go), refresh-token families (refresh.go), revocations
// (revocations.go) and consents (consents.go). Codes and tokens are kept
// only as hashes.
//
// FerretDB 1.24 runs every update, findAndModify and upsert as a read
// followed by an unconditional write by _id, so a conditional update there
// is not a compare-and-swap: 32 concurrent findOneAndUpdate calls filtered
// on "redeemed_at: null" let several of them win. The two operations it does
// perform atomically, on MongoDB as well, are inserting a document (the _id
// is unique) and deleting one by _id (exactly one caller sees it deleted).
// So every "exactly one" promise here is kept by an insert: redeeming a code
// inserts its redemption, rotating a token inserts its rotation, and a
// consent changes by inserting its next version.
type GrantStore struct {
	codes         *collection
	redemptions   *collection
	families      *collection
	tokens        *collection
	rotations     *collection
	revokedTokens *collection
	revokedGrants *collection
	consents      *collection
}

// NewGrantStore returns a GrantStore on db.
func NewGrantStore(db *mongo.Database) *GrantStore {
	return &GrantStore{
		codes:         collectionOf(db, authCodesCollection),
		redemptions:   collectionOf(db, authCodeRedemptionsCollection),
		families:      collectionOf(db, refreshFamiliesCollection),
		tokens:        collectionOf(db, refreshTokensCollection),
		rotations:     collectionOf(db, refreshRotationsCollection),
		revokedTokens: collectionOf(db, revokedAccessTokensCollection),
		revokedGrants: collectionOf(db, revokedGrantsCollection),
		consents:      collectionOf(db, consentsCollection),
	}
}

// expiresAtIndex serves the expiry sweeps. It is a plain index, not a TTL
// one: FerretDB 1.24 rejects expireAfterSeconds ("not implemented yet"), and
// a TTL index would fail EnsureIndexes there. Nothing depends on it anyway:
// every lookup checks expiry, and the janitor's sweeps delete.
func expiresAtIndex() mongo.IndexModel {
	return mongo.IndexModel{Keys: bson.D{{Key: "expires_at", Value: 1}}}
}

// expiredDocLag is how long past its expiry a document is kept. Instances
// stamp requests with their own clocks, so a document stays for a while after
// the newest time seen; lookups judge expiry against their own now, so the
// lag never makes a document look alive. It matches the PostgreSQL janitor's
// margin.
const expiredDocLag = time.Minute

// sweepGrants deletes, from each grant collection, at most batch documents
// that expired before now minus expiredDocLag, and returns how many it
// deleted; calling it until it returns 0 drains a backlog. Redeemed codes,
// spent tokens and revoked families are kept until they expire, so that a
// replay is still recognised. Consents never expire.
//
// Within a family, tokens go before their rotations and rotations before
// the family, and codes before their redemptions, so that a sweep cut short
// never leaves a token without its spent mark while its family exists, nor
// a code without its redemption.
func sweepGrants(ctx context.Context, db *mongo.Database, now time.Time, batch int) (int, error) {
	return sweepCollections(ctx, db, now, batch,
		authCodesCollection, authCodeRedemptionsCollection,
		refreshTokensCollection, refreshRotationsCollection, refreshFamiliesCollection,
		revokedAccessTokensCollection, revokedGrantsCollection)
}

// sweepCollections runs deleteExpiredBatch on each collection in order.
func sweepCollections(ctx context.Context, db *mongo.Database, now time.Time, batch int, collections ...string) (int, error) {
	cutoff := now.Add(-expiredDocLag)
	deleted := 0
	for _, name := range collections {
		n, err := deleteExpiredBatch(ctx, collectionOf(db, name), cutoff, batch)
		deleted += n
		if err != nil {
			return deleted, translate("sweep "+name, err)
		}
	}
	return deleted, nil
}

// deleteExpiredBatch deletes at most batch documents of coll whose
// expires_at is before cutoff: it finds their ids through the expiry index,
// then deletes those ids, repeating the expiry test so that MongoDB skips a
// document moved later in between. (FerretDB 1.24 deletes the ids it found
// without testing again; a document this old is not touched any more.)
func deleteExpiredBatch(ctx context.Context, coll *collection, cutoff time.Time, batch int) (int, error) {
	if batch <= 0 {
		return 0, nil
	}
	expired := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: cutoff}}}}
	cur, err := coll.Find(ctx, expired, options.Find().
		SetProjection(bson.D{{Key: "_id", Value: 1}}).
		SetLimit(int64(batch)))
	if err != nil {
		return 0, err
	}
	var rows []struct {
		ID bson.RawValue `bson:"_id"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	ids := make(bson.A, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	res, err := coll.DeleteMany(ctx, append(bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, expired...))
	if err != nil {
		return 0, err
	}
	return int(res.DeletedCount), nil
}

// versionAttempts bounds the retries of a versioned write (consents.go,
// auth_requests.go). Each lost round means another writer succeeded, so
// 32 contenders all finish within 32 rounds; the bound only stops a
// livelock.
const versionAttempts = 100

// newestVersion decodes into out the version with the highest "v" that
// filter selects. mongo.ErrNoDocuments if there is none.
func newestVersion(ctx context.Context, coll *collection, filter bson.D, out any) error {
	return coll.FindOne(ctx, filter, options.FindOne().SetSort(bson.D{{Key: "v", Value: -1}})).Decode(out)
}
