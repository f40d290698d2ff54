package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/postgres"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// The private keys are sealed at rest: the row holds neither the plaintext
// nor anything another master key (or another row) can open, and a wrong key
// fails loudly instead of looking like an empty store.
func TestKeyStoreSealsPrivateKeys(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx := context.Background()
	key := randomKey()
	store := postgres.NewKeyStore(pool, postgres.WithKeyEncryptionKey(key))
	now := time.Now().UTC().Truncate(time.Second)
	private := []byte("-----BEGIN PRIVATE KEY----- secret material")
	recs := []domain.KeyRecord{
		{KID: "k1", Algorithm: "ES256", State: domain.KeyActive, Private: private, CreatedAt: now, ActiveAt: now},
		{KID: "k2", Algorithm: "ES256", State: domain.KeyNext, Private: private, CreatedAt: now},
	}
	require.NoError(t, store.ReplaceKeys(ctx, nil, recs))

	var raw1, raw2 []byte
	require.NoError(t, pool.QueryRow(ctx, `SELECT private FROM signing_keys WHERE kid = 'k1'`).Scan(&raw1))
	require.NoError(t, pool.QueryRow(ctx, `SELECT private FROM signing_keys WHERE kid = 'k2'`).Scan(&raw2))
	require.NotContains(t, string(raw1), "secret material")
	require.NotEqual(t, raw1, raw2, "each record has its own nonce")
	require.Len(t, raw1, 12+len(private)+16, "nonce||ciphertext||tag")

	got, err := store.ListKeys(ctx)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, private, got[0].Private)

	_, err = postgres.NewKeyStore(pool, postgres.WithKeyEncryptionKey(randomKey())).ListKeys(ctx)
	require.ErrorIs(t, err, postgres.ErrKeyDecryption, "a wrong master key must fail loading")

	// A sealed key moved to another row does not open (the kid is the AAD).
	_, err = pool.Exec(ctx, `UPDATE signing_keys SET private = $1 WHERE kid = 'k2'`, raw1)
	require.NoError(t, err)
	_, err = store.ListKeys(ctx)
	require.ErrorIs(t, err, postgres.ErrKeyDecryption)

	_, err = postgres.NewKeyStore(pool, postgres.WithKeyEncryptionKey([]byte("short"))).ListKeys(ctx)
	require.ErrorContains(t, err, "must be 32 bytes")
}
