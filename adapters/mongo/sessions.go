package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.SessionStore = (*SessionStore)(nil)

const sessionsCollection = "sessions"

func init() {
	registerIndexes(sessionsCollection,
		mongo.IndexModel{Keys: bson.D{{Key: "user_id", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "sid", Value: 1}}, Options: options.Index().SetName("sid").SetUnique(true)},
		expiresAtIndex())
}

// SessionStore is the MongoDB ports.SessionStore, keyed by the hash of the
// cookie secret.
type SessionStore struct{ coll *collection }

// NewSessionStore returns a SessionStore on db.
func NewSessionStore(db *mongo.Database) *SessionStore {
	return &SessionStore{coll: collectionOf(db, sessionsCollection)}
}

// sessionDoc is a session; _id is the hash of its cookie secret.
type sessionDoc struct {
	Hash      []byte    `bson:"_id"`
	SID       string    `bson:"sid"`
	UserID    string    `bson:"user_id"`
	AuthTime  time.Time `bson:"auth_time,omitempty"`
	AMR       []string  `bson:"amr"`
	CreatedAt time.Time `bson:"created_at"`
	LastSeen  time.Time `bson:"last_seen"`
	ExpiresAt time.Time `bson:"expires_at"`
}

// liveSession selects the session with hash unless it expired at now.
func liveSession(hash []byte, now time.Time) bson.D {
	return bson.D{{Key: "_id", Value: hash}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}}
}

// CreateSession stores a session. ErrAlreadyExists if the hash is taken.
func (s *SessionStore) CreateSession(ctx context.Context, sess domain.Session) error {
	_, err := s.coll.InsertOne(ctx, sessionDoc{
		Hash: sess.Hash, SID: sess.SID, UserID: sess.UserID, AuthTime: sess.AuthTime, AMR: sess.AMR,
		CreatedAt: sess.CreatedAt, LastSeen: sess.LastSeen, ExpiresAt: sess.ExpiresAt,
	})
	return translate("create session", err)
}

// GetSession returns the session with this hash, unless it expired at now.
func (s *SessionStore) GetSession(ctx context.Context, hash []byte, now time.Time) (domain.Session, error) {
	return s.get(ctx, "get session", liveSession(hash, now))
}

// GetSessionBySID returns the session with this public sid, unless it
// expired at now.
func (s *SessionStore) GetSessionBySID(ctx context.Context, sid string, now time.Time) (domain.Session, error) {
	return s.get(ctx, "get session by sid", bson.D{{Key: "sid", Value: sid}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}})
}

func (s *SessionStore) get(ctx context.Context, op string, filter bson.D) (domain.Session, error) {
	var d sessionDoc
	if err := s.coll.FindOne(ctx, filter).Decode(&d); err != nil {
		return domain.Session{}, translate(op, err)
	}
	return domain.Session{
		Hash: d.Hash, SID: d.SID, UserID: d.UserID, AuthTime: d.AuthTime, AMR: d.AMR,
		CreatedAt: d.CreatedAt, LastSeen: d.LastSeen, ExpiresAt: d.ExpiresAt,
	}, nil
}

// TouchSession slides a live session in one updateOne filtered on expiry: an
// expired session stays expired, since sliding expiry must not revive one
// that ended. Concurrent touches set nearly the same times, so the last
// write winning (as it may on FerretDB, whose updates are not atomic) loses
// nothing, and an update there never recreates a session deleted meanwhile.
func (s *SessionStore) TouchSession(ctx context.Context, hash []byte, now, expiresAt time.Time) error {
	res, err := s.coll.UpdateOne(ctx, liveSession(hash, now), bson.D{{Key: "$set", Value: bson.D{
		{Key: "last_seen", Value: now},
		{Key: "expires_at", Value: expiresAt},
	}}})
	if err != nil {
		return translate("touch session", err)
	}
	if res.MatchedCount == 0 {
		return translate("touch session", mongo.ErrNoDocuments)
	}
	return nil
}

// DeleteSession removes a session; a missing one is not an error.
func (s *SessionStore) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: hash}})
	return translate("delete session", err)
}

// DeleteUserSessions removes every session of a user.
func (s *SessionStore) DeleteUserSessions(ctx context.Context, userID string) error {
	_, err := s.coll.DeleteMany(ctx, bson.D{{Key: "user_id", Value: userID}})
	return translate("delete user sessions", err)
}

// sweepSessions deletes at most batch sessions that expired before now minus
// expiredDocLag, and returns how many it deleted; calling it until it
// returns 0 drains a backlog.
func sweepSessions(ctx context.Context, db *mongo.Database, now time.Time, batch int) (int, error) {
	return sweepCollections(ctx, db, now, batch, sessionsCollection)
}
