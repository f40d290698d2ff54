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

var _ ports.DeviceGrantStore = (*DeviceGrantStore)(nil)

const (
	deviceGrantsCollection    = "device_grants"
	deviceUserCodesCollection = "device_user_codes"
)

func init() {
	registerIndexes(deviceGrantsCollection,
		mongo.IndexModel{Keys: bson.D{{Key: "device_code_hash", Value: 1}, {Key: "v", Value: -1}}},
		expiresAtIndex())
	registerIndexes(deviceUserCodesCollection, expiresAtIndex())
}

// DeviceGrantStore is the MongoDB ports.DeviceGrantStore.
//
// A grant is kept as numbered versions, as AuthRequestStore keeps requests
// and for the same reason: FerretDB 1.24 runs a conditional update as a
// read and an unconditional write, so only the unique _id (device code
// hash, version) makes a compare-and-swap there. Each poll or decision
// inserts the next version; of concurrent writers exactly one takes each
// number, so of concurrent polls of an approved grant one redeems it. A
// second collection maps the user code's hash (its _id, unique) to the
// device code's. Every document carries the grant's expiry, so the janitor
// sweeps them all together.
type DeviceGrantStore struct {
	grants    *collection
	userCodes *collection
}

// NewDeviceGrantStore returns a DeviceGrantStore on db.
func NewDeviceGrantStore(db *mongo.Database) *DeviceGrantStore {
	return &DeviceGrantStore{
		grants:    collectionOf(db, deviceGrantsCollection),
		userCodes: collectionOf(db, deviceUserCodesCollection),
	}
}

// deviceGrantVersionID is the _id of one version of a grant.
type deviceGrantVersionID struct {
	Hash []byte `bson:"h"`
	V    int64  `bson:"v"`
}

// deviceGrantDoc is one version of a grant.
type deviceGrantDoc struct {
	Key            deviceGrantVersionID `bson:"_id"`
	DeviceCodeHash []byte               `bson:"device_code_hash"`
	V              int64                `bson:"v"`
	UserCodeHash   []byte               `bson:"user_code_hash"`
	ClientID       string               `bson:"client_id"`
	Scopes         []string             `bson:"scopes"`
	Status         string               `bson:"status"`
	IntervalMS     int64                `bson:"interval_ms"`
	LastPolledAt   time.Time            `bson:"last_polled_at,omitempty"`
	UserID         string               `bson:"user_id,omitempty"`
	AuthTime       time.Time            `bson:"auth_time,omitempty"`
	SessionID      string               `bson:"session_id,omitempty"`
	AMR            []string             `bson:"amr"`
	GrantID        string               `bson:"grant_id,omitempty"`
	CreatedAt      time.Time            `bson:"created_at,omitempty"`
	ExpiresAt      time.Time            `bson:"expires_at"`
}

// deviceUserCodeDoc finds a grant by its user code.
type deviceUserCodeDoc struct {
	UserCodeHash   []byte    `bson:"_id"`
	DeviceCodeHash []byte    `bson:"device_code_hash"`
	ExpiresAt      time.Time `bson:"expires_at"`
}

func newDeviceGrantDoc(g *domain.DeviceGrant, v int64) *deviceGrantDoc {
	return &deviceGrantDoc{
		Key: deviceGrantVersionID{Hash: g.DeviceCodeHash, V: v}, DeviceCodeHash: g.DeviceCodeHash, V: v,
		UserCodeHash: g.UserCodeHash, ClientID: g.ClientID, Scopes: g.Scopes, Status: string(g.Status),
		IntervalMS: g.Interval.Milliseconds(), LastPolledAt: g.LastPolledAt, UserID: g.UserID,
		AuthTime: g.AuthTime, SessionID: g.SessionID, AMR: g.AMR, GrantID: g.GrantID,
		CreatedAt: g.CreatedAt, ExpiresAt: g.ExpiresAt,
	}
}

func (d *deviceGrantDoc) domain() domain.DeviceGrant {
	return domain.DeviceGrant{
		DeviceCodeHash: d.DeviceCodeHash, UserCodeHash: d.UserCodeHash, ClientID: d.ClientID, Scopes: d.Scopes,
		Status: domain.DeviceStatus(d.Status), Interval: time.Duration(d.IntervalMS) * time.Millisecond,
		LastPolledAt: d.LastPolledAt, UserID: d.UserID, AuthTime: d.AuthTime, SessionID: d.SessionID,
		AMR: d.AMR, GrantID: d.GrantID, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt,
	}
}

