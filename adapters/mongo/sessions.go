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
	ClientIDs []string  `bson:"client_ids,omitempty"`
}

// liveSession selects the session with hash unless it expired at now.
func liveSession(hash []byte, now time.Time) bson.D {
	return bson.D{{Key: "_id", Value: hash}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}}
}

// CreateSession stores a session. ErrAlreadyExists if the hash is taken.
func (s *SessionStore) CreateSession(ctx context.Context, sess domain.Session) error {
	_, err := s.coll.InsertOne(ctx, sessionDoc{
		Hash: sess.Hash, SID: sess.SID, UserID: sess.UserID, AuthTime: sess.AuthTime, AMR: sess.AMR,
		CreatedAt: sess.CreatedAt, LastSeen: sess.LastSeen, ExpiresAt: sess.ExpiresAt, ClientIDs: sess.ClientIDs,
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
	return d.session(), nil
}

func (d sessionDoc) session() domain.Session {
	return domain.Session{
		Hash: d.Hash, SID: d.SID, UserID: d.UserID, AuthTime: d.AuthTime, AMR: d.AMR,
		CreatedAt: d.CreatedAt, LastSeen: d.LastSeen, ExpiresAt: d.ExpiresAt, ClientIDs: d.ClientIDs,
	}
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

// AddSessionClient adds clientID to a live session's client_ids with
// $addToSet, in one updateOne filtered on expiry. ErrNotFound if no live
// session has the sid.
func (s *SessionStore) AddSessionClient(ctx context.Context, sid, clientID string, now time.Time) error {
	res, err := s.coll.UpdateOne(ctx,
		bson.D{{Key: "sid", Value: sid}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}},
		bson.D{{Key: "$addToSet", Value: bson.D{{Key: "client_ids", Value: clientID}}}})
	if err != nil {
		return translate("add session client", err)
	}
	if res.MatchedCount == 0 {
		return translate("add session client", mongo.ErrNoDocuments)
	}
	return nil
}

// DeleteSession reads a session, then deletes it. ErrNotFound if there is
// none. The collection wrapper offers no findOneAndDelete (a unit must
// journal before it writes), so this is two steps: a client added between
// them (a code exchanged in that instant) is deleted with the session
// without being told. PostgreSQL and memory have no such window.
func (s *SessionStore) DeleteSession(ctx context.Context, hash []byte) (domain.Session, error) {
	var d sessionDoc
	if err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&d); err != nil {
		return domain.Session{}, translate("delete session", err)
	}
	res, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: hash}})
	if err != nil {
		return domain.Session{}, translate("delete session", err)
	}
	if res.DeletedCount == 0 {
		return domain.Session{}, translate("delete session", mongo.ErrNoDocuments) // another delete won
	}
	return d.session(), nil
}

// DeleteUserSessions reads a user's sessions, then deletes every session
// of the user, and returns those it read (with DeleteSession's window).
func (s *SessionStore) DeleteUserSessions(ctx context.Context, userID string) ([]domain.Session, error) {
	filter := bson.D{{Key: "user_id", Value: userID}}
	cur, err := s.coll.Find(ctx, filter)
	if err != nil {
		return nil, translate("delete user sessions", err)
	}
	var docs []sessionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate("delete user sessions", err)
	}
	if _, err := s.coll.DeleteMany(ctx, filter); err != nil {
		return nil, translate("delete user sessions", err)
	}
	out := make([]domain.Session, len(docs))
	for i, d := range docs {
		out[i] = d.session()
	}
	return out, nil
}

// ListUserSessions returns the user's sessions live at now, newest sign-in
// first (auth_time descending, then sid), at most ports.MaxUserSessions, in
// one find on the user_id index. A session without auth_time sorts last, as
// a missing field sorts below every date.
func (s *SessionStore) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]domain.Session, error) {
	const op = "list user sessions"
	cur, err := s.coll.Find(ctx,
		bson.D{{Key: "user_id", Value: userID}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}},
		options.Find().
			SetSort(bson.D{{Key: "auth_time", Value: -1}, {Key: "sid", Value: 1}}).
			SetLimit(ports.MaxUserSessions))
	if err != nil {
		return nil, translate(op, err)
	}
	var docs []sessionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(op, err)
	}
	out := make([]domain.Session, len(docs))
	for i, d := range docs {
		out[i] = d.session()
	}
	return out, nil
}

// sweepSessions deletes at most batch sessions that expired before now minus
// expiredDocLag, and returns how many it deleted; calling it until it
// returns 0 drains a backlog.
func sweepSessions(ctx context.Context, db *mongo.Database, now time.Time, batch int) (int, error) {
	return sweepCollections(ctx, db, now, batch, sessionsCollection)
}
