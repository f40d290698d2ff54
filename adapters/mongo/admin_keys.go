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

var _ ports.AdminKeyStore = (*AdminKeyStore)(nil)

const adminKeysCollection = "admin_keys"

func init() {
	registerIndexes(adminKeysCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "hash", Value: 1}},
		Options: options.Index().SetName("admin_keys_hash").SetUnique(true),
	})
}

// AdminKeyStore is the MongoDB ports.AdminKeyStore: one document per key,
// keyed by its id, with the hash unique so that a lookup by hash finds one
// key. Keys arrive as hashes and are stored as such.
type AdminKeyStore struct{ coll *collection }

// NewAdminKeyStore returns an AdminKeyStore on db.
func NewAdminKeyStore(db *mongo.Database) *AdminKeyStore {
	return &AdminKeyStore{coll: collectionOf(db, adminKeysCollection)}
}

// adminKeyDoc is the stored form of a domain.AdminKey.
type adminKeyDoc struct {
	ID        string    `bson:"_id"`
	Hash      []byte    `bson:"hash"`
	Name      string    `bson:"name"`
	CreatedAt time.Time `bson:"created_at"`
}

// CreateAdminKey stores a key. ErrAlreadyExists if the id or the hash is
// taken.
func (s *AdminKeyStore) CreateAdminKey(ctx context.Context, k domain.AdminKey) error {
	_, err := s.coll.InsertOne(ctx, &adminKeyDoc{ID: k.ID, Hash: k.Hash, Name: k.Name, CreatedAt: k.CreatedAt})
	return translate("create admin key", err)
}

// GetAdminKey returns the key with this hash. ErrNotFound if there is none.
func (s *AdminKeyStore) GetAdminKey(ctx context.Context, hash []byte) (domain.AdminKey, error) {
	var d adminKeyDoc
	if err := s.coll.FindOne(ctx, bson.M{"hash": hash}).Decode(&d); err != nil {
		return domain.AdminKey{}, translate("get admin key", err)
	}
	return domain.AdminKey{ID: d.ID, Hash: d.Hash, Name: d.Name, CreatedAt: d.CreatedAt}, nil
}
