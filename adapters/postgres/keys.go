package postgres

import (
	"context"
	"errors"
	"maps"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.KeyStore = (*KeyStore)(nil)

// KeyStore is the PostgreSQL ports.KeyStore, so that every instance on the
// database signs with the same keys and keys survive restarts.
//
// It stores KeyRecord.Private as given. Encrypting it at rest (AES-GCM under
// a configured master key, issue 3) is not done here yet.
type KeyStore struct{ pool *pgxpool.Pool }

// NewKeyStore returns a KeyStore on pool.
func NewKeyStore(pool *pgxpool.Pool) *KeyStore { return &KeyStore{pool: pool} }

// ListKeys returns every stored key.
func (s *KeyStore) ListKeys(ctx context.Context) ([]domain.KeyRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT kid, algorithm, state, private, created_at, active_at, retire_at
		FROM signing_keys ORDER BY kid`)
	if err != nil {
		return nil, translate("list keys", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.KeyRecord, error) {
		var k domain.KeyRecord
		var state string
		var created, active, retire pgtype.Timestamptz
		err := row.Scan(&k.KID, &k.Algorithm, &state, &k.Private, &created, &active, &retire)
		k.State = domain.KeyState(state)
		k.CreatedAt, k.ActiveAt, k.RetireAt = fromTS(created), fromTS(active), fromTS(retire)
		return k, err
	})
	if err != nil {
		return nil, translate("list keys", err)
	}
	return keys, nil
}

// ReplaceKeys swaps the whole set in one transaction if the stored kids and
// states are still prev's. The table lock (SHARE ROW EXCLUSIVE conflicts with
// itself but not with readers) makes concurrent compare-and-swaps queue, and
// each reads the set only once it holds the lock, so one of them wins and the
// rest see ErrConflict.
func (s *KeyStore) ReplaceKeys(ctx context.Context, prev, next []domain.KeyRecord) error {
	err := inTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT kid, state FROM signing_keys`)
		if err != nil {
			return err
		}
		stored := make(map[string]domain.KeyState)
		var kid, state string
		if _, err := pgx.ForEachRow(rows, []any{&kid, &state}, func() error {
			stored[kid] = domain.KeyState(state)
			return nil
		}); err != nil {
			return err
		}
		want := make(map[string]domain.KeyState, len(prev))
		for _, k := range prev {
			want[k.KID] = k.State
		}
		if len(prev) != len(want) || !maps.Equal(stored, want) {
			return domain.ErrConflict
		}
		if _, err := tx.Exec(ctx, `DELETE FROM signing_keys`); err != nil {
			return err
		}
		for _, k := range next {
			if _, err := tx.Exec(ctx, `INSERT INTO signing_keys
				(kid, algorithm, state, private, created_at, active_at, retire_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				k.KID, k.Algorithm, string(k.State), k.Private, ts(k.CreatedAt), ts(k.ActiveAt), ts(k.RetireAt)); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, domain.ErrConflict) {
		return err
	}
	return translate("replace keys", err)
}