// CreateDeviceGrant inserts version 0, then the user code's document.
// ErrAlreadyExists if either is taken; a taken user code takes version 0
// back out, so that nothing is left half made.
func (s *DeviceGrantStore) CreateDeviceGrant(ctx context.Context, g domain.DeviceGrant) error {
	const op = "create device grant"
	first := newDeviceGrantDoc(&g, 0)
	if _, err := s.grants.InsertOne(ctx, first); err != nil {
		return translate(op, err)
	}
	_, err := s.userCodes.InsertOne(ctx, deviceUserCodeDoc{UserCodeHash: g.UserCodeHash, DeviceCodeHash: g.DeviceCodeHash, ExpiresAt: g.ExpiresAt})
	if err == nil {
		return nil
	}
	if mongo.IsDuplicateKeyError(err) {
		if _, derr := s.grants.DeleteOne(ctx, bson.D{{Key: "_id", Value: first.Key}}); derr != nil {
			return translate(op, derr)
		}
	}
	return translate(op, err)
}

// newest returns the newest version of the grant, or mongo.ErrNoDocuments.
func (s *DeviceGrantStore) newest(ctx context.Context, deviceCodeHash []byte) (deviceGrantDoc, error) {
	var d deviceGrantDoc
	err := newestVersion(ctx, s.grants, bson.D{{Key: "device_code_hash", Value: deviceCodeHash}}, &d)
	return d, err
}

// GetDeviceGrant returns the newest version unless it expired at now.
func (s *DeviceGrantStore) GetDeviceGrant(ctx context.Context, deviceCodeHash []byte, now time.Time) (domain.DeviceGrant, error) {
	d, err := s.newest(ctx, deviceCodeHash)
	if err == nil && !now.Before(d.ExpiresAt) {
		err = mongo.ErrNoDocuments
	}
	if err != nil {
		return domain.DeviceGrant{}, translate("get device grant", err)
	}
	return d.domain(), nil
}

// GetDeviceGrantByUserCode finds the device code by the user code, then
// the grant, unless it expired at now.
func (s *DeviceGrantStore) GetDeviceGrantByUserCode(ctx context.Context, userCodeHash []byte, now time.Time) (domain.DeviceGrant, error) {
	var u deviceUserCodeDoc
	if err := s.userCodes.FindOne(ctx, bson.D{{Key: "_id", Value: userCodeHash}}).Decode(&u); err != nil {
		return domain.DeviceGrant{}, translate("get device grant by user code", err)
	}
	return s.GetDeviceGrant(ctx, u.DeviceCodeHash, now)
}

// UpdateDeviceGrant reads the newest version, applies fn to a copy and
// inserts the result as the next version. If another writer took that
// number first, it reads again and calls fn again on the newer grant. A
// failed fn writes nothing.
func (s *DeviceGrantStore) UpdateDeviceGrant(ctx context.Context, deviceCodeHash []byte, fn func(*domain.DeviceGrant) error) (domain.DeviceGrant, error) {
	const op = "update device grant"
	for range versionAttempts {
		d, err := s.newest(ctx, deviceCodeHash)
		if err != nil {
			return domain.DeviceGrant{}, translate(op, err)
		}
		g := d.domain() // freshly decoded: fn cannot reach stored slices
		if err := fn(&g); err != nil {
			return domain.DeviceGrant{}, err
		}
		g.DeviceCodeHash, g.UserCodeHash, g.ExpiresAt = d.DeviceCodeHash, d.UserCodeHash, d.ExpiresAt
		_, err = s.grants.InsertOne(ctx, newDeviceGrantDoc(&g, d.V+1))
		switch {
		case err == nil:
			return g, nil
		case !mongo.IsDuplicateKeyError(err):
			return domain.DeviceGrant{}, translate(op, err)
		}
	}
	return domain.DeviceGrant{}, fmt.Errorf("mongo: %s: %w", op, domain.ErrConflict)
}

// sweepDeviceGrants deletes at most batch versions and user code documents
// of grants that expired before now minus expiredDocLag.
func sweepDeviceGrants(ctx context.Context, db *mongo.Database, now time.Time, batch int) (int, error) {
	return sweepCollections(ctx, db, now, batch, deviceGrantsCollection, deviceUserCodesCollection)
}
