package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
)

const (
	refreshFamiliesCollection  = "refresh_families"
	refreshTokensCollection    = "refresh_tokens"
	refreshRotationsCollection = "refresh_rotations"
)

func init() {
	registerIndexes(refreshFamiliesCollection,
		mongo.IndexModel{Keys: bson.D{{Key: "user_id", Value: 1}}},
		expiresAtIndex())
	registerIndexes(refreshTokensCollection, expiresAtIndex())
	registerIndexes(refreshRotationsCollection, expiresAtIndex())
}

// refreshFamilyDoc is a family; _id is its id. revoked_at is absent while
// it is usable, and only ever set, never cleared: any token of a revoked
// family is dead, whatever its own state.
type refreshFamilyDoc struct {
	ID        string    `bson:"_id"`
	ClientID  string    `bson:"client_id"`
	UserID    string    `bson:"user_id"`
	Scopes    []string  `bson:"scopes"`
	AuthTime  time.Time `bson:"auth_time,omitempty"`
	SessionID string    `bson:"session_id,omitempty"`
	AMR       []string  `bson:"amr"`
	CreatedAt time.Time `bson:"created_at"`
	ExpiresAt time.Time `bson:"expires_at"`
	RevokedAt time.Time `bson:"revoked_at,omitempty"`
	DPoPJKT   string    `bson:"dpop_jkt,omitempty"`
	Claims    string    `bson:"claims,omitempty"`
}

// refreshTokenDoc is one token of a family; _id is its hash. It is never
// changed once inserted: whether it was spent is the existence of its
// refreshRotationDoc. It carries its family's expiry so that both are swept
// together.
type refreshTokenDoc struct {
	Hash      []byte    `bson:"_id"`
	FamilyID  string    `bson:"family_id"`
	CreatedAt time.Time `bson:"created_at"`
	ExpiresAt time.Time `bson:"expires_at"`
}

// refreshRotationDoc records that the token with hash _id was spent at
// rotated_at.
type refreshRotationDoc struct {
	Hash      []byte    `bson:"_id"`
	FamilyID  string    `bson:"family_id"`
	RotatedAt time.Time `bson:"rotated_at"`
	ExpiresAt time.Time `bson:"expires_at"`
}

func newRefreshFamilyDoc(f *domain.RefreshFamily) *refreshFamilyDoc {
	return &refreshFamilyDoc{
		ID: f.ID, ClientID: f.ClientID, UserID: f.UserID, Scopes: f.Scopes, AuthTime: f.AuthTime,
		SessionID: f.SessionID, AMR: f.AMR, CreatedAt: f.CreatedAt, ExpiresAt: f.ExpiresAt, RevokedAt: f.RevokedAt,
		DPoPJKT: f.DPoPJKT, Claims: f.Claims,
	}
}

func (d *refreshFamilyDoc) domain() domain.RefreshFamily {
	return domain.RefreshFamily{
		ID: d.ID, ClientID: d.ClientID, UserID: d.UserID, Scopes: d.Scopes, AuthTime: d.AuthTime,
		SessionID: d.SessionID, AMR: d.AMR, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt, RevokedAt: d.RevokedAt,
		DPoPJKT: d.DPoPJKT, Claims: d.Claims,
	}
}

// CreateRefreshFamily stores the family, then its first token: two inserts,
// in the order that makes a crash between them harmless. A family without
// tokens can mint nothing; a token is only ever honoured together with its
// family (GetRefreshToken, RotateRefreshToken), so it never exists without
// one. If the token's insert fails (its hash is taken), the family is
// deleted again, so a failed call stores nothing. The first token is live:
// first.RotatedAt is not stored. A first token without a hash stores the
// family alone.
func (s *GrantStore) CreateRefreshFamily(ctx context.Context, f domain.RefreshFamily, first domain.RefreshToken) error {
	if _, err := s.families.InsertOne(ctx, newRefreshFamilyDoc(&f)); err != nil {
		return translate("create refresh family", err)
	}
	if first.Hash == nil {
		return nil
	}
	tok := refreshTokenDoc{Hash: first.Hash, FamilyID: f.ID, CreatedAt: first.CreatedAt, ExpiresAt: f.ExpiresAt}
	if _, err := s.tokens.InsertOne(ctx, tok); err != nil {
		// Undo even if ctx ended: the family is ours, its _id was free.
		undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = s.families.DeleteOne(undo, bson.D{{Key: "_id", Value: f.ID}})
		return translate("create refresh family", err)
	}
	return nil
}

// GetRefreshFamily returns a family by id, live or not (the port passes no
// now; callers ask Active). ErrNotFound if there is none.
func (s *GrantStore) GetRefreshFamily(ctx context.Context, id string) (domain.RefreshFamily, error) {
	f, err := s.family(ctx, id)
	return f, translate("get refresh family", err)
}

func (s *GrantStore) family(ctx context.Context, id string) (domain.RefreshFamily, error) {
	var d refreshFamilyDoc
	if err := s.families.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return domain.RefreshFamily{}, err
	}
	return d.domain(), nil
}

// rotatedAt returns when the token with hash was spent, or zero while it is live.
func (s *GrantStore) rotatedAt(ctx context.Context, hash []byte) (time.Time, error) {
	var r refreshRotationDoc
	err := s.rotations.FindOne(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&r)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return time.Time{}, nil
	}
	return r.RotatedAt, err
}

