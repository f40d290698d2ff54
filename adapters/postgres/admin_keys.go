package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.AdminKeyStore = (*AdminKeyStore)(nil)

// AdminKeyStore is the PostgreSQL ports.AdminKeyStore. Keys arrive as
// hashes and are stored as such; the hash is unique, so that a lookup by
// hash finds one key.
type AdminKeyStore struct{ pool db }

// NewAdminKeyStore returns an AdminKeyStore on pool.
func NewAdminKeyStore(pool *pgxpool.Pool) *AdminKeyStore { return &AdminKeyStore{pool: db{pool}} }

// CreateAdminKey stores a key. ErrAlreadyExists if the id or the hash is
// taken.
func (s *AdminKeyStore) CreateAdminKey(ctx context.Context, k domain.AdminKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO admin_keys (id, hash, name, created_at) VALUES ($1, $2, $3, $4)`,
		k.ID, k.Hash, k.Name, ts(k.CreatedAt))
	return translate("create admin key", err)
}

// GetAdminKey returns the key with this hash. ErrNotFound if there is none.
func (s *AdminKeyStore) GetAdminKey(ctx context.Context, hash []byte) (domain.AdminKey, error) {
	var k domain.AdminKey
	var created pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, `SELECT id, hash, name, created_at FROM admin_keys WHERE hash = $1`, hash).
		Scan(&k.ID, &k.Hash, &k.Name, &created)
	if err != nil {
		return domain.AdminKey{}, translate("get admin key", err)
	}
	k.CreatedAt = fromTS(created)
	return k, nil
}
