package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.ActionTokenStore = (*ActionTokenStore)(nil)

const actionTokensCollection = "action_tokens"

func init() {
	registerIndexes(actionTokensCollection,
		mongo.IndexModel{
			Keys:    bson.D{{Key: "hash", Value: 1}},
			Options: options.Index().SetName("action_tokens_hash").SetUnique(true),
		},
		// For the janitor, which deletes expired tokens in batches; no TTL
		// index, which FerretDB 1.24 lacks, and which expiry never relies on.
		mongo.IndexModel{
			Keys:    bson.D{{Key: "expires_at", Value: 1}},
			Options: options.Index().SetName("action_tokens_expires_at"),
		},
	)
}

// ActionTokenStore is the MongoDB ports.ActionTokenStore: one document per
// token, unique on the hash of the emailed token.
type ActionTokenStore struct{ coll *collection }

// NewActionTokenStore returns an ActionTokenStore on db.
func NewActionTokenStore(db *mongo.Database) *ActionTokenStore {
	return &ActionTokenStore{coll: collectionOf(db, actionTokensCollection)}
}

// actionTokenDoc is the stored form of a domain.ActionToken; its _id is an
// ObjectID.
type actionTokenDoc struct {
	ID      primitive.ObjectID `bson:"_id,omitempty"`
	Hash    []byte             `bson:"hash"`
	Purpose string             `bson:"purpose"`
	UserID  string             `bson:"user_id"`
	// OrganizationID and ClientID are a join link's; absent for the other
	// purposes, and on tokens an older version wrote.
	OrganizationID string `bson:"organization_id,omitempty"`
	ClientID       string `bson:"client_id,omitempty"`
	// Email is the address the link was mailed to; absent on tokens an
	// older version wrote, which are not bound to one.
	Email     string    `bson:"email,omitempty"`
	CreatedAt time.Time `bson:"created_at"`
	ExpiresAt time.Time `bson:"expires_at"`
}

// CreateActionToken stores a token. ErrAlreadyExists if the hash is taken.
func (s *ActionTokenStore) CreateActionToken(ctx context.Context, t domain.ActionToken) error {
	_, err := s.coll.InsertOne(ctx, &actionTokenDoc{
		Hash: t.Hash, Purpose: string(t.Purpose), UserID: t.UserID, OrganizationID: t.OrganizationID,
		ClientID: t.ClientID, Email: t.Email, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
	})
	return translate("create action token", err)
}

// ConsumeActionToken finds a live token of this purpose, then deletes it
// by _id, and returns it only if this call's delete removed it: of
// concurrent calls exactly one does. (A single findOneAndDelete is atomic
// on MongoDB but not on FerretDB 1.24, which runs it as a read and a
// delete and lets several racing calls return the token; a delete by _id
// reports the removal to one caller on both.) A token of another purpose,
// or one expired at now, does not match and is left as it is.
func (s *ActionTokenStore) ConsumeActionToken(ctx context.Context, hash []byte, purpose domain.ActionPurpose, now time.Time) (domain.ActionToken, error) {
	const op = "consume action token"
	var d actionTokenDoc
	err := s.coll.FindOne(ctx, bson.M{
		"hash": hash, "purpose": string(purpose), "expires_at": bson.M{"$gt": now},
	}).Decode(&d)
	if err != nil {
		return domain.ActionToken{}, translate(op, err)
	}
	res, err := s.coll.DeleteOne(ctx, bson.M{"_id": d.ID})
	if err != nil {
		return domain.ActionToken{}, translate(op, err)
	}
	if res.DeletedCount == 0 {
		return domain.ActionToken{}, translate(op, mongo.ErrNoDocuments) // another call consumed it
	}
	return domain.ActionToken{
		Hash: d.Hash, Purpose: domain.ActionPurpose(d.Purpose), UserID: d.UserID,
		OrganizationID: d.OrganizationID, ClientID: d.ClientID, Email: d.Email, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt,
	}, nil
}
