package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

const (
	revokedAccessTokensCollection = "revoked_access_tokens"
	revokedGrantsCollection       = "revoked_grants"
)

func init() {
	registerIndexes(revokedAccessTokensCollection, expiresAtIndex())
	registerIndexes(revokedGrantsCollection, expiresAtIndex())
}

// A revocation is the document {_id: jti or grant id, expires_at}, kept
// until the tokens it covers have expired. revokeUntil writes it with an
// upsert, so it needs no struct of its own.

// upsertAttemptsOnRace bounds the retries of an upsert that collided with a
// concurrent insert of the same _id.
const upsertAttemptsOnRace = 3

// RevokeAccessToken records jti as revoked until expiresAt, keeping the
// later expiry if it was revoked before.
func (s *GrantStore) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	return translate("revoke access token", revokeUntil(ctx, s.revokedTokens, jti, expiresAt))
}

// RevokeGrant records every access token of grantID as revoked until
// expiresAt, keeping the later expiry if it was revoked before.
func (s *GrantStore) RevokeGrant(ctx context.Context, grantID string, expiresAt time.Time) error {
	return translate("revoke grant", revokeUntil(ctx, s.revokedGrants, grantID, expiresAt))
}

// revokeUntil upserts id with $max on expires_at, in one statement. Two
// concurrent first upserts of one id can collide on the _id (FerretDB does
// not retry that itself, and MongoDB only sometimes does); the loser's retry
// then finds the document and updates it. FerretDB applies $max as a read
// and a write, so concurrent revocations of one id with different expiries
// may keep the earlier; a token's revocations carry its own fixed expiry.
func revokeUntil(ctx context.Context, coll *collection, id string, expiresAt time.Time) error {
	var err error
	for range upsertAttemptsOnRace {
		_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$max", Value: bson.D{{Key: "expires_at", Value: expiresAt}}}},
			options.Update().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			return err
		}
	}
	return err
}

// IsRevoked reports whether jti, or grantID when it is not empty, is revoked.
// The port passes no now: a record counts until it is swept, which is safe
// because it outlives the tokens it covers.
func (s *GrantStore) IsRevoked(ctx context.Context, jti, grantID string) (bool, error) {
	revoked, err := revocationExists(ctx, s.revokedTokens, jti)
	if err != nil || revoked || grantID == "" {
		return revoked, translate("is revoked", err)
	}
	revoked, err = revocationExists(ctx, s.revokedGrants, grantID)
	return revoked, translate("is revoked", err)
}

// revocationExists reports whether coll holds a document with this _id.
func revocationExists(ctx context.Context, coll *collection, id string) (bool, error) {
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}},
		options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}
