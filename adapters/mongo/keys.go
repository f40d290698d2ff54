package mongo

import (
	"context"
	"errors"
	"maps"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.KeyStore = (*KeyStore)(nil)

const keySetsCollection = "signing_key_sets"

// KeyStore is the MongoDB ports.KeyStore, so that every instance on the
// database signs with the same keys and keys survive restarts.
//
// The key set is versioned: each ReplaceKeys inserts a new document whose
// _id is the revision after the one it compared against, holding the whole
// set, and the set is the document with the highest revision. The unique
// _id makes the compare-and-swap exact: of writers that read one revision,
// one inserts the next and the rest get a duplicate key, which is
// ErrConflict. (A single document replaced under {_id, rev} would need an
// atomic conditional update, which FerretDB 1.24 does not have: racing
// replaces of one revision can all succeed there.)
//
// Old revisions are kept, not pruned: a writer that read revision r long
// ago must still find r+1 taken, or its stale set would be stored as r+1
// and silently lost under the newer revision. A revision is a few
// kilobytes and one is written per rotation.
//
// Each private key is sealed with AES-256-GCM under the key-encryption key,
// bound to its kid (see sealer); a key that does not open fails ListKeys
// with ErrKeyDecryption.
type KeyStore struct {
	coll *collection
	box  sealer
}

// NewKeyStore returns a KeyStore on db that seals private keys under
// keyEncryptionKey (KeyEncryptionKeySize bytes).
func NewKeyStore(db *mongo.Database, keyEncryptionKey []byte) (*KeyStore, error) {
	box, err := newSealer(keyEncryptionKey)
	if err != nil {
		return nil, err
	}
	return &KeyStore{coll: collectionOf(db, keySetsCollection), box: box}, nil
}

type keySetDoc struct {
	Rev  int64       `bson:"_id"`
	Keys []keyRecDoc `bson:"keys"`
}

type keyRecDoc struct {
	KID       string    `bson:"kid"`
	Algorithm string    `bson:"alg"`
	State     string    `bson:"state"`
	Sealed    []byte    `bson:"private"`
	CreatedAt time.Time `bson:"created_at"`
	ActiveAt  time.Time `bson:"active_at,omitempty"`
	RetireAt  time.Time `bson:"retire_at,omitempty"`
}

// current returns the newest key set; revision 0 and no keys when none was
// ever stored.
func (s *KeyStore) current(ctx context.Context) (keySetDoc, error) {
	var d keySetDoc
	err := s.coll.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return keySetDoc{}, nil
	}
	return d, err
}

// ListKeys returns every key of the newest set, private keys opened.
func (s *KeyStore) ListKeys(ctx context.Context) ([]domain.KeyRecord, error) {
	d, err := s.current(ctx)
	if err != nil {
		return nil, translate("list keys", err)
	}
	out := make([]domain.KeyRecord, 0, len(d.Keys))
	for _, k := range d.Keys {
		private, err := s.box.open(purposeSigningKey, k.KID, k.Sealed, ErrKeyDecryption)
		if err != nil {
			return nil, err
		}
		out = append(out, domain.KeyRecord{
			KID: k.KID, Algorithm: k.Algorithm, State: domain.KeyState(k.State), Private: private,
			CreatedAt: k.CreatedAt.UTC(), ActiveAt: utcOrZero(k.ActiveAt), RetireAt: utcOrZero(k.RetireAt),
		})
	}
	return out, nil
}

// ReplaceKeys stores next as the revision after the newest if the newest
// still has exactly the kids and states of prev; ErrConflict otherwise, or
// if another writer stored that revision first.
func (s *KeyStore) ReplaceKeys(ctx context.Context, prev, next []domain.KeyRecord) error {
	doc := keySetDoc{Keys: make([]keyRecDoc, 0, len(next))}
	for _, k := range next {
		sealed, err := s.box.seal(purposeSigningKey, k.KID, k.Private)
		if err != nil {
			return err
		}
		doc.Keys = append(doc.Keys, keyRecDoc{
			KID: k.KID, Algorithm: k.Algorithm, State: string(k.State), Sealed: sealed,
			CreatedAt: k.CreatedAt, ActiveAt: k.ActiveAt, RetireAt: k.RetireAt,
		})
	}
	cur, err := s.current(ctx)
	if err != nil {
		return translate("replace keys", err)
	}
	stored := make(map[string]domain.KeyState, len(cur.Keys))
	for _, k := range cur.Keys {
		stored[k.KID] = domain.KeyState(k.State)
	}
	want := make(map[string]domain.KeyState, len(prev))
	for _, k := range prev {
		want[k.KID] = k.State
	}
	if len(prev) != len(want) || !maps.Equal(stored, want) {
		return domain.ErrConflict
	}
	doc.Rev = cur.Rev + 1
	_, err = s.coll.InsertOne(ctx, doc)
	if mongo.IsDuplicateKeyError(err) {
		return domain.ErrConflict
	}
	return translate("replace keys", err)
}

// utcOrZero returns t in UTC; an absent time stays Go's zero time.
func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