// GetRefreshToken returns the token with this hash, its spent time and its
// family. ErrNotFound if there is no such token, or no such family.
func (s *GrantStore) GetRefreshToken(ctx context.Context, hash []byte) (domain.RefreshToken, domain.RefreshFamily, error) {
	var d refreshTokenDoc
	if err := s.tokens.FindOne(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&d); err != nil {
		return domain.RefreshToken{}, domain.RefreshFamily{}, translate("get refresh token", err)
	}
	rotated, err := s.rotatedAt(ctx, hash)
	if err != nil {
		return domain.RefreshToken{}, domain.RefreshFamily{}, translate("get refresh token", err)
	}
	f, err := s.family(ctx, d.FamilyID)
	if err != nil {
		return domain.RefreshToken{}, domain.RefreshFamily{}, translate("get refresh token", err)
	}
	return domain.RefreshToken{Hash: d.Hash, FamilyID: d.FamilyID, CreatedAt: d.CreatedAt, RotatedAt: rotated}, f, nil
}

// RotateRefreshToken reads the token and its family, refuses a revoked or
// expired family (nothing is written), then spends the token by inserting
// its rotation: the unique _id lets exactly one of concurrent callers insert
// it (Rotated); every other reads the winner's rotated_at and is a retry in
// the grace window or a replay (RFC 9700 §4.14.2). Only then is next stored.
//
// Spending before storing next is the safe order. A crash between the two
// leaves the old token spent and no successor: the client, which never got
// an answer, retries with the old token and is served within the grace
// window, or else is treated as a replay and the family revoked — it fails
// closed. The other order would store next before knowing the outcome: under
// contention every replay would have to delete the token it stored, and a
// crash before that would leave a second live token in the family.
func (s *GrantStore) RotateRefreshToken(ctx context.Context, old []byte, next domain.RefreshToken, now time.Time, grace time.Duration) (domain.RefreshFamily, domain.RotateOutcome, error) {
	const op = "rotate refresh token"
	var d refreshTokenDoc
	if err := s.tokens.FindOne(ctx, bson.D{{Key: "_id", Value: old}}).Decode(&d); err != nil {
		return domain.RefreshFamily{}, 0, translate(op, err)
	}
	f, err := s.family(ctx, d.FamilyID)
	if err != nil {
		return domain.RefreshFamily{}, 0, translate(op, err)
	}
	if !f.Active(now) {
		return domain.RefreshFamily{}, 0, translate(op, mongo.ErrNoDocuments)
	}

	outcome := domain.Rotated
	_, err = s.rotations.InsertOne(ctx, refreshRotationDoc{Hash: old, FamilyID: f.ID, RotatedAt: now, ExpiresAt: f.ExpiresAt})
	switch {
	case mongo.IsDuplicateKeyError(err):
		rotated, err := s.rotatedAt(ctx, old)
		if err != nil {
			return domain.RefreshFamily{}, 0, translate(op, err)
		}
		// A grace of 0 means no window at all, not a window of one instant.
		if grace <= 0 || now.Sub(rotated) > grace {
			return f, domain.Replayed, nil // nothing is stored; the caller revokes the family
		}
		outcome = domain.RotatedInGrace
	case err != nil:
		return domain.RefreshFamily{}, 0, translate(op, err)
	}

	tok := refreshTokenDoc{Hash: next.Hash, FamilyID: f.ID, CreatedAt: next.CreatedAt, ExpiresAt: f.ExpiresAt}
	if _, err := s.tokens.InsertOne(ctx, tok); err != nil {
		return domain.RefreshFamily{}, 0, translate(op, err)
	}
	return f, outcome, nil
}

// RevokeRefreshFamily sets revoked_at if it is absent, so that a second
// revocation keeps the first time. (On FerretDB 1.24, whose conditional
// updates are not atomic, concurrent revocations may keep any one of their
// times; the family is revoked either way, since revoked_at is never cleared.)
// ErrNotFound if there is no such family.
func (s *GrantStore) RevokeRefreshFamily(ctx context.Context, id string, now time.Time) error {
	const op = "revoke refresh family"
	res, err := s.families.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "revoked_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: now}}}})
	if err != nil {
		return translate(op, err)
	}
	if res.MatchedCount > 0 {
		return nil
	}
	// Nothing matched: revoked before, or missing.
	_, err = s.family(ctx, id)
	return translate(op, err)
}

// RevokeUserRefreshFamilies revokes every family of the user that is live at
// now, in one updateMany; revoked and expired families keep what they have.
func (s *GrantStore) RevokeUserRefreshFamilies(ctx context.Context, userID string, now time.Time) error {
	_, err := s.families.UpdateMany(ctx,
		bson.D{
			{Key: "user_id", Value: userID},
			{Key: "revoked_at", Value: nil},
			{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}},
		},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: now}}}})
	return translate("revoke user refresh families", err)
}

// RevokeUserClientRefreshFamilies finds the ids of the user's families for
// clientID that are live at now, then revokes those still live in one
// updateMany through the collection wrapper (so a unit of work journals
// it), as RevokeUserRefreshFamilies does for every client. MongoDB has no
// update that returns the documents it changed, hence the two steps. A
// family created between them is left live, as one created just after the
// call would be; one revoked between them by another caller is returned
// anyway, which only costs the caller a RevokeGrant that was due for it.
func (s *GrantStore) RevokeUserClientRefreshFamilies(ctx context.Context, userID, clientID string, now time.Time) ([]string, error) {
	const op = "revoke user client refresh families"
	live := bson.D{
		{Key: "user_id", Value: userID},
		{Key: "client_id", Value: clientID},
		{Key: "revoked_at", Value: nil},
		{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}},
	}
	cur, err := s.families.Find(ctx, live, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(op, err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(op, err)
	}
	if len(docs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(docs))
	for i := range docs {
		ids[i] = docs[i].ID
	}
	filter := append(bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, live...)
	if _, err := s.families.UpdateMany(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: now}}}}); err != nil {
		return nil, translate(op, err)
	}
	return ids, nil
}
