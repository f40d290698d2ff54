package postgres

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
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
// With WithKeyEncryptionKey, KeyRecord.Private is sealed with AES-256-GCM
// before it is written: a random 12-byte nonce per record, the kid as
// additional data (so a sealed key cannot be moved to another row), stored as
// nonce||ciphertext. Reads open it again; a record that does not open (wrong
// master key, tampering) fails ListKeys with ErrKeyDecryption, so that the
// signer never replaces undecryptable keys with new ones. Without the option
// the private keys are stored as given (tests only; Module always seals).
type KeyStore struct {
	pool db
	aead cipher.AEAD // nil: stored as given
	err  error       // a bad option, reported by every call
}

// KeyStoreOption configures a KeyStore.
type KeyStoreOption func(*KeyStore)

// KeyEncryptionKeySize is the size of the master key: AES-256.
const KeyEncryptionKeySize = 32

// ErrKeyDecryption is returned (wrapped) by ListKeys when a stored private key
// does not open under the configured master key.
var ErrKeyDecryption = errors.New("signing key does not decrypt: wrong key_encryption_key or corrupted record")

// WithKeyEncryptionKey seals private keys at rest under key, which must be
// KeyEncryptionKeySize bytes.
func WithKeyEncryptionKey(key []byte) KeyStoreOption {
	return func(s *KeyStore) {
		aead, err := newAEAD(key)
		if err != nil {
			s.err = err
			return
		}
		s.aead = aead
	}
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeyEncryptionKeySize {
		return nil, fmt.Errorf("postgres: key encryption key must be %d bytes, got %d", KeyEncryptionKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("postgres: key encryption key: %w", err)
	}
	return cipher.NewGCM(block)
}

// NewKeyStore returns a KeyStore on pool.
func NewKeyStore(pool *pgxpool.Pool, opts ...KeyStoreOption) *KeyStore {
	s := &KeyStore{pool: db{pool}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// seal encrypts a private key for the row of kid.
func (s *KeyStore) seal(kid string, private []byte) ([]byte, error) {
	if s.aead == nil {
		return private, nil
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(private)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("postgres: seal signing key %s: %w", kid, err)
	}
	return s.aead.Seal(nonce, nonce, private, []byte(kid)), nil
}

// open decrypts the stored private key of kid.
func (s *KeyStore) open(kid string, stored []byte) ([]byte, error) {
	if s.aead == nil {
		return stored, nil
	}
	n := s.aead.NonceSize()
	if len(stored) < n+s.aead.Overhead() {
		return nil, fmt.Errorf("postgres: key %s: %w", kid, ErrKeyDecryption)
	}
	private, err := s.aead.Open(nil, stored[:n], stored[n:], []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("postgres: key %s: %w", kid, ErrKeyDecryption)
	}
	return private, nil
}

// ListKeys returns every stored key.
func (s *KeyStore) ListKeys(ctx context.Context) ([]domain.KeyRecord, error) {
	if s.err != nil {
		return nil, s.err
	}
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
	for i := range keys {
		if keys[i].Private, err = s.open(keys[i].KID, keys[i].Private); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// ReplaceKeys swaps the whole set in one transaction if the stored kids and
// states are still prev's. The table lock (SHARE ROW EXCLUSIVE conflicts with
// itself but not with readers) makes concurrent compare-and-swaps queue, and
// each reads the set only once it holds the lock, so one of them wins and the
// rest see ErrConflict.
func (s *KeyStore) ReplaceKeys(ctx context.Context, prev, next []domain.KeyRecord) error {
	if s.err != nil {
		return s.err
	}
	sealed := make([][]byte, len(next))
	for i, k := range next {
		var err error
		if sealed[i], err = s.seal(k.KID, k.Private); err != nil {
			return err
		}
	}
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
		for i, k := range next {
			if _, err := tx.Exec(ctx, `INSERT INTO signing_keys
				(kid, algorithm, state, private, created_at, active_at, retire_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				k.KID, k.Algorithm, string(k.State), sealed[i], ts(k.CreatedAt), ts(k.ActiveAt), ts(k.RetireAt)); err != nil {
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
